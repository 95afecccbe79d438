/**
 * What a batch acknowledgement signs, hashed like core's `voteDigest`:
 * `sha256(abi.encode(BATCH_ACK_TAG, uint64 chainId, uint64 epoch, bytes32 digest,
 * uint32 author, uint64 sequence, uint64 transactionCount, uint64 byteSize))`
 * with `BATCH_ACK_TAG = sha256("ORDO/v1/batch-ack")`, so an L1 contract could
 * recompute it and no ack can be replayed as a vote, timeout or proposal.
 */
import { type Bytes32, domainTag, sha256, encodeStaticAbiWords as staticWords } from "@ordo/core";

export const BATCH_ACK_TAG: Bytes32 = domainTag("batch-ack");

/** ABI types of a batch-ack digest preimage, in order. */
export const BATCH_ACK_DIGEST_ABI = [
  { type: "bytes32", name: "tag" },
  { type: "uint64", name: "chainId" },
  { type: "uint64", name: "epoch" },
  { type: "bytes32", name: "digest" },
  { type: "uint32", name: "author" },
  { type: "uint64", name: "sequence" },
  { type: "uint64", name: "transactionCount" },
  { type: "uint64", name: "byteSize" },
] as const;

/** What a `BatchAck` (and so a `BatchCertificate`) signs. */
export function batchAckDigest(
  chainId: number,
  epoch: number,
  digest: Bytes32,
  author: number,
  sequence: number,
  transactionCount: number,
  byteSize: number,
): Bytes32 {
  return sha256(staticWords([BATCH_ACK_TAG, chainId, epoch, digest, author, sequence, transactionCount, byteSize]));
}
