import { DecodeError, encodeMessage, sha256 } from "@ordo/core";
import fc from "fast-check";
import { Packr, Unpackr } from "msgpackr";
import { describe, expect, it } from "vitest";
import {
  type Batch,
  type BatchAck,
  type BatchCertificate,
  type BatchRequest,
  type BatchResponse,
  type BlockBatches,
  batchDigest,
  DEFAULT_DISSEMINATION_CODEC_LIMITS,
  type DisseminationMessage,
  decodeBatch,
  decodeBatchAck,
  decodeBatchCertificate,
  decodeBatchRequest,
  decodeBatchResponse,
  decodeBlockBatches,
  decodeDisseminationMessage,
  encodeBatch,
  encodeBatchAck,
  encodeBatchCertificate,
  encodeBatchRequest,
  encodeBatchResponse,
  encodeBlockBatches,
  encodeDisseminationMessage,
} from "../src/dissemination/index.js";

// ---------------------------------------------------------------------------
// Arbitraries for valid values

const L = DEFAULT_DISSEMINATION_CODEC_LIMITS;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Unsigned ints of every MessagePack width, with the boundaries. */
const u53 = fc.oneof(
  fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, 0xffff_ffff, 2 ** 32, MAX_SAFE),
  fc.nat({ max: 1000 }),
  fc.integer({ min: 0, max: 0xffff_ffff }),
  fc.maxSafeNat(),
);
const positiveU53 = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: MAX_SAFE }));
const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const hashArb = bytesOf(32);
const sigArb = bytesOf(96);
const indexArb = fc.oneof(fc.nat({ max: 15 }), fc.nat({ max: L.maxValidators - 1 }));
const bitmapArb = fc.oneof(
  { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 4 }), weight: 4 },
  { arbitrary: fc.uint8Array({ minLength: 1, maxLength: L.maxValidators / 8 }), weight: 1 },
);
const namespaceArb = fc.oneof(
  fc.constantFrom(0, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, 0xffff_ffff),
  fc.nat({ max: 300 }),
  fc.integer({ min: 0, max: 0xffff_ffff }),
);
const txArb = fc.record({
  namespace: namespaceArb,
  data: fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: 8 }), weight: 8 },
    { arbitrary: fc.uint8Array({ maxLength: 300, size: "max" }), weight: 1 },
  ),
});
const batchArb: fc.Arbitrary<Batch> = fc.record({
  author: indexArb,
  sequence: u53,
  createdAtMs: u53,
  transactions: fc.array(txArb, { minLength: 1, maxLength: 20, size: "medium" }),
});
const ackArb: fc.Arbitrary<BatchAck> = fc.record({
  digest: hashArb,
  author: indexArb,
  sequence: u53,
  signer: indexArb,
  signature: sigArb,
});
const certificateArb: fc.Arbitrary<BatchCertificate> = fc.record({
  digest: hashArb,
  author: indexArb,
  sequence: u53,
  transactionCount: positiveU53,
  byteSize: u53,
  signers: bitmapArb,
  signature: sigArb,
});
const requestArb: fc.Arbitrary<BatchRequest> = fc.record({
  digests: fc.array(hashArb, { minLength: 1, maxLength: 20 }),
});
const responseArb: fc.Arbitrary<BatchResponse> = fc.record({ batches: fc.array(batchArb, { maxLength: 5 }) });
const blockBatchesArb: fc.Arbitrary<BlockBatches> = fc.record({
  certificates: fc.array(certificateArb, { maxLength: 12 }),
  system: fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 4 }),
});
const messageArb: fc.Arbitrary<DisseminationMessage> = fc.oneof(
  batchArb.map((batch) => ({ kind: "batch" as const, batch })),
  ackArb.map((ack) => ({ kind: "batch-ack" as const, ack })),
  certificateArb.map((certificate) => ({ kind: "batch-certificate" as const, certificate })),
  requestArb.map((request) => ({ kind: "batch-request" as const, request })),
  responseArb.map((response) => ({ kind: "batch-response" as const, response })),
);

// ---------------------------------------------------------------------------
// An independent statement of what a valid decoded value is

const isObject = (v: unknown, keys: string[]): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).sort().join() === [...keys].sort().join();
const isBytes = (v: unknown, min: number, max = min): v is Uint8Array =>
  v instanceof Uint8Array && v.constructor === Uint8Array && v.length >= min && v.length <= max;
const isUint = (v: unknown, max = MAX_SAFE): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && !Object.is(v, -0) && v <= max;
const isIndex = (v: unknown): boolean => isUint(v, L.maxValidators - 1);
const isHash = (v: unknown): boolean => isBytes(v, 32);
const isSig = (v: unknown): boolean => isBytes(v, 96);

function isBatch(b: unknown): boolean {
  return (
    isObject(b, ["author", "sequence", "createdAtMs", "transactions"]) &&
    isIndex(b.author) &&
    isUint(b.sequence) &&
    isUint(b.createdAtMs) &&
    Array.isArray(b.transactions) &&
    b.transactions.length >= 1 &&
    b.transactions.every(
      (t) =>
        isObject(t, ["namespace", "data"]) &&
        isUint(t.namespace, 0xffff_ffff) &&
        isBytes(t.data, 0, L.maxTransactionBytes),
    )
  );
}
const isAck = (a: unknown): boolean =>
  isObject(a, ["digest", "author", "sequence", "signer", "signature"]) &&
  isHash(a.digest) &&
  isIndex(a.author) &&
  isUint(a.sequence) &&
  isIndex(a.signer) &&
  isSig(a.signature);
const isCertificate = (c: unknown): boolean =>
  isObject(c, ["digest", "author", "sequence", "transactionCount", "byteSize", "signers", "signature"]) &&
  isHash(c.digest) &&
  isIndex(c.author) &&
  isUint(c.sequence) &&
  isUint(c.transactionCount) &&
  c.transactionCount >= 1 &&
  isUint(c.byteSize) &&
  isBytes(c.signers, 1, L.maxValidators / 8) &&
  isSig(c.signature);
const isRequest = (r: unknown): boolean =>
  isObject(r, ["digests"]) &&
  Array.isArray(r.digests) &&
  r.digests.length >= 1 &&
  r.digests.length <= L.maxDigestsPerRequest &&
  r.digests.every(isHash);
const isResponse = (r: unknown): boolean =>
  isObject(r, ["batches"]) &&
  Array.isArray(r.batches) &&
  r.batches.length <= L.maxBatchesPerResponse &&
  r.batches.every(isBatch);
const isBlockBatches = (p: unknown): boolean =>
  isObject(p, ["certificates", "system"]) &&
  Array.isArray(p.certificates) &&
  p.certificates.length <= L.maxCertificatesPerBlock &&
  p.certificates.every(isCertificate) &&
  Array.isArray(p.system) &&
  p.system.length <= L.maxSystemTransactionsPerBlock &&
  p.system.every((t) => t instanceof Uint8Array && t.length <= L.maxTransactionBytes);
function isMessage(m: unknown): boolean {
  if (typeof m !== "object" || m === null) return false;
  switch ((m as { kind?: unknown }).kind) {
    case "batch":
      return isObject(m, ["kind", "batch"]) && isBatch(m.batch);
    case "batch-ack":
      return isObject(m, ["kind", "ack"]) && isAck(m.ack);
    case "batch-certificate":
      return isObject(m, ["kind", "certificate"]) && isCertificate(m.certificate);
    case "batch-request":
      return isObject(m, ["kind", "request"]) && isRequest(m.request);
    case "batch-response":
      return isObject(m, ["kind", "response"]) && isResponse(m.response);
    default:
      return false;
  }
}

interface Codec {
  name: string;
  decode: (bytes: Uint8Array) => unknown;
  encode: (value: never) => Uint8Array;
  isValid: (value: unknown) => boolean;
  arbitrary: fc.Arbitrary<unknown>;
  tag: number | null;
}

const codecs: Codec[] = [
  { name: "decodeBatch", decode: decodeBatch, encode: encodeBatch, isValid: isBatch, arbitrary: batchArb, tag: 16 },
  {
    name: "decodeBatchAck",
    decode: decodeBatchAck,
    encode: encodeBatchAck,
    isValid: isAck,
    arbitrary: ackArb,
    tag: 17,
  },
  {
    name: "decodeBatchCertificate",
    decode: decodeBatchCertificate,
    encode: encodeBatchCertificate,
    isValid: isCertificate,
    arbitrary: certificateArb,
    tag: 18,
  },
  {
    name: "decodeBatchRequest",
    decode: decodeBatchRequest,
    encode: encodeBatchRequest,
    isValid: isRequest,
    arbitrary: requestArb,
    tag: 19,
  },
  {
    name: "decodeBatchResponse",
    decode: decodeBatchResponse,
    encode: encodeBatchResponse,
    isValid: isResponse,
    arbitrary: responseArb,
    tag: 20,
  },
  {
    name: "decodeBlockBatches",
    decode: decodeBlockBatches,
    encode: encodeBlockBatches,
    isValid: isBlockBatches,
    arbitrary: blockBatchesArb,
    tag: 21,
  },
  {
    name: "decodeDisseminationMessage",
    decode: decodeDisseminationMessage,
    encode: encodeDisseminationMessage,
    isValid: isMessage,
    arbitrary: messageArb,
    tag: null,
  },
];

/** Deep-equality form that compares byte arrays as hex and keeps their class. */
function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return `${value.constructor.name}:${Buffer.from(value).toString("hex")}`;
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  return value;
}

/** Either a `DecodeError`, or a valid value whose canonical encoding is exactly the input. */
function decodesTotally(codec: Codec, bytes: Uint8Array): void {
  let value: unknown;
  try {
    value = codec.decode(bytes);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw new Error(`${codec.name} threw a non-DecodeError: ${String(e)}`);
    return;
  }
  expect(codec.isValid(value)).toBe(true);
  expect(Buffer.from(codec.encode(value as never)).equals(bytes)).toBe(true);
}

const packers = [
  new Packr({ useRecords: false }),
  new Packr({ useRecords: true }),
  new Packr({ useRecords: false, moreTypes: true, useBigIntExtension: true }),
];

function tryPack(packer: Packr, value: unknown): Uint8Array | null {
  try {
    return new Uint8Array(packer.pack(value));
  } catch {
    return null;
  }
}

const anythingArb = fc.anything({
  withBigInt: true,
  withBoxedValues: false,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withTypedArray: true,
  withSparseArray: true,
});

const packedAnythingArb = fc
  .tuple(anythingArb, fc.nat({ max: packers.length - 1 }))
  .map(([value, i]) => tryPack(packers[i]!, value))
  .filter((bytes): bytes is Uint8Array => bytes !== null);

/** `[1, tag, ...anything]`: gets past the version and tag checks into the field validation. */
const taggedAnythingArb = (tag: number | null) =>
  fc
    .tuple(
      tag === null ? fc.integer({ min: 14, max: 23 }) : fc.oneof(fc.constant(tag), fc.integer({ min: 14, max: 23 })),
      fc.array(fc.oneof(anythingArb, fc.array(fc.oneof(fc.nat(), bytesOf(32), bytesOf(96)))), { maxLength: 8 }),
      fc.nat({ max: packers.length - 1 }),
    )
    .map(([t, rest, i]) => tryPack(packers[i]!, [1, t, ...rest]))
    .filter((bytes): bytes is Uint8Array => bytes !== null);

const randomBytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 16 }),
  fc.uint8Array({ maxLength: 4096, size: "max" }),
  fc
    .tuple(
      fc.integer({ min: 0x90, max: 0x9f }),
      fc.integer({ min: 14, max: 23 }),
      fc.uint8Array({ maxLength: 600, size: "max" }),
    )
    .map(([head, tag, rest]) => new Uint8Array([head, 1, tag, ...rest])),
);

describe("dissemination codec: decoders are total (DecodeError or a valid value, never anything else)", () => {
  for (const codec of codecs) {
    it(`${codec.name} on random byte strings`, () => {
      fc.assert(
        fc.property(randomBytesArb, (bytes) => decodesTotally(codec, bytes)),
        { numRuns: 1500 },
      );
    });

    it(`${codec.name} on arbitrary MessagePack values`, () => {
      fc.assert(
        fc.property(fc.oneof(packedAnythingArb, taggedAnythingArb(codec.tag)), (bytes) => decodesTotally(codec, bytes)),
        { numRuns: 1500 },
      );
    });
  }

  it("rejects non-Uint8Array input, empty input, and input over maxMessageBytes before parsing", () => {
    for (const codec of codecs) {
      expect(() => codec.decode("abc" as never)).toThrow(DecodeError);
      expect(() => codec.decode(null as never)).toThrow(DecodeError);
      expect(() => codec.decode(new Uint8Array(0))).toThrow(DecodeError);
    }
    const big = encodeBatch({
      author: 0,
      sequence: 0,
      createdAtMs: 0,
      transactions: [{ namespace: 1, data: new Uint8Array(2000) }],
    });
    expect(() => decodeBatch(big, { maxMessageBytes: 1000 })).toThrow(/maxMessageBytes/);
    // A large garbage input fails on the size check, not in the parser.
    expect(() => decodeBatch(new Uint8Array(2000).fill(0xc1), { maxMessageBytes: 1000 })).toThrow(/maxMessageBytes/);
  });

  it("rejects consensus messages and the wrong tag", () => {
    const vote = encodeMessage({
      kind: "vote",
      epoch: 1,
      round: 2,
      blockHash: new Uint8Array(32),
      committedHash: new Uint8Array(32),
      author: 0,
      signature: new Uint8Array(96),
    });
    for (const codec of codecs) expect(() => codec.decode(vote)).toThrow(DecodeError);
    const cert = encodeBatchCertificate({
      digest: new Uint8Array(32),
      author: 1,
      sequence: 2,
      transactionCount: 3,
      byteSize: 4,
      signers: new Uint8Array([7]),
      signature: new Uint8Array(96),
    });
    expect(() => decodeBatch(cert)).toThrow(/expected tag 16/);
    expect(() => decodeDisseminationMessage(encodeBlockBatches({ certificates: [], system: [] }))).toThrow(/payload/);
  });

  it("applies the limits it is given", () => {
    const batch: Batch = {
      author: 3,
      sequence: 1,
      createdAtMs: 5,
      transactions: [
        { namespace: 1, data: new Uint8Array(10) },
        { namespace: 2, data: new Uint8Array(20) },
      ],
    };
    const bytes = encodeBatch(batch);
    expect(() => decodeBatch(bytes, { maxTransactions: 1 })).toThrow(DecodeError);
    expect(() => decodeBatch(bytes, { maxTransactionBytes: 15 })).toThrow(/transactions\[1\]\.data/);
    expect(() => decodeBatch(bytes, { maxValidators: 3 })).toThrow(/author/);
    expect(decodeBatch(bytes, { maxValidators: 4 }).author).toBe(3);
    const response = encodeBatchResponse({ batches: [batch, batch] });
    expect(() => decodeBatchResponse(response, { maxTransactions: 3 })).toThrow(/maxTransactions/);
    expect(() => decodeBatchResponse(response, { maxBatchesPerResponse: 1 })).toThrow(DecodeError);
    expect(() => decodeBatch(encodeBatch({ ...batch, transactions: [] }))).toThrow(/transactions/);
    expect(() => decodeBatchRequest(encodeBatchRequest({ digests: [] }))).toThrow(/digests/);
    expect(() =>
      decodeBatchCertificate(
        encodeBatchCertificate({
          digest: new Uint8Array(32),
          author: 0,
          sequence: 0,
          transactionCount: 0,
          byteSize: 0,
          signers: new Uint8Array([1]),
          signature: new Uint8Array(96),
        }),
      ),
    ).toThrow(/transactionCount/);
  });
});

describe("dissemination codec: valid values round-trip", () => {
  for (const codec of codecs) {
    it(`${codec.name}(encode(x)) deep-equals x`, () => {
      fc.assert(
        fc.property(codec.arbitrary, (value) => {
          const encoded = codec.encode(value as never);
          const decoded = codec.decode(encoded);
          expect(normalize(decoded)).toStrictEqual(normalize(value));
          expect(codec.isValid(decoded)).toBe(true);
          expect(codec.encode(decoded as never)).toStrictEqual(encoded);
        }),
        { numRuns: 300 },
      );
    });
  }

  it("the hand-written encoder writes exactly what msgpackr Packr({useRecords:false}) writes", () => {
    const packr = new Packr({ useRecords: false });
    const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: "number" });
    /** What the format says: ints above 2^32-1 as int64, which is what msgpackr writes for a bigint. */
    const widen = (t: unknown): unknown =>
      Array.isArray(t) ? t.map(widen) : Number.isInteger(t) && (t as number) > 0xffff_ffff ? BigInt(t as number) : t;
    fc.assert(
      fc.property(messageArb, blockBatchesArb, (m, p) => {
        for (const bytes of [encodeDisseminationMessage(m), encodeBlockBatches(p)]) {
          const tree = unpackr.unpack(bytes);
          expect(Buffer.from(packr.pack(widen(tree))).equals(bytes)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("wire layout is [1, tag, ...positional fields]", () => {
    const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: "number" });
    const batch: Batch = {
      author: 2,
      sequence: 7,
      createdAtMs: 1_700_000_000_000,
      transactions: [{ namespace: 9, data: new Uint8Array([1, 2]) }],
    };
    expect(unpackr.unpack(encodeBatch(batch))).toStrictEqual([
      1,
      16,
      2,
      7,
      1_700_000_000_000,
      [[9, new Uint8Array([1, 2])]],
    ]);
    expect(batchDigest(batch)).toStrictEqual(sha256(encodeBatch(batch)));
  });

  it("decoded byte fields never alias the input", () => {
    const batch: Batch = {
      author: 1,
      sequence: 0,
      createdAtMs: 0,
      transactions: [{ namespace: 5, data: new Uint8Array([1, 2, 3]) }],
    };
    const bytes = encodeBatch(batch);
    const decoded = decodeBatch(bytes);
    bytes.fill(0);
    expect([...(decoded.transactions[0]?.data ?? [])]).toStrictEqual([1, 2, 3]);
  });
});

describe("dissemination codec: mutations of valid encodings", () => {
  for (const codec of codecs) {
    it(`${codec.name}: changing one byte gives a DecodeError or another valid value`, () => {
      fc.assert(
        fc.property(codec.arbitrary, fc.nat(), fc.integer({ min: 1, max: 255 }), (value, at, xor) => {
          const bytes = new Uint8Array(codec.encode(value as never));
          const i = at % bytes.length;
          bytes[i] = (bytes[i] as number) ^ xor;
          decodesTotally(codec, bytes);
        }),
        { numRuns: 1000 },
      );
    });

    it(`${codec.name}: truncating or extending a valid encoding gives a DecodeError`, () => {
      fc.assert(
        fc.property(codec.arbitrary, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 }), (value, at, extra) => {
          const bytes = codec.encode(value as never);
          expect(() => codec.decode(bytes.subarray(0, at % bytes.length))).toThrow(DecodeError);
          const longer = new Uint8Array(bytes.length + extra.length);
          longer.set(bytes);
          longer.set(extra, bytes.length);
          expect(() => codec.decode(longer)).toThrow(DecodeError);
        }),
        { numRuns: 1000 },
      );
    });
  }

  const treeUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: "number" });
  // The second writes byte arrays as typed-array extensions: right values, wrong MessagePack types.
  const treePackers = [new Packr({ useRecords: false }), new Packr({ useRecords: false, moreTypes: true })];
  const preOrder = (t: unknown, out: unknown[] = []): unknown[] => {
    out.push(t);
    if (Array.isArray(t)) for (const c of t) preOrder(c, out);
    return out;
  };
  const widen = (t: unknown): unknown =>
    Array.isArray(t) ? t.map(widen) : Number.isInteger(t) && (t as number) > 0xffff_ffff ? BigInt(t as number) : t;
  function replaceNode(tree: unknown, n: number, by: unknown): unknown {
    let k = n;
    const walk = (t: unknown): unknown => {
      if (k-- === 0) return by;
      return Array.isArray(t) ? t.map(walk) : t;
    };
    return walk(tree);
  }
  const nearValidArb = fc.oneof(
    fc.constantFrom<unknown>(null, 0, 1, -1, 0.5, 2 ** 32, 2 ** 53, MAX_SAFE, [], [1], 1024, 0x1_0000_0000),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
    fc.double(),
    fc.constantFrom(0, 1, 31, 32, 33, 95, 96, 97, 128, 129).map((n) => new Uint8Array(n).fill(1)),
    fc.array(fc.nat({ max: 5 }), { maxLength: 4 }),
  );
  const replacementArb = fc.oneof(
    anythingArb.map((value) => ({ value })),
    nearValidArb.map((value) => ({ value })),
    fc.nat().map((donor) => ({ donor })),
  );

  for (const codec of codecs) {
    it(`${codec.name}: replacing one node of a valid encoding's MessagePack tree`, () => {
      fc.assert(
        fc.property(codec.arbitrary, fc.nat(), replacementArb, fc.nat({ max: 9 }), (value, n, r, p) => {
          const tree: unknown = treeUnpackr.unpack(codec.encode(value as never));
          const nodes = preOrder(tree);
          const by = "donor" in r ? nodes[r.donor % nodes.length] : r.value;
          const mutated = widen(replaceNode(tree, n % nodes.length, by));
          const bytes = tryPack(treePackers[p === 0 ? 1 : 0]!, mutated);
          if (bytes !== null) decodesTotally(codec, bytes);
        }),
        { numRuns: 1000 },
      );
    });
  }

  it("non-canonical ints, lengths and types are rejected", () => {
    const ack: BatchAck = {
      digest: new Uint8Array(32).fill(3),
      author: 1,
      sequence: 5,
      signer: 2,
      signature: new Uint8Array(96).fill(4),
    };
    const bytes = encodeBatchAck(ack);
    expect(bytes[0]).toBe(0x97);
    // sequence 5 as uint8 (0xcc 05) instead of a fixint
    const digestEnd = 3 + 2 + 32 + 1;
    const longInt = new Uint8Array([...bytes.subarray(0, digestEnd), 0xcc, 5, ...bytes.subarray(digestEnd + 1)]);
    expect(() => decodeBatchAck(longInt)).toThrow(/canonical/);
    // the same value written as a float
    const asFloat = new Packr({ useRecords: false, useFloat32: 0 }).pack([1, 17, ack.digest, 1, 5.5, 2, ack.signature]);
    expect(() => decodeBatchAck(asFloat)).toThrow(DecodeError);
  });
});
