/**
 * The consensus core's inputs (events) and outputs (effects). The core never
 * does I/O; a shell (the simulator, or the validator node) turns effects into
 * sends, disk writes and timers and feeds back events.
 */
import type { Block, ConsensusMessage, Evidence, QuorumCertificate, SyncRequest, ValidatorIndex } from "@ordo/core";
import type { SafetyState } from "./safety-rules.js";

export type ConsensusEvent =
  /** A decoded message from an authenticated peer (the transport knows who sent it). */
  | { type: "message"; from: ValidatorIndex; message: ConsensusMessage }
  /** A timer set by a `set-timer` effect fired. */
  | { type: "timer"; round: number }
  /** The payload source answered a `request-payload` effect. */
  | { type: "payload-ready"; round: number; payload: Uint8Array; namespaceRoot: Uint8Array }
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
  | { type: "set-timer"; round: number; delayMs: number }
  | { type: "request-payload"; round: number; parent: Block; parentHash: Uint8Array }
  | { type: "request-sync"; to: ValidatorIndex; request: SyncRequest }
  | { type: "report-evidence"; evidence: Evidence }
  /** Something was dropped; the shell counts it and may lower the peer's score. */
  | { type: "rejected"; from: ValidatorIndex | null; reason: string };

/** Validates a block's payload against its header; returns a reason to reject, or null. */
export type PayloadValidator = (block: Block, parent: Block) => string | null;
