/**
 * Binary SHA-256 Merkle tree over 32-byte leaf hashes, recomputable in Solidity.
 *
 * - internal node = sha256(left ‖ right). Its preimage is 64 bytes, while every
 *   leaf is a hash of a preimage of at least 96 bytes, so a node can never be
 *   passed off as a leaf (or back) without a SHA-256 collision.
 * - an odd last node of a level is carried up unchanged (no duplication, so no
 *   two leaf lists of different lengths share a root by padding).
 * - the empty tree's root is 32 zero bytes.
 *
 * The root does not commit to the leaf count: with carry-up, some (index, count)
 * pairs give the same path shape, e.g. index 0 of 3 and of 4 leaves. A verified
 * proof therefore identifies its leaf's position in the tree, but `count` is only
 * checked for consistency with the proof, not proven.
 */
import { bytesEqual, ZERO_HASH } from "../bytes.js";
import { sha256Concat } from "../crypto/sha256.js";

/** Hashes the first `n` nodes of `src` pairwise into `dst` (which may be `src`); returns the new length. */
function reduceLevel(src: Uint8Array[], dst: Uint8Array[], n: number): number {
  const half = n >>> 1;
  // Writing dst[i] only after reading src[2i], src[2i+1] makes the in-place case safe.
  for (let i = 0; i < half; i++) dst[i] = sha256Concat(src[2 * i]!, src[2 * i + 1]!);
  if (n & 1) dst[half] = src[n - 1]!;
  return half + (n & 1);
}

function checkLeaves(leaves: Uint8Array[]): void {
  for (const leaf of leaves)
    if (!(leaf instanceof Uint8Array) || leaf.length !== 32)
      throw new TypeError("merkle leaves must be 32-byte hashes");
}

export function merkleRoot(leaves: Uint8Array[]): Uint8Array {
  checkLeaves(leaves);
  const n = leaves.length;
  if (n === 0) return ZERO_HASH;
  if (n === 1) return leaves[0]!;
  // One scratch array of half the size, reduced in place: no per-level arrays, no byte copies.
  const level = new Array<Uint8Array>((n + 1) >>> 1);
  let m = reduceLevel(leaves, level, n);
  while (m > 1) m = reduceLevel(level, level, m);
  return level[0]!;
}

/** Sibling hashes from the leaf up, skipping the levels where the node is carried up. */
export function merkleProof(leaves: Uint8Array[], index: number): Uint8Array[] {
  checkLeaves(leaves);
  const n = leaves.length;
  if (!Number.isInteger(index) || index < 0 || index >= n)
    throw new RangeError(`merkle proof index ${index} out of range for ${n} leaves`);
  const proof: Uint8Array[] = [];
  const scratch = new Array<Uint8Array>((n + 1) >>> 1);
  let level = leaves;
  let i = index;
  for (let m = n; m > 1; i >>>= 1) {
    const sibling = i ^ 1;
    if (sibling < m) proof.push(level[sibling]!);
    m = reduceLevel(level, scratch, m);
    level = scratch;
  }
  return proof;
}

function isHash(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array && x.length === 32;
}

/** Recomputes the root from a leaf and its proof; false (never a throw) on any inconsistency. */
export function verifyMerkleProof(
  leaf: Uint8Array,
  index: number,
  count: number,
  proof: Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isHash(leaf) || !isHash(root) || !Array.isArray(proof)) return false;
  // Counts are uint32 on chain; the bound also keeps the bit arithmetic below exact.
  if (!Number.isInteger(count) || count > 0xffff_ffff || !Number.isInteger(index) || index < 0 || index >= count)
    return false;
  let node = leaf;
  let used = 0;
  let i = index;
  for (let m = count; m > 1; m = (m >>> 1) + (m & 1), i >>>= 1) {
    if (i === m - 1 && m & 1) continue; // carried up: this level has no sibling
    const sibling: unknown = proof[used++];
    if (!isHash(sibling)) return false;
    node = i & 1 ? sha256Concat(sibling, node) : sha256Concat(node, sibling);
  }
  return used === proof.length && bytesEqual(node, root);
}
