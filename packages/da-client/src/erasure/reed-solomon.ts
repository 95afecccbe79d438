/**
 * Systematic Reed-Solomon erasure code over GF(2^8) for the embedded DA layer: a payload becomes k data shards
 * and m parity shards, all of one size, and any k of the k + m shards give the payload back.
 *
 * Format (part of the wire protocol; see gf256.ts for the field and the Cauchy points):
 * - the framed payload is an 8-byte little-endian length prefix, the payload, then zeros up to k · shardSize;
 * - data shard j (0 ≤ j < k) is bytes [j · shardSize, (j + 1) · shardSize) of the framed payload, so when all
 *   data shards arrive, rebuilding is copying;
 * - parity shard k + i is Σ_j C[i][j] · (data shard j), byte by byte, with C the m×k Cauchy matrix of
 *   `cauchyMatrix(k, m)`;
 * - shardSize = ceil((payload.length + 8) / k) rounded up to a multiple of 64 (the kernel's block); the
 *   length travels inside the shards, so a shard set is self-describing given k and m.
 *
 * Every shard and every rebuilt payload is a fresh Uint8Array with its own ArrayBuffer: no result aliases the
 * input, another result, or the kernel's working memory (the bug of the npm package this replaces).
 */
import { cauchyMatrix, type GfMatrix, gfMul, invertMatrix, TABLE_BYTES, writeMulTables } from "./gf256.js";
import { getDefaultKernel, KERNEL_BLOCK, type Kernel } from "./kernel.js";

/** The most shards one code can have: the Cauchy points of k + m shards must be distinct elements of GF(2^8). */
export const MAX_SHARDS = 256;
/** Bytes of the little-endian payload length at the start of data shard 0. */
export const LENGTH_PREFIX_BYTES = 8;
/** Every shard's size is a multiple of this. */
export const SHARD_ALIGNMENT = KERNEL_BLOCK;

/**
 * The kernel works on one stripe of every shard at a time, so that its inputs and outputs together stay within
 * ~512 KiB (half this machine's L2 per core) whatever the payload size, and its memory stays small. Measured:
 * 128 KiB to 1 MiB and 8 to 64 KiB stripes are all within noise of each other here.
 */
const WORKING_SET_BYTES = 512 * 1024;
const MAX_STRIPE_BYTES = 16 * 1024;

function checkCode(k: number, m: number): void {
  if (!Number.isInteger(k) || !Number.isInteger(m) || k < 1 || m < 1 || k + m > MAX_SHARDS) {
    throw new Error(`erasure code: need integers k ≥ 1, m ≥ 1, k + m ≤ ${MAX_SHARDS} (got k = ${k}, m = ${m})`);
  }
}

/** The size of each of the k + m shards of a `payloadLength`-byte payload. */
export function shardSize(payloadLength: number, k: number): number {
  const perShard = Math.ceil((payloadLength + LENGTH_PREFIX_BYTES) / k);
  return Math.ceil(perShard / SHARD_ALIGNMENT) * SHARD_ALIGNMENT;
}

/** Encodes `payload` into k data shards followed by m parity shards (see the module comment for the format). */
export function encodeShards(payload: Uint8Array, k: number, m: number): Uint8Array[] {
  return encodeShardsWith(getDefaultKernel(), payload, k, m);
}

/**
 * The payload from any k of its k + m shards: `shards[i]` is shard i, or null if missing. Throws an `Error`
 * when fewer than k are present, when the shards' sizes differ or are not a valid shard size, or when the
 * recovered length does not fit the shard size (the shards are not of one payload, or k and m are wrong).
 * Shards are checked for size only: a corrupted shard gives a wrong payload, which the caller detects by its
 * hash or commitment.
 */
export function rebuildPayload(shards: readonly (Uint8Array | null)[], k: number, m: number): Uint8Array {
  return rebuildPayloadWith(getDefaultKernel(), shards, k, m);
}

/** `encodeShards` with a given kernel (the tests and the bench compare kernels). */
export function encodeShardsWith(kernel: Kernel, payload: Uint8Array, k: number, m: number): Uint8Array[] {
  checkCode(k, m);
  const size = shardSize(payload.length, k);
  const shards: Uint8Array[] = [];
  for (let j = 0; j < k; j++) {
    const shard = new Uint8Array(size);
    // Shard j holds framed bytes [j·size, (j+1)·size), i.e. payload bytes 8 before that.
    const from = Math.min(payload.length, Math.max(0, j * size - LENGTH_PREFIX_BYTES));
    const to = Math.min(payload.length, (j + 1) * size - LENGTH_PREFIX_BYTES);
    if (j === 0) writeLength(shard, payload.length);
    shard.set(payload.subarray(from, to), j === 0 ? LENGTH_PREFIX_BYTES : 0);
    shards.push(shard);
  }
  const parity: Uint8Array[] = [];
  for (let i = 0; i < m; i++) parity.push(new Uint8Array(size));
  multiply(kernel, cauchyMatrix(k, m), shards, size, (row, offset, bytes) => parity[row]!.set(bytes, offset));
  return [...shards, ...parity];
}

/** `rebuildPayload` with a given kernel. */
export function rebuildPayloadWith(
  kernel: Kernel,
  shards: readonly (Uint8Array | null)[],
  k: number,
  m: number,
): Uint8Array {
  checkCode(k, m);
  if (shards.length !== k + m) {
    throw new Error(`erasure code: expected ${k + m} shard slots (k = ${k}, m = ${m}), got ${shards.length}`);
  }
  const present: number[] = [];
  let size = -1;
  for (let i = 0; i < shards.length; i++) {
    const shard = shards[i];
    if (!shard) continue;
    if (size === -1) size = shard.length;
    else if (shard.length !== size) {
      throw new Error(
        `erasure code: shard sizes differ (shard ${present[0]} has ${size} bytes, shard ${i} ${shard.length})`,
      );
    }
    present.push(i);
  }
  if (present.length < k) {
    throw new Error(`erasure code: ${present.length} shards present, at least k = ${k} needed`);
  }
  if (size <= 0 || size % SHARD_ALIGNMENT !== 0) {
    throw new Error(`erasure code: invalid shard size ${size} (a positive multiple of ${SHARD_ALIGNMENT})`);
  }

  // Decode from the present data shards plus the first parity shards needed: the data rows of the system are
  // then the identity, and only the missing data shards are computed.
  const chosen = present.slice(0, k);
  const missing: number[] = [];
  for (let j = 0; j < k; j++) if (!shards[j]) missing.push(j);
  const inputs = chosen.map((i) => shards[i]!);
  let decode: GfMatrix = [];
  if (missing.length > 0) {
    const parityRows = cauchyMatrix(k, m);
    const generator = chosen.map((i) => {
      if (i >= k) return parityRows[i - k]!;
      const unit = new Uint8Array(k);
      unit[i] = 1;
      return unit;
    });
    const inverse = invertMatrix(generator);
    decode = missing.map((j) => inverse[j]!);
  }

  const length = readLength(shards[0] ?? prefixOf(decode[0]!, inputs));
  if (length === null || shardSize(length, k) !== size) {
    throw new Error(
      `erasure code: the recovered payload length does not fit ${k} shards of ${size} bytes (shards of different payloads, or wrong k, m)`,
    );
  }
  const payload = new Uint8Array(length);
  for (let j = 0; j < k; j++) {
    const shard = shards[j];
    if (shard) placeFramed(payload, j * size, shard);
  }
  if (missing.length > 0) {
    multiply(kernel, decode, inputs, size, (row, offset, bytes) =>
      placeFramed(payload, missing[row]! * size + offset, bytes),
    );
  }
  return payload;
}

/**
 * outputs[r] = Σ_j matrix[r][j] · inputs[j] for every row r, handed to `emit` a stripe at a time (`bytes` is
 * a view of kernel memory, valid only during the call). Stripes keep the kernel's memory in cache and small.
 */
function multiply(
  kernel: Kernel,
  matrix: GfMatrix,
  inputs: readonly Uint8Array[],
  size: number,
  emit: (row: number, offset: number, bytes: Uint8Array) => void,
): void {
  const n = inputs.length;
  const rows = matrix.length;
  const tablesBytes = rows * n * TABLE_BYTES;
  const fit = Math.floor(WORKING_SET_BYTES / (n + rows) / SHARD_ALIGNMENT) * SHARD_ALIGNMENT;
  const stripe = Math.min(size, MAX_STRIPE_BYTES, Math.max(SHARD_ALIGNMENT, fit));
  const inBase = Math.ceil(tablesBytes / SHARD_ALIGNMENT) * SHARD_ALIGNMENT;
  const outBase = inBase + n * stripe;
  const mem = kernel.memory(outBase + rows * stripe);
  for (let r = 0; r < rows; r++) writeMulTables(matrix[r]!, mem, r * n * TABLE_BYTES);
  for (let offset = 0; offset < size; offset += stripe) {
    const len = Math.min(stripe, size - offset);
    for (let j = 0; j < n; j++) mem.set(inputs[j]!.subarray(offset, offset + len), inBase + j * stripe);
    for (let r = 0; r < rows; r++) {
      kernel.mulRow(outBase + r * stripe, inBase, stripe, r * n * TABLE_BYTES, n, len);
    }
    for (let r = 0; r < rows; r++) {
      const at = outBase + r * stripe;
      emit(r, offset, mem.subarray(at, at + len));
    }
  }
}

/** The first 8 bytes of the data shard `row` decodes to, computed directly: the length prefix of shard 0. */
function prefixOf(row: Uint8Array, inputs: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(LENGTH_PREFIX_BYTES);
  for (let j = 0; j < inputs.length; j++) {
    const c = row[j]!;
    const input = inputs[j]!;
    for (let b = 0; b < LENGTH_PREFIX_BYTES; b++) out[b] = out[b]! ^ gfMul(c, input[b]!);
  }
  return out;
}

function writeLength(shard: Uint8Array, length: number): void {
  const view = new DataView(shard.buffer, shard.byteOffset, LENGTH_PREFIX_BYTES);
  view.setUint32(0, length % 2 ** 32, true);
  view.setUint32(4, Math.floor(length / 2 ** 32), true);
}

/** The length in a prefix, or null if it is not a safe integer. */
function readLength(prefix: Uint8Array): number | null {
  const view = new DataView(prefix.buffer, prefix.byteOffset, LENGTH_PREFIX_BYTES);
  const high = view.getUint32(4, true);
  if (high >= 2 ** 21) return null;
  return high * 2 ** 32 + view.getUint32(0, true);
}

/** Copies `bytes`, found at `position` of the framed payload, to where they belong in `payload`. */
function placeFramed(payload: Uint8Array, position: number, bytes: Uint8Array): void {
  let from = 0;
  let to = position - LENGTH_PREFIX_BYTES;
  if (to < 0) {
    from = -to;
    to = 0;
  }
  const count = Math.min(bytes.length - from, payload.length - to);
  if (count > 0) payload.set(bytes.subarray(from, from + count), to);
}
