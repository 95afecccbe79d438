/**
 * A bundle: the DA payloads of several blocks in one layer submission.
 *
 * A blob (or a Celestia share range) has a fixed cost per submission, and a
 * block under load is a few kilobytes: posting block by block leaves the
 * poster far behind the chain. A layer that takes bundles gets every due
 * block that fits in one submission.
 *
 * Encoding (big-endian): `"ORDB"`, version `0x01`, a u32 count, then per
 * block a u64 height, a u32 length and the payload bytes. Heights strictly
 * increase; nothing follows the last payload. One value, one encoding.
 */
import { DecodeError } from "@ordo/core";

export interface BundledPayload {
  height: number;
  payload: Uint8Array;
}

const MAGIC = [0x4f, 0x52, 0x44, 0x42] as const; // "ORDB"
const VERSION = 1;
/** Magic, version and count. */
export const BUNDLE_HEADER_BYTES = 9;
/** Height and length before each payload. */
export const BUNDLE_ENTRY_OVERHEAD_BYTES = 12;

/** Bytes a bundle of payloads of these sizes takes. */
export function bundleSize(payloadSizes: readonly number[]): number {
  return payloadSizes.reduce((n, s) => n + BUNDLE_ENTRY_OVERHEAD_BYTES + s, BUNDLE_HEADER_BYTES);
}

export function encodeBundle(entries: readonly BundledPayload[]): Uint8Array {
  const out = new Uint8Array(bundleSize(entries.map((e) => e.payload.length)));
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  view.setUint32(5, entries.length);
  let at = BUNDLE_HEADER_BYTES;
  let previous = -1;
  for (const { height, payload } of entries) {
    if (!Number.isSafeInteger(height) || height <= previous)
      throw new RangeError(
        `bundle heights must be safe integers in increasing order (got ${height} after ${previous})`,
      );
    previous = height;
    view.setBigUint64(at, BigInt(height));
    view.setUint32(at + 8, payload.length);
    out.set(payload, at + BUNDLE_ENTRY_OVERHEAD_BYTES);
    at += BUNDLE_ENTRY_OVERHEAD_BYTES + payload.length;
  }
  return out;
}

/** The bundle's payloads; a `DecodeError` for anything that is not exactly one valid bundle. */
export function decodeBundle(bytes: Uint8Array): BundledPayload[] {
  if (bytes.length < BUNDLE_HEADER_BYTES) throw new DecodeError(`a bundle has at least ${BUNDLE_HEADER_BYTES} bytes`);
  if (MAGIC.some((b, i) => bytes[i] !== b)) throw new DecodeError("not a bundle (bad magic)");
  if (bytes[4] !== VERSION) throw new DecodeError(`unknown bundle version ${bytes[4]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(5);
  // Every entry takes at least its overhead: a count the bytes cannot hold is refused before any allocation.
  if (count > (bytes.length - BUNDLE_HEADER_BYTES) / BUNDLE_ENTRY_OVERHEAD_BYTES)
    throw new DecodeError(`a bundle of ${bytes.length} bytes cannot hold ${count} blocks`);
  const entries: BundledPayload[] = [];
  let at = BUNDLE_HEADER_BYTES;
  let previous = -1;
  for (let i = 0; i < count; i++) {
    if (at + BUNDLE_ENTRY_OVERHEAD_BYTES > bytes.length) throw new DecodeError(`block ${i} of the bundle is truncated`);
    const height = view.getBigUint64(at);
    const length = view.getUint32(at + 8);
    if (height > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(`block ${i}: height ${height} is too large`);
    if (Number(height) <= previous) throw new DecodeError(`block ${i}: heights must increase`);
    previous = Number(height);
    at += BUNDLE_ENTRY_OVERHEAD_BYTES;
    if (at + length > bytes.length) throw new DecodeError(`block ${i} of the bundle is truncated`);
    entries.push({ height: previous, payload: bytes.slice(at, at + length) });
    at += length;
  }
  if (at !== bytes.length) throw new DecodeError(`${bytes.length - at} bytes follow the bundle's last block`);
  return entries;
}
