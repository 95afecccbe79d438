export const SEQUENCER_PACKAGE = "@ordo/sequencer";
