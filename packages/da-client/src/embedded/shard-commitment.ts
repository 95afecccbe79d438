/**
 * The commitment to a block's erasure-coded shards, and the DA certificate
 * over it.
 *
 * - `shardRoot`: the core-style sha256 Merkle root of the shard leaves
 *   `sha256(abi.encode(uint32 index, bytes shard))` (a leaf preimage is at
 *   least 96 bytes, so no inner node passes for a leaf). A shard comes with its
 *   Merkle path, so a corrupt shard is detected on its own and skipped.
 * - Validator v of n holds the shards j with j mod n = v.
 * - A DA certificate: signers with more than 2/3 of the stake, each attesting
 *   (`daAttestationDigest`) that it stored its verified shards, aggregated.
 */
import {
  type BlsBackend,
  type Bytes32,
  bitmapIndices,
  daAttestationDigest,
  isQuorum,
  merkleProof,
  merkleRoot,
  sha256,
  type ValidatorSet,
  verifyMerkleProof,
} from "@ordo/core";

export function shardLeaf(index: number, shard: Uint8Array): Bytes32 {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) throw new RangeError(`bad shard index ${index}`);
  // abi.encode(uint32 index, bytes shard): [index][offset 0x40][length][shard, zero-padded to 32].
  const padded = Math.ceil(shard.length / 32) * 32;
  const buf = Buffer.alloc(96 + padded);
  buf.writeUInt32BE(index, 28);
  buf.writeUInt32BE(0x40, 60);
  buf.writeUInt32BE(shard.length, 92);
  buf.set(shard, 96);
  return sha256(buf);
}

export interface ShardCommitment {
  root: Bytes32;
  leaves: Bytes32[];
}

export function commitShards(shards: readonly Uint8Array[]): ShardCommitment {
  const leaves = shards.map((s, i) => shardLeaf(i, s));
  return { root: merkleRoot(leaves), leaves };
}

export function shardPath(commitment: ShardCommitment, index: number): Bytes32[] {
  return merkleProof(commitment.leaves, index);
}

/** True when `shard` is shard `index` of the `count` shards committed to by `root`. Never throws. */
export function verifyShard(root: Bytes32, index: number, count: number, shard: Uint8Array, path: Bytes32[]): boolean {
  try {
    return verifyMerkleProof(shardLeaf(index, shard), index, count, path, root);
  } catch {
    return false;
  }
}

/** The shard indexes validator `validator` of `n` holds, out of `count`. */
export function shardsOf(validator: number, n: number, count: number): number[] {
  const out: number[] = [];
  for (let j = validator; j < count; j += n) out.push(j);
  return out;
}

/** A block's DA certificate on the embedded layer. */
export interface DaCertificate {
  height: number;
  payloadHash: Bytes32;
  payloadLength: number;
  shardRoot: Bytes32;
  /** Data and parity shards. */
  k: number;
  m: number;
  /** Bit i (LSB first within each byte) set when validator i attested. */
  signers: Uint8Array;
  /** BLS aggregate (96 bytes compressed) of the signers' attestations. */
  signature: Uint8Array;
}

/** True when signers with more than 2/3 of `validators`' stake signed the certificate's attestation. */
export function verifyDaCertificate(
  bls: BlsBackend,
  chainId: number,
  validators: ValidatorSet,
  cert: DaCertificate,
): boolean {
  try {
    const signers = bitmapIndices(cert.signers);
    if (signers.some((i) => i >= validators.validators.length)) return false;
    if (!isQuorum(validators.signedStake(cert.signers), validators.totalStake)) return false;
    const digest = daAttestationDigest(chainId, cert.height, cert.payloadHash, cert.shardRoot);
    return bls.fastAggregateVerify(
      signers.map((i) => (validators.validators[i] as { publicKey: Uint8Array }).publicKey),
      digest,
      cert.signature,
    );
  } catch {
    return false;
  }
}
