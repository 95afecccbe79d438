/**
 * The 2-chain safety rules (Jolteon; Aptos `safety_rules_2chain`). Everything a
 * validator signs passes through here, and the state it updates must be durable
 * before the signature leaves the node (the core emits a `persist` effect and
 * holds the message until the shell reports `persisted`).
 */
import { type Block, bytesEqual, type QuorumCertificate, type TimeoutCertificate } from "@ordo/core";

export interface SafetyState {
  epoch: number;
  /** Highest round in which this validator voted or timed out. */
  lastVotedRound: number;
  /** Highest round of a QC this validator has observed through a proposal (its "one-chain" round). */
  oneChainRound: number;
  /**
   * The highest QC and TC this validator signed over: a vote's justify QC and the TC it followed, a timeout's
   * high QC and the TC it entered the round by. Kept with the rounds so that a restarted validator re-enters
   * the round it last signed in, with a QC at least its one-chain round. Without them, a leader that voted for
   * its own proposal and crashed before the proposal left restarted below its last voted round, holding a QC
   * below its one-chain round, and could never time out again (nor, with one more validator away, could a
   * timeout certificate form).
   */
  highQc: QuorumCertificate | null;
  highTc: TimeoutCertificate | null;
  /** Highest round of a QC's parent observed (the 2-chain lock). */
  preferredRound: number;
  /** Highest round in which this validator proposed. */
  lastProposedRound: number;
  /** The last vote signed, returned again when re-asked for the same block. */
  lastVote: { round: number; blockHash: Uint8Array; committedHash: Uint8Array; signature: Uint8Array } | null;
  /** The last timeout signed, returned again when re-asked for the same round. */
  lastTimeout: { round: number; highQcRound: number; signature: Uint8Array } | null;
}

export function initialSafetyState(epoch: number): SafetyState {
  return {
    epoch,
    lastVotedRound: 0,
    oneChainRound: 0,
    highQc: null,
    highTc: null,
    preferredRound: 0,
    lastProposedRound: 0,
    lastVote: null,
    lastTimeout: null,
  };
}

export function cloneSafetyState(s: SafetyState): SafetyState {
  return {
    ...s,
    lastVote: s.lastVote && { ...s.lastVote },
    lastTimeout: s.lastTimeout && { ...s.lastTimeout },
  };
}

export type SafetyDecision<T> = { ok: true; value: T; fresh: boolean } | { ok: false; reason: string };

export class SafetyRules {
  constructor(public state: SafetyState) {}

  /**
   * May this validator vote for `block` (entered with `tc` when the round followed a timeout)?
   * Returns the committed hash the vote must carry (the parent when the 2-chain rule commits it).
   * A repeated request for the block it already voted on returns that vote again.
   */
  decideVote(
    block: Block,
    parentRound: number,
    tc: TimeoutCertificate | null,
    blockHash: Uint8Array,
  ): SafetyDecision<Uint8Array | null> {
    const round = block.header.round;
    const last = this.state.lastVote;
    if (last && last.round === round && bytesEqual(last.blockHash, blockHash))
      return { ok: true, value: null, fresh: false };
    if (!this.checkVoteRound(round))
      return { ok: false, reason: `round ${round} ≤ last voted round ${this.state.lastVotedRound}` };
    if (!this.safeToVote(block, tc)) return { ok: false, reason: `2-chain voting rule rejects round ${round}` };
    this.observeQc(block.justify, parentRound);
    this.signedOver(block.justify, tc);
    this.state.lastVotedRound = round;
    const committed = parentRound + 1 === round ? block.header.parentHash : null;
    return { ok: true, value: committed, fresh: true };
  }

  /** The "never vote twice in a round" rule. Kept as its own method so the mutation test can disable it. */
  checkVoteRound(round: number): boolean {
    return round > this.state.lastVotedRound;
  }

  /** Extends a QC of the previous round, or follows a TC whose highest QC round it does not go below. */
  safeToVote(block: Block, tc: TimeoutCertificate | null): boolean {
    const round = block.header.round;
    const qcRound = block.justify.round;
    if (round === qcRound + 1) return true;
    if (!tc || round !== tc.round + 1) return false;
    return qcRound >= maxRound(tc.highQcRounds);
  }

  observeQc(qc: QuorumCertificate, parentOfCertifiedRound: number): void {
    if (qc.round > this.state.oneChainRound) this.state.oneChainRound = qc.round;
    if (parentOfCertifiedRound > this.state.preferredRound) this.state.preferredRound = parentOfCertifiedRound;
  }

  recordVote(round: number, blockHash: Uint8Array, committedHash: Uint8Array, signature: Uint8Array): void {
    this.state.lastVote = { round, blockHash, committedHash, signature };
  }

  /**
   * May this validator time out of `round`, carrying `highQc`? Only from a round it
   * entered through that QC or through `highTc`, and never with a QC older than one
   * it has already built on (so TCs always carry the highest certified block).
   */
  decideTimeout(round: number, highQc: QuorumCertificate, highTc: TimeoutCertificate | null): SafetyDecision<null> {
    const last = this.state.lastTimeout;
    if (last && last.round === round) return { ok: true, value: null, fresh: false };
    if (round < this.state.lastVotedRound)
      return { ok: false, reason: `round ${round} < last voted round ${this.state.lastVotedRound}` };
    const entered = round === highQc.round + 1 || (highTc !== null && round === highTc.round + 1);
    if (!entered) return { ok: false, reason: `round ${round} was not entered through the QC or TC at hand` };
    if (highQc.round < this.state.oneChainRound)
      return { ok: false, reason: `high QC round ${highQc.round} < one-chain round ${this.state.oneChainRound}` };
    this.signedOver(highQc, highTc);
    this.state.lastVotedRound = Math.max(this.state.lastVotedRound, round);
    return { ok: true, value: null, fresh: true };
  }

  signedOver(qc: QuorumCertificate, tc: TimeoutCertificate | null): void {
    if (qc.round > (this.state.highQc?.round ?? -1)) this.state.highQc = qc;
    if (tc && tc.round > (this.state.highTc?.round ?? -1)) this.state.highTc = tc;
  }

  recordTimeout(round: number, highQcRound: number, signature: Uint8Array): void {
    this.state.lastTimeout = { round, highQcRound, signature };
  }

  decidePropose(round: number): boolean {
    return round > this.state.lastProposedRound;
  }

  recordProposal(round: number): void {
    this.state.lastProposedRound = round;
  }
}

export function maxRound(rounds: readonly number[]): number {
  let m = 0;
  for (const r of rounds) if (r > m) m = r;
  return m;
}
