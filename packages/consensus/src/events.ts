/**
 * The consensus core's inputs (events) and outputs (effects). The core never
 * does I/O; a shell (the simulator, or the validator node) turns effects into
 * sends, disk writes and timers and feeds back events.
 */
import type {
  Block,
  ConsensusMessage,
  EpochChangeCommitment,
  Evidence,
  QuorumCertificate,
  SyncRequest,
  ValidatorIndex,
} from "@ordo/core";
import type { SafetyState } from "./safety-rules.js";

export type ConsensusEvent =
  /** A decoded message from an authenticated peer (the transport knows who sent it). */
  | { type: "message"; from: ValidatorIndex; message: ConsensusMessage }
  /** A timer set by a `set-timer` effect fired (`epoch` as the effect gave it). */
  | { type: "timer"; round: number; epoch?: number }
  /** The payload source answered a `request-payload` effect (`epoch` as the effect gave it). */
  | { type: "payload-ready"; round: number; payload: Uint8Array; namespaceRoot: Uint8Array; epoch?: number }
  /** The shell finished the `persist` effect with this sequence number (and all before it). */
  | { type: "persisted"; seq: number };

export type ConsensusEffect =
  | { type: "send"; to: ValidatorIndex; message: ConsensusMessage }
  | { type: "broadcast"; message: ConsensusMessage }
  /** Durably store the safety state; messages signed under it wait for `persisted`. */
  | { type: "persist"; seq: number; state: SafetyState }
  /**
   * A block is final. Emitted in height order, exactly once per block per run.
   * `qc` certifies the block; `finality` is the QC whose `committedHash` finalizes
   * this block or a descendant (the certificate a light client or the L1 checks).
   */
  | { type: "commit"; block: Block; blockHash: Uint8Array; qc: QuorumCertificate; finality: QuorumCertificate }
  /** `epoch` is set by the epoch manager; hand it back in the `timer` event. */
  | { type: "set-timer"; round: number; delayMs: number; epoch?: number }
  /** Build a payload on `parent`; for the epoch's last block it must carry `epochChange` (core's `encodeEpochChange`) in namespace 0. */
  | {
      type: "request-payload";
      round: number;
      parent: Block;
      parentHash: Uint8Array;
      epochChange?: EpochChangeCommitment;
      /** Set by the epoch manager; hand it back in the `payload-ready` event. */
      epoch?: number;
    }
  | { type: "request-sync"; to: ValidatorIndex; request: SyncRequest }
  | { type: "report-evidence"; evidence: Evidence }
  /** Something was dropped; the shell counts it and may lower the peer's score. */
  | { type: "rejected"; from: ValidatorIndex | null; reason: string };

/** What consensus requires of a payload beyond the shell's own rules. */
export interface PayloadContext {
  /** The epoch-change commitment the block must carry (the epoch's last block), or null: it must carry none. */
  epochChange: EpochChangeCommitment | null;
}

/** Validates a block's payload against its header; returns a reason to reject, or null. */
export type PayloadValidator = (block: Block, parent: Block, context?: PayloadContext) => string | null;
