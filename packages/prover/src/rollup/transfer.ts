/**
 * The reference rollup's one transaction: a transfer, 25 bytes on the wire:
 * `0x01 | from u32 | to u32 | amount u64 | nonce u64`, big-endian. There are no
 * signatures: authorization is out of scope for this reference rollup.
 */
export interface Transfer {
  from: number;
  to: number;
  amount: bigint;
  nonce: bigint;
}

export const TRANSFER_TAG = 0x01;
export const TRANSFER_BYTES = 25;
export const U32_LIMIT = 1n << 32n;
export const U64_LIMIT = 1n << 64n;

function integer(v: unknown, limit: bigint, name: string): bigint {
  const b = typeof v === "bigint" ? v : typeof v === "number" && Number.isSafeInteger(v) ? BigInt(v) : null;
  if (b === null || b < 0n || b >= limit)
    throw new RangeError(`${name} must be an integer in [0, ${limit}), got ${String(v)}`);
  return b;
}

/** The canonical form of a transfer-like value; throws if it cannot be encoded. */
export function normalizeTransfer(tx: {
  from: number | bigint;
  to: number | bigint;
  amount: number | bigint;
  nonce: number | bigint;
}): Transfer {
  if (tx === null || typeof tx !== "object") throw new TypeError("a transfer is an object");
  return {
    from: Number(integer(tx.from, U32_LIMIT, "from")),
    to: Number(integer(tx.to, U32_LIMIT, "to")),
    amount: integer(tx.amount, U64_LIMIT, "amount"),
    nonce: integer(tx.nonce, U64_LIMIT, "nonce"),
  };
}

export function encodeTransfer(tx: Parameters<typeof normalizeTransfer>[0]): Uint8Array {
  const t = normalizeTransfer(tx);
  const out = new Uint8Array(TRANSFER_BYTES);
  const view = new DataView(out.buffer);
  view.setUint8(0, TRANSFER_TAG);
  view.setUint32(1, t.from);
  view.setUint32(5, t.to);
  view.setBigUint64(9, t.amount);
  view.setBigUint64(17, t.nonce);
  return out;
}

/** The inverse of `encodeTransfer`; throws on anything but exactly a well-formed encoding. */
export function decodeTransfer(bytes: Uint8Array): Transfer {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("transfer bytes must be a Uint8Array");
  if (bytes.length !== TRANSFER_BYTES)
    throw new RangeError(`a transfer is ${TRANSFER_BYTES} bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = view.getUint8(0);
  if (tag !== TRANSFER_TAG) throw new RangeError(`unknown transaction tag 0x${tag.toString(16)}`);
  return { from: view.getUint32(1), to: view.getUint32(5), amount: view.getBigUint64(9), nonce: view.getBigUint64(17) };
}

/**
 * The rollup's transfers among a namespace's finalized transactions, in order.
 * Blobs that do not decode are not transfers and are left out (every validator
 * leaves out the same ones); transfers that decode but are invalid stay in:
 * they are committed to and proven to be no-ops.
 */
export function transfersFromFinalized(blobs: readonly Uint8Array[]): Transfer[] {
  const out: Transfer[] = [];
  for (const b of blobs) {
    try {
      out.push(decodeTransfer(b));
    } catch {
      // not a transfer
    }
  }
  return out;
}

/** Consecutive proof batches of at most `size` transfers. */
export function chunkBatches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
