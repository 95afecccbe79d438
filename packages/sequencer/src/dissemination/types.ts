/**
 * Dissemination types (Narwhal / Aptos Quorum Store): validators pack
 * transactions into batches, send them to every validator, and collect signed
 * acknowledgements into a batch certificate. Leaders propose certified batch
 * digests (`BlockBatches`), not raw transactions; the block's transactions are
 * the certified batches' transactions, in certificate order.
 */
import type { Bytes32, Transaction, ValidatorIndex } from "@ordo/core";

/** A batch of transactions sealed by one validator. Its digest is `sha256(encodeBatch(batch))`. */
export interface Batch {
  author: ValidatorIndex;
  /** 0, 1, 2, ... per author within an epoch. */
  sequence: number;
  /** The author's clock when it sealed the batch (informational; bounded against the receiver's clock). */
  createdAtMs: number;
  /** At least one transaction. */
  transactions: Transaction[];
}

/**
 * "I stored this batch durably": `signer`'s BLS signature over
 * `batchAckDigest(chainId, epoch, digest, author, sequence, transactionCount, byteSize)`,
 * sent to the batch's author. The count and size come from the batch the
 * signer stored (the author recomputes them from its own copy).
 */
export interface BatchAck {
  digest: Bytes32;
  /** The batch's author (the ack's recipient). */
  author: ValidatorIndex;
  sequence: number;
  signer: ValidatorIndex;
  signature: Uint8Array;
}

/**
 * Acks from more than two thirds of stake, aggregated. At least f+1 honest
 * validators stored the batch, so its data can be fetched from the signers.
 */
export interface BatchCertificate {
  digest: Bytes32;
  author: ValidatorIndex;
  sequence: number;
  transactionCount: number;
  /** Sum of the transactions' data bytes (what the mempool and block limits count). */
  byteSize: number;
  /** Bit i (LSB first within each byte) set when validator i signed. */
  signers: Uint8Array;
  /** BLS aggregate signature (96 bytes). */
  signature: Uint8Array;
}

/** Ask a peer for batches by digest. */
export interface BatchRequest {
  digests: Bytes32[];
}

/** The requested batches the peer holds (possibly none). */
export interface BatchResponse {
  batches: Batch[];
}

/**
 * A block's payload under dissemination: certified batches, in block order,
 * and the system transactions (namespace 0) the proposer puts in the block
 * itself, ahead of the batches' (the epoch's last block carries its
 * epoch-change commitment this way).
 */
export interface BlockBatches {
  certificates: BatchCertificate[];
  system: Uint8Array[];
}

/** What validators send each other on the dissemination path. */
export type DisseminationMessage =
  | { kind: "batch"; batch: Batch }
  | { kind: "batch-ack"; ack: BatchAck }
  | { kind: "batch-certificate"; certificate: BatchCertificate }
  | { kind: "batch-request"; request: BatchRequest }
  | { kind: "batch-response"; response: BatchResponse };
