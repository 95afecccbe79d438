/** A namespace's view of committed blocks, rebuilt from LevelDB: its transactions and the proof that they are all of them. */
import {
  type Block,
  type BlockPayload,
  hashHeader,
  namespaceRoot,
  proveNamespace,
  SYSTEM_NAMESPACE,
  type Transaction,
  toHex,
} from "@ordo/core";
import { decodeBatch, decodeBlockBatches } from "../dissemination/codec.js";
import { groupByNamespace } from "../node/validator-node.js";
import type { NodeStore } from "../storage/node-store.js";
import { type NamespaceProofJson, namespaceProofToJson } from "./json.js";

export interface NamespaceBlockJson {
  height: number;
  namespace: number;
  blockHash: string;
  namespaceRoot: string;
  /** base64 */
  transactions: string[];
  proof: NamespaceProofJson;
}

/** Why a block cannot be served: it is not committed here, or its data is not (yet) stored here. */
export class NamespaceBlockUnavailable extends Error {
  readonly reason: "not-committed" | "data-missing";
  constructor(reason: "not-committed" | "data-missing", message: string) {
    super(message);
    this.name = "NamespaceBlockUnavailable";
    this.reason = reason;
  }
}

/** A committed block's transactions: its own system transactions, then its certified batches' in payload order. */
export async function blockTransactions(store: NodeStore, block: Block): Promise<Transaction[]> {
  let payload: { certificates: { digest: Uint8Array }[]; system: Uint8Array[] };
  try {
    payload = decodeBlockBatches(block.payload);
  } catch {
    if (block.payload.length === 0) return [];
    throw new NamespaceBlockUnavailable("data-missing", `payload of block ${block.header.height} does not decode`);
  }
  const { certificates } = payload;
  // The block's own system transactions come first, then the batches' (the node's order, see `ValidatorNode`).
  const out: Transaction[] = payload.system.map((data) => ({ namespace: SYSTEM_NAMESPACE, data }));
  for (const c of certificates) {
    const bytes = await store.getBatch(c.digest);
    if (!bytes)
      throw new NamespaceBlockUnavailable(
        "data-missing",
        `batch ${toHex(c.digest)} of block ${block.header.height} is not stored here`,
      );
    for (const tx of decodeBatch(bytes).transactions) out.push(tx);
  }
  return out;
}

/** The namespace's transactions in the committed block at `height`, with an inclusion or absence proof. */
export async function readNamespaceBlock(
  store: NodeStore,
  namespace: number,
  height: number,
): Promise<NamespaceBlockJson> {
  const block = await store.getBlock(height);
  if (!block) throw new NamespaceBlockUnavailable("not-committed", `no committed block at height ${height}`);
  return namespaceBlockFromPayload(
    block,
    { groups: groupByNamespace(await blockTransactions(store, block)) },
    namespace,
  );
}

/** A namespace's view of a committed block from its payload (from the store, or rebuilt from DA). */
export function namespaceBlockFromPayload(block: Block, payload: BlockPayload, namespace: number): NamespaceBlockJson {
  const height = block.header.height;
  // Serving a proof that does not verify would be worse than failing: check the rebuild against the header.
  if (toHex(namespaceRoot(payload)) !== toHex(block.header.namespaceRoot))
    throw new Error(`rebuilt payload of block ${height} does not match its namespace root`);
  const group = payload.groups.find((g) => g.namespace === namespace);
  return {
    height,
    namespace,
    blockHash: toHex(hashHeader(block.header)),
    namespaceRoot: toHex(block.header.namespaceRoot),
    transactions: (group?.transactions ?? []).map(base64),
    proof: namespaceProofToJson(proveNamespace(payload, namespace)),
  };
}

export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Approximate JSON size of a namespace block, for paging by bytes. */
export function namespaceBlockBytes(b: NamespaceBlockJson): number {
  let n = 256;
  for (const t of b.transactions) n += t.length + 3;
  return n;
}
