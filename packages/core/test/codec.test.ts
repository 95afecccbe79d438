import { Packr, Unpackr } from "msgpackr";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type Block,
  type BlockHeader,
  type BlockPayload,
  CODEC_VERSION,
  type ConsensusMessage,
  DEFAULT_CODEC_LIMITS,
  DecodeError,
  decodeBlock,
  decodeBlockPayload,
  decodeEvidence,
  decodeMessage,
  decodeQuorumCertificate,
  decodeTimeoutCertificate,
  type Evidence,
  encodeBlock,
  encodeBlockPayload,
  encodeEvidence,
  encodeMessage,
  encodeQuorumCertificate,
  encodeTimeoutCertificate,
  KIND_TAG,
  type Proposal,
  type QuorumCertificate,
  type SyncResponse,
  type Timeout,
  type TimeoutCertificate,
  type Vote,
} from "../src/index.js";

// ---------------------------------------------------------------------------
// Fixtures

const filled = (n: number, byte: number): Uint8Array => new Uint8Array(n).fill(byte);
const hash = (byte: number): Uint8Array => filled(32, byte);
const sig = (byte: number): Uint8Array => filled(96, byte);

const header = (over: Partial<BlockHeader> = {}): BlockHeader => ({
  chainId: 31337,
  epoch: 2,
  round: 10,
  height: 9,
  parentHash: hash(1),
  namespaceRoot: hash(2),
  payloadHash: hash(3),
  validatorSetHash: hash(4),
  proposer: 3,
  timestampMs: 1_750_000_000_123,
  ...over,
});

const qc = (over: Partial<QuorumCertificate> = {}): QuorumCertificate => ({
  epoch: 2,
  round: 9,
  blockHash: hash(1),
  committedHash: hash(5),
  signers: new Uint8Array([0b1011]),
  signature: sig(6),
  ...over,
});

const genesisQc = (): QuorumCertificate => ({
  epoch: 0,
  round: 0,
  blockHash: hash(7),
  committedHash: new Uint8Array(32),
  signers: new Uint8Array(0),
  signature: new Uint8Array(0),
});

const tc = (over: Partial<TimeoutCertificate> = {}): TimeoutCertificate => ({
  epoch: 2,
  round: 9,
  signers: new Uint8Array([0b0111]),
  highQcRounds: [7, 8, 3],
  signature: sig(8),
  ...over,
});

const block = (over: Partial<Block> = {}): Block => ({
  header: header(),
  justify: qc(),
  payload: new Uint8Array([1, 2, 3, 4, 5]),
  ...over,
});

const proposal = (over: Partial<Proposal> = {}): Proposal => ({
  kind: "proposal",
  block: block(),
  timeoutCertificate: null,
  signature: sig(9),
  ...over,
});

const vote = (over: Partial<Vote> = {}): Vote => ({
  kind: "vote",
  epoch: 2,
  round: 10,
  blockHash: hash(10),
  committedHash: hash(11),
  author: 1,
  signature: sig(12),
  ...over,
});

const timeout = (over: Partial<Timeout> = {}): Timeout => ({
  kind: "timeout",
  epoch: 2,
  round: 10,
  highQc: qc(),
  lastRoundTc: null,
  author: 2,
  signature: sig(13),
  ...over,
});

const payload = (): BlockPayload => ({
  groups: [
    { namespace: 0, transactions: [new Uint8Array([0xaa])] },
    { namespace: 7, transactions: [new Uint8Array([1, 2]), new Uint8Array(0), filled(300, 3)] },
    { namespace: 0xffff_ffff, transactions: [filled(70_000, 4)] },
  ],
});

const doubleVote = (): Evidence => ({
  kind: "double-vote",
  epoch: 2,
  round: 10,
  author: 4,
  first: { blockHash: hash(20), committedHash: hash(21), signature: sig(22) },
  second: { blockHash: hash(23), committedHash: hash(21), signature: sig(24) },
});

const doubleProposal = (): Evidence => ({
  kind: "double-proposal",
  epoch: 2,
  round: 10,
  author: 3,
  first: { header: header(), signature: sig(25) },
  second: { header: header({ payloadHash: hash(26) }), signature: sig(27) },
});

// Raw wire arrays, to hand-craft inputs the encoder would never produce.
const packr = new Packr({ useRecords: false });
const packWire = (value: unknown): Uint8Array => new Uint8Array(packr.pack(value));
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: "number" });
const unpackWire = (bytes: Uint8Array): unknown[] => unpackr.unpack(bytes) as unknown[];

const headerWire = (): unknown[] => [31337, 2, 10, 9, hash(1), hash(2), hash(3), hash(4), 3, 1_000];
const qcWire = (): unknown[] => [2, 9, hash(1), hash(5), new Uint8Array([1]), sig(6)];
const tcWire = (): unknown[] => [2, 9, new Uint8Array([0b101]), [7, 8], sig(8)];
const voteWire = (): unknown[] => [1, 2, 2, 10, hash(10), hash(11), 1, sig(12)];
const proposalWire = (): unknown[] => [1, 1, [headerWire(), qcWire(), new Uint8Array([1, 2])], null, sig(9)];

/** Every byte field of a decoded value is a plain, unshared `Uint8Array`. */
function byteFields(value: unknown, out: Uint8Array[] = []): Uint8Array[] {
  if (value instanceof Uint8Array) out.push(value);
  else if (Array.isArray(value)) for (const v of value) byteFields(v, out);
  else if (value !== null && typeof value === "object") for (const v of Object.values(value)) byteFields(v, out);
  return out;
}

/**
 * Deep equality that compares byte arrays as hex (vitest's element-by-element
 * comparison takes seconds on a megabyte) while still telling a plain
 * `Uint8Array` from a `Buffer`.
 */
function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return `${value.constructor.name}:${Buffer.from(value).toString("hex")}`;
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  return value;
}

function expectSame(actual: unknown, expected: unknown): void {
  expect(normalize(actual)).toStrictEqual(normalize(expected));
}

function expectDecodeError(f: () => unknown, pattern?: RegExp): DecodeError {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(DecodeError);
  const err = thrown as DecodeError;
  expect(err.code).toBe("DECODE_ERROR");
  if (pattern) expect(err.message).toMatch(pattern);
  return err;
}

// ---------------------------------------------------------------------------

describe("round trips", () => {
  const messages: [string, ConsensusMessage][] = [
    ["a vote", vote()],
    ["a proposal without a TC", proposal()],
    ["a proposal with a TC", proposal({ timeoutCertificate: tc() })],
    ["a proposal justified by the genesis QC", proposal({ block: block({ justify: genesisQc() }) })],
    ["a proposal with an empty payload", proposal({ block: block({ payload: new Uint8Array(0) }) })],
    ["a timeout without a TC", timeout()],
    ["a timeout with the last round's TC", timeout({ lastRoundTc: tc() })],
    ["a timeout carrying the genesis QC", timeout({ highQc: genesisQc() })],
    ["a sync request", { kind: "sync-request", blockHash: hash(30), stopHeight: 5, maxBlocks: 64 }],
    ["an empty sync response", { kind: "sync-response", blocks: [] }],
    [
      "a sync response with blocks",
      { kind: "sync-response", blocks: [block(), block({ justify: genesisQc(), payload: filled(1000, 1) })] },
    ],
  ];

  it.each(messages)("%s decodes to a deep-equal message", (_name, msg) => {
    const encoded = encodeMessage(msg);
    const decoded = decodeMessage(encoded);
    expect(decoded).toStrictEqual(msg);
    expect(encodeMessage(decoded)).toStrictEqual(encoded);
  });

  it("a block, a QC, a genesis QC, a payload and both kinds of evidence round-trip", () => {
    expect(decodeBlock(encodeBlock(block()))).toStrictEqual(block());
    expect(decodeQuorumCertificate(encodeQuorumCertificate(qc()))).toStrictEqual(qc());
    expect(decodeQuorumCertificate(encodeQuorumCertificate(genesisQc()))).toStrictEqual(genesisQc());
    expect(decodeTimeoutCertificate(encodeTimeoutCertificate(tc()))).toStrictEqual(tc());
    expectSame(decodeBlockPayload(encodeBlockPayload(payload())), payload());
    expect(decodeBlockPayload(encodeBlockPayload({ groups: [] }))).toStrictEqual({ groups: [] });
    expect(decodeEvidence(encodeEvidence(doubleVote()))).toStrictEqual(doubleVote());
    expect(decodeEvidence(encodeEvidence(doubleProposal()))).toStrictEqual(doubleProposal());
  });

  it("integers up to 2^53-1 survive, at every MessagePack width", () => {
    for (const n of [0, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, 0xffff_ffff, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const msg = vote({ epoch: n, round: n });
      expect(decodeMessage(encodeMessage(msg))).toStrictEqual(msg);
      const h = header({ chainId: n, height: n, timestampMs: n });
      expect(decodeBlock(encodeBlock(block({ header: h }))).header).toStrictEqual(h);
    }
  });

  it("a 1 MiB payload and a 1024-validator bitmap round-trip", () => {
    const big = proposal({
      block: block({ payload: filled(1 << 20, 0x5a), justify: qc({ signers: filled(128, 0xff) }) }),
    });
    expectSame(decodeMessage(encodeMessage(big)), big);
  });

  it("writes the documented layout: [1, kindTag, ...fields] with bin bytes and int64 above 2^32", () => {
    const encoded = encodeMessage(vote({ round: 2 ** 32 }));
    expect(encoded[0]).toBe(0x98); // fixarray of 8
    expect(encoded[1]).toBe(CODEC_VERSION);
    expect(encoded[2]).toBe(KIND_TAG.vote);
    expect(encoded[3]).toBe(2); // epoch as a fixint
    expect(encoded[4]).toBe(0xd3); // 2^32 as int64
    expect(encoded[13]).toBe(0xc4); // blockHash as bin 8
    expect(encoded[14]).toBe(32);
    expect(unpackWire(encoded)).toStrictEqual([1, 2, 2, 2 ** 32, hash(10), hash(11), 1, sig(12)]);
    expectSame(unpackWire(encodeBlockPayload(payload())), [
      1,
      payload().groups.map((g) => [g.namespace, g.transactions]),
    ]);
    expect(unpackWire(encodeEvidence(doubleVote()))[1]).toBe(KIND_TAG.evidence);
    expect(unpackWire(encodeBlock(block())).slice(0, 2)).toStrictEqual([1, KIND_TAG.block]);
    expect(unpackWire(encodeQuorumCertificate(qc())).slice(0, 2)).toStrictEqual([1, KIND_TAG["quorum-certificate"]]);
  });

  it("the hand-written payload encoder produces exactly msgpackr's bytes", () => {
    const p = payload();
    const viaMsgpackr = packWire([1, p.groups.map((g) => [g.namespace, g.transactions])]);
    expectSame(encodeBlockPayload(p), viaMsgpackr);
    const many: BlockPayload = {
      groups: Array.from({ length: 20 }, (_, i) => ({
        namespace: i * 1000,
        transactions: Array.from({ length: i + 1 }, (_, j) => filled(j, i)),
      })),
    };
    expect(encodeBlockPayload(many)).toStrictEqual(
      packWire([1, many.groups.map((g) => [g.namespace, g.transactions])]),
    );
  });

  it("encoders return plain Uint8Arrays that own their memory", () => {
    const encoded = encodeMessage(vote());
    expect(encoded.constructor).toBe(Uint8Array);
    expect(encoded.byteOffset).toBe(0);
    expect(encoded.buffer.byteLength).toBe(encoded.length);
    const before = new Uint8Array(encoded);
    encodeMessage(vote({ round: 99 }));
    expect(encoded).toStrictEqual(before);
  });

  it("decoded byte fields are plain Uint8Array copies, not views of the input", () => {
    const input = encodeMessage(proposal({ timeoutCertificate: tc() }));
    const decoded = decodeMessage(Buffer.from(input)); // Buffer input too
    const fields = byteFields(decoded);
    expect(fields.length).toBeGreaterThan(10);
    for (const f of fields) {
      expect(f.constructor).toBe(Uint8Array);
      expect(f.buffer).not.toBe(input.buffer);
    }
    const snapshot = structuredClone(decoded);
    input.fill(0);
    expect(decoded).toStrictEqual(snapshot);
  });

  it("decoded payload transactions do not alias the input", () => {
    const input = encodeBlockPayload(payload());
    const decoded = decodeBlockPayload(input);
    input.fill(0);
    expectSame(decoded, payload());
    for (const tx of decoded.groups.flatMap((g) => g.transactions)) expect(tx.constructor).toBe(Uint8Array);
  });

  it("decoding does not modify the input", () => {
    const input = encodeMessage(vote());
    const copy = new Uint8Array(input);
    decodeMessage(input);
    expect(input).toStrictEqual(copy);
    expect(Object.keys(input)).toStrictEqual(Object.keys(copy));
  });
});

describe("size limits", () => {
  afterEach(() => vi.restoreAllMocks());

  it("rejects an oversized message before parsing it", () => {
    const spy = vi.spyOn(Unpackr.prototype, "unpackMultiple");
    const encoded = encodeMessage(vote());
    expectDecodeError(() => decodeMessage(encoded, { maxMessageBytes: encoded.length - 1 }), /maxMessageBytes/);
    // 33 MiB of bytes that are not MessagePack at all: the size check fires first.
    expectDecodeError(() => decodeMessage(new Uint8Array(DEFAULT_CODEC_LIMITS.maxMessageBytes + 1)), /maxMessageBytes/);
    expect(spy).not.toHaveBeenCalled();
    expect(decodeMessage(encoded, { maxMessageBytes: encoded.length })).toStrictEqual(vote());
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it("rejects an oversized payload, block, evidence or QC before parsing it", () => {
    const spy = vi.spyOn(Unpackr.prototype, "unpackMultiple");
    const p = encodeBlockPayload(payload());
    expectDecodeError(() => decodeBlockPayload(p, { maxPayloadBytes: p.length - 1 }), /maxPayloadBytes/);
    const b = encodeBlock(block());
    expectDecodeError(() => decodeBlock(b, { maxMessageBytes: b.length - 1 }), /maxMessageBytes/);
    const e = encodeEvidence(doubleVote());
    expectDecodeError(() => decodeEvidence(e, { maxMessageBytes: 10 }), /maxMessageBytes/);
    const q = encodeQuorumCertificate(qc());
    expectDecodeError(() => decodeQuorumCertificate(q, { maxMessageBytes: 10 }), /maxMessageBytes/);
    expect(spy).not.toHaveBeenCalled();
  });

  it("rejects a block payload above maxPayloadBytes", () => {
    const msg = encodeMessage(proposal({ block: block({ payload: filled(101, 1) }) }));
    expectDecodeError(() => decodeMessage(msg, { maxPayloadBytes: 100 }), /proposal\.block\.payload/);
    expect(decodeMessage(msg, { maxPayloadBytes: 101 }).kind).toBe("proposal");
  });

  it("rejects a sync response with more than maxSyncBlocks blocks", () => {
    const msg: SyncResponse = { kind: "sync-response", blocks: [block(), block(), block()] };
    const encoded = encodeMessage(msg);
    expectDecodeError(() => decodeMessage(encoded, { maxSyncBlocks: 2 }), /sync-response\.blocks/);
    expect(decodeMessage(encoded, { maxSyncBlocks: 3 })).toStrictEqual(msg);
  });

  it("rejects authors and proposers at or above maxValidators, and over-long signer bitmaps", () => {
    expectDecodeError(() => decodeMessage(encodeMessage(vote({ author: 1024 }))), /vote\.author/);
    expect(decodeMessage(encodeMessage(vote({ author: 1023 })))).toStrictEqual(vote({ author: 1023 }));
    expectDecodeError(() => decodeMessage(encodeMessage(vote({ author: 4 })), { maxValidators: 4 }), /author/);
    const p = proposal({ block: block({ header: header({ proposer: 50 }) }) });
    expectDecodeError(() => decodeMessage(encodeMessage(p), { maxValidators: 50 }), /header\.proposer/);
    const wide = proposal({ block: block({ justify: qc({ signers: filled(129, 1) }) }) });
    expectDecodeError(() => decodeMessage(encodeMessage(wide)), /justify\.signers/);
    expectDecodeError(
      () =>
        decodeMessage(encodeMessage(proposal({ block: block({ justify: qc({ signers: filled(2, 1) }) }) })), {
          maxValidators: 8,
        }),
      /justify\.signers/,
    );
  });

  it("payload limits: transaction size, transaction count and namespace count", () => {
    const p = encodeBlockPayload(payload());
    expectDecodeError(() => decodeBlockPayload(p, { maxTransactionBytes: 69_999 }), /maxTransactionBytes/);
    expectDecodeError(() => decodeBlockPayload(p, { maxTransactionsPerPayload: 4 }), /maxTransactionsPerPayload/);
    expectDecodeError(() => decodeBlockPayload(p, { maxNamespacesPerPayload: 2 }), /payload\.groups/);
    expectSame(
      decodeBlockPayload(p, { maxTransactionBytes: 70_000, maxTransactionsPerPayload: 5, maxNamespacesPerPayload: 3 }),
      payload(),
    );
  });

  it("limits left undefined in the partial fall back to the defaults", () => {
    const encoded = encodeMessage({ kind: "sync-response", blocks: Array.from({ length: 257 }, () => block()) });
    expectDecodeError(() => decodeMessage(encoded, { maxSyncBlocks: undefined }), /sync-response\.blocks/);
  });
});

describe("rejections", () => {
  it("a wrong format version", () => {
    const wire = voteWire();
    wire[0] = 2;
    expectDecodeError(() => decodeMessage(packWire(wire)), /version/);
    expectDecodeError(() => decodeBlockPayload(packWire([2, []])), /version/);
    expectDecodeError(() => decodeBlockPayload(packWire([0, []])), /version/);
    expectDecodeError(() => decodeEvidence(packWire([2, ...unpackWire(encodeEvidence(doubleVote())).slice(1)])));
  });

  it("an unknown or foreign kind tag", () => {
    for (const tag of [0, 6, 7, 8, 11, 255, -1, "vote", null]) {
      const wire = voteWire();
      wire[1] = tag;
      expectDecodeError(() => decodeMessage(packWire(wire)), /kind/);
    }
    expectDecodeError(() => decodeMessage(encodeEvidence(doubleVote())), /kind tag 6$/);
    expectDecodeError(() => decodeMessage(encodeBlock(block())), /kind tag 7$/);
    expectDecodeError(() => decodeBlock(encodeMessage(vote())), /kind tag/);
    expectDecodeError(() => decodeQuorumCertificate(encodeBlock(block())), /kind tag/);
    expectDecodeError(() => decodeTimeoutCertificate(encodeQuorumCertificate(qc())), /kind tag/);
    expectDecodeError(() => decodeEvidence(encodeQuorumCertificate(qc())), /kind tag/);
    const ev = unpackWire(encodeEvidence(doubleVote()));
    ev[2] = 3;
    expectDecodeError(() => decodeEvidence(packWire(ev)), /evidence kind/);
  });

  it("every truncation of a valid encoding", () => {
    const encodings: [(b: Uint8Array) => unknown, Uint8Array][] = [
      [decodeMessage, encodeMessage(proposal({ timeoutCertificate: tc() }))],
      [decodeMessage, encodeMessage(timeout({ lastRoundTc: tc() }))],
      [decodeBlockPayload, encodeBlockPayload({ groups: payload().groups.slice(0, 2) })],
      [decodeEvidence, encodeEvidence(doubleProposal())],
      [decodeBlock, encodeBlock(block())],
      [decodeQuorumCertificate, encodeQuorumCertificate(qc())],
      [decodeTimeoutCertificate, encodeTimeoutCertificate(tc())],
    ];
    for (const [decode, bytes] of encodings)
      for (let n = 0; n < bytes.length; n++) expectDecodeError(() => decode(bytes.subarray(0, n)));
  });

  it("trailing bytes after a valid encoding", () => {
    const withTrailing = (b: Uint8Array, extra: number[]): Uint8Array => {
      const out = new Uint8Array(b.length + extra.length);
      out.set(b);
      out.set(extra, b.length);
      return out;
    };
    expectDecodeError(() => decodeMessage(withTrailing(encodeMessage(vote()), [0])), /1 trailing byte/);
    expectDecodeError(() => decodeMessage(withTrailing(encodeMessage(vote()), [0x91, 0x01])), /2 trailing bytes/);
    const bigProposal = encodeMessage(proposal({ block: block({ payload: filled(1 << 20, 1) }) }));
    expectDecodeError(() => decodeMessage(withTrailing(bigProposal, [0xc0])), /trailing/);
    expectDecodeError(() => decodeBlockPayload(withTrailing(encodeBlockPayload(payload()), [0])), /trailing/);
    expectDecodeError(() => decodeBlock(withTrailing(encodeBlock(block()), [0])), /trailing/);
    expectDecodeError(() => decodeEvidence(withTrailing(encodeEvidence(doubleVote()), [0])), /trailing/);
    expectDecodeError(() => decodeQuorumCertificate(withTrailing(encodeQuorumCertificate(qc()), [0])), /trailing/);
  });

  it("a 31- or 33-byte hash", () => {
    for (const len of [0, 31, 33]) {
      const wire = voteWire();
      wire[4] = filled(len, 1);
      expectDecodeError(() => decodeMessage(packWire(wire)), /vote\.blockHash: expected 32 bytes/);
      const h = headerWire();
      h[4] = filled(len, 1);
      const p = proposalWire();
      p[2] = [h, qcWire(), new Uint8Array(0)];
      expectDecodeError(() => decodeMessage(packWire(p)), /header\.parentHash/);
    }
    expectDecodeError(
      () =>
        decodeMessage(
          encodeMessage({ kind: "sync-request", blockHash: hash(1).subarray(1), stopHeight: 0, maxBlocks: 1 }),
        ),
      /sync-request\.blockHash/,
    );
  });

  it("a 95- or 97-byte signature", () => {
    for (const len of [0, 95, 97]) {
      const wire = voteWire();
      wire[7] = filled(len, 1);
      expectDecodeError(() => decodeMessage(packWire(wire)), /vote\.signature: expected 96 bytes/);
      expectDecodeError(() => decodeMessage(encodeMessage(proposal({ signature: filled(len, 1) }))), /signature/);
      expectDecodeError(() =>
        decodeMessage(encodeMessage(timeout({ lastRoundTc: tc({ signature: filled(len, 1) }) }))),
      );
      expectDecodeError(() => decodeQuorumCertificate(encodeQuorumCertificate(qc({ signature: filled(len, 1) }))));
    }
  });

  it("a signature without signers (a root QC has neither), and signers without a signature", () => {
    const bad: QuorumCertificate[] = [
      { ...genesisQc(), signature: sig(1) },
      { ...genesisQc(), signers: new Uint8Array([1]) },
      { ...genesisQc(), signature: new Uint8Array([1]) },
      qc({ round: 1, signature: new Uint8Array(0) }),
      qc({ round: 1, signers: new Uint8Array(0) }),
    ];
    for (const q of bad) {
      expectDecodeError(() => decodeQuorumCertificate(encodeQuorumCertificate(q)), /qc\.(signature|signers)/);
      expectDecodeError(() => decodeMessage(encodeMessage(timeout({ highQc: q }))), /timeout\.highQc/);
      expectDecodeError(() => decodeBlock(encodeBlock(block({ justify: q }))), /block\.justify/);
    }
  });

  it("a TC whose high-QC rounds do not match its signers, or are not below its round", () => {
    const bad: TimeoutCertificate[] = [
      tc({ highQcRounds: [1, 2] }), // 3 signers
      tc({ highQcRounds: [1, 2, 3, 4] }),
      tc({ signers: new Uint8Array([0]), highQcRounds: [1] }),
      tc({ round: 9, highQcRounds: [1, 9, 2] }),
      tc({ round: 0, signers: new Uint8Array([1]), highQcRounds: [0] }),
      tc({ signers: new Uint8Array(0), highQcRounds: [] }),
    ];
    for (const t of bad) {
      expectDecodeError(() => decodeMessage(encodeMessage(proposal({ timeoutCertificate: t }))), /timeoutCertificate/);
      expectDecodeError(() => decodeMessage(encodeMessage(timeout({ lastRoundTc: t }))), /lastRoundTc/);
    }
    const ok = tc({ round: 3, signers: new Uint8Array([0, 0b1000_0001]), highQcRounds: [2, 0] });
    expect(decodeMessage(encodeMessage(timeout({ lastRoundTc: ok })))).toStrictEqual(timeout({ lastRoundTc: ok }));
  });

  it("a map (or an object) where an array belongs", () => {
    const asMap = new Map<unknown, unknown>(voteWire().map((v, i) => [i, v]));
    expectDecodeError(() => decodeMessage(packWire(asMap)), /expected \[version, kind/);
    expectDecodeError(() => decodeMessage(packWire({ 0: 1, 1: 2, length: 8 })));
    const p = proposalWire();
    p[2] = new Map([["header", headerWire()]]);
    expectDecodeError(() => decodeMessage(packWire(p)), /proposal\.block: expected an array of 3, got a map/);
    expectDecodeError(() => decodeBlockPayload(packWire({ version: 1, groups: [] })));
    expectDecodeError(() => decodeBlockPayload(packWire([1, new Map([[0, [new Uint8Array(1)]]])])));
  });

  it("wrong field counts and wrong field types", () => {
    expectDecodeError(() => decodeMessage(packWire([...voteWire(), 0])), /expected 8 fields, got 9/);
    expectDecodeError(() => decodeMessage(packWire(voteWire().slice(0, 7))), /expected 8 fields, got 7/);
    expectDecodeError(() => decodeMessage(packWire([1])));
    expectDecodeError(() => decodeMessage(packWire([])));
    expectDecodeError(() => decodeMessage(packWire(1)));
    expectDecodeError(() => decodeMessage(packWire(null)));
    const withString = voteWire();
    withString[4] = "a".repeat(32);
    expectDecodeError(() => decodeMessage(packWire(withString)), /blockHash/);
    const withArray = voteWire();
    withArray[4] = Array.from(hash(1));
    expectDecodeError(() => decodeMessage(packWire(withArray)), /blockHash/);
    const boolRound = voteWire();
    boolRound[3] = true;
    expectDecodeError(() => decodeMessage(packWire(boolRound)), /vote\.round/);
    const p = proposalWire();
    p[3] = false; // a nullable TC must be nil or a TC
    expectDecodeError(() => decodeMessage(packWire(p)), /timeoutCertificate/);
    p[3] = tcWire();
    expect(decodeMessage(packWire(p)).kind).toBe("proposal");
  });

  it("negative, fractional, float-encoded, big-integer and >2^53 integers", () => {
    const withRound = (round: unknown): Uint8Array => {
      const wire = voteWire();
      wire[3] = round;
      return packWire(wire);
    };
    expectDecodeError(() => decodeMessage(withRound(-1)), /vote\.round/);
    expectDecodeError(() => decodeMessage(withRound(-200_000)), /vote\.round/);
    expectDecodeError(() => decodeMessage(withRound(1.5)), /vote\.round/);
    expectDecodeError(() => decodeMessage(withRound(Number.NaN)), /vote\.round/);
    expectDecodeError(() => decodeMessage(withRound(Number.POSITIVE_INFINITY)), /vote\.round/);
    expectDecodeError(() => decodeMessage(withRound(2 ** 53)), /vote\.round/); // a float64
    expectDecodeError(() => decodeMessage(withRound(2n ** 53n)), /vote\.round/); // an int64
    expectDecodeError(() => decodeMessage(withRound(2n ** 64n - 1n)), /vote\.round/); // a uint64
    expectDecodeError(() => decodeMessage(withRound(-(2n ** 63n))), /vote\.round/);
    // An integral value in a non-canonical form decodes to the right number but is still rejected.
    expectDecodeError(() => decodeMessage(withRound(5n)), /canonical/); // int64 for 5
    const float = new Uint8Array(encodeMessage(vote({ round: 5 })));
    expect(float[4]).toBe(5);
    const asFloat = new Uint8Array([
      ...float.subarray(0, 4),
      0xcb,
      ...new Uint8Array(new Float64Array([5]).buffer).reverse(),
      ...float.subarray(5),
    ]);
    expectDecodeError(() => decodeMessage(asFloat), /canonical/);
    const asUint8 = new Uint8Array([...float.subarray(0, 4), 0xcc, 5, ...float.subarray(5)]);
    expectDecodeError(() => decodeMessage(asUint8), /canonical/);
    // The big-int extension (0x42) and -0 are not integers either.
    const bigExt = new Packr({ useRecords: false, useBigIntExtension: true }).pack([
      ...voteWire().slice(0, 3),
      2n ** 70n,
      ...voteWire().slice(4),
    ]);
    expectDecodeError(() => decodeMessage(bigExt), /vote\.round/);
    const negZero = new Uint8Array([...float.subarray(0, 4), 0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0, ...float.subarray(5)]);
    expectDecodeError(() => decodeMessage(negZero), /vote\.round/);
    // Namespaces and authors are uint32.
    expectDecodeError(() => decodeBlockPayload(packWire([1, [[2n ** 32n, [new Uint8Array(1)]]]])), /namespace/);
    expectDecodeError(() => decodeBlockPayload(packWire([1, [[-1, [new Uint8Array(1)]]]])), /namespace/);
    expectDecodeError(
      () => decodeMessage(encodeMessage(vote({ author: 2 ** 32 })), { maxValidators: 2 ** 40 }),
      /vote\.author/,
    );
  });

  it("bytes sent as a typed-array extension instead of bin", () => {
    const moreTypes = new Packr({ useRecords: false, moreTypes: true });
    // With moreTypes, msgpackr writes a plain Uint8Array (not a Buffer) as extension 0x74.
    const wire = voteWire();
    const bytes = moreTypes.pack(wire);
    expect(Array.from(bytes)).toContain(0x74);
    expectDecodeError(() => decodeMessage(bytes), /canonical/);
    expectDecodeError(() => decodeMessage(moreTypes.pack([1, 2, 2, 10, new Uint16Array(16), hash(11), 1, sig(12)])));
  });

  it("payload rules: increasing namespaces, non-empty groups", () => {
    const tx = new Uint8Array([1]);
    expectDecodeError(
      () =>
        decodeBlockPayload(
          packWire([
            1,
            [
              [5, [tx]],
              [4, [tx]],
            ],
          ]),
        ),
      /increasing/,
    );
    expectDecodeError(
      () =>
        decodeBlockPayload(
          packWire([
            1,
            [
              [5, [tx]],
              [5, [tx]],
            ],
          ]),
        ),
      /increasing/,
    );
    expectDecodeError(() => decodeBlockPayload(packWire([1, [[5, []]]])), /non-empty/);
    expectDecodeError(() => decodeBlockPayload(packWire([1, [[5, [tx], 0]]])), /groups\[0\]/);
    expectDecodeError(() => decodeBlockPayload(packWire([1, [[5, [tx, "x"]]]])), /transactions\[1\]/);
    expectDecodeError(() => decodeBlockPayload(packWire([1, [[5, tx]]])), /transactions/);
    expectDecodeError(() => decodeBlockPayload(packWire([1, [], 0])));
    expectDecodeError(() => decodeBlockPayload(encodeMessage(vote())));
    expect(
      decodeBlockPayload(
        packWire([
          1,
          [
            [4, [tx]],
            [5, [tx]],
          ],
        ]),
      ).groups.map((g) => g.namespace),
    ).toStrictEqual([4, 5]);
  });

  it("inputs that are not byte arrays at all", () => {
    const decoders = [decodeMessage, decodeBlockPayload, decodeEvidence, decodeBlock, decodeQuorumCertificate];
    for (const decode of decoders)
      for (const input of [undefined, null, "abc", 42, [1, 2], new ArrayBuffer(4), {}])
        expectDecodeError(() => decode(input as unknown as Uint8Array));
  });

  it("MessagePack-level garbage: reserved byte, unknown extension, deep nesting", () => {
    expectDecodeError(() => decodeMessage(new Uint8Array([0xc1])));
    expectDecodeError(() => decodeMessage(new Uint8Array([0xd4, 0x01, 0x00])), /malformed/);
    expectDecodeError(() => decodeMessage(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff])), /malformed/);
    expectDecodeError(() => decodeMessage(new Uint8Array([0xc6, 0xff, 0xff, 0xff, 0xff, 1])), /malformed/);
    const deep = new Uint8Array(200_000).fill(0x91);
    deep[deep.length - 1] = 0;
    expectDecodeError(() => decodeMessage(deep));
    // The shared decoder still works afterwards.
    expect(decodeMessage(encodeMessage(vote()))).toStrictEqual(vote());
  });

  it("a record definition in one input does not change how the next input decodes", () => {
    const withRecords = new Packr({ useRecords: true }).pack([1, 2, { a: 1 }, { a: 2 }]);
    expectDecodeError(() => decodeMessage(withRecords));
    // 0x40..0x7f are plain fixints again: a vote for round 64 with author 64.
    const v = vote({ round: 64, epoch: 0x40, author: 0x41 });
    expect(decodeMessage(encodeMessage(v))).toStrictEqual(v);
  });
});
