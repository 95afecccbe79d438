/** `ordo light verify --help` (kept apart so `ordo --help` does not load the light client). */
export const LIGHT_VERIFY_HELP = `Usage: ordo light verify --rpc URL --height H [--namespace NS] [--genesis FILE] [--pure-js]

Verifies, without trusting the node at --rpc, that height H is final: the
quorum certificate (BLS, more than 2/3 of the stake) over the vote that commits
the chain of headers from H on, each the parent its successor names. With
--namespace NS it also checks the node's proof that the transactions it serves
are all of NS's transactions at H, in order (or that there are none).

The trust anchor is the committee in --genesis FILE (the network's genesis.json).
Without it the committee is taken from the node itself (/v1/validators), which
only checks the node against itself: say so to whoever reads the result.
--pure-js verifies with the pure-JavaScript BLS backend instead of the native one.
Exits 0 when everything verified, 1 otherwise (with the error code).
`;
