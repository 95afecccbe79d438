/**
 * The dissemination wire codec, under core's rules: each object is a
 * MessagePack array `[version = 1, tag, ...positional fields]` (the bytes
 * msgpackr's `Packr({useRecords: false})` writes, ints above 2^32-1 as int64),
 * byte fields as `bin`, nested structs as nested arrays.
 *
 * | object            | encoding                                                                          |
 * | ----------------- | --------------------------------------------------------------------------------- |
 * | Batch             | `[1, 16, author, sequence, createdAtMs, [[namespace, data], ...]]`                |
 * | BatchAck          | `[1, 17, digest, author, sequence, signer, signature]`                            |
 * | BatchCertificate  | `[1, 18, digest, author, sequence, transactionCount, byteSize, signers, signature]` |
 * | BatchRequest      | `[1, 19, [digest, ...]]`                                                          |
 * | BatchResponse     | `[1, 20, [[author, sequence, createdAtMs, [[namespace, data], ...]], ...]]`       |
 * | BlockBatches      | `[1, 21, [[digest, author, sequence, transactionCount, byteSize, signers, signature], ...], [systemTx, ...]]` |
 *
 * Tags start at 16 so no consensus message (core's tags 1..8) decodes as one.
 * A batch's digest is `sha256(encodeBatch(batch))`.
 *
 * Decoding is strict and total: the size limit is checked before anything is
 * parsed; every field is validated; the input must be exactly the canonical
 * encoding of the decoded value (no trailing bytes, no over-long ints or
 * lengths, no floats or extension types); every failure is a `DecodeError`.
 * Decoders copy the input once; byte fields are views into that private copy
 * and never alias the caller's buffer.
 *
 * Encoding is hand-written (a few lines for the three MessagePack types used):
 * msgpackr spends a few hundred nanoseconds on every `Uint8Array`, which for a
 * batch of thousands of small transactions costs more than the copying.
 */
import { DecodeError, MAX_NAMESPACE, packWire, sha256, type Wire } from "@ordo/core";
import { Unpackr } from "msgpackr";
import type {
  Batch,
  BatchAck,
  BatchCertificate,
  BatchRequest,
  BatchResponse,
  BlockBatches,
  DisseminationMessage,
} from "./types.js";

export const DISSEMINATION_CODEC_VERSION = 1;

export const DISSEMINATION_TAG = {
  batch: 16,
  "batch-ack": 17,
  "batch-certificate": 18,
  "batch-request": 19,
  "batch-response": 20,
  "block-batches": 21,
} as const;

export interface DisseminationCodecLimits {
  /** Largest encoding accepted; checked before anything is parsed. */
  maxMessageBytes: number;
  /** Validator indices must be below this; signer bitmaps are 1..ceil(maxValidators/8) bytes. */
  maxValidators: number;
  /** Transactions in one decoded value (a batch, or all batches of a response together). */
  maxTransactions: number;
  maxTransactionBytes: number;
  maxDigestsPerRequest: number;
  maxBatchesPerResponse: number;
  maxCertificatesPerBlock: number;
  /** System transactions a proposer puts in a block itself (`BlockBatches.system`). */
  maxSystemTransactionsPerBlock: number;
}

export const DEFAULT_DISSEMINATION_CODEC_LIMITS: Readonly<DisseminationCodecLimits> = Object.freeze({
  maxMessageBytes: 32 * 1024 * 1024,
  maxValidators: 1024,
  maxTransactions: 1_000_000,
  maxTransactionBytes: 1024 * 1024,
  maxDigestsPerRequest: 1024,
  maxBatchesPerResponse: 256,
  maxCertificatesPerBlock: 4096,
  maxSystemTransactionsPerBlock: 64,
});

const HASH_BYTES = 32;
const SIGNATURE_BYTES = 96;
const MAX_UINT32 = 0xffff_ffff;

// ---------------------------------------------------------------------------
// Writing

const V = DISSEMINATION_CODEC_VERSION;

function batchFields(b: Batch): Wire[] {
  return [b.author, b.sequence, b.createdAtMs, b.transactions.map((t) => [t.namespace, t.data])];
}

function certificateFields(c: BatchCertificate): Wire[] {
  return [c.digest, c.author, c.sequence, c.transactionCount, c.byteSize, c.signers, c.signature];
}

const batchWire = (b: Batch): Wire => [V, DISSEMINATION_TAG.batch, ...batchFields(b)];
const ackWire = (a: BatchAck): Wire => [
  V,
  DISSEMINATION_TAG["batch-ack"],
  a.digest,
  a.author,
  a.sequence,
  a.signer,
  a.signature,
];
const certificateWire = (c: BatchCertificate): Wire => [
  V,
  DISSEMINATION_TAG["batch-certificate"],
  ...certificateFields(c),
];
const requestWire = (r: BatchRequest): Wire => [V, DISSEMINATION_TAG["batch-request"], r.digests];
const responseWire = (r: BatchResponse): Wire => [V, DISSEMINATION_TAG["batch-response"], r.batches.map(batchFields)];
const blockBatchesWire = (p: BlockBatches): Wire => [
  V,
  DISSEMINATION_TAG["block-batches"],
  p.certificates.map(certificateFields),
  p.system,
];

/**
 * Encoders trust their input's types (the compiler checks them) and throw a
 * `RangeError` on a number that is not an unsigned safe integer; any other
 * value the decoder would reject encodes to bytes the decoder rejects.
 */
export function encodeBatch(batch: Batch): Uint8Array {
  return packWire(batchWire(batch));
}

/** `sha256(encodeBatch(batch))`: what acks and certificates name a batch by. */
export function batchDigest(batch: Batch): Uint8Array {
  return sha256(encodeBatch(batch));
}

export function encodeBatchAck(ack: BatchAck): Uint8Array {
  return packWire(ackWire(ack));
}

export function encodeBatchCertificate(certificate: BatchCertificate): Uint8Array {
  return packWire(certificateWire(certificate));
}

export function encodeBatchRequest(request: BatchRequest): Uint8Array {
  return packWire(requestWire(request));
}

export function encodeBatchResponse(response: BatchResponse): Uint8Array {
  return packWire(responseWire(response));
}

/** The consensus payload of a block under dissemination. */
export function encodeBlockBatches(payload: BlockBatches): Uint8Array {
  return packWire(blockBatchesWire(payload));
}

/** A dissemination message is the standalone encoding of what it carries (the tag tells which). */
export function encodeDisseminationMessage(message: DisseminationMessage): Uint8Array {
  switch (message.kind) {
    case "batch":
      return encodeBatch(message.batch);
    case "batch-ack":
      return encodeBatchAck(message.ack);
    case "batch-certificate":
      return encodeBatchCertificate(message.certificate);
    case "batch-request":
      return encodeBatchRequest(message.request);
    case "batch-response":
      return encodeBatchResponse(message.response);
    default:
      throw new TypeError(`unknown message kind ${String((message as { kind?: unknown }).kind)}`);
  }
}

// ---------------------------------------------------------------------------
// Reading

/** As strict as msgpackr allows (the same options as core's codec); the canonical check rejects the rest. */
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: false,
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  sequential: false,
  copyBuffers: false,
  int64AsType: "number",
});

interface Ctx {
  limits: DisseminationCodecLimits;
  maxIndex: number;
  maxBitmapBytes: number;
  /** Transactions decoded so far (against `maxTransactions`). */
  transactions: number;
}

function context(limits: Partial<DisseminationCodecLimits> | undefined): Ctx {
  const l: DisseminationCodecLimits = { ...DEFAULT_DISSEMINATION_CODEC_LIMITS };
  if (limits !== undefined)
    for (const key of Object.keys(l) as (keyof DisseminationCodecLimits)[]) {
      const v = limits[key];
      if (typeof v === "number" && !Number.isNaN(v)) l[key] = v;
    }
  return {
    limits: l,
    maxIndex: Math.min(l.maxValidators - 1, MAX_UINT32),
    maxBitmapBytes: Math.ceil(l.maxValidators / 8),
    transactions: 0,
  };
}

function fail(path: string, problem: string): never {
  throw new DecodeError(`${path}: ${problem}`);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === "number" || typeof v === "boolean") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return `a string of ${v.length} chars`;
  return `a ${Object.prototype.toString.call(v).slice(8, -1)}`;
}

function list(v: unknown, min: number, max: number, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, `expected an array, got ${describe(v)}`);
  if (v.length < min || v.length > max) fail(path, `expected ${min} to ${max} entries, got ${v.length}`);
  return v;
}

const tuple = (v: unknown, n: number, path: string): unknown[] => list(v, n, n, path);

function uint(v: unknown, path: string, max: number = Number.MAX_SAFE_INTEGER, min = 0): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || Object.is(v, -0) || v < min || v > max)
    fail(path, `expected an integer in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

/** A `bin` field of `min..max` bytes (a view into the decoder's private copy of the input). */
function bin(v: unknown, min: number, max: number, path: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(path, `expected ${min} to ${max} bytes, got ${describe(v)}`);
  if (v.length < min || v.length > max) fail(path, `expected ${min} to ${max} bytes, got ${v.length}`);
  return v;
}

function batchFrom(f: unknown[], at: number, path: string, ctx: Ctx): Batch {
  const author = uint(f[at], `${path}.author`, ctx.maxIndex);
  const sequence = uint(f[at + 1], `${path}.sequence`);
  const createdAtMs = uint(f[at + 2], `${path}.createdAtMs`);
  const raw = list(f[at + 3], 1, ctx.limits.maxTransactions, `${path}.transactions`);
  ctx.transactions += raw.length;
  if (ctx.transactions > ctx.limits.maxTransactions)
    fail(path, `more than maxTransactions (${ctx.limits.maxTransactions}) transactions`);
  const transactions = new Array<{ namespace: number; data: Uint8Array }>(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const t = raw[i];
    const tx = Array.isArray(t) && t.length === 2 ? t : tuple(t, 2, `${path}.transactions[${i}]`);
    transactions[i] = {
      namespace: uint(tx[0], `${path}.transactions[${i}].namespace`, MAX_NAMESPACE),
      data: bin(tx[1], 0, ctx.limits.maxTransactionBytes, `${path}.transactions[${i}].data`),
    };
  }
  return { author, sequence, createdAtMs, transactions };
}

function certificateFrom(f: unknown[], at: number, path: string, ctx: Ctx): BatchCertificate {
  return {
    digest: bin(f[at], HASH_BYTES, HASH_BYTES, `${path}.digest`),
    author: uint(f[at + 1], `${path}.author`, ctx.maxIndex),
    sequence: uint(f[at + 2], `${path}.sequence`),
    transactionCount: uint(f[at + 3], `${path}.transactionCount`, Number.MAX_SAFE_INTEGER, 1),
    byteSize: uint(f[at + 4], `${path}.byteSize`),
    signers: bin(f[at + 5], 1, ctx.maxBitmapBytes, `${path}.signers`),
    signature: bin(f[at + 6], SIGNATURE_BYTES, SIGNATURE_BYTES, `${path}.signature`),
  };
}

type Decoded =
  | { tag: 16; value: Batch; wire: Wire }
  | { tag: 17; value: BatchAck; wire: Wire }
  | { tag: 18; value: BatchCertificate; wire: Wire }
  | { tag: 19; value: BatchRequest; wire: Wire }
  | { tag: 20; value: BatchResponse; wire: Wire }
  | { tag: 21; value: BlockBatches; wire: Wire };

/** Validates the fields of `[1, tag, ...]`; returns the value and its canonical wire form. */
function decodeFields(root: unknown, ctx: Ctx): Decoded {
  if (!Array.isArray(root) || root.length < 2) fail("message", `expected [version, tag, ...], got ${describe(root)}`);
  if (root[0] !== V) fail("message", `unsupported format version ${describe(root[0])}`);
  const L = ctx.limits;
  switch (root[1]) {
    case DISSEMINATION_TAG.batch: {
      const value = batchFrom(tuple(root, 6, "batch"), 2, "batch", ctx);
      return { tag: 16, value, wire: batchWire(value) };
    }
    case DISSEMINATION_TAG["batch-ack"]: {
      const f = tuple(root, 7, "ack");
      const value: BatchAck = {
        digest: bin(f[2], HASH_BYTES, HASH_BYTES, "ack.digest"),
        author: uint(f[3], "ack.author", ctx.maxIndex),
        sequence: uint(f[4], "ack.sequence"),
        signer: uint(f[5], "ack.signer", ctx.maxIndex),
        signature: bin(f[6], SIGNATURE_BYTES, SIGNATURE_BYTES, "ack.signature"),
      };
      return { tag: 17, value, wire: ackWire(value) };
    }
    case DISSEMINATION_TAG["batch-certificate"]: {
      const value = certificateFrom(tuple(root, 9, "certificate"), 2, "certificate", ctx);
      return { tag: 18, value, wire: certificateWire(value) };
    }
    case DISSEMINATION_TAG["batch-request"]: {
      const f = tuple(root, 3, "request");
      const raw = list(f[2], 1, L.maxDigestsPerRequest, "request.digests");
      const value: BatchRequest = {
        digests: raw.map((d, i) => bin(d, HASH_BYTES, HASH_BYTES, `request.digests[${i}]`)),
      };
      return { tag: 19, value, wire: requestWire(value) };
    }
    case DISSEMINATION_TAG["batch-response"]: {
      const f = tuple(root, 3, "response");
      const raw = list(f[2], 0, L.maxBatchesPerResponse, "response.batches");
      const value: BatchResponse = {
        batches: raw.map((b, i) => batchFrom(tuple(b, 4, `response.batches[${i}]`), 0, `response.batches[${i}]`, ctx)),
      };
      return { tag: 20, value, wire: responseWire(value) };
    }
    case DISSEMINATION_TAG["block-batches"]: {
      const f = tuple(root, 4, "block-batches");
      const raw = list(f[2], 0, L.maxCertificatesPerBlock, "block-batches.certificates");
      const system = list(f[3], 0, L.maxSystemTransactionsPerBlock, "block-batches.system");
      const value: BlockBatches = {
        certificates: raw.map((c, i) =>
          certificateFrom(tuple(c, 7, `block-batches.certificates[${i}]`), 0, `block-batches.certificates[${i}]`, ctx),
        ),
        system: system.map((t, i) => bin(t, 0, L.maxTransactionBytes, `block-batches.system[${i}]`)),
      };
      return { tag: 21, value, wire: blockBatchesWire(value) };
    }
    default:
      fail("message", `unknown dissemination tag ${describe(root[1])}`);
  }
}

/**
 * Size check, one private copy of the input, one MessagePack value spanning
 * all of it, field validation, then the canonical check. Anything thrown on
 * the way becomes a `DecodeError`.
 */
function decodeWith(
  input: unknown,
  limits: Partial<DisseminationCodecLimits> | undefined,
  what: string,
  expectedTag: number | null,
): Decoded {
  try {
    const ctx = context(limits);
    if (!(input instanceof Uint8Array)) fail(what, `expected a Uint8Array, got ${describe(input)}`);
    if (input.length > ctx.limits.maxMessageBytes)
      fail(what, `${input.length} bytes exceeds maxMessageBytes (${ctx.limits.maxMessageBytes})`);
    if (input.length === 0) fail(what, "empty input");
    const owned = new Uint8Array(input);
    let root: unknown;
    let end = -1;
    try {
      unpackr.unpackMultiple(owned, (v, _start, stop) => {
        root = v;
        end = stop ?? -1;
        return false;
      });
    } catch (e) {
      fail(what, `malformed MessagePack: ${e instanceof Error ? e.message.slice(0, 200) : typeof e}`);
    }
    if (end !== owned.length) {
      if (end < 0 || end > owned.length) fail(what, "malformed MessagePack");
      fail(what, `${owned.length - end} trailing bytes after the encoded value`);
    }
    if (expectedTag !== null && Array.isArray(root) && root[1] !== expectedTag)
      fail(what, `expected tag ${expectedTag}, got ${describe(root[1])}`);
    const decoded = decodeFields(root, ctx);
    const again = packWire(decoded.wire);
    if (!Buffer.from(again.buffer, again.byteOffset, again.byteLength).equals(owned))
      fail(what, "not the canonical encoding (an int, length or type is not in its shortest form)");
    return decoded;
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    const reason = e instanceof Error ? e.message : `a thrown ${typeof e}`;
    throw new DecodeError(`${what}: ${reason.slice(0, 200)}`, { cause: e });
  }
}

/** Decodes `[1, tag, ...]` for one expected tag; the caller names the value's type. */
function decodeTagged<V>(
  bytes: Uint8Array,
  tag: Decoded["tag"],
  what: string,
  limits: Partial<DisseminationCodecLimits> | undefined,
): V {
  return decodeWith(bytes, limits, what, tag).value as V;
}

export function decodeBatch(bytes: Uint8Array, limits?: Partial<DisseminationCodecLimits>): Batch {
  return decodeTagged<Batch>(bytes, DISSEMINATION_TAG.batch, "batch", limits);
}

export function decodeBatchAck(bytes: Uint8Array, limits?: Partial<DisseminationCodecLimits>): BatchAck {
  return decodeTagged<BatchAck>(bytes, DISSEMINATION_TAG["batch-ack"], "batch ack", limits);
}

export function decodeBatchCertificate(
  bytes: Uint8Array,
  limits?: Partial<DisseminationCodecLimits>,
): BatchCertificate {
  return decodeTagged<BatchCertificate>(bytes, DISSEMINATION_TAG["batch-certificate"], "batch certificate", limits);
}

export function decodeBatchRequest(bytes: Uint8Array, limits?: Partial<DisseminationCodecLimits>): BatchRequest {
  return decodeTagged<BatchRequest>(bytes, DISSEMINATION_TAG["batch-request"], "batch request", limits);
}

export function decodeBatchResponse(bytes: Uint8Array, limits?: Partial<DisseminationCodecLimits>): BatchResponse {
  return decodeTagged<BatchResponse>(bytes, DISSEMINATION_TAG["batch-response"], "batch response", limits);
}

export function decodeBlockBatches(bytes: Uint8Array, limits?: Partial<DisseminationCodecLimits>): BlockBatches {
  return decodeTagged<BlockBatches>(bytes, DISSEMINATION_TAG["block-batches"], "block batches", limits);
}

/** Any dissemination message (block batches are a payload, not a message, and are rejected here). */
export function decodeDisseminationMessage(
  bytes: Uint8Array,
  limits?: Partial<DisseminationCodecLimits>,
): DisseminationMessage {
  const d = decodeWith(bytes, limits, "dissemination message", null);
  switch (d.tag) {
    case 16:
      return { kind: "batch", batch: d.value };
    case 17:
      return { kind: "batch-ack", ack: d.value };
    case 18:
      return { kind: "batch-certificate", certificate: d.value };
    case 19:
      return { kind: "batch-request", request: d.value };
    case 20:
      return { kind: "batch-response", response: d.value };
    default:
      throw new DecodeError("dissemination message: block batches are a payload, not a message");
  }
}
