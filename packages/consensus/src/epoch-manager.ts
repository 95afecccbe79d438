/**
 * Runs consensus across epochs: one `Replica` per epoch, each with its own
 * committee, handed over when the epoch's last block commits.
 *
 * Epoch e's replica commits at most up to `epochEndHeight(e)`; the block there
 * carries the commitment to epoch e+1's committee, and once it is committed
 * (certified by epoch e's committee) the manager starts epoch e+1's replica
 * rooted at that very block. Rounds keep increasing across epochs and every
 * signed digest names its epoch, so a signature of one epoch never counts in
 * another; each epoch starts from a fresh safety state, persisted before the
 * first signature of that epoch as always. There is no gap: the last block of
 * e is final under e's rules before e+1 proposes anything on top of it.
 *
 * Validators are identified here by a stable *node id* (the shell's peer
 * number); a committee lists which node holds each of its indexes. A node that
 * is in no committee follows as an observer. A validator that missed the end
 * of an epoch sees messages of the next one, asks the sender how its epoch
 * ended (`epoch-request`), and gets the QC that committed the last block
 * (`epoch-proof`): it checks it with the committee it knows, syncs the blocks
 * it names and commits them, then moves on like everyone else.
 */
import {
  type Block,
  type BlsBackend,
  type Bytes32,
  type ConsensusMessage,
  type EpochSchedule,
  epochEndHeight,
  hashHeader,
  type QuorumCertificate,
  type ValidatorSet,
} from "@ordo/core";
import { rootQc } from "./certificates.js";
import type { ConsensusEffect, ConsensusEvent, PayloadValidator } from "./events.js";
import type { PacemakerTiming } from "./pacemaker.js";
import { Replica } from "./replica.js";
import { initialSafetyState, type SafetyRules, type SafetyState } from "./safety-rules.js";

/** A stable identifier of a validator process across epochs (the shell's peer number). */
export type NodeId = number;

export interface EpochCommittee {
  validators: ValidatorSet;
  /** `members[i]` is the node holding validator index i. */
  members: readonly NodeId[];
}

export interface EpochManagerConfig {
  chainId: number;
  self: NodeId;
  bls: BlsBackend;
  secretKey: Uint8Array;
  /** Height 0, epoch 0. */
  genesis: Block;
  schedule: EpochSchedule;
  /**
   * Epoch e's committee. Asked for e+1 when e's last block commits, and for
   * e+1's hash while e's last block is proposed or checked: the shell knows
   * both an epoch ahead (the staking ledger decides e+2 at the end of e).
   */
  committee: (epoch: number) => EpochCommittee | undefined;
  validatePayload: PayloadValidator;
  timing?: Partial<PacemakerTiming>;
  retainCommittedBlocks?: number;
  maxSyncBlocks?: number;
  createSafetyRules?: (state: SafetyState) => SafetyRules;
}

/** What a node reads back after a restart. */
export interface RecoveredEpochState {
  /** The last safety state written (of whichever epoch), or null if none was. */
  safety: SafetyState | null;
  /** The last committed block and a QC certifying it. */
  root: { block: Block; qc: QuorumCertificate };
  /** The block the root's epoch started from (genesis, or the previous epoch's last block). */
  epochRoot: Block;
}

interface Running {
  epoch: number;
  replica: Replica;
  committee: EpochCommittee;
  /** Persist sequence numbers of this replica are offset by this, so they never collide across epochs. */
  seqBase: number;
}

interface Finished extends Running {
  /** The QC whose `committedHash` is this epoch's last block. */
  finality: QuorumCertificate;
}

/** Finished epochs kept to answer laggards and their sync requests. */
const KEEP_FINISHED = 4;
const MAX_BUFFERED = 512;

export class EpochManager {
  private current: Running;
  private readonly finished = new Map<number, Finished>();
  /** Messages of the next epoch that arrived before this node finished the current one. */
  private buffered: { from: NodeId; message: ConsensusMessage }[] = [];
  private readonly lastAsked = new Map<string, number>();
  private seqHighWater = 0;
  /** The QC that committed the current epoch's last block, once it has. */
  private lastFinality: QuorumCertificate | null = null;
  private now = 0;
  private readonly syncRetryMs: number;

  constructor(
    private readonly config: EpochManagerConfig,
    recovered?: RecoveredEpochState,
  ) {
    this.syncRetryMs = config.timing?.syncRetryMs ?? 1000;
    if (!recovered) {
      this.current = this.startEpoch(0, config.genesis, null, undefined);
      return;
    }
    const { root, epochRoot } = recovered;
    const finishedRoot =
      root.block.header.height === this.endOf(root.block.header.epoch) && root.block.header.height > 0;
    if (finishedRoot) {
      // Crashed right after committing an epoch's last block: the next epoch starts from it.
      const epoch = root.block.header.epoch + 1;
      this.current = this.startEpoch(epoch, root.block, recovered.safety, undefined);
    } else {
      const epoch = root.block.header.epoch;
      this.current = this.startEpoch(epoch, epochRoot, recovered.safety, root);
    }
  }

  // ── queries ────────────────────────────────────────────────────────────

  get epoch(): number {
    return this.current.epoch;
  }

  get replica(): Replica {
    return this.current.replica;
  }

  get committee(): EpochCommittee {
    return this.current.committee;
  }

  /** Index of this node in the current committee, or null while it only observes. */
  get selfIndex(): number | null {
    return this.current.replica.self;
  }

  get currentRound(): number {
    return this.current.replica.currentRound;
  }

  /** Every replica's signature checks so far (for benchmarks). */
  get verifications(): number {
    let n = this.current.replica.verifier.counter.verifications;
    for (const f of this.finished.values()) n += f.replica.verifier.counter.verifications;
    return n;
  }

  // ── entry points ───────────────────────────────────────────────────────

  start(now: number): ConsensusEffect[] {
    this.now = now;
    const out: ConsensusEffect[] = [];
    this.emit(this.current, this.current.replica.start(now), out);
    return out;
  }

  handle(event: ConsensusEvent, now: number): ConsensusEffect[] {
    this.now = now;
    const out: ConsensusEffect[] = [];
    switch (event.type) {
      case "message":
        this.onMessage(event.from, event.message, out);
        break;
      case "persisted": {
        const local = event.seq - this.current.seqBase;
        if (local > 0) this.step({ type: "persisted", seq: local }, out);
        break;
      }
      default:
        // A finished epoch's timers and payloads are dropped: its round numbers live on in the next epoch.
        if (event.epoch === undefined || event.epoch === this.current.epoch) this.step(event, out);
    }
    return out;
  }

  // ── routing ────────────────────────────────────────────────────────────

  private onMessage(from: NodeId, message: ConsensusMessage, out: ConsensusEffect[]): void {
    switch (message.kind) {
      case "epoch-request":
        return this.answerEpochRequest(from, message.epoch, out);
      case "sync-request": {
        const holder = [this.current, ...this.finished.values()].find((r) => r.replica.hasBlock(message.blockHash));
        const blocks = holder?.replica.answerSync(message) ?? [];
        if (blocks.length > 0) out.push({ type: "send", to: from, message: { kind: "sync-response", blocks } });
        return;
      }
      case "sync-response":
        return this.step({ type: "message", from: this.indexOf(this.current, from), message }, out);
    }
    const epoch = epochOf(message);
    if (epoch === this.current.epoch) {
      this.step({ type: "message", from: this.indexOf(this.current, from), message }, out);
      return;
    }
    if (epoch < this.current.epoch) {
      // The sender is still in an epoch we finished: tell it how that epoch ended.
      if (message.kind !== "epoch-proof") this.answerEpochRequest(from, epoch, out);
      return;
    }
    if (epoch === this.current.epoch + 1 && this.buffered.length < MAX_BUFFERED) this.buffered.push({ from, message });
    if (this.firstAsk(`req:${from}:${this.current.epoch}`))
      out.push({ type: "send", to: from, message: { kind: "epoch-request", epoch: this.current.epoch } });
  }

  private answerEpochRequest(to: NodeId, epoch: number, out: ConsensusEffect[]): void {
    const f = this.finished.get(epoch);
    if (!f || !this.firstAsk(`proof:${to}:${epoch}`)) return;
    out.push({ type: "send", to, message: { kind: "epoch-proof", qc: f.finality } });
  }

  /** Rate limit per peer and purpose: at most one per sync retry interval. */
  private firstAsk(key: string): boolean {
    const last = this.lastAsked.get(key);
    if (last !== undefined && this.now - last < this.syncRetryMs) return false;
    if (this.lastAsked.size > 4096) this.lastAsked.clear();
    this.lastAsked.set(key, this.now);
    return true;
  }

  /** Feeds the current replica, translates its effects, and hands over to the next epoch when this one ends. */
  private step(event: ConsensusEvent, out: ConsensusEffect[]): void {
    const running = this.current;
    this.emit(running, running.replica.handle(event, this.now), out);
    if (running === this.current && running.replica.epochFinished) this.nextEpoch(out);
  }

  private emit(running: Running, effects: ConsensusEffect[], out: ConsensusEffect[]): void {
    for (const e of effects) {
      switch (e.type) {
        case "send":
          out.push({ ...e, to: this.nodeOf(running, e.to) });
          break;
        case "request-sync":
          out.push({ ...e, to: this.nodeOf(running, e.to) });
          break;
        case "rejected":
          out.push({ ...e, from: e.from === null ? null : this.nodeOf(running, e.from) });
          break;
        case "persist":
          // A finished epoch's replica never writes again: its state would overwrite the next epoch's.
          if (running !== this.current) break;
          this.seqHighWater = running.seqBase + e.seq;
          out.push({ ...e, seq: this.seqHighWater });
          break;
        case "commit":
          if (e.block.header.height === running.replica.epochEndHeight) this.lastFinality = e.finality;
          out.push(e);
          break;
        case "set-timer":
        case "request-payload":
          out.push({ ...e, epoch: running.epoch });
          break;
        default:
          out.push(e);
      }
    }
  }

  private nextEpoch(out: ConsensusEffect[]): void {
    const done = this.current;
    const finality = this.lastFinality;
    if (!finality) throw new Error(`epoch ${done.epoch} finished without a finality certificate`);
    this.finished.set(done.epoch, { ...done, finality });
    // Whoever formed the QC that ended the epoch may be the only one who has it: share it rather than let the rest time out.
    out.push({ type: "broadcast", message: { kind: "epoch-proof", qc: finality } });
    for (const e of this.finished.keys()) if (e <= done.epoch - KEEP_FINISHED) this.finished.delete(e);
    const last = done.replica.committedBlock.block;
    this.current = this.startEpoch(done.epoch + 1, last, null, undefined);
    this.emit(this.current, this.current.replica.start(this.now), out);
    const replay = this.buffered;
    this.buffered = [];
    for (const b of replay) this.onMessage(b.from, b.message, out);
  }

  private startEpoch(
    epoch: number,
    epochRoot: Block,
    safety: SafetyState | null,
    root: { block: Block; qc: QuorumCertificate } | undefined,
  ): Running {
    const committee = this.config.committee(epoch);
    if (!committee) throw new Error(`the committee of epoch ${epoch} is not known`);
    if (committee.validators.epoch !== epoch)
      throw new Error(`the committee given for epoch ${epoch} is epoch ${committee.validators.epoch}'s`);
    const selfIndex = committee.members.indexOf(this.config.self);
    const self = selfIndex >= 0 ? selfIndex : null;
    // A state from a later epoch than the committed chain says this node signed there: starting over could double-sign.
    if (safety && safety.epoch > epoch)
      throw new Error(`the safety state is of epoch ${safety.epoch} but the committed chain is in epoch ${epoch}`);
    const state = safety && safety.epoch === epoch ? safety : initialSafetyState(epoch);
    const rootHash = hashHeader(epochRoot.header);
    const replica = new Replica(
      {
        chainId: this.config.chainId,
        self,
        validators: committee.validators,
        bls: this.config.bls,
        secretKey: this.config.secretKey,
        genesis: epochRoot,
        validatePayload: this.config.validatePayload,
        epochEndHeight: this.endOf(epoch),
        nextValidatorSetHash: (): Bytes32 | undefined => this.config.committee(epoch + 1)?.validators.hash,
        ...(this.config.timing ? { timing: this.config.timing } : {}),
        ...(this.config.retainCommittedBlocks ? { retainCommittedBlocks: this.config.retainCommittedBlocks } : {}),
        ...(this.config.maxSyncBlocks ? { maxSyncBlocks: this.config.maxSyncBlocks } : {}),
        ...(this.config.createSafetyRules ? { createSafetyRules: this.config.createSafetyRules } : {}),
      },
      {
        safety: state,
        root: root ?? { block: epochRoot, qc: rootQc(rootHash, epoch, epochRoot.header.round) },
      },
    );
    return { epoch, replica, committee, seqBase: this.seqHighWater };
  }

  private endOf(epoch: number): number {
    return epochEndHeight(this.config.schedule, epoch);
  }

  /**
   * Replicas speak in committee indexes. Nodes outside the committee get
   * indexes past its end (size + node id), so a replica can still answer them
   * (sync) and tell the shell whom to penalize.
   */
  private indexOf(running: Running, node: NodeId): number {
    const i = running.committee.members.indexOf(node);
    return i >= 0 ? i : running.committee.members.length + node;
  }

  private nodeOf(running: Running, index: number): NodeId {
    const size = running.committee.members.length;
    return index < size ? (running.committee.members[index] as NodeId) : index - size;
  }
}

function epochOf(m: Exclude<ConsensusMessage, { kind: "epoch-request" | "sync-request" | "sync-response" }>): number {
  switch (m.kind) {
    case "proposal":
      return m.block.header.epoch;
    case "vote":
    case "timeout":
      return m.epoch;
    case "epoch-proof":
      return m.qc.epoch;
  }
}
