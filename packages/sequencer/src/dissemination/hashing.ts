/**
 * What a batch acknowledgement signs, hashed like core's `voteDigest`:
 * `sha256(abi.encode(BATCH_ACK_TAG, uint64 chainId, uint64 epoch, bytes32 digest,
 * uint32 author, uint64 sequence, uint64 transactionCount, uint64 byteSize))`
 * with `BATCH_ACK_TAG = sha256("ORDO/v1/batch-ack")`, so an L1 contract could
 * recompute it and no ack can be replayed as a vote, timeout or proposal.
 */
import { type Bytes32, sha256 } from "@ordo/core";

/** Static ABI words (uint up to 2^53-1, bytes32), written by hand: the bytes `abi.encode` gives. */
function staticWords(values: readonly (number | Uint8Array)[]): Uint8Array {
  const out = new Uint8Array(32 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${v} is not an unsigned safe integer`);
      view.setUint32(32 * i + 24, Math.floor(v / 2 ** 32));
      view.setUint32(32 * i + 28, v >>> 0);
    } else {
      if (v.length !== 32) throw new RangeError(`expected a 32-byte word, got ${v.length} bytes`);
      out.set(v, 32 * i);
    }
  });
  return out;
}

export const BATCH_ACK_TAG: Bytes32 = sha256(new TextEncoder().encode("ORDO/v1/batch-ack"));

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
