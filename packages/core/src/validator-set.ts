/**
 * A validator set with stakes, and the stake-weighted quorum math: a quorum is
 * more than two thirds of total stake; f is what may fail, less than a third.
 */
import { encodeAbiParameters, hexToBytes } from "viem";
import type { Bytes32 } from "./bytes.js";
import { toHex } from "./bytes.js";
import type { BlsBackend } from "./crypto/bls.js";
import { sha256 } from "./crypto/sha256.js";
import { InvalidConfigError } from "./errors.js";
import { DOMAIN, proofOfPossessionDigest } from "./hashing.js";
import type { Validator, ValidatorIndex, ValidatorSetData } from "./types.js";

/** True when `signed` is a quorum of `total`: signed > 2/3 · total, in exact integer math. */
export function isQuorum(signed: bigint, total: bigint): boolean {
  return signed * 3n > total * 2n;
}

/** True when `stake` is more than a third of `total`: at least one honest validator is among them. */
export function exceedsOneThird(stake: bigint, total: bigint): boolean {
  return stake * 3n > total;
}

/** The smallest stake that is a quorum of `total`. */
export function quorumThreshold(total: bigint): bigint {
  return (total * 2n) / 3n + 1n;
}

export const MAX_VALIDATORS = 1024;

export class ValidatorSet {
  readonly epoch: number;
  readonly validators: readonly Validator[];
  readonly totalStake: bigint;
  /** `sha256(abi.encode(DOMAIN, epoch, keys, stakes))`: what headers and the L1 commit to. */
  readonly hash: Bytes32;

  private constructor(data: ValidatorSetData) {
    this.epoch = data.epoch;
    // A frozen copy: the caller's array cannot change a set (or its hash) after the checks.
    this.validators = Object.freeze(data.validators.map((v) => Object.freeze({ ...v })));
    this.totalStake = data.validators.reduce((s, v) => s + v.stake, 0n);
    this.hash = hashValidatorSet(data);
  }

  /** The same members under another epoch (so another set hash); nothing to re-check, this set passed `create`. */
  withEpoch(epoch: number): ValidatorSet {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new InvalidConfigError(`invalid epoch ${epoch}`);
    return epoch === this.epoch ? this : new ValidatorSet({ epoch, validators: [...this.validators] });
  }

  /** Checks sizes, stakes, distinct keys and every proof of possession. */
  static create(data: ValidatorSetData, bls: BlsBackend): ValidatorSet {
    const n = data.validators.length;
    if (n === 0 || n > MAX_VALIDATORS)
      throw new InvalidConfigError(`a validator set needs 1 to ${MAX_VALIDATORS} validators, got ${n}`);
    if (!Number.isSafeInteger(data.epoch) || data.epoch < 0)
      throw new InvalidConfigError(`invalid epoch ${data.epoch}`);
    const seen = new Set<string>();
    data.validators.forEach((v, i) => {
      if (v.stake <= 0n || v.stake >= 2n ** 96n)
        throw new InvalidConfigError(`validator ${i} has stake ${v.stake}; stakes must be in (0, 2^96)`);
      const key = toHex(v.publicKey);
      if (seen.has(key)) throw new InvalidConfigError(`validator ${i} repeats public key ${key}`);
      seen.add(key);
      if (!bls.isValidPublicKey(v.publicKey))
        throw new InvalidConfigError(`validator ${i} has an invalid BLS public key`);
      if (!bls.verify(v.publicKey, proofOfPossessionDigest(v.publicKey), v.proofOfPossession))
        throw new InvalidConfigError(`validator ${i} has an invalid proof of possession`, {
          fix: "regenerate the validator's keys with `ordo keys generate` and use the proof it prints",
        });
    });
    return new ValidatorSet(data);
  }

  get size(): number {
    return this.validators.length;
  }

  stakeOf(i: ValidatorIndex): bigint {
    return this.validators[i]?.stake ?? 0n;
  }

  publicKey(i: ValidatorIndex): Uint8Array {
    const v = this.validators[i];
    if (!v) throw new RangeError(`no validator ${i} in epoch ${this.epoch}`);
    return v.publicKey;
  }

  has(i: number): boolean {
    return Number.isInteger(i) && i >= 0 && i < this.validators.length;
  }

  isQuorum(stake: bigint): boolean {
    return isQuorum(stake, this.totalStake);
  }

  exceedsOneThird(stake: bigint): boolean {
    return exceedsOneThird(stake, this.totalStake);
  }

  /** Total stake of the signers in a bitmap; -1n if the bitmap is malformed for this set. */
  signedStake(bitmap: Uint8Array): bigint {
    if (!isValidBitmap(bitmap, this.size)) return -1n;
    let s = 0n;
    for (const i of bitmapIndices(bitmap)) s += this.stakeOf(i);
    return s;
  }

  toData(): ValidatorSetData {
    return { epoch: this.epoch, validators: [...this.validators] };
  }
}

export function hashValidatorSet(data: ValidatorSetData): Bytes32 {
  const encoded = encodeAbiParameters(
    [{ type: "bytes32" }, { type: "uint64" }, { type: "bytes[]" }, { type: "uint96[]" }],
    [
      toHex(DOMAIN.validatorSet),
      BigInt(data.epoch),
      data.validators.map((v) => toHex(v.publicKey)),
      data.validators.map((v) => v.stake),
    ],
  );
  return sha256(hexToBytes(encoded));
}

/** Signer bitmaps: bit i, least significant first within each byte, is validator i. */
export function bitmapBytes(size: number): number {
  return Math.ceil(size / 8);
}

export function createBitmap(size: number, indices: Iterable<number>): Uint8Array {
  const out = new Uint8Array(bitmapBytes(size));
  for (const i of indices) {
    if (i < 0 || i >= size) throw new RangeError(`signer ${i} outside a set of ${size}`);
    out[i >> 3] = (out[i >> 3] as number) | (1 << (i & 7));
  }
  return out;
}

export function bitmapHas(bitmap: Uint8Array, i: number): boolean {
  return ((bitmap[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
}

export function bitmapIndices(bitmap: Uint8Array): number[] {
  const out: number[] = [];
  for (let byte = 0; byte < bitmap.length; byte++) {
    const b = bitmap[byte] as number;
    if (b === 0) continue;
    for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) out.push(byte * 8 + bit);
  }
  return out;
}

/** Exactly `ceil(size/8)` bytes and no bits set beyond `size`. */
export function isValidBitmap(bitmap: Uint8Array, size: number): boolean {
  if (bitmap.length !== bitmapBytes(size)) return false;
  const tail = size & 7;
  if (tail !== 0 && (bitmap[bitmap.length - 1] as number) >> tail !== 0) return false;
  return true;
}
