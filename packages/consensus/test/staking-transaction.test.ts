import {
  type BlockHeader,
  blstBackend,
  DecodeError,
  type Evidence,
  encodeEpochChange,
  encodeEvidence,
  generateValidatorKey,
  packWire,
  sha256,
} from "@ordo/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeStakingTransaction,
  encodeStakingTransaction,
  isStakingTransaction,
  MAX_BOND,
  MAX_STAKING_TRANSACTION_BYTES,
  type StakingTransaction,
  signStakingTransaction,
  stakingSigningDigest,
} from "../src/staking/staking-transaction.js";

const bls = blstBackend;
const key = generateValidatorKey(bls, sha256(new Uint8Array([1, 77])));
const other = generateValidatorKey(bls, sha256(new Uint8Array([2, 77])));

const fill = (n: number, b: number) => new Uint8Array(n).fill(b);

const header = (round: number, parent: number): BlockHeader => ({
  chainId: 7,
  epoch: 3,
  round,
  height: 2 ** 40,
  parentHash: fill(32, parent),
  namespaceRoot: fill(32, 2),
  payloadHash: fill(32, 3),
  validatorSetHash: fill(32, 4),
  proposer: 513,
  timestampMs: 1_700_000_000_000,
});

const doubleVote: Evidence = {
  kind: "double-vote",
  epoch: 3,
  round: 2 ** 33,
  author: 5,
  first: { blockHash: fill(32, 1), committedHash: fill(32, 0), signature: fill(96, 9) },
  second: { blockHash: fill(32, 2), committedHash: fill(32, 0), signature: fill(96, 8) },
};

const doubleProposal: Evidence = {
  kind: "double-proposal",
  epoch: 3,
  round: 9,
  author: 513,
  first: { header: header(9, 1), signature: fill(96, 5) },
  second: { header: header(9, 2), signature: fill(96, 6) },
};

const join = signStakingTransaction(bls, key.secretKey, 7, {
  kind: "join",
  publicKey: key.publicKey,
  proofOfPossession: key.proofOfPossession,
  bond: 1_000_000_000_000_000_000n,
  nonce: 3,
});
const leave = signStakingTransaction(bls, key.secretKey, 7, { kind: "leave", publicKey: key.publicKey, nonce: 300 });

const samples: StakingTransaction[] = [
  join,
  leave,
  { kind: "evidence", evidence: doubleVote },
  { kind: "evidence", evidence: doubleProposal },
];

function expectDecodeError(bytes: Uint8Array): void {
  expect(() => decodeStakingTransaction(bytes)).toThrow(DecodeError);
}

describe("staking transaction codec", () => {
  it("round-trips every kind", () => {
    for (const tx of samples) {
      const bytes = encodeStakingTransaction(tx);
      expect(isStakingTransaction(bytes)).toBe(true);
      const back = decodeStakingTransaction(bytes);
      expect(back).toEqual(tx);
      expect(encodeStakingTransaction(back)).toEqual(bytes);
    }
  });

  it("encodes bonds up to 2^96 - 1 and refuses larger or negative ones", () => {
    for (const bond of [0n, 1n, MAX_BOND]) {
      const tx = { ...join, bond };
      expect(decodeStakingTransaction(encodeStakingTransaction(tx))).toEqual(tx);
    }
    expect(() => encodeStakingTransaction({ ...join, bond: MAX_BOND + 1n })).toThrow(RangeError);
    expect(() => encodeStakingTransaction({ ...join, bond: -1n })).toThrow(RangeError);
  });

  it("carries evidence as core's evidence encoding, byte for byte", () => {
    for (const evidence of [doubleVote, doubleProposal]) {
      const ours = encodeStakingTransaction({ kind: "evidence", evidence });
      const core = encodeEvidence(evidence);
      // [fixarray 3, version, kind, bin(core's bytes)]
      expect(ours.subarray(0, 3)).toEqual(new Uint8Array([0x93, 2, 3]));
      expect(ours.subarray(ours.length - core.length)).toEqual(core);
      expect(decodeStakingTransaction(ours)).toEqual({ kind: "evidence", evidence });
    }
  });

  it("decoded byte fields do not alias the input", () => {
    const bytes = encodeStakingTransaction(leave);
    const back = decodeStakingTransaction(bytes) as typeof leave;
    bytes.fill(0);
    expect(back.publicKey).toEqual(key.publicKey);
  });

  it("tells staking transactions from the other namespace-0 bytes", () => {
    expect(isStakingTransaction(packWire([1, 1, fill(32, 1), 0, fill(8, 0), fill(64, 0)]))).toBe(false);
    expect(isStakingTransaction(encodeEpochChange({ nextEpoch: 5, validatorSetHash: fill(32, 1) }))).toBe(false);
    expect(isStakingTransaction(new Uint8Array(0))).toBe(false);
    expect(isStakingTransaction(new Uint8Array([0x92]))).toBe(false);
    expect(isStakingTransaction(new Uint8Array([0x90, 2]))).toBe(false);
    expect(isStakingTransaction(new Uint8Array([0x92, 2, 1]))).toBe(true);
    expect(isStakingTransaction(new Uint8Array([0xdc, 0, 2, 2]))).toBe(true);
    expect(isStakingTransaction(new Uint8Array([0xdd, 0, 0, 0, 2, 2]))).toBe(true);
    expect(isStakingTransaction(new Uint8Array([0xdd, 0, 0, 0, 2]))).toBe(false);
    expect(isStakingTransaction("nope" as unknown as Uint8Array)).toBe(false);
  });

  it("refuses every truncation, trailing bytes and oversized input", () => {
    for (const tx of samples) {
      const bytes = encodeStakingTransaction(tx);
      for (let n = 0; n < bytes.length; n++) expectDecodeError(bytes.subarray(0, n));
      expectDecodeError(new Uint8Array([...bytes, 0]));
    }
    const big = packWire([2, 2, fill(48, 1), 0, fill(MAX_STAKING_TRANSACTION_BYTES, 0)]);
    expect(() => decodeStakingTransaction(big)).toThrow(/exceeds the limit/);
    expectDecodeError(new Uint8Array(MAX_STAKING_TRANSACTION_BYTES + 1));
  });

  it("refuses wrong versions, kinds, shapes and non-canonical forms", () => {
    const pk = key.publicKey;
    const sig = fill(96, 1);
    const cases: Uint8Array[] = [
      packWire([1, 2, pk, 0, sig]), // market version
      packWire([3, 2, pk, 0, sig]),
      packWire([2, 4, pk, 0, sig]), // unknown kind
      packWire([2, 2, pk, 0]), // missing signature
      packWire([2, 2, pk, 0, sig, 0]), // extra field
      packWire([2, 2, fill(47, 1), 0, sig]), // short key
      packWire([2, 2, pk, 0, fill(95, 1)]), // short signature
      packWire([2, 2, pk, [0], sig]), // nonce not an int
      packWire([2, 1, pk, sig, fill(11, 0), 0, sig]), // short bond
      packWire([2, 1, pk, sig, fill(16, 0), 0, sig]), // long bond
      packWire([2, 3, 3, 0, 0, 0, [fill(32, 1), fill(32, 1), sig], [fill(32, 2), fill(32, 1), sig]]), // unknown evidence
      packWire([2, 3, 2, 0, 0, 1024, [fill(32, 1), fill(32, 1), sig], [fill(32, 2), fill(32, 1), sig]]), // author ≥ 1024
      packWire([2]),
      packWire(2),
      packWire([]),
      new Uint8Array([0xc0]), // nil
      new Uint8Array([0x92, 0x02, 0xa1, 0x41]), // a string
      new Uint8Array([0x92, 0x02, 0xff]), // negative fixint
      new Uint8Array([0x92, 0x02, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0]), // float64
    ];
    for (const bytes of cases) expectDecodeError(bytes);
    // Non-canonical: the nonce 5 as uint16, the array as array16, the key as bin16.
    const canonical = encodeStakingTransaction(leave);
    expect(decodeStakingTransaction(canonical)).toEqual(leave);
    expectDecodeError(new Uint8Array([0x95, 2, 2, 0xc4, 48, ...pk, 0xcd, 0, 5, 0xc4, 96, ...sig]));
    expectDecodeError(new Uint8Array([0xdc, 0, 5, 2, 2, 0xc4, 48, ...pk, 5, 0xc4, 96, ...sig]));
    expectDecodeError(new Uint8Array([0x95, 2, 2, 0xc5, 0, 48, ...pk, 5, 0xc4, 96, ...sig]));
    expect(decodeStakingTransaction(new Uint8Array([0x95, 2, 2, 0xc4, 48, ...pk, 5, 0xc4, 96, ...sig]))).toEqual({
      kind: "leave",
      publicKey: pk,
      nonce: 5,
      signature: sig,
    });
    // Unsafe integers (above 2^53 - 1) never decode.
    expectDecodeError(new Uint8Array([0x95, 2, 2, 0xc4, 48, ...pk, 0xd3, 0, 0x20, 0, 0, 0, 0, 0, 0, 0xc4, 96, ...sig]));
    expectDecodeError(
      new Uint8Array([0x95, 2, 2, 0xc4, 48, ...pk, 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    );
  });
});

describe("staking transaction signatures", () => {
  it("signs with the validator's own key over the chain-bound digest", () => {
    const digest = stakingSigningDigest(7, join);
    expect(bls.verify(key.publicKey, digest, join.signature)).toBe(true);
    // The digest ignores the signature field but covers everything else, and the chain.
    expect(stakingSigningDigest(7, { ...join, signature: fill(96, 0) })).toEqual(digest);
    expect(stakingSigningDigest(8, join)).not.toEqual(digest);
    expect(stakingSigningDigest(7, { ...join, bond: join.bond + 1n })).not.toEqual(digest);
    expect(stakingSigningDigest(7, { ...join, nonce: 4 })).not.toEqual(digest);
    expect(stakingSigningDigest(7, leave)).not.toEqual(stakingSigningDigest(7, { ...leave, nonce: 301 }));
  });

  it("refuses to sign for another key", () => {
    expect(() =>
      signStakingTransaction(bls, other.secretKey, 7, { kind: "leave", publicKey: key.publicKey, nonce: 0 }),
    ).toThrow(RangeError);
  });
});

// ── properties ──────────────────────────────────────────────────────────

const u53 = fc.oneof(
  fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, 0xffff_ffff, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.nat({ max: 1000 }),
  fc.maxSafeNat(),
);
const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const index = fc.oneof(fc.nat({ max: 15 }), fc.nat({ max: 1023 }));
const headerArb: fc.Arbitrary<BlockHeader> = fc.record({
  chainId: u53,
  epoch: u53,
  round: u53,
  height: u53,
  parentHash: bytesOf(32),
  namespaceRoot: bytesOf(32),
  payloadHash: bytesOf(32),
  validatorSetHash: bytesOf(32),
  proposer: index,
  timestampMs: u53,
});
const voteArb = fc.record({ blockHash: bytesOf(32), committedHash: bytesOf(32), signature: bytesOf(96) });
const txArb: fc.Arbitrary<StakingTransaction> = fc.oneof(
  fc.record({
    kind: fc.constant("join" as const),
    publicKey: bytesOf(48),
    proofOfPossession: bytesOf(96),
    bond: fc.bigInt({ min: 0n, max: MAX_BOND }),
    nonce: u53,
    signature: bytesOf(96),
  }),
  fc.record({ kind: fc.constant("leave" as const), publicKey: bytesOf(48), nonce: u53, signature: bytesOf(96) }),
  fc.record({
    kind: fc.constant("evidence" as const),
    evidence: fc.oneof(
      fc.record({
        kind: fc.constant("double-vote" as const),
        epoch: u53,
        round: u53,
        author: index,
        first: voteArb,
        second: voteArb,
      }),
      fc.record({
        kind: fc.constant("double-proposal" as const),
        epoch: u53,
        round: u53,
        author: index,
        first: fc.record({ header: headerArb, signature: bytesOf(96) }),
        second: fc.record({ header: headerArb, signature: bytesOf(96) }),
      }),
    ),
  }),
);

/** Decodes, or throws a DecodeError; if it decodes, the value re-encodes to exactly the input. */
function decodesCanonicallyOrRefuses(bytes: Uint8Array): void {
  let tx: StakingTransaction;
  try {
    tx = decodeStakingTransaction(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return;
  }
  expect(encodeStakingTransaction(tx)).toEqual(bytes);
}

describe("staking transaction codec properties", () => {
  it("round-trips arbitrary transactions", () => {
    fc.assert(
      fc.property(txArb, (tx) => {
        const bytes = encodeStakingTransaction(tx);
        expect(bytes.length).toBeLessThanOrEqual(MAX_STAKING_TRANSACTION_BYTES);
        expect(isStakingTransaction(bytes)).toBe(true);
        expect(decodeStakingTransaction(bytes)).toEqual(tx);
      }),
      { numRuns: 300 },
    );
  });

  it("arbitrary bytes only ever throw DecodeError, and anything decoded is canonical", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), decodesCanonicallyOrRefuses), { numRuns: 2000 });
    // Arrays that start like a staking transaction get further into the decoder.
    fc.assert(
      fc.property(
        fc.integer({ min: 0x91, max: 0x9f }),
        fc.nat({ max: 4 }),
        fc.uint8Array({ maxLength: 400 }),
        (h, k, rest) => decodesCanonicallyOrRefuses(new Uint8Array([h, 2, k, ...rest])),
      ),
      { numRuns: 2000 },
    );
  });

  it("corrupted encodings only ever throw DecodeError, and anything decoded is canonical", () => {
    fc.assert(
      fc.property(
        txArb,
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }),
        (tx, flips) => {
          const bytes = encodeStakingTransaction(tx);
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          decodesCanonicallyOrRefuses(bytes);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
