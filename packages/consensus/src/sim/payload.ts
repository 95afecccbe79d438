/**
 * The simulator's payloads are real Ordo payloads: random rollup transactions
 * grouped by namespace, encoded with the wire codec and committed to by the
 * namespace root, so validity is checked the way a node checks it.
 */
import {
  type Block,
  type BlockPayload,
  bytesEqual,
  DecodeError,
  decodeBlockPayload,
  decodeEpochChange,
  type EpochChangeCommitment,
  encodeBlockPayload,
  encodeEpochChange,
  type NamespaceGroup,
  namespaceRoot,
  SYSTEM_NAMESPACE,
  validatePayloadOrder,
} from "@ordo/core";
import type { PayloadContext, PayloadValidator } from "../events.js";
import type { Rng } from "./rng.js";

/**
 * Random rollup transactions, after the `system` transactions given; with
 * `epochChange`, the epoch's last block, which also carries the commitment as
 * a system transaction.
 */
export function randomPayload(
  rng: Rng,
  maxTransactions: number,
  epochChange: EpochChangeCommitment | null = null,
  system: readonly Uint8Array[] = [],
): { payload: Uint8Array; namespaceRoot: Uint8Array } {
  const count = rng.int(maxTransactions + 1);
  const groups = new Map<number, Uint8Array[]>();
  const systemGroup = [...system, ...(epochChange ? [encodeEpochChange(epochChange)] : [])];
  if (systemGroup.length > 0) groups.set(SYSTEM_NAMESPACE, systemGroup);
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

/**
 * A block's payload must decode, be in canonical order, match the header's
 * namespace root, and carry the epoch-change commitment exactly where
 * consensus requires it (and nowhere else).
 */
export const validateSimPayload: PayloadValidator = (block: Block, _parent: Block, context?: PayloadContext) => {
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
  const system = payload.groups.find((g) => g.namespace === SYSTEM_NAMESPACE)?.transactions ?? [];
  const changes = system.map(decodeEpochChange).filter((c) => c !== null);
  const expected = context?.epochChange ?? null;
  if (!expected) return changes.length === 0 ? null : "an epoch-change commitment outside an epoch's last block";
  if (changes.length !== 1) return "the epoch's last block must carry exactly one epoch-change commitment";
  const [c] = changes as [EpochChangeCommitment];
  if (c.nextEpoch !== expected.nextEpoch || !bytesEqual(c.validatorSetHash, expected.validatorSetHash))
    return "the epoch-change commitment names another committee";
  return null;
};
