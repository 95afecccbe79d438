/**
 * The simulator's payloads are real Ordo payloads: random rollup transactions
 * grouped by namespace, encoded with the wire codec and committed to by the
 * namespace root, so validity is checked the way a node checks it.
 */
import {
  type Block,
  type BlockPayload,
  DecodeError,
  decodeBlockPayload,
  encodeBlockPayload,
  type NamespaceGroup,
  namespaceRoot,
  validatePayloadOrder,
} from "@ordo/core";
import type { PayloadValidator } from "../events.js";
import type { Rng } from "./rng.js";

export function randomPayload(rng: Rng, maxTransactions: number): { payload: Uint8Array; namespaceRoot: Uint8Array } {
  const count = rng.int(maxTransactions + 1);
  const groups = new Map<number, Uint8Array[]>();
  for (let i = 0; i < count; i++) {
    const ns = 1 + rng.int(8);
    const list = groups.get(ns) ?? [];
    list.push(rng.bytes(8 + rng.int(56)));
    groups.set(ns, list);
  }
  const sorted: NamespaceGroup[] = [...groups.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([namespace, transactions]) => ({ namespace, transactions }));
  const payload: BlockPayload = { groups: sorted };
  return { payload: encodeBlockPayload(payload), namespaceRoot: namespaceRoot(payload) };
}

/** A block's payload must decode, be in canonical order, and match the header's namespace root. */
export const validateSimPayload: PayloadValidator = (block: Block) => {
  let payload: BlockPayload;
  try {
    payload = decodeBlockPayload(block.payload);
  } catch (e) {
    if (e instanceof DecodeError) return `payload does not decode: ${e.message}`;
    throw e;
  }
  const order = validatePayloadOrder(payload);
  if (order) return order;
  const root = namespaceRoot(payload);
  for (let i = 0; i < 32; i++) if (root[i] !== block.header.namespaceRoot[i]) return "namespace root mismatch";
  return null;
};
