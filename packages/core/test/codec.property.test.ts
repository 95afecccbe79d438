import fc from "fast-check";
import { Packr, Unpackr } from "msgpackr";
import { describe, expect, it } from "vitest";
import {
  type Block,
  type BlockHeader,
  type BlockPayload,
  type ConsensusMessage,
  DEFAULT_CODEC_LIMITS,
  DecodeError,
  decodeBlock,
  decodeBlockPayload,
  decodeEvidence,
  decodeMessage,
  decodeQuorumCertificate,
  type Evidence,
  encodeBlock,
  encodeBlockPayload,
  encodeEvidence,
  encodeMessage,
  encodeQuorumCertificate,
  type QuorumCertificate,
  type TimeoutCertificate,
} from "../src/index.js";

// ---------------------------------------------------------------------------
// Arbitraries for valid values

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
const indexArb = fc.oneof(fc.nat({ max: 15 }), fc.nat({ max: DEFAULT_CODEC_LIMITS.maxValidators - 1 }));
const bitmapArb = fc.oneof(
  { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 4 }), weight: 4 },
  { arbitrary: fc.uint8Array({ minLength: 1, maxLength: DEFAULT_CODEC_LIMITS.maxValidators / 8 }), weight: 1 },
);

const headerArb: fc.Arbitrary<BlockHeader> = fc.record({
  chainId: u53,
  epoch: u53,
  round: u53,
  height: u53,
  parentHash: hashArb,
  namespaceRoot: hashArb,
  payloadHash: hashArb,
  validatorSetHash: hashArb,
  proposer: indexArb,
  timestampMs: u53,
});

const qcArb: fc.Arbitrary<QuorumCertificate> = fc.oneof(
  fc.record({
    epoch: u53,
    round: u53,
    blockHash: hashArb,
    committedHash: hashArb,
    signers: fc.constant(new Uint8Array(0)),
    signature: fc.constant(new Uint8Array(0)),
  }),
  fc.record({
    epoch: u53,
    round: positiveU53,
    blockHash: hashArb,
    committedHash: hashArb,
    signers: bitmapArb,
    signature: sigArb,
  }),
);

function popcount(bitmap: Uint8Array): number {
  let n = 0;
  for (const b of bitmap) for (let bit = 0; bit < 8; bit++) n += (b >> bit) & 1;
  return n;
}

const tcArb: fc.Arbitrary<TimeoutCertificate> = fc
  .record({ epoch: u53, round: positiveU53, signers: bitmapArb, signature: sigArb })
  .chain(({ epoch, round, signers, signature }) => {
    const n = popcount(signers);
    return fc
      .array(fc.oneof(fc.constant(round - 1), fc.integer({ min: 0, max: round - 1 })), { minLength: n, maxLength: n })
      .map((highQcRounds) => ({ epoch, round, signers, highQcRounds, signature }));
  });

const blockArb: fc.Arbitrary<Block> = fc.record({
  header: headerArb,
  justify: qcArb,
  payload: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 1000, size: "max" })),
});

const messageArb: fc.Arbitrary<ConsensusMessage> = fc.oneof(
  fc.record({
    kind: fc.constant("proposal" as const),
    block: blockArb,
    timeoutCertificate: fc.option(tcArb, { nil: null }),
    signature: sigArb,
  }),
  fc.record({
    kind: fc.constant("vote" as const),
    epoch: u53,
    round: u53,
    blockHash: hashArb,
    committedHash: hashArb,
    author: indexArb,
    signature: sigArb,
  }),
  fc.record({
    kind: fc.constant("timeout" as const),
    epoch: u53,
    round: u53,
    highQc: qcArb,
    lastRoundTc: fc.option(tcArb, { nil: null }),
    author: indexArb,
    signature: sigArb,
  }),
  fc.record({ kind: fc.constant("sync-request" as const), blockHash: hashArb, stopHeight: u53, maxBlocks: u53 }),
  fc.record({ kind: fc.constant("sync-response" as const), blocks: fc.array(blockArb, { maxLength: 4 }) }),
  fc.record({ kind: fc.constant("epoch-request" as const), epoch: u53 }),
  fc.record({ kind: fc.constant("epoch-proof" as const), qc: qcArb }),
);

const namespaceArb = fc.oneof(
  fc.constantFrom(0, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, 0xffff_ffff),
  fc.nat({ max: 300 }),
  fc.integer({ min: 0, max: 0xffff_ffff }),
);

const payloadArb: fc.Arbitrary<BlockPayload> = fc
  .uniqueArray(namespaceArb, { maxLength: 20, size: "medium" })
  .chain((namespaces) =>
    fc.tuple(
      ...[...namespaces]
        .sort((a, b) => a - b)
        .map((namespace) =>
          fc
            .array(
              fc.oneof(
                { arbitrary: fc.uint8Array({ maxLength: 8 }), weight: 8 },
                { arbitrary: fc.uint8Array({ maxLength: 300, size: "max" }), weight: 1 },
              ),
              {
                minLength: 1,
                maxLength: 18,
                size: "medium",
              },
            )
            .map((transactions) => ({ namespace, transactions })),
        ),
    ),
  )
  .map((groups) => ({ groups }));

const signedHeaderArb = fc.record({ header: headerArb, signature: sigArb });
const signedVoteArb = fc.record({ blockHash: hashArb, committedHash: hashArb, signature: sigArb });
const evidenceArb: fc.Arbitrary<Evidence> = fc.oneof(
  fc.record({
    kind: fc.constant("double-proposal" as const),
    epoch: u53,
    round: u53,
    author: indexArb,
    first: signedHeaderArb,
    second: signedHeaderArb,
  }),
  fc.record({
    kind: fc.constant("double-vote" as const),
    epoch: u53,
    round: u53,
    author: indexArb,
    first: signedVoteArb,
    second: signedVoteArb,
  }),
);

// ---------------------------------------------------------------------------
// An independent statement of what a valid decoded value is

const L = DEFAULT_CODEC_LIMITS;
const isObject = (v: unknown, keys: string[]): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).sort().join() === [...keys].sort().join();
const isBytes = (v: unknown, min: number, max = min): v is Uint8Array =>
  v instanceof Uint8Array && v.constructor === Uint8Array && v.length >= min && v.length <= max;
const isUint = (v: unknown, max = MAX_SAFE): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && !Object.is(v, -0) && v <= max;
const isIndex = (v: unknown): boolean => isUint(v, Math.min(L.maxValidators - 1, 0xffff_ffff));
const isHash = (v: unknown): boolean => isBytes(v, 32);
const isSig = (v: unknown): boolean => isBytes(v, 96);
const isBitmap = (v: unknown): v is Uint8Array => isBytes(v, 1, Math.ceil(L.maxValidators / 8));

function isHeader(h: unknown): boolean {
  return (
    isObject(h, [
      "chainId",
      "epoch",
      "round",
      "height",
      "parentHash",
      "namespaceRoot",
      "payloadHash",
      "validatorSetHash",
      "proposer",
      "timestampMs",
    ]) &&
    isUint(h.chainId) &&
    isUint(h.epoch) &&
    isUint(h.round) &&
    isUint(h.height) &&
    isHash(h.parentHash) &&
    isHash(h.namespaceRoot) &&
    isHash(h.payloadHash) &&
    isHash(h.validatorSetHash) &&
    isIndex(h.proposer) &&
    isUint(h.timestampMs)
  );
}

function isQc(q: unknown): boolean {
  if (!isObject(q, ["epoch", "round", "blockHash", "committedHash", "signers", "signature"])) return false;
  if (!isUint(q.epoch) || !isUint(q.round) || !isHash(q.blockHash) || !isHash(q.committedHash)) return false;
  // A root QC (genesis, or an epoch's start) has neither signers nor a signature, at any round.
  return isBytes(q.signers, 0) ? isBytes(q.signature, 0) : isBitmap(q.signers) && isSig(q.signature);
}

function isTc(t: unknown): boolean {
  if (!isObject(t, ["epoch", "round", "signers", "highQcRounds", "signature"])) return false;
  if (!isUint(t.epoch) || !isUint(t.round) || !isBitmap(t.signers) || !isSig(t.signature)) return false;
  const rounds = t.highQcRounds;
  const round = t.round;
  return (
    Array.isArray(rounds) &&
    rounds.length === popcount(t.signers) &&
    rounds.every((r) => isUint(r) && (r as number) < round)
  );
}

const isBlock = (b: unknown): boolean =>
  isObject(b, ["header", "justify", "payload"]) &&
  isHeader(b.header) &&
  isQc(b.justify) &&
  isBytes(b.payload, 0, L.maxPayloadBytes);

function isMessage(m: unknown): boolean {
  if (typeof m !== "object" || m === null) return false;
  switch ((m as { kind?: unknown }).kind) {
    case "proposal":
      return (
        isObject(m, ["kind", "block", "timeoutCertificate", "signature"]) &&
        isBlock(m.block) &&
        (m.timeoutCertificate === null || isTc(m.timeoutCertificate)) &&
        isSig(m.signature)
      );
    case "vote":
      return (
        isObject(m, ["kind", "epoch", "round", "blockHash", "committedHash", "author", "signature"]) &&
        isUint(m.epoch) &&
        isUint(m.round) &&
        isHash(m.blockHash) &&
        isHash(m.committedHash) &&
        isIndex(m.author) &&
        isSig(m.signature)
      );
    case "timeout":
      return (
        isObject(m, ["kind", "epoch", "round", "highQc", "lastRoundTc", "author", "signature"]) &&
        isUint(m.epoch) &&
        isUint(m.round) &&
        isQc(m.highQc) &&
        (m.lastRoundTc === null || isTc(m.lastRoundTc)) &&
        isIndex(m.author) &&
        isSig(m.signature)
      );
    case "sync-request":
      return (
        isObject(m, ["kind", "blockHash", "stopHeight", "maxBlocks"]) &&
        isHash(m.blockHash) &&
        isUint(m.stopHeight) &&
        isUint(m.maxBlocks)
      );
    case "sync-response":
      return (
        isObject(m, ["kind", "blocks"]) &&
        Array.isArray(m.blocks) &&
        m.blocks.length <= L.maxSyncBlocks &&
        m.blocks.every(isBlock)
      );
    case "epoch-request":
      return isObject(m, ["kind", "epoch"]) && isUint(m.epoch);
    case "epoch-proof":
      return isObject(m, ["kind", "qc"]) && isQc(m.qc);
    default:
      return false;
  }
}

function isPayload(p: unknown): boolean {
  if (!isObject(p, ["groups"]) || !Array.isArray(p.groups) || p.groups.length > L.maxNamespacesPerPayload) return false;
  let previous = -1;
  let total = 0;
  for (const g of p.groups as unknown[]) {
    if (!isObject(g, ["namespace", "transactions"]) || !isUint(g.namespace, 0xffff_ffff)) return false;
    if (g.namespace <= previous || !Array.isArray(g.transactions) || g.transactions.length === 0) return false;
    previous = g.namespace;
    total += g.transactions.length;
    if (!g.transactions.every((tx) => isBytes(tx, 0, L.maxTransactionBytes))) return false;
  }
  return total <= L.maxTransactionsPerPayload;
}

function isEvidence(e: unknown): boolean {
  if (!isObject(e, ["kind", "epoch", "round", "author", "first", "second"])) return false;
  if (!isUint(e.epoch) || !isUint(e.round) || !isIndex(e.author)) return false;
  const signedHeader = (s: unknown) => isObject(s, ["header", "signature"]) && isHeader(s.header) && isSig(s.signature);
  const signedVote = (s: unknown) =>
    isObject(s, ["blockHash", "committedHash", "signature"]) &&
    isHash(s.blockHash) &&
    isHash(s.committedHash) &&
    isSig(s.signature);
  if (e.kind === "double-proposal") return signedHeader(e.first) && signedHeader(e.second);
  if (e.kind === "double-vote") return signedVote(e.first) && signedVote(e.second);
  return false;
}

// ---------------------------------------------------------------------------

interface Codec {
  name: string;
  decode: (bytes: Uint8Array) => unknown;
  encode: (value: never) => Uint8Array;
  isValid: (value: unknown) => boolean;
  arbitrary: fc.Arbitrary<unknown>;
  tag: number | null;
}

const codecs: Codec[] = [
  {
    name: "decodeMessage",
    decode: decodeMessage,
    encode: encodeMessage,
    isValid: isMessage,
    arbitrary: messageArb,
    tag: null,
  },
  {
    name: "decodeBlockPayload",
    decode: decodeBlockPayload,
    encode: encodeBlockPayload,
    isValid: isPayload,
    arbitrary: payloadArb,
    tag: null,
  },
  {
    name: "decodeEvidence",
    decode: decodeEvidence,
    encode: encodeEvidence,
    isValid: isEvidence,
    arbitrary: evidenceArb,
    tag: 6,
  },
  { name: "decodeBlock", decode: decodeBlock, encode: encodeBlock, isValid: isBlock, arbitrary: blockArb, tag: 7 },
  {
    name: "decodeQuorumCertificate",
    decode: decodeQuorumCertificate,
    encode: encodeQuorumCertificate,
    isValid: isQc,
    arbitrary: qcArb,
    tag: 8,
  },
];

/** Deep-equality form that compares byte arrays as hex (fast) and keeps their class. */
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

/** Any value msgpackr can pack, packed by one of several differently configured encoders. */
const packedAnythingArb = fc
  .tuple(anythingArb, fc.nat({ max: packers.length - 1 }))
  .map(([value, i]) => tryPack(packers[i]!, value))
  .filter((bytes): bytes is Uint8Array => bytes !== null);

/** `[1, tag, ...anything]`: gets past the version and tag checks into the field validation. */
const taggedAnythingArb = (tag: number | null) =>
  fc
    .tuple(
      tag === null ? fc.integer({ min: 0, max: 9 }) : fc.oneof(fc.constant(tag), fc.integer({ min: 0, max: 9 })),
      fc.array(anythingArb, { maxLength: 8 }),
      fc.nat({ max: packers.length - 1 }),
    )
    .map(([t, rest, i]) => tryPack(packers[i]!, [1, t, ...rest]))
    .filter((bytes): bytes is Uint8Array => bytes !== null);

// `size: "max"`: without it fast-check keeps arrays to a dozen or so elements whatever maxLength says.
const randomBytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 16 }),
  fc.uint8Array({ maxLength: 4096, size: "max" }),
  // plausible prefixes: a fixarray or array16 header, then version 1, then a tag
  fc
    .tuple(
      fc.integer({ min: 0x90, max: 0x9f }),
      fc.integer({ min: 0, max: 9 }),
      fc.uint8Array({ maxLength: 600, size: "max" }),
    )
    .map(([head, tag, rest]) => new Uint8Array([head, 1, tag, ...rest])),
);

describe("(a) decoders are total: DecodeError or a valid value, never anything else", () => {
  for (const codec of codecs) {
    it(`${codec.name} on random byte strings`, () => {
      fc.assert(
        fc.property(randomBytesArb, (bytes) => decodesTotally(codec, bytes)),
        { numRuns: 2000 },
      );
    });

    it(`${codec.name} on arbitrary MessagePack values`, () => {
      fc.assert(
        fc.property(fc.oneof(packedAnythingArb, taggedAnythingArb(codec.tag)), (bytes) => decodesTotally(codec, bytes)),
        { numRuns: 2000 },
      );
    });
  }
});

describe("(b) valid values round-trip", () => {
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

  it("the hand-written payload encoder writes exactly what msgpackr writes", () => {
    const packr = new Packr({ useRecords: false });
    fc.assert(
      fc.property(payloadArb, (p) => {
        const viaMsgpackr = new Uint8Array(packr.pack([1, p.groups.map((g) => [g.namespace, g.transactions])]));
        expect(Buffer.from(encodeBlockPayload(p)).equals(viaMsgpackr)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("every message encoding is itself msgpackr-readable as [1, tag, ...]", () => {
    const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: "number" });
    const tags = {
      proposal: 1,
      vote: 2,
      timeout: 3,
      "sync-request": 4,
      "sync-response": 5,
      "epoch-request": 9,
      "epoch-proof": 10,
    } as const;
    fc.assert(
      fc.property(messageArb, (m) => {
        const wire = unpackr.unpack(encodeMessage(m)) as unknown[];
        expect(wire.slice(0, 2)).toStrictEqual([1, tags[m.kind]]);
      }),
      { numRuns: 200 },
    );
  });
});

describe("(c) mutations of valid encodings", () => {
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
  }

  const treeUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: "number" });
  // The second writes byte arrays as typed-array extensions: right values, wrong MessagePack types.
  const treePackers = [new Packr({ useRecords: false }), new Packr({ useRecords: false, moreTypes: true })];
  const preOrder = (t: unknown, out: unknown[] = []): unknown[] => {
    out.push(t);
    if (Array.isArray(t)) for (const c of t) preOrder(c, out);
    return out;
  };
  /** Integers above 32 bits as bigints, so msgpackr writes them as int64 (canonical) rather than float64. */
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
  /** Values one step away from valid fields: boundary ints, wide ints, floats, byte strings of nearly right lengths. */
  const nearValidArb = fc.oneof(
    fc.constantFrom<unknown>(null, 0, 1, -1, 0.5, 2 ** 32, 2 ** 53, Number.MAX_SAFE_INTEGER, [], [1]),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
    fc.double(),
    fc.constantFrom(0, 1, 31, 32, 33, 95, 96, 97, 128, 129).map((n) => new Uint8Array(n).fill(1)),
    fc.array(fc.nat({ max: 5 }), { maxLength: 4 }),
  );
  const replacementArb = fc.oneof(
    anythingArb.map((value) => ({ value })),
    nearValidArb.map((value) => ({ value })),
    fc.nat().map((donor) => ({ donor })), // a copy of another node of the same tree
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
        { numRuns: 600 },
      );
    });
  }
});
