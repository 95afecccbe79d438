/**
 * The sorted namespace tree: a block's `namespaceRoot`.
 *
 * Each namespace with transactions in the block has one leaf
 * `(uint32 namespace, uint32 count, bytes32 txRoot)`, where `txRoot` is the Merkle
 * root of its transaction ids in block order, hashed as
 * `sha256(abi.encode(uint32, uint32, bytes32))`. Leaves are sorted by strictly
 * increasing namespace and the root is `merkleRoot` of their hashes, so the L1
 * recomputes it with `abi.encode` and the sha256 precompile.
 *
 * Because the leaf commits to the count and the root of all of a namespace's
 * transactions, an inclusion proof proves the complete set; because leaves are
 * sorted, two adjacent leaves around a namespace prove it absent. Soundness of
 * absence proofs relies on the root coming from a payload that passed
 * `validatePayloadOrder` (consensus rejects any other block).
 */
import type { Bytes32 } from "../bytes.js";
import { isZeroHash } from "../bytes.js";
import { sha256 } from "../crypto/sha256.js";
import { OrdoError } from "../errors.js";
import { hashTransaction } from "../hashing.js";
import type { BlockPayload, NamespaceId } from "../types.js";
import { MAX_NAMESPACE } from "../types.js";
import { merkleProof, merkleRoot, verifyMerkleProof } from "./merkle.js";

export interface NamespaceLeaf {
  namespace: NamespaceId;
  /** Number of the namespace's transactions in the block (at least 1). */
  count: number;
  /** `merkleRoot` of the namespace's transaction ids, in block order. */
  txRoot: Bytes32;
}

/** ABI types of a namespace leaf preimage; `hashNamespaceLeaf` writes the same bytes by hand. */
export const NAMESPACE_LEAF_ABI = [
  { type: "uint32", name: "namespace" },
  { type: "uint32", name: "count" },
  { type: "bytes32", name: "txRoot" },
] as const;

/** Proves the complete, ordered set of a namespace's transactions in a block. */
export interface NamespaceInclusionProof {
  kind: "inclusion";
  namespace: NamespaceId;
  leafIndex: number;
  leafCount: number;
  path: Bytes32[];
}

/** A leaf next to an absent namespace, with its Merkle path. */
export interface NeighbourProof {
  leaf: NamespaceLeaf;
  index: number;
  path: Bytes32[];
}

/**
 * Proves a namespace has no transactions in a block: `left` is the leaf with the
 * largest namespace below it, `right` the smallest above it, at adjacent indexes.
 * Only `right` (at 0) when below every leaf, only `left` (at leafCount - 1) when
 * above every leaf, neither when the block is empty (root = ZERO_HASH).
 */
export interface NamespaceAbsenceProof {
  kind: "absence";
  namespace: NamespaceId;
  leafCount: number;
  left?: NeighbourProof;
  right?: NeighbourProof;
}

export type NamespaceProof = NamespaceInclusionProof | NamespaceAbsenceProof;

/** Proves one transaction is in a block, in its namespace, at position `txIndex`. */
export interface TransactionInclusionProof {
  kind: "transaction";
  leaf: NamespaceLeaf;
  leafIndex: number;
  leafCount: number;
  leafPath: Bytes32[];
  txIndex: number;
  txPath: Bytes32[];
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null;
}

function isUint32(x: unknown): x is number {
  return Number.isInteger(x) && (x as number) >= 0 && (x as number) <= MAX_NAMESPACE;
}

function isHash(x: unknown): x is Bytes32 {
  return x instanceof Uint8Array && x.length === 32;
}

function isLeaf(x: unknown): x is NamespaceLeaf {
  // count >= 1: a valid payload has no empty groups, so a zero-count leaf is never in a tree.
  return isObject(x) && isUint32(x.namespace) && isUint32(x.count) && x.count >= 1 && isHash(x.txRoot);
}

/** Proofs arrive from the network: a verifier answers false rather than throw, whatever it is given. */
function guard(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

/** `sha256(abi.encode(uint32 namespace, uint32 count, bytes32 txRoot))`. */
export function hashNamespaceLeaf(leaf: NamespaceLeaf): Bytes32 {
  if (!isHash(leaf.txRoot)) throw new TypeError("namespace leaf txRoot must be 32 bytes");
  // Three 32-byte words, the uint32s right-aligned (big-endian) in theirs.
  const buf = Buffer.alloc(96);
  buf.writeUInt32BE(leaf.namespace, 28);
  buf.writeUInt32BE(leaf.count, 60);
  buf.set(leaf.txRoot, 64);
  return sha256(buf);
}

/** Null when the payload can be committed to; otherwise what is wrong with it. */
export function validatePayloadOrder(payload: BlockPayload): string | null {
  if (!isObject(payload) || !Array.isArray(payload.groups)) return "payload.groups must be an array";
  let previous = -1;
  for (const [k, group] of payload.groups.entries()) {
    if (!isObject(group)) return `group ${k} is not an object`;
    const { namespace, transactions } = group;
    if (!isUint32(namespace)) return `group ${k}: namespace ${String(namespace)} is not an integer in [0, 2^32)`;
    if (namespace <= previous)
      return `group ${k}: namespace ${namespace} after ${previous}; namespaces must be strictly increasing`;
    if (!Array.isArray(transactions) || transactions.length === 0)
      return `group ${k}: namespace ${namespace} has no transactions`;
    if (!transactions.every((tx) => tx instanceof Uint8Array))
      return `group ${k}: namespace ${namespace} has a transaction that is not a Uint8Array`;
    previous = namespace;
  }
  return null;
}

function groupLeaf(namespace: NamespaceId, transactions: Uint8Array[]): NamespaceLeaf {
  const ids = transactions.map((tx) => hashTransaction(namespace, tx));
  return { namespace, count: transactions.length, txRoot: merkleRoot(ids) };
}

/** The payload's leaves in namespace order; throws `OrdoError` (INVALID_PAYLOAD) on a payload that breaks the rules. */
export function namespaceLeaves(payload: BlockPayload): NamespaceLeaf[] {
  const error = validatePayloadOrder(payload);
  if (error !== null) throw new OrdoError("INVALID_PAYLOAD", `invalid block payload: ${error}`);
  return payload.groups.map((g) => groupLeaf(g.namespace, g.transactions));
}

/** Root over leaves already in tree order (as `namespaceLeaves` returns them). */
export function namespaceRootFromLeaves(leaves: NamespaceLeaf[]): Bytes32 {
  return merkleRoot(leaves.map(hashNamespaceLeaf));
}

export function namespaceRoot(payload: BlockPayload): Bytes32 {
  return namespaceRootFromLeaves(namespaceLeaves(payload));
}

function checkNamespace(namespace: NamespaceId): void {
  if (!isUint32(namespace))
    throw new OrdoError("INVALID_NAMESPACE", `namespace ${namespace} is not an integer in [0, 2^32)`);
}

/** An inclusion proof when the namespace has transactions in the payload, an absence proof otherwise. */
export function proveNamespace(payload: BlockPayload, namespace: NamespaceId): NamespaceProof {
  checkNamespace(namespace);
  const leaves = namespaceLeaves(payload);
  const hashes = leaves.map(hashNamespaceLeaf);
  const leafCount = leaves.length;
  // First leaf whose namespace is >= the one asked for.
  let at = leaves.findIndex((leaf) => leaf.namespace >= namespace);
  if (at < 0) at = leafCount;
  if (leaves[at]?.namespace === namespace)
    return { kind: "inclusion", namespace, leafIndex: at, leafCount, path: merkleProof(hashes, at) };
  const neighbour = (index: number): NeighbourProof => ({
    leaf: leaves[index]!,
    index,
    path: merkleProof(hashes, index),
  });
  const proof: NamespaceAbsenceProof = { kind: "absence", namespace, leafCount };
  if (at > 0) proof.left = neighbour(at - 1);
  if (at < leafCount) proof.right = neighbour(at);
  return proof;
}

/** Proves the `txIndex`-th transaction of `namespace` in the payload; throws if there is none. */
export function proveTransaction(
  payload: BlockPayload,
  namespace: NamespaceId,
  txIndex: number,
): TransactionInclusionProof {
  checkNamespace(namespace);
  const leaves = namespaceLeaves(payload);
  const leafIndex = leaves.findIndex((leaf) => leaf.namespace === namespace);
  const group = payload.groups[leafIndex];
  if (group === undefined)
    throw new OrdoError("NAMESPACE_ABSENT", `namespace ${namespace} has no transactions in this payload`);
  if (!Number.isInteger(txIndex) || txIndex < 0 || txIndex >= group.transactions.length)
    throw new OrdoError(
      "INDEX_OUT_OF_RANGE",
      `transaction index ${txIndex} out of range for ${group.transactions.length} transactions`,
    );
  const ids = group.transactions.map((tx) => hashTransaction(namespace, tx));
  return {
    kind: "transaction",
    leaf: leaves[leafIndex]!,
    leafIndex,
    leafCount: leaves.length,
    leafPath: merkleProof(leaves.map(hashNamespaceLeaf), leafIndex),
    txIndex,
    txPath: merkleProof(ids, txIndex),
  };
}

/**
 * True when `transactions` are exactly the namespace's transactions in the block
 * committed to by `root`, in block order: the leaf is rebuilt from them, so a
 * missing, extra, reordered or altered transaction fails.
 */
export function verifyNamespaceInclusion(
  root: Bytes32,
  namespace: NamespaceId,
  transactions: Uint8Array[],
  proof: NamespaceInclusionProof,
): boolean {
  return guard(() => {
    if (!isObject(proof) || proof.kind !== "inclusion" || !isUint32(namespace) || proof.namespace !== namespace)
      return false;
    if (!Array.isArray(transactions) || transactions.length === 0) return false;
    if (!transactions.every((tx) => tx instanceof Uint8Array)) return false;
    const leaf = hashNamespaceLeaf(groupLeaf(namespace, transactions));
    return verifyMerkleProof(leaf, proof.leafIndex, proof.leafCount, proof.path, root);
  });
}

function verifyNeighbour(neighbour: unknown, leafCount: number, root: Bytes32): neighbour is NeighbourProof {
  return (
    isObject(neighbour) &&
    isLeaf(neighbour.leaf) &&
    verifyMerkleProof(
      hashNamespaceLeaf(neighbour.leaf),
      neighbour.index as number,
      leafCount,
      neighbour.path as Bytes32[],
      root,
    )
  );
}

/** True when the block committed to by `root` has no transactions in `namespace`. */
export function verifyNamespaceAbsence(root: Bytes32, namespace: NamespaceId, proof: NamespaceAbsenceProof): boolean {
  return guard(() => {
    if (!isObject(proof) || proof.kind !== "absence" || !isUint32(namespace) || proof.namespace !== namespace)
      return false;
    const { leafCount, left, right } = proof;
    if (!isUint32(leafCount)) return false;
    // null is accepted as "no neighbour" too, as serializers may turn a missing field into one.
    const hasLeft = left != null;
    const hasRight = right != null;
    if (leafCount === 0) return !hasLeft && !hasRight && isHash(root) && isZeroHash(root);
    if (hasLeft && !(verifyNeighbour(left, leafCount, root) && left.leaf.namespace < namespace)) return false;
    if (hasRight && !(verifyNeighbour(right, leafCount, root) && right.leaf.namespace > namespace)) return false;
    // Sorted leaves leave no room for the namespace between the neighbours, or before the first / after the last.
    if (hasLeft && hasRight) return right.index === left.index + 1;
    if (hasRight) return right.index === 0;
    if (hasLeft) return left.index === leafCount - 1;
    return false;
  });
}

/** Checks either kind of namespace proof; an absence proof only stands for an empty transaction list. */
export function verifyNamespaceProof(
  root: Bytes32,
  namespace: NamespaceId,
  transactions: Uint8Array[],
  proof: NamespaceProof,
): boolean {
  return guard(() => {
    if (!isObject(proof)) return false;
    if (proof.kind === "absence")
      return Array.isArray(transactions) && transactions.length === 0 && verifyNamespaceAbsence(root, namespace, proof);
    return verifyNamespaceInclusion(root, namespace, transactions, proof);
  });
}

/** True when `txData` is the `proof.txIndex`-th transaction of `namespace` in the block committed to by `root`. */
export function verifyTransactionInclusion(
  root: Bytes32,
  namespace: NamespaceId,
  txData: Uint8Array,
  proof: TransactionInclusionProof,
): boolean {
  return guard(() => {
    if (!isObject(proof) || proof.kind !== "transaction" || !isUint32(namespace)) return false;
    if (!(txData instanceof Uint8Array) || !isLeaf(proof.leaf) || proof.leaf.namespace !== namespace) return false;
    const { leaf } = proof;
    // The tx tree's size is leaf.count, which the leaf hash commits to, so txIndex is proven too.
    return (
      verifyMerkleProof(hashTransaction(namespace, txData), proof.txIndex, leaf.count, proof.txPath, leaf.txRoot) &&
      verifyMerkleProof(hashNamespaceLeaf(leaf), proof.leafIndex, proof.leafCount, proof.leafPath, root)
    );
  });
}
