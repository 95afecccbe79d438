/**
 * The wire codec: every protocol object as a MessagePack array of positional
 * fields, `[version, kindTag, ...fields]`, byte fields as `bin`, integers as
 * MessagePack ints, nested structs (header, QC, TC, block) as nested arrays and
 * absent optional fields as `nil`. A block payload is `[version, [[namespace,
 * [tx, ...]], ...]]`.
 *
 * Decoding is strict and total: any byte string either decodes to a fully
 * validated, fully typed value or throws `DecodeError` (and nothing else). On
 * top of the per-field checks every decoder requires the input to be the
 * canonical encoding of what it decodes to (the exact bytes the encoder
 * produces for that value), so an object has exactly one encoding: no trailing
 * bytes, no over-long ints or lengths, no floats or extension types standing in
 * for ints or bytes. Canonical ints are the shortest MessagePack int, except
 * that ints above 2^32-1 (timestamps, large chain ids) are int64 (`0xd3`),
 * which is what msgpackr writes for them.
 *
 * Byte fields of decoded values never alias the caller's input. Message, block,
 * evidence and QC decoders copy each byte field; the payload decoder copies the
 * input once and returns transactions as views into that private copy (one
 * allocation instead of one per transaction).
 */
import { Packr, RESET_BUFFER_MODE, Unpackr } from "msgpackr";
import { DecodeError } from "../errors.js";
import type {
  Block,
  BlockHeader,
  BlockPayload,
  ConsensusMessage,
  EpochProof,
  EpochRequest,
  Evidence,
  NamespaceGroup,
  Proposal,
  QuorumCertificate,
  SyncRequest,
  SyncResponse,
  Timeout,
  TimeoutCertificate,
  Vote,
} from "../types.js";
import { packWire } from "./wire-writer.js";

/** The only format version; the first field of every encoding. */
export const CODEC_VERSION = 1;

/** Kind tags: the second field of every encoding except a payload's. */
export const KIND_TAG = {
  proposal: 1,
  vote: 2,
  timeout: 3,
  "sync-request": 4,
  "sync-response": 5,
  evidence: 6,
  block: 7,
  "quorum-certificate": 8,
  "epoch-request": 9,
  "epoch-proof": 10,
  "timeout-certificate": 11,
} as const;

/** Evidence sub-tags (the third field of an evidence encoding). */
export const EVIDENCE_TAG = {
  "double-proposal": 1,
  "double-vote": 2,
} as const;

export interface CodecLimits {
  /** Largest encoded message, block, evidence or QC accepted; checked before anything is parsed. */
  maxMessageBytes: number;
  /** Largest block payload (`Block.payload`, and the input of `decodeBlockPayload`). */
  maxPayloadBytes: number;
  /** Most blocks in one `SyncResponse`. */
  maxSyncBlocks: number;
  /** Validator indices must be below this; signer bitmaps are 1..ceil(maxValidators/8) bytes. */
  maxValidators: number;
  maxTransactionsPerPayload: number;
  maxNamespacesPerPayload: number;
  maxTransactionBytes: number;
}

export const DEFAULT_CODEC_LIMITS: Readonly<CodecLimits> = Object.freeze({
  maxMessageBytes: 32 * 1024 * 1024,
  maxPayloadBytes: 16 * 1024 * 1024,
  maxSyncBlocks: 256,
  maxValidators: 1024,
  maxTransactionsPerPayload: 1_000_000,
  maxNamespacesPerPayload: 65_536,
  maxTransactionBytes: 1024 * 1024,
});

const HASH_BYTES = 32;
const SIGNATURE_BYTES = 96;
const MAX_UINT32 = 0xffff_ffff;

/**
 * `useRecords: false` keeps ints 0x40..0x7f as plain fixints and objects as
 * maps (we never encode objects); `moreTypes: false` writes every typed array
 * as `bin`; no structured-clone references, no string bundles.
 */
const PACKR_OPTIONS = {
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
} as const;

let packr = new Packr(PACKR_OPTIONS);

/**
 * Outputs above this size are followed by a fresh Packr, so that the shared
 * encoder does not keep a buffer sized for the largest message ever encoded.
 */
const PACKR_RESET_BYTES = 4 * 1024 * 1024;

/**
 * As strict as msgpackr allows: no records or shared structures, maps as `Map`
 * (never plain objects, so no prototype keys; our format has no maps and they
 * are rejected anyway), no structured-clone references (no cycles), 64-bit ints
 * as numbers (rounded ones land above 2^53 and are rejected), byte fields as
 * views (we copy what we keep). Extension types msgpackr always decodes (Date,
 * Set, typed arrays, big ints...) are rejected by the typed checks and the
 * canonical-form check.
 */
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

// ---------------------------------------------------------------------------
// Encoding

/** Ints above 32 bits go out as int64: a JS number there would be written as a float64. */
function int(n: number): number | bigint {
  return n > MAX_UINT32 ? BigInt(n) : n;
}

function headerWire(h: BlockHeader): unknown[] {
  return [
    int(h.chainId),
    int(h.epoch),
    int(h.round),
    int(h.height),
    h.parentHash,
    h.namespaceRoot,
    h.payloadHash,
    h.validatorSetHash,
    h.proposer,
    int(h.timestampMs),
  ];
}

function qcFields(qc: QuorumCertificate): unknown[] {
  return [int(qc.epoch), int(qc.round), qc.blockHash, qc.committedHash, qc.signers, qc.signature];
}

function tcWire(tc: TimeoutCertificate): unknown[] {
  return [int(tc.epoch), int(tc.round), tc.signers, tc.highQcRounds.map(int), tc.signature];
}

function blockFields(b: Block): unknown[] {
  return [headerWire(b.header), qcFields(b.justify), b.payload];
}

function messageWire(msg: ConsensusMessage): unknown[] {
  switch (msg.kind) {
    case "proposal":
      return [
        CODEC_VERSION,
        KIND_TAG.proposal,
        blockFields(msg.block),
        msg.timeoutCertificate === null ? null : tcWire(msg.timeoutCertificate),
        msg.signature,
      ];
    case "vote":
      return [
        CODEC_VERSION,
        KIND_TAG.vote,
        int(msg.epoch),
        int(msg.round),
        msg.blockHash,
        msg.committedHash,
        msg.author,
        msg.signature,
      ];
    case "timeout":
      return [
        CODEC_VERSION,
        KIND_TAG.timeout,
        int(msg.epoch),
        int(msg.round),
        qcFields(msg.highQc),
        msg.lastRoundTc === null ? null : tcWire(msg.lastRoundTc),
        msg.author,
        msg.signature,
      ];
    case "sync-request":
      return [CODEC_VERSION, KIND_TAG["sync-request"], msg.blockHash, int(msg.stopHeight), int(msg.maxBlocks)];
    case "sync-response":
      return [CODEC_VERSION, KIND_TAG["sync-response"], msg.blocks.map(blockFields)];
    case "epoch-request":
      return [CODEC_VERSION, KIND_TAG["epoch-request"], int(msg.epoch)];
    case "epoch-proof":
      return [CODEC_VERSION, KIND_TAG["epoch-proof"], qcFields(msg.qc)];
    default:
      throw new TypeError(`unknown message kind ${String((msg as { kind?: unknown }).kind)}`);
  }
}

/** Payloads are hot and large: written by the hand-written canonical writer rather than msgpackr. */
function writePayload(p: BlockPayload): Uint8Array {
  for (const g of p.groups)
    if (!Number.isInteger(g.namespace) || g.namespace < 0 || g.namespace > MAX_UINT32)
      throw new RangeError(`namespace ${g.namespace} is not an unsigned 32-bit integer`);
  return packWire([CODEC_VERSION, p.groups.map((g) => [g.namespace, g.transactions])]);
}

function evidenceWire(e: Evidence): unknown[] {
  const head = [CODEC_VERSION, KIND_TAG.evidence, EVIDENCE_TAG[e.kind], int(e.epoch), int(e.round), e.author];
  if (e.kind === "double-proposal")
    return [
      ...head,
      [headerWire(e.first.header), e.first.signature],
      [headerWire(e.second.header), e.second.signature],
    ];
  return [
    ...head,
    [e.first.blockHash, e.first.committedHash, e.first.signature],
    [e.second.blockHash, e.second.committedHash, e.second.signature],
  ];
}

function blockWire(b: Block): unknown[] {
  return [CODEC_VERSION, KIND_TAG.block, ...blockFields(b)];
}

function qcWire(qc: QuorumCertificate): unknown[] {
  return [CODEC_VERSION, KIND_TAG["quorum-certificate"], ...qcFields(qc)];
}

/**
 * Packs with the shared encoder in RESET_BUFFER_MODE: the result is a view into
 * the encoder's buffer that the next call overwrites, so use it at once. One
 * warm buffer, reused, is several times faster for large messages than fresh
 * memory each time.
 */
function packShared(wire: unknown[]): Uint8Array {
  const out = packr.pack(wire, RESET_BUFFER_MODE);
  if (out.length > PACKR_RESET_BYTES) packr = new Packr(PACKR_OPTIONS);
  return out;
}

/** An exact-size, owned, plain `Uint8Array` (never a view into the shared encoder's buffer). */
function pack(wire: unknown[]): Uint8Array {
  return new Uint8Array(packShared(wire));
}

/**
 * Encoders trust their input's types (the compiler checks them); a value the
 * decoder would reject encodes to bytes the decoder rejects.
 */
export function encodeMessage(msg: ConsensusMessage): Uint8Array {
  return pack(messageWire(msg));
}

export function encodeBlockPayload(payload: BlockPayload): Uint8Array {
  return writePayload(payload);
}

export function encodeEvidence(evidence: Evidence): Uint8Array {
  return pack(evidenceWire(evidence));
}

export function encodeBlock(block: Block): Uint8Array {
  return pack(blockWire(block));
}

export function encodeQuorumCertificate(qc: QuorumCertificate): Uint8Array {
  return pack(qcWire(qc));
}

/** A TC alone, `[1, 11, [epoch, round, signers, highQcRounds, signature]]` (a validator keeps its highest). */
export function encodeTimeoutCertificate(tc: TimeoutCertificate): Uint8Array {
  return pack(tcRecordWire(tc));
}

function tcRecordWire(tc: TimeoutCertificate): unknown[] {
  return [CODEC_VERSION, KIND_TAG["timeout-certificate"], tcWire(tc)];
}

// ---------------------------------------------------------------------------
// Decoding

interface Ctx {
  readonly limits: CodecLimits;
  /** Largest validator index accepted. */
  readonly maxIndex: number;
  readonly maxBitmapBytes: number;
}

function context(limits: Partial<CodecLimits> | undefined): Ctx {
  let l: CodecLimits = DEFAULT_CODEC_LIMITS;
  if (limits !== undefined) {
    l = { ...DEFAULT_CODEC_LIMITS };
    for (const key of Object.keys(DEFAULT_CODEC_LIMITS) as (keyof CodecLimits)[]) {
      const v = limits[key];
      if (typeof v === "number" && !Number.isNaN(v)) l[key] = v;
    }
  }
  return {
    limits: l,
    maxIndex: Math.min(l.maxValidators - 1, MAX_UINT32),
    maxBitmapBytes: Math.ceil(l.maxValidators / 8),
  };
}

function fail(path: string, problem: string): never {
  throw new DecodeError(`${path}: ${problem}`);
}

function describe(v: unknown): string {
  if (v === null) return "nil";
  if (v === undefined) return "undefined";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  switch (typeof v) {
    case "number":
      return Object.is(v, -0) ? "-0" : `${v}`;
    case "bigint":
      return `${v}n`;
    case "string":
      return `a string of ${v.length} chars`;
    case "boolean":
      return `${v}`;
    default:
      return v instanceof Map ? "a map" : `a ${Object.prototype.toString.call(v).slice(8, -1)}`;
  }
}

function tuple(v: unknown, length: number, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, `expected an array of ${length}, got ${describe(v)}`);
  if (v.length !== length) fail(path, `expected ${length} fields, got ${v.length}`);
  return v;
}

function list(v: unknown, min: number, max: number, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, `expected an array, got ${describe(v)}`);
  if (v.length < min || v.length > max) fail(path, `expected ${min} to ${max} entries, got ${v.length}`);
  return v;
}

function uint(v: unknown, path: string, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || Object.is(v, -0) || v > max)
    fail(path, `expected an integer in [0, ${max}], got ${describe(v)}`);
  return v;
}

/** A copy of a `bin` field of exactly `length` bytes. */
function bytes(v: unknown, length: number, path: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(path, `expected ${length} bytes, got ${describe(v)}`);
  if (v.length !== length) fail(path, `expected ${length} bytes, got ${v.length}`);
  return new Uint8Array(v);
}

/** A copy of a `bin` field of `min..max` bytes. */
function bytesIn(v: unknown, min: number, max: number, path: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(path, `expected ${min} to ${max} bytes, got ${describe(v)}`);
  if (v.length < min || v.length > max) fail(path, `expected ${min} to ${max} bytes, got ${v.length}`);
  return new Uint8Array(v);
}

function versionAndTag(root: unknown, length: number, tag: number, path: string): unknown[] {
  if (!Array.isArray(root)) fail(path, `expected an array, got ${describe(root)}`);
  if (root[0] !== CODEC_VERSION) fail(path, `unsupported format version ${describe(root[0])}`);
  if (root[1] !== tag) fail(path, `expected kind tag ${tag}, got ${describe(root[1])}`);
  return tuple(root, length, path);
}

function decodeHeader(v: unknown, path: string, ctx: Ctx): BlockHeader {
  const f = tuple(v, 10, path);
  return {
    chainId: uint(f[0], `${path}.chainId`),
    epoch: uint(f[1], `${path}.epoch`),
    round: uint(f[2], `${path}.round`),
    height: uint(f[3], `${path}.height`),
    parentHash: bytes(f[4], HASH_BYTES, `${path}.parentHash`),
    namespaceRoot: bytes(f[5], HASH_BYTES, `${path}.namespaceRoot`),
    payloadHash: bytes(f[6], HASH_BYTES, `${path}.payloadHash`),
    validatorSetHash: bytes(f[7], HASH_BYTES, `${path}.validatorSetHash`),
    proposer: uint(f[8], `${path}.proposer`, ctx.maxIndex),
    timestampMs: uint(f[9], `${path}.timestampMs`),
  };
}

/** QC fields from `f[at]` on (shared by the nested form and the standalone `[1, 8, ...]`). */
function qcFrom(f: unknown[], at: number, path: string, ctx: Ctx): QuorumCertificate {
  const epoch = uint(f[at], `${path}.epoch`);
  const round = uint(f[at + 1], `${path}.round`);
  const blockHash = bytes(f[at + 2], HASH_BYTES, `${path}.blockHash`);
  const committedHash = bytes(f[at + 3], HASH_BYTES, `${path}.committedHash`);
  // An epoch's root QC (the genesis QC, or the one rooting an epoch at the previous epoch's last block)
  // has no signers and no signature; every other QC has both.
  const signers = bytesIn(f[at + 4], 0, ctx.maxBitmapBytes, `${path}.signers`);
  const signature =
    signers.length === 0
      ? bytes(f[at + 5], 0, `${path}.signature (root QC)`)
      : bytes(f[at + 5], SIGNATURE_BYTES, `${path}.signature`);
  return { epoch, round, blockHash, committedHash, signers, signature };
}

function decodeQc(v: unknown, path: string, ctx: Ctx): QuorumCertificate {
  return qcFrom(tuple(v, 6, path), 0, path, ctx);
}

function popcount(bitmap: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bitmap.length; i++) {
    let b = bitmap[i] as number;
    while (b !== 0) {
      b &= b - 1;
      n++;
    }
  }
  return n;
}

function decodeTc(v: unknown, path: string, ctx: Ctx): TimeoutCertificate {
  const f = tuple(v, 5, path);
  const epoch = uint(f[0], `${path}.epoch`);
  const round = uint(f[1], `${path}.round`);
  const signers = bytesIn(f[2], 1, ctx.maxBitmapBytes, `${path}.signers`);
  const signerCount = popcount(signers);
  const rawRounds = list(f[3], 0, ctx.limits.maxValidators, `${path}.highQcRounds`);
  if (rawRounds.length !== signerCount)
    fail(`${path}.highQcRounds`, `expected one round per signer (${signerCount}), got ${rawRounds.length}`);
  const highQcRounds = new Array<number>(rawRounds.length);
  for (let i = 0; i < rawRounds.length; i++) {
    const r = uint(rawRounds[i], `${path}.highQcRounds[${i}]`);
    if (r >= round) fail(`${path}.highQcRounds[${i}]`, `round ${r} is not below the certificate's round ${round}`);
    highQcRounds[i] = r;
  }
  const signature = bytes(f[4], SIGNATURE_BYTES, `${path}.signature`);
  return { epoch, round, signers, highQcRounds, signature };
}

function nullableTc(v: unknown, path: string, ctx: Ctx): TimeoutCertificate | null {
  return v === null ? null : decodeTc(v, path, ctx);
}

/** Block fields from `f[at]` on: header, justify QC, payload. */
function blockFrom(f: unknown[], at: number, path: string, ctx: Ctx): Block {
  return {
    header: decodeHeader(f[at], `${path}.header`, ctx),
    justify: decodeQc(f[at + 1], `${path}.justify`, ctx),
    payload: bytesIn(f[at + 2], 0, ctx.limits.maxPayloadBytes, `${path}.payload`),
  };
}

function decodeNestedBlock(v: unknown, path: string, ctx: Ctx): Block {
  return blockFrom(tuple(v, 3, path), 0, path, ctx);
}

function decodeProposal(root: unknown, ctx: Ctx): Proposal {
  const f = versionAndTag(root, 5, KIND_TAG.proposal, "proposal");
  return {
    kind: "proposal",
    block: decodeNestedBlock(f[2], "proposal.block", ctx),
    timeoutCertificate: nullableTc(f[3], "proposal.timeoutCertificate", ctx),
    signature: bytes(f[4], SIGNATURE_BYTES, "proposal.signature"),
  };
}

function decodeVote(root: unknown, ctx: Ctx): Vote {
  const f = versionAndTag(root, 8, KIND_TAG.vote, "vote");
  return {
    kind: "vote",
    epoch: uint(f[2], "vote.epoch"),
    round: uint(f[3], "vote.round"),
    blockHash: bytes(f[4], HASH_BYTES, "vote.blockHash"),
    committedHash: bytes(f[5], HASH_BYTES, "vote.committedHash"),
    author: uint(f[6], "vote.author", ctx.maxIndex),
    signature: bytes(f[7], SIGNATURE_BYTES, "vote.signature"),
  };
}

function decodeTimeout(root: unknown, ctx: Ctx): Timeout {
  const f = versionAndTag(root, 8, KIND_TAG.timeout, "timeout");
  return {
    kind: "timeout",
    epoch: uint(f[2], "timeout.epoch"),
    round: uint(f[3], "timeout.round"),
    highQc: decodeQc(f[4], "timeout.highQc", ctx),
    lastRoundTc: nullableTc(f[5], "timeout.lastRoundTc", ctx),
    author: uint(f[6], "timeout.author", ctx.maxIndex),
    signature: bytes(f[7], SIGNATURE_BYTES, "timeout.signature"),
  };
}

function decodeSyncRequest(root: unknown): SyncRequest {
  const f = versionAndTag(root, 5, KIND_TAG["sync-request"], "sync-request");
  return {
    kind: "sync-request",
    blockHash: bytes(f[2], HASH_BYTES, "sync-request.blockHash"),
    stopHeight: uint(f[3], "sync-request.stopHeight"),
    maxBlocks: uint(f[4], "sync-request.maxBlocks"),
  };
}

function decodeSyncResponse(root: unknown, ctx: Ctx): SyncResponse {
  const f = versionAndTag(root, 3, KIND_TAG["sync-response"], "sync-response");
  const raw = list(f[2], 0, ctx.limits.maxSyncBlocks, "sync-response.blocks");
  const blocks = new Array<Block>(raw.length);
  for (let i = 0; i < raw.length; i++) blocks[i] = decodeNestedBlock(raw[i], `sync-response.blocks[${i}]`, ctx);
  return { kind: "sync-response", blocks };
}

function decodeEpochRequest(root: unknown): EpochRequest {
  const f = versionAndTag(root, 3, KIND_TAG["epoch-request"], "epoch-request");
  return { kind: "epoch-request", epoch: uint(f[2], "epoch-request.epoch") };
}

function decodeEpochProof(root: unknown, ctx: Ctx): EpochProof {
  const f = versionAndTag(root, 3, KIND_TAG["epoch-proof"], "epoch-proof");
  return { kind: "epoch-proof", qc: decodeQc(f[2], "epoch-proof.qc", ctx) };
}

function toDecodeError(e: unknown, what: string): DecodeError {
  if (e instanceof DecodeError) return e;
  const reason = e instanceof Error ? e.message : `a thrown ${typeof e}`;
  return new DecodeError(`${what}: ${reason.slice(0, 200)}`, { cause: e });
}

/**
 * Size check, then one MessagePack value that must span the whole input
 * (trailing bytes are rejected). Read with `unpackMultiple` stopped after the
 * first value, which reports where that value ends; plain `unpack` would throw
 * on trailing data too, but only after serialising the decoded value to JSON
 * for its error message (which for a large payload is costly).
 */
function unpackOne(input: unknown, maxBytes: number, limitName: string, what: string): unknown {
  if (!(input instanceof Uint8Array)) throw new DecodeError(`${what}: expected a Uint8Array, got ${describe(input)}`);
  if (input.length > maxBytes)
    throw new DecodeError(`${what}: ${input.length} bytes exceeds ${limitName} (${maxBytes})`);
  if (input.length === 0) throw new DecodeError(`${what}: empty input`);
  // A fresh plain view: msgpackr caches a DataView on the object it reads, and
  // byte fields come back as views of it (plain Uint8Arrays, even from a Buffer).
  const view = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  let value: unknown;
  let end = -1;
  try {
    unpackr.unpackMultiple(view, (v, _start, stop) => {
      value = v;
      end = stop ?? -1;
      return false;
    });
  } catch (e) {
    throw new DecodeError(`${what}: malformed MessagePack: ${e instanceof Error ? e.message : typeof e}`, {
      cause: e,
    });
  }
  if (end !== input.length) {
    if (end < 0 || end > input.length) throw new DecodeError(`${what}: malformed MessagePack`);
    throw new DecodeError(`${what}: ${input.length - end} trailing bytes after the encoded value`);
  }
  return value;
}

const NOT_CANONICAL = "not the canonical encoding (an int, length or type is not in its shortest form)";

/** The input must be exactly what the encoder writes for the decoded value. */
function assertCanonical(input: Uint8Array, wire: unknown[], what: string): void {
  const again = packShared(wire);
  const same = Buffer.from(input.buffer, input.byteOffset, input.byteLength).equals(again);
  if (!same) fail(what, NOT_CANONICAL);
}

/** Runs a decoder, turning anything it throws into a `DecodeError`. */
function guarded<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw toDecodeError(e, what);
  }
}

export function decodeMessage(bytes: Uint8Array, limits?: Partial<CodecLimits>): ConsensusMessage {
  return guarded("message", () => {
    const ctx = context(limits);
    const root = unpackOne(bytes, ctx.limits.maxMessageBytes, "maxMessageBytes", "message");
    if (!Array.isArray(root) || root.length < 2)
      fail("message", `expected [version, kind, ...], got ${describe(root)}`);
    if (root[0] !== CODEC_VERSION) fail("message", `unsupported format version ${describe(root[0])}`);
    let msg: ConsensusMessage;
    switch (root[1]) {
      case KIND_TAG.proposal:
        msg = decodeProposal(root, ctx);
        break;
      case KIND_TAG.vote:
        msg = decodeVote(root, ctx);
        break;
      case KIND_TAG.timeout:
        msg = decodeTimeout(root, ctx);
        break;
      case KIND_TAG["sync-request"]:
        msg = decodeSyncRequest(root);
        break;
      case KIND_TAG["sync-response"]:
        msg = decodeSyncResponse(root, ctx);
        break;
      case KIND_TAG["epoch-request"]:
        msg = decodeEpochRequest(root);
        break;
      case KIND_TAG["epoch-proof"]:
        msg = decodeEpochProof(root, ctx);
        break;
      default:
        fail("message", `unknown message kind tag ${describe(root[1])}`);
    }
    assertCanonical(bytes, messageWire(msg), "message");
    return msg;
  });
}

/**
 * Groups strictly increasing by namespace, none empty; counts and sizes within
 * limits. Transactions are views into one private copy of `bytes`.
 */
export function decodeBlockPayload(bytes: Uint8Array, limits?: Partial<CodecLimits>): BlockPayload {
  return guarded("payload", () => {
    const ctx = context(limits);
    const { maxPayloadBytes, maxNamespacesPerPayload, maxTransactionsPerPayload, maxTransactionBytes } = ctx.limits;
    if (bytes instanceof Uint8Array && bytes.length > maxPayloadBytes)
      fail("payload", `${bytes.length} bytes exceeds maxPayloadBytes (${maxPayloadBytes})`);
    // One copy of the whole input; the transactions msgpackr returns are views into it.
    const owned = bytes instanceof Uint8Array ? new Uint8Array(bytes) : bytes;
    const root = tuple(unpackOne(owned, maxPayloadBytes, "maxPayloadBytes", "payload"), 2, "payload");
    if (root[0] !== CODEC_VERSION) fail("payload", `unsupported format version ${describe(root[0])}`);
    const rawGroups = list(root[1], 0, maxNamespacesPerPayload, "payload.groups");
    const groups = new Array<NamespaceGroup>(rawGroups.length);
    let previous = -1;
    let total = 0;
    for (let g = 0; g < rawGroups.length; g++) {
      const raw = rawGroups[g];
      const group = Array.isArray(raw) && raw.length === 2 ? raw : tuple(raw, 2, `payload.groups[${g}]`);
      const namespace = uint(group[0], `payload.groups[${g}].namespace`, MAX_UINT32);
      if (namespace <= previous)
        fail(
          `payload.groups[${g}].namespace`,
          `namespace ${namespace} does not follow ${previous} in increasing order`,
        );
      previous = namespace;
      const txs = group[1];
      if (!Array.isArray(txs) || txs.length === 0)
        fail(`payload.groups[${g}].transactions`, `expected a non-empty array, got ${describe(txs)}`);
      total += txs.length;
      if (total > maxTransactionsPerPayload)
        fail("payload", `more than maxTransactionsPerPayload (${maxTransactionsPerPayload}) transactions`);
      for (let i = 0; i < txs.length; i++) {
        const tx: unknown = txs[i];
        if (!(tx instanceof Uint8Array) || tx.length > maxTransactionBytes)
          fail(
            `payload.groups[${g}].transactions[${i}]`,
            `expected at most maxTransactionBytes (${maxTransactionBytes}) bytes, got ${describe(tx)}`,
          );
      }
      groups[g] = { namespace, transactions: txs as Uint8Array[] };
    }
    const payload: BlockPayload = { groups };
    const again = writePayload(payload);
    if (!Buffer.from(again.buffer, again.byteOffset, again.byteLength).equals(owned as Uint8Array))
      fail("payload", NOT_CANONICAL);
    return payload;
  });
}

function signedHeader(v: unknown, path: string, ctx: Ctx): { header: BlockHeader; signature: Uint8Array } {
  const f = tuple(v, 2, path);
  return {
    header: decodeHeader(f[0], `${path}.header`, ctx),
    signature: bytes(f[1], SIGNATURE_BYTES, `${path}.signature`),
  };
}

function signedVote(
  v: unknown,
  path: string,
): { blockHash: Uint8Array; committedHash: Uint8Array; signature: Uint8Array } {
  const f = tuple(v, 3, path);
  return {
    blockHash: bytes(f[0], HASH_BYTES, `${path}.blockHash`),
    committedHash: bytes(f[1], HASH_BYTES, `${path}.committedHash`),
    signature: bytes(f[2], SIGNATURE_BYTES, `${path}.signature`),
  };
}

/** `[1, 6, subTag, epoch, round, author, first, second]`, subTag 1 = double proposal, 2 = double vote. */
export function decodeEvidence(bytes: Uint8Array, limits?: Partial<CodecLimits>): Evidence {
  return guarded("evidence", () => {
    const ctx = context(limits);
    const f = versionAndTag(
      unpackOne(bytes, ctx.limits.maxMessageBytes, "maxMessageBytes", "evidence"),
      8,
      KIND_TAG.evidence,
      "evidence",
    );
    const epoch = uint(f[3], "evidence.epoch");
    const round = uint(f[4], "evidence.round");
    const author = uint(f[5], "evidence.author", ctx.maxIndex);
    let evidence: Evidence;
    if (f[2] === EVIDENCE_TAG["double-proposal"]) {
      evidence = {
        kind: "double-proposal",
        epoch,
        round,
        author,
        first: signedHeader(f[6], "evidence.first", ctx),
        second: signedHeader(f[7], "evidence.second", ctx),
      };
    } else if (f[2] === EVIDENCE_TAG["double-vote"]) {
      evidence = {
        kind: "double-vote",
        epoch,
        round,
        author,
        first: signedVote(f[6], "evidence.first"),
        second: signedVote(f[7], "evidence.second"),
      };
    } else fail("evidence", `unknown evidence kind tag ${describe(f[2])}`);
    assertCanonical(bytes, evidenceWire(evidence), "evidence");
    return evidence;
  });
}

/** A block alone, `[1, 7, header, justify, payload]` (for storage). */
export function decodeBlock(bytes: Uint8Array, limits?: Partial<CodecLimits>): Block {
  return guarded("block", () => {
    const ctx = context(limits);
    const f = versionAndTag(
      unpackOne(bytes, ctx.limits.maxMessageBytes, "maxMessageBytes", "block"),
      5,
      KIND_TAG.block,
      "block",
    );
    const block = blockFrom(f, 2, "block", ctx);
    assertCanonical(bytes, blockWire(block), "block");
    return block;
  });
}

/** A TC alone (`encodeTimeoutCertificate`). */
export function decodeTimeoutCertificate(bytes: Uint8Array, limits?: Partial<CodecLimits>): TimeoutCertificate {
  return guarded("timeout certificate", () => {
    const ctx = context(limits);
    const f = versionAndTag(
      unpackOne(bytes, ctx.limits.maxMessageBytes, "maxMessageBytes", "timeout certificate"),
      3,
      KIND_TAG["timeout-certificate"],
      "tc",
    );
    const tc = decodeTc(f[2], "tc", ctx);
    assertCanonical(bytes, tcRecordWire(tc), "timeout certificate");
    return tc;
  });
}

/** A QC alone, `[1, 8, epoch, round, blockHash, committedHash, signers, signature]`. */
export function decodeQuorumCertificate(bytes: Uint8Array, limits?: Partial<CodecLimits>): QuorumCertificate {
  return guarded("quorum certificate", () => {
    const ctx = context(limits);
    const f = versionAndTag(
      unpackOne(bytes, ctx.limits.maxMessageBytes, "maxMessageBytes", "quorum certificate"),
      8,
      KIND_TAG["quorum-certificate"],
      "qc",
    );
    const qc = qcFrom(f, 2, "qc", ctx);
    assertCanonical(bytes, qcWire(qc), "quorum certificate");
    return qc;
  });
}
