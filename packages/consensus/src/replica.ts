/**
 * One validator's view of the 2-chain HotStuff protocol (Jolteon / DiemBFT v4),
 * as a deterministic state machine: `handle(event, now)` returns effects. Time
 * comes in with each event; the only secret is the signing key; nothing here
 * touches a socket, a disk or a clock.
 *
 * Round r: the leader of r proposes a block extending its highest QC (with the
 * TC of r-1 if it entered r by timeout); validators vote and send the vote to
 * the leader of r+1, who aggregates a QC and proposes in r+1. A block commits
 * when its child in the very next round is certified (the 2-chain rule). A round
 * that stalls times out; a quorum of signed timeouts is a TC that moves everyone
 * to the next round.
 */
import {
  type Block,
  type BlockHeader,
  type BlsBackend,
  type Bytes32,
  bytesEqual,
  type ConsensusMessage,
  type EpochChangeCommitment,
  type Evidence,
  hashHeader,
  isZeroHash,
  type Proposal,
  proposalDigest,
  type QuorumCertificate,
  type SyncRequest,
  type SyncResponse,
  sha256,
  type Timeout,
  type TimeoutCertificate,
  timeoutDigest,
  toHex,
  type ValidatorIndex,
  type ValidatorSet,
  type Vote,
  voteDigest,
  ZERO_HASH,
} from "@ordo/core";
import { BlockTree, type StoredBlock } from "./block-tree.js";
import { CertificateVerifier, rootQc, TimeoutAggregator, VoteAggregator } from "./certificates.js";
import type { ConsensusEffect, ConsensusEvent, PayloadValidator } from "./events.js";
import { LeaderSchedule } from "./leader-schedule.js";
import { DEFAULT_PACEMAKER_TIMING, type PacemakerTiming, roundTimeoutMs } from "./pacemaker.js";
import { cloneSafetyState, initialSafetyState, SafetyRules, type SafetyState } from "./safety-rules.js";

export interface ReplicaConfig {
  chainId: number;
  /** This validator's index in `validators`; null for an observer, which follows the chain but never signs. */
  self: ValidatorIndex | null;
  validators: ValidatorSet;
  bls: BlsBackend;
  secretKey: Uint8Array;
  /**
   * The block this epoch starts from: the genesis block for epoch 0, the
   * previous epoch's last block otherwise. It is certified by a signature-less
   * root QC of this epoch at its round.
   */
  genesis: Block;
  validatePayload: PayloadValidator;
  /**
   * Height of this epoch's last block (default: none, one endless epoch). That
   * block must carry the epoch-change commitment; blocks above it (the epoch's
   * suffix, needed to certify it) are empty and never committed; the 2-chain
   * rule commits at most up to it.
   */
  epochEndHeight?: number;
  /** `hashValidatorSet` of the next epoch's committee, once the shell knows it (needed by the last block only). */
  nextValidatorSetHash?: () => Bytes32 | undefined;
  timing?: Partial<PacemakerTiming>;
  /** Committed blocks kept in memory to serve syncing peers. */
  retainCommittedBlocks?: number;
  maxSyncBlocks?: number;
  /** Replaces the safety rules; only the mutation tests use this, to prove the simulator catches a broken rule. */
  createSafetyRules?: (state: SafetyState) => SafetyRules;
}

/** What a validator reads back from disk after a restart. */
export interface RecoveredState {
  safety: SafetyState;
  /** The last committed block and a QC certifying it. */
  root: { block: Block; qc: QuorumCertificate };
}

/** A committed block whose ancestry conflicts with what this replica already committed: more than f are Byzantine. */
export class SafetyViolationError extends Error {
  override readonly name = "SafetyViolationError";
}

const MAX_PENDING_PROPOSALS = 64;
/** How far past the current round votes and timeouts are still collected. */
const FUTURE_ROUNDS = 64;
const MAX_DETACHED_BLOCKS = 16_384;

interface Held {
  seq: number;
  release: () => void;
}

const EMPTY = new Uint8Array(0);

export class Replica {
  readonly self: ValidatorIndex | null;
  readonly epoch: number;
  readonly epochEndHeight: number;
  private readonly nextValidatorSetHash: () => Bytes32 | undefined;
  private readonly chainId: number;
  private readonly validators: ValidatorSet;
  private readonly bls: BlsBackend;
  private readonly secretKey: Uint8Array;
  private readonly validatePayload: PayloadValidator;
  private readonly timing: PacemakerTiming;
  private readonly maxSyncBlocks: number;
  private readonly leaders: LeaderSchedule;
  readonly verifier: CertificateVerifier;
  private readonly tree: BlockTree;
  private readonly safety: SafetyRules;

  private round = 0;
  private highQc: QuorumCertificate;
  private highTc: TimeoutCertificate | null = null;
  private lastCommittedRound: number;
  private now = 0;
  private out: ConsensusEffect[] = [];

  private persistSeq = 0;
  private held: Held[] = [];
  private votes = new Map<number, VoteAggregator>();
  private timeouts = new Map<number, TimeoutAggregator>();
  private proposalsByRound = new Map<number, { hash: Uint8Array; header: BlockHeader; signature: Uint8Array }>();
  private reportedEvidence = new Set<string>();
  private lastTimeoutMessage: Timeout | null = null;
  /** Validators sent our last timeout because theirs was stale: `validator -> our round then` (once per round). */
  private helped = new Map<ValidatorIndex, number>();
  /** Proposals waiting for their parent to arrive by sync, keyed by parent hash. */
  private pendingProposals = new Map<string, { proposal: Proposal; from: ValidatorIndex }>();
  /** Verified QCs for blocks not yet known, keyed by block hash: what sync is fetching. */
  private waitingQcs = new Map<string, { qc: QuorumCertificate; requestedAt: number; from: ValidatorIndex }>();
  /** Certified blocks fetched by sync whose ancestors have not arrived yet. */
  private detached = new Map<string, { block: Block; hash: Uint8Array }>();

  constructor(config: ReplicaConfig, recovered?: RecoveredState) {
    this.self = config.self;
    this.chainId = config.chainId;
    this.validators = config.validators;
    this.epoch = config.validators.epoch;
    this.epochEndHeight = config.epochEndHeight ?? Number.POSITIVE_INFINITY;
    this.nextValidatorSetHash = config.nextValidatorSetHash ?? (() => undefined);
    this.bls = config.bls;
    this.secretKey = config.secretKey;
    this.validatePayload = config.validatePayload;
    this.timing = { ...DEFAULT_PACEMAKER_TIMING, ...config.timing };
    this.maxSyncBlocks = config.maxSyncBlocks ?? 128;
    this.leaders = new LeaderSchedule(config.validators);
    const genesisHash = hashHeader(config.genesis.header);
    this.verifier = new CertificateVerifier(
      config.bls,
      config.chainId,
      config.validators,
      genesisHash,
      config.genesis.header.round,
    );
    const root = recovered?.root ?? {
      block: config.genesis,
      qc: rootQc(genesisHash, this.epoch, config.genesis.header.round),
    };
    const rootHash = root.block === config.genesis ? genesisHash : hashHeader(root.block.header);
    this.tree = new BlockTree(root.block, rootHash, root.qc, config.retainCommittedBlocks ?? 10_000);
    this.highQc = root.qc;
    this.lastCommittedRound = root.block.header.round;
    const state = recovered ? cloneSafetyState(recovered.safety) : initialSafetyState(this.epoch);
    // The certificates this validator last signed over may be known to no one else (see `SafetyState.highQc`):
    // start from them. The QC's block may be missing here; timeouts need only the QC, and sync brings the block.
    const built = state.highQc;
    if (built && built.epoch === this.epoch && built.round > this.highQc.round && this.verifier.verifyQc(built))
      this.highQc = built;
    const entered = state.highTc;
    if (
      entered &&
      entered.epoch === this.epoch &&
      entered.round >= this.highQc.round &&
      this.verifier.verifyTc(entered)
    )
      this.highTc = entered;
    this.safety = config.createSafetyRules ? config.createSafetyRules(state) : new SafetyRules(state);
  }

  // ── queries ────────────────────────────────────────────────────────────

  get currentRound(): number {
    return this.round;
  }

  get committedHeight(): number {
    return this.tree.root.block.header.height;
  }

  get committedBlock(): { block: Block; hash: Uint8Array; qc: QuorumCertificate } {
    return { block: this.tree.root.block, hash: this.tree.root.hash, qc: this.tree.rootQc };
  }

  get highestQc(): QuorumCertificate {
    return this.highQc;
  }

  get safetyState(): SafetyState {
    return cloneSafetyState(this.safety.state);
  }

  leaderOf(round: number): ValidatorIndex {
    return this.leaders.leader(round);
  }

  /** True once this epoch's last block is committed: the replica has nothing left to decide. */
  get epochFinished(): boolean {
    return this.tree.root.block.header.height >= this.epochEndHeight;
  }

  hasBlock(hash: Uint8Array): boolean {
    return this.tree.has(hash);
  }

  /** The certified block asked for and its ancestors down to (not including) `stopHeight`, newest first. */
  answerSync(req: SyncRequest): Block[] {
    let cur = this.tree.get(req.blockHash);
    const limit = Math.min(req.maxBlocks, this.maxSyncBlocks);
    const blocks: Block[] = [];
    while (cur && blocks.length < limit && cur.block.header.height > req.stopHeight) {
      blocks.push(cur.block);
      cur = this.tree.parentOf(cur);
    }
    return blocks;
  }

  // ── entry points ───────────────────────────────────────────────────────

  /** Enters the first round after the root; call once, after construction. */
  start(now: number): ConsensusEffect[] {
    this.now = now;
    this.advanceRound(Math.max(this.highQc.round, this.highTc?.round ?? 0) + 1);
    return this.flush();
  }

  handle(event: ConsensusEvent, now: number): ConsensusEffect[] {
    this.now = now;
    switch (event.type) {
      case "message":
        this.onMessage(event.message, event.from);
        break;
      case "timer":
        this.onTimer(event.round);
        break;
      case "payload-ready":
        this.onPayloadReady(event.round, event.payload, event.namespaceRoot);
        break;
      case "persisted":
        this.onPersisted(event.seq);
        break;
    }
    return this.flush();
  }

  private flush(): ConsensusEffect[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private reject(from: ValidatorIndex | null, reason: string): void {
    this.out.push({ type: "rejected", from, reason });
  }

  private onMessage(message: ConsensusMessage, from: ValidatorIndex): void {
    switch (message.kind) {
      case "proposal":
        return this.onProposal(message, from);
      case "vote":
        return this.onVote(message, from);
      case "timeout":
        return this.onTimeoutMessage(message, from);
      case "sync-request":
        return this.onSyncRequest(message, from);
      case "sync-response":
        return this.onSyncResponse(message, from);
      case "epoch-proof":
        // A QC someone says commits this epoch's last block; it is checked like any other and acted on by the 2-chain rule.
        if (!this.verifier.verifyQc(message.qc)) return this.reject(from, "invalid epoch proof");
        return this.processQc(message.qc, from);
      case "epoch-request":
        return; // answered by the epoch manager, which keeps the finished epochs
    }
  }

  // ── persistence before speech ──────────────────────────────────────────

  /** Emits a persist of the safety state and runs `release` only once the shell confirms it. */
  private persistThen(release: () => void): void {
    const seq = ++this.persistSeq;
    this.out.push({ type: "persist", seq, state: cloneSafetyState(this.safety.state) });
    this.held.push({ seq, release });
  }

  private onPersisted(seq: number): void {
    while (this.held.length > 0 && (this.held[0] as Held).seq <= seq) {
      (this.held.shift() as Held).release();
    }
  }

  // ── rounds ─────────────────────────────────────────────────────────────

  private advanceRound(round: number): void {
    if (round <= this.round) return;
    this.round = round;
    for (const r of this.votes.keys()) if (r < round - 1) this.votes.delete(r);
    for (const r of this.timeouts.keys()) if (r < round) this.timeouts.delete(r);
    for (const r of this.proposalsByRound.keys()) if (r < round - 8) this.proposalsByRound.delete(r);
    this.out.push({ type: "set-timer", round, delayMs: roundTimeoutMs(this.timing, round, this.lastCommittedRound) });
    if (this.leaders.leader(round) === this.self) this.requestPayload();
  }

  private requestPayload(): void {
    if (!this.safety.decidePropose(this.round)) return;
    const parent = this.tree.get(this.highQc.blockHash);
    if (!parent) return; // sync will bring it; proposing waits for the next round
    const height = parent.block.header.height + 1;
    // Past the epoch's last block: an empty block, only there to certify (and so commit) the last one.
    if (height > this.epochEndHeight) return this.onPayloadReady(this.round, EMPTY, ZERO_HASH);
    let epochChange: EpochChangeCommitment | undefined;
    if (height === this.epochEndHeight) {
      const validatorSetHash = this.nextValidatorSetHash();
      if (!validatorSetHash) return this.reject(null, "not proposing the epoch's last block: next committee unknown");
      epochChange = { nextEpoch: this.epoch + 1, validatorSetHash };
    }
    this.out.push({
      type: "request-payload",
      round: this.round,
      parent: parent.block,
      parentHash: parent.hash,
      ...(epochChange ? { epochChange } : {}),
    });
  }

  private onTimer(round: number): void {
    if (round !== this.round || this.self === null) return;
    this.localTimeout();
    // Keep re-sending the timeout while the round is stuck: messages may have been lost.
    this.out.push({ type: "set-timer", round, delayMs: roundTimeoutMs(this.timing, round, this.lastCommittedRound) });
  }

  private localTimeout(): void {
    if (this.self === null) return;
    const round = this.round;
    const decision = this.safety.decideTimeout(round, this.highQc, this.highTc);
    if (!decision.ok) {
      this.reject(null, `not timing out: ${decision.reason}`);
      return;
    }
    if (!decision.fresh) {
      const last = this.signedTimeout();
      if (last && last.round === round && !this.isHeld()) this.out.push({ type: "broadcast", message: last });
      return;
    }
    const highQcRound = this.highQc.round;
    const signature = this.bls.sign(this.secretKey, timeoutDigest(this.chainId, this.epoch, round, highQcRound));
    this.safety.recordTimeout(round, highQcRound, signature);
    const message = this.timeoutMessage(this.self, round, signature);
    this.lastTimeoutMessage = message;
    this.persistThen(() => {
      this.out.push({ type: "broadcast", message });
      this.collectTimeout(message);
    });
  }

  /**
   * The last timeout this validator signed, to send again. After a restart the message is rebuilt from the safety
   * state (its round, high-QC round and signature), when the high QC it carried is the one held now.
   */
  private signedTimeout(): Timeout | null {
    const signed = this.safety.state.lastTimeout;
    if (this.lastTimeoutMessage || this.self === null || !signed || signed.highQcRound !== this.highQc.round)
      return this.lastTimeoutMessage;
    this.lastTimeoutMessage = this.timeoutMessage(this.self, signed.round, signed.signature);
    return this.lastTimeoutMessage;
  }

  /** Our timeout of `round`: our high QC, and the TC of the round before when we hold it. */
  private timeoutMessage(self: ValidatorIndex, round: number, signature: Uint8Array): Timeout {
    return {
      kind: "timeout",
      epoch: this.epoch,
      round,
      highQc: this.highQc,
      lastRoundTc: this.highTc && this.highTc.round === round - 1 ? this.highTc : null,
      author: self,
      signature,
    };
  }

  private isHeld(): boolean {
    return this.held.length > 0;
  }

  // ── proposals ──────────────────────────────────────────────────────────

  private onPayloadReady(round: number, payload: Uint8Array, namespaceRoot: Uint8Array): void {
    if (round !== this.round || this.self === null || this.leaders.leader(round) !== this.self) return;
    if (!this.safety.decidePropose(round)) return;
    const parent = this.tree.get(this.highQc.blockHash);
    if (!parent) return;
    if (parent.block.header.height >= this.epochEndHeight && payload.length > 0) return;
    let tc: TimeoutCertificate | null = null;
    if (this.highQc.round + 1 !== round) {
      if (!this.highTc || this.highTc.round !== round - 1) return;
      tc = this.highTc;
    }
    const header: BlockHeader = {
      chainId: this.chainId,
      epoch: this.epoch,
      round,
      height: parent.block.header.height + 1,
      parentHash: parent.hash,
      namespaceRoot,
      payloadHash: sha256(payload),
      validatorSetHash: this.validators.hash,
      proposer: this.self,
      timestampMs: Math.max(Math.floor(this.now), parent.block.header.timestampMs),
    };
    const block: Block = { header, justify: this.highQc, payload };
    const hash = hashHeader(header);
    const proposal: Proposal = {
      kind: "proposal",
      block,
      timeoutCertificate: tc,
      signature: this.bls.sign(this.secretKey, proposalDigest(hash)),
    };
    this.safety.recordProposal(round);
    const self = this.self;
    this.persistThen(() => {
      this.out.push({ type: "broadcast", message: proposal });
      this.onProposal(proposal, self);
    });
  }

  private onProposal(p: Proposal, from: ValidatorIndex): void {
    const { block } = p;
    const h = block.header;
    if (h.chainId !== this.chainId || h.epoch !== this.epoch)
      return this.reject(from, "proposal for another chain or epoch");
    if (h.round < 1 || h.proposer !== this.leaders.leader(h.round))
      return this.reject(from, `proposal by ${h.proposer}, who does not lead round ${h.round}`);
    if (!bytesEqual(block.justify.blockHash, h.parentHash))
      return this.reject(from, "justify QC is not for the parent");
    if (h.round <= block.justify.round) return this.reject(from, "proposal round not above its QC round");
    if (p.timeoutCertificate && p.timeoutCertificate.round !== h.round - 1)
      return this.reject(from, "timeout certificate is not for the previous round");
    if (h.round !== block.justify.round + 1 && !p.timeoutCertificate)
      return this.reject(from, "proposal skips rounds without a timeout certificate");
    const hash = hashHeader(h);
    const seen = this.proposalsByRound.get(h.round);
    if (this.tree.has(hash)) {
      // A duplicate: answer again if we voted (the vote may have been lost), nothing else to do.
      if (h.round === this.round) this.resendVote(hash);
      return;
    }
    if (h.proposer !== this.self && !this.verifier.verifySignature(h.proposer, proposalDigest(hash), p.signature))
      return this.reject(from, "bad proposal signature");
    if (seen && !bytesEqual(seen.hash, hash)) {
      this.reportEvidence({
        kind: "double-proposal",
        epoch: this.epoch,
        round: h.round,
        author: h.proposer,
        first: { header: seen.header, signature: seen.signature },
        second: { header: h, signature: p.signature },
      });
      // Keep going: the block may still be certified by others, and the safety rules alone decide whether we vote.
    }
    if (!this.verifier.verifyQc(block.justify)) return this.reject(from, "invalid justify QC");
    if (p.timeoutCertificate && !this.verifier.verifyTc(p.timeoutCertificate))
      return this.reject(from, "invalid timeout certificate");
    if (!seen) this.proposalsByRound.set(h.round, { hash, header: h, signature: p.signature });

    this.processQc(block.justify, from);
    if (p.timeoutCertificate) this.processTc(p.timeoutCertificate);

    const parent = this.tree.get(h.parentHash);
    if (!parent) {
      if (this.pendingProposals.size >= MAX_PENDING_PROPOSALS) this.pendingProposals.clear();
      this.pendingProposals.set(toHex(h.parentHash), { proposal: p, from });
      return;
    }
    const reason = this.validateBlock(block, parent, true);
    if (reason) return this.reject(from, `invalid block: ${reason}`);
    const stored = this.insertBlock(block, hash);
    if (this.detached.size > 0) this.connectDetached(from);
    if (h.round === this.round && this.tree.has(hash)) this.vote(stored, parent, p.timeoutCertificate);
  }

  /** Structure and payload of a block whose parent is known and whose justify QC was verified. */
  private validateBlock(block: Block, parent: StoredBlock, fresh: boolean): string | null {
    const h = block.header;
    const ph = parent.block.header;
    if (h.chainId !== this.chainId || h.epoch !== this.epoch) return "wrong chain or epoch";
    if (h.proposer !== this.leaders.leader(h.round)) return "proposer does not lead the round";
    if (!bytesEqual(block.justify.blockHash, parent.hash)) return "justify QC is not for the parent";
    if (block.justify.round !== ph.round) return "justify QC round differs from the parent's round";
    if (h.round <= ph.round) return "round does not increase";
    if (h.height !== ph.height + 1) return "height is not parent height + 1";
    if (h.timestampMs < ph.timestampMs) return "timestamp before the parent's";
    if (fresh && h.timestampMs > this.now + this.timing.maxClockDriftMs) return "timestamp too far in the future";
    if (!bytesEqual(h.validatorSetHash, this.validators.hash)) return "wrong validator set hash";
    if (!bytesEqual(h.payloadHash, sha256(block.payload))) return "payload hash mismatch";
    if (h.height > this.epochEndHeight)
      return block.payload.length === 0 && isZeroHash(h.namespaceRoot)
        ? null
        : "a block after the epoch's last block must be empty";
    let epochChange: EpochChangeCommitment | null = null;
    if (h.height === this.epochEndHeight) {
      const validatorSetHash = this.nextValidatorSetHash();
      if (!validatorSetHash) return "the next epoch's committee is not known yet";
      epochChange = { nextEpoch: this.epoch + 1, validatorSetHash };
    }
    return this.validatePayload(block, parent.block, { epochChange });
  }

  private vote(stored: StoredBlock, parent: StoredBlock, tc: TimeoutCertificate | null): void {
    if (this.self === null) return;
    const { block, hash } = stored;
    const decision = this.safety.decideVote(block, parent.block.header.round, tc, hash);
    if (!decision.ok) return this.reject(null, `not voting: ${decision.reason}`);
    if (!decision.fresh) return this.resendVote(hash);
    const round = block.header.round;
    // In the epoch's suffix the 2-chain rule commits the epoch's last block, not the (empty) parent: say so.
    const committedHash =
      decision.value === null ? ZERO_HASH : (this.commitTarget(stored)?.target.hash ?? decision.value);
    const signature = this.bls.sign(this.secretKey, voteDigest(this.chainId, this.epoch, round, hash, committedHash));
    this.safety.recordVote(round, hash, committedHash, signature);
    this.persistThen(() => this.sendVote(this.safety.state.lastVote));
  }

  private resendVote(hash: Uint8Array): void {
    const last = this.safety.state.lastVote;
    if (last && last.round === this.round && bytesEqual(last.blockHash, hash) && !this.isHeld()) this.sendVote(last);
  }

  private sendVote(last: SafetyState["lastVote"]): void {
    if (!last || this.self === null) return;
    const vote: Vote = {
      kind: "vote",
      epoch: this.epoch,
      round: last.round,
      blockHash: last.blockHash,
      committedHash: last.committedHash,
      author: this.self,
      signature: last.signature,
    };
    const next = this.leaders.leader(last.round + 1);
    if (next === this.self) this.onVote(vote, this.self);
    else this.out.push({ type: "send", to: next, message: vote });
  }

  // ── votes and certificates ─────────────────────────────────────────────

  private onVote(v: Vote, from: ValidatorIndex): void {
    if (v.epoch !== this.epoch) return this.reject(from, "vote for another epoch");
    if (this.leaders.leader(v.round + 1) !== this.self)
      return this.reject(from, "vote sent to a validator that does not lead the next round");
    if (v.round < this.round - 1) return; // stale: that round is over
    if (v.round > this.round + FUTURE_ROUNDS) return this.reject(from, "vote for a round too far ahead");
    let agg = this.votes.get(v.round);
    if (!agg) {
      agg = new VoteAggregator(this.verifier, v.round);
      this.votes.set(v.round, agg);
    }
    const outcome = agg.add(v);
    switch (outcome.kind) {
      case "qc":
        this.processQc(outcome.qc, from);
        return;
      case "equivocation": {
        const { first, second } = outcome;
        const digestOf = (x: Vote) => voteDigest(this.chainId, x.epoch, x.round, x.blockHash, x.committedHash);
        if (
          this.verifier.verifySignature(first.author, digestOf(first), first.signature) &&
          this.verifier.verifySignature(second.author, digestOf(second), second.signature)
        ) {
          this.reportEvidence({
            kind: "double-vote",
            epoch: this.epoch,
            round: v.round,
            author: v.author,
            first: { blockHash: first.blockHash, committedHash: first.committedHash, signature: first.signature },
            second: { blockHash: second.blockHash, committedHash: second.committedHash, signature: second.signature },
          });
        }
        return this.reject(from, `conflicting vote from ${v.author} in round ${v.round}`);
      }
      case "rejected":
        return this.reject(from, outcome.reason);
      case "pending":
        return;
    }
  }

  private reportEvidence(evidence: Evidence): void {
    const key = `${evidence.kind}:${evidence.author}:${evidence.round}`;
    if (this.reportedEvidence.has(key)) return;
    if (this.reportedEvidence.size > 4096) this.reportedEvidence.clear();
    this.reportedEvidence.add(key);
    this.out.push({ type: "report-evidence", evidence });
  }

  /** Acts on a verified QC: fetch its block if unknown, raise the high QC, commit by the 2-chain rule, move on. */
  private processQc(qc: QuorumCertificate, from: ValidatorIndex): void {
    const stored = this.tree.get(qc.blockHash);
    if (!stored) {
      if (qc.round > this.tree.root.block.header.round) this.requestSync(qc, from);
      return;
    }
    if (qc.round !== stored.block.header.round) return this.reject(from, "QC round differs from its block's round");
    if (qc.round > this.highQc.round) this.highQc = qc;
    const parent = this.tree.parentOf(stored);
    if (parent && parent.block.header.round + 1 === stored.block.header.round) {
      const c = this.commitTarget(stored);
      if (c && c.target.block.header.height > this.tree.root.block.header.height) this.commit(c.target, c.qc, qc);
    }
    this.advanceRound(qc.round + 1);
  }

  /**
   * What a QC on `certified` commits by the 2-chain rule: its parent, or, in
   * the epoch's suffix, the epoch's last block (with the QC that certifies it).
   * Undefined if that block is no longer in the tree.
   */
  private commitTarget(certified: StoredBlock): { target: StoredBlock; qc: QuorumCertificate } | undefined {
    let child = certified;
    let target = this.tree.parentOf(certified);
    while (target && target.block.header.height > this.epochEndHeight) {
      child = target;
      target = this.tree.parentOf(target);
    }
    return target && { target, qc: child.block.justify };
  }

  private processTc(tc: TimeoutCertificate): void {
    if (!this.highTc || tc.round > this.highTc.round) this.highTc = tc;
    this.advanceRound(tc.round + 1);
  }

  /** Commits `target` and its uncommitted ancestors, in height order, exactly once. */
  private commit(target: StoredBlock, targetQc: QuorumCertificate, finality: QuorumCertificate): void {
    const path = this.tree.pathFromRoot(target);
    if (!path) {
      throw new SafetyViolationError(
        `validator ${this.self}: block ${toHex(target.hash)} at height ${target.block.header.height} conflicts with the committed chain`,
      );
    }
    for (let i = 0; i < path.length; i++) {
      const b = path[i] as StoredBlock;
      const qc = i + 1 < path.length ? (path[i + 1] as StoredBlock).block.justify : targetQc;
      this.out.push({ type: "commit", block: b.block, blockHash: b.hash, qc, finality });
    }
    this.tree.commit(path, targetQc);
    this.lastCommittedRound = target.block.header.round;
  }

  // ── timeouts ───────────────────────────────────────────────────────────

  private onTimeoutMessage(t: Timeout, from: ValidatorIndex): void {
    if (t.epoch !== this.epoch || t.round < 1) return this.reject(from, "timeout for another epoch");
    if (!this.validators.has(t.author)) return this.reject(from, "timeout from an unknown validator");
    if (t.highQc.round >= t.round) return this.reject(from, "timeout's QC is not below its round");
    if (t.lastRoundTc && t.lastRoundTc.round !== t.round - 1)
      return this.reject(from, "timeout carries a TC for the wrong round");
    if (!this.verifier.verifyQc(t.highQc)) return this.reject(from, "timeout carries an invalid QC");
    if (t.lastRoundTc && !this.verifier.verifyTc(t.lastRoundTc))
      return this.reject(from, "timeout carries an invalid TC");
    this.processQc(t.highQc, from);
    if (t.lastRoundTc) this.processTc(t.lastRoundTc);
    if (t.round < this.round) return this.helpLaggard(from);
    // Certificates above were acted on; collecting signatures for rounds far ahead would only let a Byzantine validator grow our memory.
    if (t.round > this.round + FUTURE_ROUNDS) return;
    const agg = this.timeouts.get(t.round);
    if (agg?.has(t.author)) return;
    const digest = timeoutDigest(this.chainId, this.epoch, t.round, t.highQc.round);
    if (t.author !== this.self && !this.verifier.verifySignature(t.author, digest, t.signature))
      return this.reject(from, "bad timeout signature");
    this.collectTimeout(t);
  }

  /**
   * A validator timing out of a round we left (restarted, or cut off) learns the round we are in only from the
   * next timeout or proposal it hears, which may be a long round away. Our last timeout carries the certificates
   * that moved us on (its high QC, the TC before it): sent to it, with the others' answers, it catches up at once.
   */
  private helpLaggard(from: ValidatorIndex): void {
    if (from === this.self || this.helped.get(from) === this.round) return;
    const last = this.signedTimeout();
    if (!last || this.isHeld()) return;
    this.helped.set(from, this.round);
    this.out.push({ type: "send", to: from, message: last });
  }

  private collectTimeout(t: Timeout): void {
    if (t.round < this.round) return;
    let agg = this.timeouts.get(t.round);
    if (!agg) {
      agg = new TimeoutAggregator(this.verifier, this.epoch, t.round);
      this.timeouts.set(t.round, agg);
    }
    agg.add(t.author, t.highQc.round, t.signature);
    // More than a third timed out, so at least one honest validator gave up on this round: join them.
    if (t.round === this.round && this.self !== null && !agg.has(this.self) && agg.exceedsOneThird())
      this.localTimeout();
    const tc = agg.certificate();
    if (tc) this.processTc(tc);
  }

  // ── sync ───────────────────────────────────────────────────────────────

  private requestSync(qc: QuorumCertificate, from: ValidatorIndex): void {
    const key = toHex(qc.blockHash);
    const waiting = this.waitingQcs.get(key);
    if (waiting && this.now - waiting.requestedAt < this.timing.syncRetryMs) return;
    if (this.waitingQcs.size > MAX_DETACHED_BLOCKS) this.waitingQcs.clear();
    this.waitingQcs.set(key, { qc, requestedAt: this.now, from });
    // Ask whoever showed us the QC; our own QC (formed from votes) names no peer, so ask the block's likely proposer.
    const to = from !== this.self ? from : this.leaders.leader(qc.round);
    if (to === this.self) return;
    const request: SyncRequest = {
      kind: "sync-request",
      blockHash: qc.blockHash,
      stopHeight: this.tree.root.block.header.height,
      maxBlocks: this.maxSyncBlocks,
    };
    this.out.push({ type: "request-sync", to, request });
  }

  private onSyncRequest(req: SyncRequest, from: ValidatorIndex): void {
    const blocks = this.answerSync(req);
    if (blocks.length > 0) this.out.push({ type: "send", to: from, message: { kind: "sync-response", blocks } });
  }

  /**
   * Accepts a chain of blocks only if each is certified: the first by a QC we
   * verified and asked for, each next one by the justify QC of its child.
   */
  private onSyncResponse(resp: SyncResponse, from: ValidatorIndex): void {
    const first = resp.blocks[0];
    if (!first) return;
    let expected = hashHeader(first.header);
    const firstKey = toHex(expected);
    const waiting = this.waitingQcs.get(firstKey);
    if (!waiting) return this.reject(from, "unsolicited sync response");
    const chain: { block: Block; hash: Uint8Array }[] = [];
    for (let i = 0; i < resp.blocks.length; i++) {
      const b = resp.blocks[i] as Block;
      const hash = i === 0 ? expected : hashHeader(b.header);
      if (!bytesEqual(hash, expected)) return this.reject(from, "sync response breaks the hash chain");
      const key = toHex(hash);
      if (this.tree.has(hash) || this.detached.has(key)) break;
      if (b.header.chainId !== this.chainId || b.header.epoch !== this.epoch)
        return this.reject(from, "synced block for another chain");
      if (!bytesEqual(b.justify.blockHash, b.header.parentHash))
        return this.reject(from, "synced block's QC is not for its parent");
      if (!this.verifier.verifyQc(b.justify)) return this.reject(from, "synced block carries an invalid QC");
      chain.push({ block: b, hash });
      expected = b.header.parentHash;
    }
    if (this.tree.has(waiting.qc.blockHash)) {
      this.waitingQcs.delete(firstKey);
      this.processQc(waiting.qc, from);
      return;
    }
    if (this.detached.size + chain.length > MAX_DETACHED_BLOCKS) this.detached.clear();
    for (const c of chain) this.detached.set(toHex(c.hash), c);
    this.connectDetached(from);
    this.requestMissingAncestors(from);
  }

  /** For every detached chain whose bottom's parent is unknown, asks for that parent (certified by the bottom's justify QC). */
  private requestMissingAncestors(from: ValidatorIndex): void {
    const rootHeight = this.tree.root.block.header.height;
    for (const [key, d] of this.detached) {
      const parentHash = d.block.header.parentHash;
      if (this.tree.has(parentHash) || this.detached.has(toHex(parentHash))) continue;
      if (d.block.header.height <= rootHeight + 1) {
        // Its parent would be at or below our committed height yet is not our committed block: a conflicting chain.
        this.detached.delete(key);
        this.reject(from, "synced chain conflicts with the committed chain");
        continue;
      }
      this.requestSync(d.block.justify, from);
    }
  }

  /** Inserts every detached block whose parent is now known, lowest first, and acts on the QCs that certify them. */
  private connectDetached(from: ValidatorIndex): void {
    let progress = true;
    while (progress) {
      progress = false;
      const ready = [...this.detached.values()]
        .filter((d) => this.tree.has(d.block.header.parentHash))
        .sort((a, b) => a.block.header.height - b.block.header.height);
      for (const d of ready) {
        const key = toHex(d.hash);
        if (!this.detached.has(key)) continue;
        this.detached.delete(key);
        const parent = this.tree.get(d.block.header.parentHash);
        if (!parent) continue;
        const reason = this.validateBlock(d.block, parent, false);
        if (reason) {
          this.reject(from, `invalid synced block: ${reason}`);
          continue;
        }
        this.insertBlock(d.block, d.hash);
        this.processQc(d.block.justify, from);
        progress = true;
      }
    }
  }

  private insertBlock(block: Block, hash: Uint8Array): StoredBlock {
    const stored = this.tree.insert(block, hash);
    const key = stored.key;
    const waiting = this.waitingQcs.get(key);
    if (waiting) {
      this.waitingQcs.delete(key);
      this.processQc(waiting.qc, waiting.from);
    }
    const pending = this.pendingProposals.get(key);
    if (pending) {
      this.pendingProposals.delete(key);
      this.proposalsByRound.delete(pending.proposal.block.header.round);
      this.onProposal(pending.proposal, pending.from);
    }
    return stored;
  }
}
