import * as blst from "@chainsafe/blst";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type BlsBackend,
  BlsError,
  blstBackend,
  generateValidatorKey,
  keyGen,
  nobleBackend,
  PUBLIC_KEY_BYTES,
  proofOfPossessionDigest,
  SIGNATURE_BYTES,
} from "../src/index.js";

// noble takes tens of milliseconds per operation, so the cross-backend properties run few times.
const NOBLE_RUNS = 10;
const backends: BlsBackend[] = [blstBackend, nobleBackend];
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const CURVE_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;

function bigToBytes(x: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

const ikmArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const messageArb = fc.uint8Array({ maxLength: 64 });

// Fixed keys for the aggregate tests, derived once with blst (both backends derive the same ones).
const keys = [1, 2, 3].map((i) => {
  const secretKey = keyGen(new Uint8Array(32).fill(i));
  return { secretKey, publicKey: blstBackend.publicKey(secretKey) };
});
const publicKeys = keys.map((k) => k.publicKey);

// ---------------------------------------------------------------------------
// Malformed inputs

function infinity(length: number): Uint8Array {
  const out = new Uint8Array(length);
  out[0] = 0xc0; // compressed + infinity flags
  return out;
}

/** A compressed G1 point that is on the curve but outside the prime-order subgroup. */
function g1OffSubgroup(): Uint8Array {
  const Fp = bls12_381.fields.Fp;
  for (let x = 1n; ; x++) {
    try {
      Fp.sqrt(Fp.add(Fp.pow(x, 3n), 4n));
    } catch {
      continue;
    }
    const out = bigToBytes(x, 48);
    out[0] = (out[0] as number) | 0x80;
    return out;
  }
}

/** A compressed G2 point (x = c0 + c1·u, c1 = 0) on the curve but outside the subgroup. */
function g2OffSubgroup(): Uint8Array {
  const Fp2 = bls12_381.fields.Fp2;
  for (let x = 1n; ; x++) {
    const X = Fp2.fromBigTuple([x, 0n]);
    try {
      Fp2.sqrt(Fp2.add(Fp2.pow(X, 3n), Fp2.fromBigTuple([4n, 4n])));
    } catch {
      continue;
    }
    const out = new Uint8Array(96);
    out.set(bigToBytes(x, 48), 48);
    out[0] = 0x80;
    return out;
  }
}

/** A compressed G1 x-coordinate with no point on the curve. */
function g1NotOnCurve(): Uint8Array {
  const Fp = bls12_381.fields.Fp;
  for (let x = 1n; ; x++) {
    try {
      Fp.sqrt(Fp.add(Fp.pow(x, 3n), 4n));
    } catch {
      const out = bigToBytes(x, 48);
      out[0] = (out[0] as number) | 0x80;
      return out;
    }
  }
}

const validKey = publicKeys[0] as Uint8Array;
const validMessage = new Uint8Array([1, 2, 3]);
const validSignature = blstBackend.sign(keys[0]!.secretKey, validMessage);

const malformedKeys: [string, Uint8Array][] = [
  ["empty", new Uint8Array(0)],
  ["47 bytes", validKey.subarray(0, 47)],
  ["49 bytes", new Uint8Array([...validKey, 0])],
  ["uncompressed (96 bytes)", blst.PublicKey.fromBytes(validKey).toBytes(false)],
  ["all zero", new Uint8Array(48)],
  ["all 0xff", new Uint8Array(48).fill(0xff)],
  ["the identity", infinity(48)],
  ["not on the curve", g1NotOnCurve()],
  ["on the curve, outside the subgroup", g1OffSubgroup()],
  ["without the compression flag", Uint8Array.from(validKey, (b, i) => (i === 0 ? b & 0x7f : b))],
];

const malformedSignatures: [string, Uint8Array][] = [
  ["empty", new Uint8Array(0)],
  ["95 bytes", validSignature.subarray(0, 95)],
  ["97 bytes", new Uint8Array([...validSignature, 0])],
  ["192 bytes", new Uint8Array(192)],
  ["all zero", new Uint8Array(96)],
  ["all 0xff", new Uint8Array(96).fill(0xff)],
  ["on the curve, outside the subgroup", g2OffSubgroup()],
  ["without the compression flag", Uint8Array.from(validSignature, (b, i) => (i === 0 ? b & 0x7f : b))],
];

function noThrowFalse(f: () => boolean): void {
  let result: unknown;
  expect(() => {
    result = f();
  }).not.toThrow();
  expect(result).toBe(false);
}

// ---------------------------------------------------------------------------

describe("keyGen", () => {
  it("matches @chainsafe/blst's SecretKey.fromKeygen for any key material and key info", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 96 }),
        fc.option(fc.uint8Array({ maxLength: 32 }), { nil: undefined }),
        (ikm, info) => {
          const ours = keyGen(ikm, info);
          const theirs = blst.SecretKey.fromKeygen(ikm, info).toBytes();
          expect(hex(ours)).toBe(hex(theirs));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("rejects key material shorter than 32 bytes", () => {
    expect(() => keyGen(new Uint8Array(31))).toThrow(BlsError);
    expect(() => blst.SecretKey.fromKeygen(new Uint8Array(31))).toThrow();
  });

  it("is deterministic and yields a scalar in [1, r)", () => {
    fc.assert(
      fc.property(ikmArb, (ikm) => {
        const sk = keyGen(ikm);
        expect(hex(keyGen(ikm))).toBe(hex(sk));
        const x = BigInt(`0x${hex(sk)}`);
        expect(x > 0n && x < CURVE_ORDER).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe("blst and noble agree byte for byte", () => {
  it("public keys, signatures, and each verifies the other's signature", () => {
    fc.assert(
      fc.property(ikmArb, messageArb, (ikm, message) => {
        const sk = keyGen(ikm);
        const pkB = blstBackend.publicKey(sk);
        const pkN = nobleBackend.publicKey(sk);
        expect(pkB.length).toBe(PUBLIC_KEY_BYTES);
        expect(hex(pkN)).toBe(hex(pkB));
        const sigB = blstBackend.sign(sk, message);
        const sigN = nobleBackend.sign(sk, message);
        expect(sigB.length).toBe(SIGNATURE_BYTES);
        expect(hex(sigN)).toBe(hex(sigB));
        expect(blstBackend.verify(pkN, message, sigN)).toBe(true);
        expect(nobleBackend.verify(pkB, message, sigB)).toBe(true);
        expect(blstBackend.isValidPublicKey(pkB)).toBe(true);
        expect(nobleBackend.isValidPublicKey(pkB)).toBe(true);
      }),
      { numRuns: NOBLE_RUNS },
    );
  });

  it("both reject a wrong message, a wrong key and a tampered signature", () => {
    fc.assert(
      fc.property(messageArb, fc.nat({ max: SIGNATURE_BYTES * 8 - 1 }), (message, bit) => {
        const sig = blstBackend.sign(keys[0]!.secretKey, message);
        const otherMessage = new Uint8Array([...message, 0]);
        const tampered = new Uint8Array(sig);
        tampered[bit >> 3] = (tampered[bit >> 3] as number) ^ (1 << (bit & 7));
        for (const b of backends) {
          noThrowFalse(() => b.verify(validKey, otherMessage, sig));
          noThrowFalse(() => b.verify(publicKeys[1]!, message, sig));
          noThrowFalse(() => b.verify(validKey, message, tampered));
          noThrowFalse(() => b.fastAggregateVerify([validKey], message, tampered));
          noThrowFalse(() => b.aggregateVerify([validKey], [message], tampered));
        }
      }),
      { numRuns: NOBLE_RUNS },
    );
  });

  it("aggregate signatures and aggregate public keys, and the verdicts of both aggregate verifiers", () => {
    fc.assert(
      fc.property(messageArb, fc.uniqueArray(messageArb, { minLength: 3, maxLength: 3, selector: hex }), (m, ms) => {
        const same = keys.map((k) => blstBackend.sign(k.secretKey, m));
        const distinct = keys.map((k, i) => blstBackend.sign(k.secretKey, ms[i]!));
        const aggSame = blstBackend.aggregateSignatures(same);
        const aggDistinct = blstBackend.aggregateSignatures(distinct);
        expect(hex(nobleBackend.aggregateSignatures(same))).toBe(hex(aggSame));
        expect(hex(nobleBackend.aggregateSignatures(distinct))).toBe(hex(aggDistinct));
        expect(hex(nobleBackend.aggregatePublicKeys(publicKeys))).toBe(
          hex(blstBackend.aggregatePublicKeys(publicKeys)),
        );
        const wrong = new Uint8Array([...m, 1]);
        for (const b of backends) {
          expect(b.fastAggregateVerify(publicKeys, m, aggSame)).toBe(true);
          expect(b.fastAggregateVerify(publicKeys, wrong, aggSame)).toBe(false);
          expect(b.fastAggregateVerify(publicKeys.slice(0, 2), m, aggSame)).toBe(false);
          expect(b.aggregateVerify(publicKeys, ms, aggDistinct)).toBe(true);
          expect(b.aggregateVerify(publicKeys, [ms[1]!, ms[0]!, ms[2]!], aggDistinct)).toBe(false);
          expect(b.aggregateVerify(publicKeys, ms, aggSame)).toBe(false);
          // The aggregate public key verifies the same-message aggregate with plain verify.
          expect(b.verify(b.aggregatePublicKeys(publicKeys), m, aggSame)).toBe(true);
        }
      }),
      { numRuns: 3 },
    );
  });

  it("a one-element aggregate is the element itself", () => {
    for (const b of backends) {
      expect(hex(b.aggregateSignatures([validSignature]))).toBe(hex(validSignature));
      expect(hex(b.aggregatePublicKeys([validKey]))).toBe(hex(validKey));
    }
  });
});

describe("malformed keys and signatures", () => {
  it.each(malformedKeys)("a public key that is %s: verifiers return false, isValidPublicKey is false", (_, pk) => {
    for (const b of backends) {
      noThrowFalse(() => b.isValidPublicKey(pk));
      noThrowFalse(() => b.verify(pk, validMessage, validSignature));
      noThrowFalse(() => b.fastAggregateVerify([validKey, pk], validMessage, validSignature));
      noThrowFalse(() => b.aggregateVerify([pk], [validMessage], validSignature));
      expect(() => b.aggregatePublicKeys([validKey, pk])).toThrow(BlsError);
    }
  });

  it.each(malformedSignatures)("a signature that is %s: verifiers return false, aggregation throws", (_, sig) => {
    for (const b of backends) {
      noThrowFalse(() => b.verify(validKey, validMessage, sig));
      noThrowFalse(() => b.fastAggregateVerify([validKey], validMessage, sig));
      noThrowFalse(() => b.aggregateVerify([validKey], [validMessage], sig));
      expect(() => b.aggregateSignatures([validSignature, sig])).toThrow(BlsError);
    }
  });

  it("the identity signature verifies nothing under a real key", () => {
    for (const b of backends) {
      noThrowFalse(() => b.verify(validKey, validMessage, infinity(96)));
      noThrowFalse(() => b.fastAggregateVerify(publicKeys, validMessage, infinity(96)));
      noThrowFalse(() => b.aggregateVerify([validKey], [validMessage], infinity(96)));
    }
  });

  it("empty and mismatched lists: verifiers return false, aggregation throws", () => {
    for (const b of backends) {
      noThrowFalse(() => b.fastAggregateVerify([], validMessage, validSignature));
      noThrowFalse(() => b.aggregateVerify([], [], validSignature));
      noThrowFalse(() => b.aggregateVerify([validKey], [validMessage, validMessage], validSignature));
      noThrowFalse(() => b.aggregateVerify([validKey, validKey], [validMessage], validSignature));
      expect(() => b.aggregateSignatures([])).toThrow(BlsError);
      expect(() => b.aggregatePublicKeys([])).toThrow(BlsError);
    }
  });

  it("both refuse a secret key that is zero or of the wrong length", () => {
    for (const b of backends)
      for (const sk of [new Uint8Array(32), new Uint8Array(31).fill(1), new Uint8Array(33).fill(1)]) {
        expect(() => b.publicKey(sk)).toThrow(BlsError);
        expect(() => b.sign(sk, validMessage)).toThrow(BlsError);
      }
  });

  it("both refuse a secret key at or above the curve order", () => {
    for (const b of backends)
      for (const x of [CURVE_ORDER, CURVE_ORDER + 1n, 2n ** 256n - 1n])
        expect(() => b.publicKey(bigToBytes(x, 32))).toThrow(BlsError);
  });

  // Such sets need a key and its negation, i.e. one owner of two validator keys.
  it("both refuse an aggregate of a key with its negation (the identity)", () => {
    const sk = keys[0]!.secretKey;
    const negated = bigToBytes(CURVE_ORDER - BigInt(`0x${hex(sk)}`), 32);
    const pair = [blstBackend.publicKey(sk), blstBackend.publicKey(negated)];
    expect(() => blstBackend.aggregatePublicKeys(pair)).toThrow(BlsError);
    expect(() => nobleBackend.aggregatePublicKeys(pair)).toThrow(BlsError);
  });
});

describe("validator keys", () => {
  it("generateValidatorKey gives the same key and proof of possession on both backends", () => {
    fc.assert(
      fc.property(ikmArb, (ikm) => {
        const a = generateValidatorKey(blstBackend, ikm);
        const b = generateValidatorKey(nobleBackend, ikm);
        expect(hex(b.secretKey)).toBe(hex(a.secretKey));
        expect(hex(b.publicKey)).toBe(hex(a.publicKey));
        expect(hex(b.proofOfPossession)).toBe(hex(a.proofOfPossession));
        expect(blstBackend.verify(a.publicKey, proofOfPossessionDigest(a.publicKey), b.proofOfPossession)).toBe(true);
      }),
      { numRuns: 3 },
    );
  });
});
