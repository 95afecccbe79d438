/**
 * The protocol's data types. Everything a signature or a hash covers is listed
 * here; how each is hashed lives in `hashing.ts`, how it is put on the wire in
 * `encoding/`.
 */
import type { Bytes32 } from "./bytes.js";

/** A rollup's namespace: an unsigned 32-bit integer. Namespace 0 is reserved for system transactions. */
export type NamespaceId = number;
export const SYSTEM_NAMESPACE: NamespaceId = 0;
export const MAX_NAMESPACE: NamespaceId = 0xffff_ffff;

/** Index of a validator in its epoch's validator set (also its bit in a signer bitmap). */
export type ValidatorIndex = number;

export interface Transaction {
  namespace: NamespaceId;
  data: Uint8Array;
}

/** Transactions of one namespace in one block, in block order. */
export interface NamespaceGroup {
  namespace: NamespaceId;
  transactions: Uint8Array[];
}

/** A block's payload: groups sorted by strictly increasing namespace. */
export interface BlockPayload {
  groups: NamespaceGroup[];
}

export interface Validator {
  /** BLS12-381 G1 public key, 48 bytes compressed. */
  publicKey: Uint8Array;
  /** Stake in base units. */
  stake: bigint;
  /** Proof of possession: a signature over `proofOfPossessionDigest(publicKey)`; guards aggregation against rogue keys. */
  proofOfPossession: Uint8Array;
}

export interface ValidatorSetData {
  epoch: number;
  validators: Validator[];
}

/**
 * What a block commits to. Hashed as `sha256(abi.encode(...))` so that the L1
 * contract recomputes it with the sha256 precompile.
 */
export interface BlockHeader {
  chainId: number;
  epoch: number;
  round: number;
  height: number;
  parentHash: Bytes32;
  /** Root of the sorted namespace tree over the payload. */
  namespaceRoot: Bytes32;
  /** sha256 of the encoded payload bytes (what DA layers store). */
  payloadHash: Bytes32;
  /** Hash of the validator set that certifies this block's epoch. */
  validatorSetHash: Bytes32;
  proposer: ValidatorIndex;
  timestampMs: number;
}

/**
 * A quorum of votes on one block. Each vote signs
 * `voteDigest(chainId, epoch, round, blockHash, committedHash)`;
 * a non-zero `committedHash` is the parent the 2-chain rule commits once this
 * QC exists, so a QC doubles as the finality certificate of that parent.
 */
export interface QuorumCertificate {
  epoch: number;
  round: number;
  blockHash: Bytes32;
  committedHash: Bytes32;
  /** Bit i (LSB first within each byte) set when validator i signed. */
  signers: Uint8Array;
  /** BLS aggregate signature (96 bytes), empty only for the genesis QC. */
  signature: Uint8Array;
}

/**
 * A quorum of timeouts for one round. Signer i signed
 * `timeoutDigest(chainId, epoch, round, highQcRounds[k])` where k is i's
 * position among the set bits of `signers`.
 */
export interface TimeoutCertificate {
  epoch: number;
  round: number;
  signers: Uint8Array;
  highQcRounds: number[];
  signature: Uint8Array;
}

export interface Block {
  header: BlockHeader;
  /** QC for the parent block (`justify.blockHash === header.parentHash`). */
  justify: QuorumCertificate;
  /** Opaque to consensus; checked by the injected payload validator. */
  payload: Uint8Array;
}

export interface Proposal {
  kind: "proposal";
  block: Block;
  /** Present when the round was entered by a timeout certificate. */
  timeoutCertificate: TimeoutCertificate | null;
  /** Proposer's signature over `proposalDigest(blockHash)`. */
  signature: Uint8Array;
}

export interface Vote {
  kind: "vote";
  epoch: number;
  round: number;
  blockHash: Bytes32;
  committedHash: Bytes32;
  author: ValidatorIndex;
  signature: Uint8Array;
}

export interface Timeout {
  kind: "timeout";
  epoch: number;
  round: number;
  /** The sender's highest QC; its round is what the signature covers. */
  highQc: QuorumCertificate;
  /** The TC that ended the previous round, if the sender has it; lets peers catch up. */
  lastRoundTc: TimeoutCertificate | null;
  author: ValidatorIndex;
  signature: Uint8Array;
}

export interface SyncRequest {
  kind: "sync-request";
  /** The certified block wanted, and its ancestors back towards `stopHeight`. */
  blockHash: Bytes32;
  stopHeight: number;
  maxBlocks: number;
}

export interface SyncResponse {
  kind: "sync-response";
  /** Requested block first, then its ancestors in descending height. */
  blocks: Block[];
}

/** Sent by a validator that sees messages of a later epoch than its own: "how did epoch `epoch` end?". */
export interface EpochRequest {
  kind: "epoch-request";
  epoch: number;
}

/**
 * The answer: a QC of epoch `qc.epoch` whose `committedHash` is that epoch's
 * last block. It is self-certifying (the old committee signed it), so a
 * lagging validator checks it, syncs the blocks it names and commits them.
 */
export interface EpochProof {
  kind: "epoch-proof";
  qc: QuorumCertificate;
}

export type ConsensusMessage = Proposal | Vote | Timeout | SyncRequest | SyncResponse | EpochRequest | EpochProof;

/** Two conflicting signed statements by one validator for one round. */
export type Evidence =
  | {
      kind: "double-proposal";
      epoch: number;
      round: number;
      author: ValidatorIndex;
      first: { header: BlockHeader; signature: Uint8Array };
      second: { header: BlockHeader; signature: Uint8Array };
    }
  | {
      kind: "double-vote";
      epoch: number;
      round: number;
      author: ValidatorIndex;
      first: { blockHash: Bytes32; committedHash: Bytes32; signature: Uint8Array };
      second: { blockHash: Bytes32; committedHash: Bytes32; signature: Uint8Array };
    };
