import fc from "fast-check";
import { encodeAbiParameters, hexToBytes } from "viem";
import { describe, expect, it } from "vitest";
import {
  bitmapBytes,
  bitmapHas,
  bitmapIndices,
  blstBackend,
  createBitmap,
  DOMAIN,
  exceedsOneThird,
  generateValidatorKey,
  hashValidatorSet,
  InvalidConfigError,
  isQuorum,
  isValidBitmap,
  MAX_VALIDATORS,
  nobleBackend,
  quorumThreshold,
  sha256,
  toHex,
  type Validator,
  ValidatorSet,
  type ValidatorSetData,
} from "../src/index.js";

const stakeArb = fc.bigInt({ min: 0n, max: 2n ** 100n });

describe("quorum math", () => {
  it("equal stakes: 3 of 4 and 3 of 3 are quorums; 2 of 3, 2 of 4 and 6 of 9 are not", () => {
    expect(isQuorum(3n, 4n)).toBe(true);
    expect(isQuorum(3n, 3n)).toBe(true);
    expect(isQuorum(7n, 9n)).toBe(true);
    expect(isQuorum(67n, 100n)).toBe(true);
    expect(isQuorum(2n, 3n)).toBe(false); // exactly two thirds is not more than two thirds
    expect(isQuorum(2n, 4n)).toBe(false);
    expect(isQuorum(6n, 9n)).toBe(false);
    expect(isQuorum(66n, 100n)).toBe(false);
    expect(isQuorum(0n, 0n)).toBe(false);
  });

  it("isQuorum(s, t) iff 3s > 2t", () => {
    fc.assert(
      fc.property(stakeArb, stakeArb, (s, t) => {
        expect(isQuorum(s, t)).toBe(3n * s > 2n * t);
      }),
    );
  });

  it("isQuorum(s, t) iff s > 2t/3 as an exact rational (checked by cases on t mod 3)", () => {
    fc.assert(
      fc.property(stakeArb, stakeArb, (s, t) => {
        const whole = (2n * t) / 3n; // floor(2t/3)
        const exact = (2n * t) % 3n === 0n;
        // s > 2t/3: if 2t/3 is an integer, s must exceed it; otherwise s > floor(2t/3) suffices.
        const expected = exact ? s > whole : s >= whole + 1n;
        expect(isQuorum(s, t)).toBe(expected);
      }),
    );
  });

  it("quorumThreshold(t) is the least quorum", () => {
    fc.assert(
      fc.property(stakeArb, (t) => {
        const q = quorumThreshold(t);
        expect(isQuorum(q, t)).toBe(true);
        expect(isQuorum(q - 1n, t)).toBe(false);
      }),
    );
    expect(quorumThreshold(4n)).toBe(3n);
    expect(quorumThreshold(3n)).toBe(3n);
    expect(quorumThreshold(100n)).toBe(67n);
  });

  it("exceedsOneThird(s, t) iff 3s > t, with the boundaries", () => {
    fc.assert(
      fc.property(stakeArb, stakeArb, (s, t) => {
        expect(exceedsOneThird(s, t)).toBe(3n * s > t);
      }),
    );
    expect(exceedsOneThird(1n, 3n)).toBe(false);
    expect(exceedsOneThird(2n, 4n)).toBe(true);
    expect(exceedsOneThird(1n, 4n)).toBe(false);
    expect(exceedsOneThird(34n, 100n)).toBe(true);
    expect(exceedsOneThird(33n, 100n)).toBe(false);
  });

  it("any two quorums overlap in more than a third of the stake (so in an honest validator)", () => {
    fc.assert(
      fc.property(
        stakeArb,
        fc.bigInt({ min: 0n, max: 2n ** 100n }),
        fc.bigInt({ min: 0n, max: 2n ** 100n }),
        (t, a, b) => {
          const qa = a % (t + 1n);
          const qb = b % (t + 1n);
          fc.pre(isQuorum(qa, t) && isQuorum(qb, t));
          expect(exceedsOneThird(qa + qb - t, t)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
    // Deterministic versions of the same claim at the thresholds.
    for (const t of [1n, 2n, 3n, 4n, 10n, 100n, 2n ** 96n]) {
      const q = quorumThreshold(t);
      expect(exceedsOneThird(2n * q - t, t)).toBe(true);
    }
  });
});

describe("signer bitmaps", () => {
  const sizeArb = fc.integer({ min: 1, max: MAX_VALIDATORS });
  const setOfIndices = sizeArb.chain((size) =>
    fc.tuple(fc.constant(size), fc.uniqueArray(fc.nat({ max: size - 1 }), { maxLength: Math.min(size, 64) })),
  );

  it("createBitmap and bitmapIndices round-trip to the sorted indices", () => {
    fc.assert(
      fc.property(setOfIndices, ([size, indices]) => {
        const bitmap = createBitmap(size, indices);
        expect(bitmap.length).toBe(bitmapBytes(size));
        expect(bitmap.length).toBe(Math.ceil(size / 8));
        expect(bitmapIndices(bitmap)).toStrictEqual([...indices].sort((a, b) => a - b));
        expect(isValidBitmap(bitmap, size)).toBe(true);
        for (let i = 0; i < size; i++) expect(bitmapHas(bitmap, i)).toBe(indices.includes(i));
        expect(bitmapHas(bitmap, size + 8)).toBe(false);
      }),
    );
  });

  it("bits are least significant first within each byte", () => {
    expect(createBitmap(10, [0, 3, 9])).toStrictEqual(new Uint8Array([0b0000_1001, 0b0000_0010]));
    expect(bitmapIndices(new Uint8Array([0x80, 0x01]))).toStrictEqual([7, 8]);
  });

  it("createBitmap refuses indices outside the set", () => {
    expect(() => createBitmap(4, [4])).toThrow(RangeError);
    expect(() => createBitmap(4, [-1])).toThrow(RangeError);
  });

  it("isValidBitmap rejects stray high bits and wrong lengths", () => {
    expect(isValidBitmap(new Uint8Array([0xff, 0x03]), 10)).toBe(true);
    expect(isValidBitmap(new Uint8Array([0xff, 0x04]), 10)).toBe(false); // bit 10
    expect(isValidBitmap(new Uint8Array([0x00, 0x80]), 10)).toBe(false); // bit 15
    expect(isValidBitmap(new Uint8Array([0xff]), 8)).toBe(true);
    expect(isValidBitmap(new Uint8Array([0xff]), 10)).toBe(false); // too short
    expect(isValidBitmap(new Uint8Array([0xff, 0x00]), 8)).toBe(false); // too long
    expect(isValidBitmap(new Uint8Array([0x01, 0x00, 0x00]), 10)).toBe(false);
    expect(isValidBitmap(new Uint8Array(0), 1)).toBe(false);
  });

  it("isValidBitmap accepts a right-length bitmap iff no bit is at or beyond the set size", () => {
    fc.assert(
      fc.property(
        sizeArb.chain((size) =>
          fc.tuple(fc.constant(size), fc.uint8Array({ minLength: bitmapBytes(size), maxLength: bitmapBytes(size) })),
        ),
        ([size, bitmap]) => {
          expect(isValidBitmap(bitmap, size)).toBe(bitmapIndices(bitmap).every((i) => i < size));
        },
      ),
    );
  });
});

describe("ValidatorSet", () => {
  const keys = Array.from({ length: 5 }, (_, i) => generateValidatorKey(blstBackend, new Uint8Array(32).fill(i + 1)));
  const validator = (i: number, stake = 100n): Validator => ({
    publicKey: keys[i]!.publicKey,
    stake,
    proofOfPossession: keys[i]!.proofOfPossession,
  });
  const data = (validators: Validator[] = [0, 1, 2, 3].map((i) => validator(i, BigInt(i + 1) * 10n))) => ({
    epoch: 7,
    validators,
  });
  const expectInvalid = (d: ValidatorSetData, pattern: RegExp): void => {
    expect(() => ValidatorSet.create(d, blstBackend)).toThrow(InvalidConfigError);
    expect(() => ValidatorSet.create(d, blstBackend)).toThrow(pattern);
  };

  it("withEpoch keeps the members and stakes under another epoch, with that epoch's set hash", () => {
    const set = ValidatorSet.create(data(), blstBackend);
    const next = set.withEpoch(8);
    expect(next.epoch).toBe(8);
    expect(next.validators).toStrictEqual(set.validators);
    expect(toHex(next.hash)).toBe(toHex(hashValidatorSet({ ...data(), epoch: 8 })));
    expect(toHex(next.hash)).not.toBe(toHex(set.hash));
    expect(set.withEpoch(7)).toBe(set);
    expect(() => set.withEpoch(-1)).toThrow(InvalidConfigError);
  });

  it("accepts keys from generateValidatorKey and exposes sizes, stakes and keys", () => {
    const set = ValidatorSet.create(data(), blstBackend);
    expect(set.epoch).toBe(7);
    expect(set.size).toBe(4);
    expect(set.totalStake).toBe(100n);
    expect(set.stakeOf(3)).toBe(40n);
    expect(set.stakeOf(4)).toBe(0n);
    expect(set.publicKey(1)).toStrictEqual(keys[1]!.publicKey);
    expect(() => set.publicKey(4)).toThrow(RangeError);
    expect(set.has(0)).toBe(true);
    expect(set.has(4)).toBe(false);
    expect(set.has(-1)).toBe(false);
    expect(set.has(0.5)).toBe(false);
    expect(set.signedStake(createBitmap(4, [1, 3]))).toBe(60n);
    expect(set.signedStake(new Uint8Array([0x10]))).toBe(-1n); // bit 4 in a set of 4
    expect(set.signedStake(new Uint8Array([1, 0]))).toBe(-1n);
    expect(set.isQuorum(67n)).toBe(true);
    expect(set.isQuorum(66n)).toBe(false);
    expect(set.exceedsOneThird(34n)).toBe(true);
    expect(set.exceedsOneThird(33n)).toBe(false);
    expect(set.toData()).toStrictEqual(data());
  });

  it("accepts keys generated and checked by the noble backend too", () => {
    const k = [7, 8].map((i) => generateValidatorKey(nobleBackend, new Uint8Array(32).fill(i)));
    const set = ValidatorSet.create(
      {
        epoch: 0,
        validators: k.map((x) => ({ publicKey: x.publicKey, stake: 1n, proofOfPossession: x.proofOfPossession })),
      },
      nobleBackend,
    );
    expect(set.size).toBe(2);
  });

  it("rejects an empty set and one above MAX_VALIDATORS", () => {
    expectInvalid(data([]), /1 to 1024 validators, got 0/);
    expectInvalid(data(Array.from({ length: MAX_VALIDATORS + 1 }, () => validator(0))), /got 1025/);
  });

  it("rejects duplicate public keys", () => {
    expectInvalid(data([validator(0), validator(1), validator(0, 5n)]), /validator 2 repeats public key/);
  });

  it("rejects zero, negative and too large stakes", () => {
    expectInvalid(data([validator(0), validator(1, 0n)]), /validator 1 has stake 0/);
    expectInvalid(data([validator(0, -5n)]), /validator 0 has stake -5/);
    expectInvalid(data([validator(0, 2n ** 96n)]), /stakes must be in/);
    expect(ValidatorSet.create(data([validator(0, 2n ** 96n - 1n)]), blstBackend).totalStake).toBe(2n ** 96n - 1n);
  });

  it("rejects a bad proof of possession", () => {
    const swapped = { ...validator(0), proofOfPossession: keys[1]!.proofOfPossession };
    expectInvalid(data([swapped]), /validator 0 has an invalid proof of possession/);
    const overWrongMessage = {
      ...validator(1),
      proofOfPossession: blstBackend.sign(keys[1]!.secretKey, new Uint8Array(32)),
    };
    expectInvalid(data([validator(0), overWrongMessage]), /validator 1 has an invalid proof of possession/);
    expectInvalid(data([{ ...validator(0), proofOfPossession: new Uint8Array(96) }]), /proof of possession/);
    expectInvalid(data([{ ...validator(0), proofOfPossession: new Uint8Array(0) }]), /proof of possession/);
  });

  it("rejects an invalid public key and an invalid epoch", () => {
    expectInvalid(data([{ ...validator(0), publicKey: new Uint8Array(48) }]), /invalid BLS public key/);
    expectInvalid(data([{ ...validator(0), publicKey: keys[0]!.publicKey.subarray(1) }]), /invalid BLS public key/);
    expectInvalid({ epoch: -1, validators: [validator(0)] }, /invalid epoch/);
    expectInvalid({ epoch: 2 ** 53, validators: [validator(0)] }, /invalid epoch/);
    expectInvalid({ epoch: 1.5, validators: [validator(0)] }, /invalid epoch/);
  });

  it("hash is stable: deterministic, equal to the ABI commitment, and pinned", () => {
    const a = ValidatorSet.create(data(), blstBackend);
    const b = ValidatorSet.create(data(), blstBackend);
    expect(toHex(a.hash)).toBe(toHex(b.hash));
    expect(toHex(a.hash)).toBe(toHex(hashValidatorSet(data())));
    const independent = sha256(
      hexToBytes(
        encodeAbiParameters(
          [{ type: "bytes32" }, { type: "uint64" }, { type: "bytes[]" }, { type: "uint96[]" }],
          [toHex(DOMAIN.validatorSet), 7n, [0, 1, 2, 3].map((i) => toHex(keys[i]!.publicKey)), [10n, 20n, 30n, 40n]],
        ),
      ),
    );
    expect(toHex(a.hash)).toBe(toHex(independent));
    // Pinned: the L1 contract recomputes this commitment, so its encoding must not drift.
    expect(toHex(a.hash)).toBe("0x642bd5379c43124a2966c22bcd4f59034954c8d924045243530e28f0f0b90c3d");
  });

  it("hash commits to epoch, keys, stakes and order, but not to proofs of possession", () => {
    const base = toHex(hashValidatorSet(data()));
    const d = data();
    expect(toHex(hashValidatorSet({ ...d, epoch: 8 }))).not.toBe(base);
    expect(toHex(hashValidatorSet({ ...d, validators: [...d.validators].reverse() }))).not.toBe(base);
    expect(
      toHex(hashValidatorSet({ ...d, validators: d.validators.map((v, i) => (i === 2 ? { ...v, stake: 31n } : v)) })),
    ).not.toBe(base);
    expect(
      toHex(hashValidatorSet({ ...d, validators: d.validators.map((v, i) => (i === 0 ? validator(4, v.stake) : v)) })),
    ).not.toBe(base);
    expect(
      toHex(
        hashValidatorSet({
          ...d,
          validators: d.validators.map((v) => ({ ...v, proofOfPossession: new Uint8Array(96) })),
        }),
      ),
    ).toBe(base);
  });

  it("is not affected by later changes to the array it was built from", () => {
    const d = data();
    const set = ValidatorSet.create(d, blstBackend);
    d.validators.push(validator(4));
    expect(set.size).toBe(4);
  });
});
