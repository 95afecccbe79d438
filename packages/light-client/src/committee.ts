/**
 * The committee the client checks certificates against. Core's `ValidatorSet`
 * cannot hold a set without proofs of possession, and a checkpoint taken from
 * `GET /v1/validators` has none, so the client keeps this minimal form: keys,
 * stakes and the set hash, with `ValidatorSet.signedStake`'s bitmap rules
 * (the tests check both agree on every bitmap). A committee that arrives by a
 * committee change is built from a `ValidatorSet`, so its proofs were checked.
 */
import {
  type BlsBackend,
  type Bytes32,
  bitmapIndices,
  hashValidatorSet,
  isQuorum,
  isValidBitmap,
  MAX_VALIDATORS,
  PUBLIC_KEY_BYTES,
  proofOfPossessionDigest,
  toHex,
  type ValidatorSet,
} from "@ordo/core";
import type { CheckpointValidatorSet } from "./types.js";

export class Committee {
  private constructor(
    readonly epoch: number,
    readonly publicKeys: readonly Uint8Array[],
    readonly stakes: readonly bigint[],
    readonly totalStake: bigint,
    /** `hashValidatorSet`: what every header of this epoch names, and what a committee change signs. */
    readonly hash: Bytes32,
  ) {}

  static fromValidatorSet(set: ValidatorSet): Committee {
    return new Committee(
      set.epoch,
      set.validators.map((v) => new Uint8Array(v.publicKey)),
      set.validators.map((v) => v.stake),
      set.totalStake,
      set.hash,
    );
  }

  /**
   * A trusted checkpoint's committee: the checks of `ValidatorSet.create`, with
   * each proof of possession checked only when the checkpoint has one. Returns
   * what is wrong as a string rather than throwing, for the caller's error code.
   */
  static fromCheckpoint(data: CheckpointValidatorSet, bls: BlsBackend): Committee | string {
    if (typeof data !== "object" || data === null || !Array.isArray(data.validators)) return "no validator list";
    const n = data.validators.length;
    if (n === 0 || n > MAX_VALIDATORS) return `a validator set needs 1 to ${MAX_VALIDATORS} validators, got ${n}`;
    if (!Number.isSafeInteger(data.epoch) || data.epoch < 0) return `invalid epoch ${String(data.epoch)}`;
    const seen = new Set<string>();
    for (const [i, v] of data.validators.entries()) {
      if (typeof v !== "object" || v === null) return `validator ${i} is not an object`;
      if (typeof v.stake !== "bigint" || v.stake <= 0n || v.stake >= 2n ** 96n)
        return `validator ${i} has stake ${String(v.stake)}; stakes must be in (0, 2^96)`;
      if (!(v.publicKey instanceof Uint8Array) || v.publicKey.length !== PUBLIC_KEY_BYTES)
        return `validator ${i} has no ${PUBLIC_KEY_BYTES}-byte public key`;
      const key = toHex(v.publicKey);
      if (seen.has(key)) return `validator ${i} repeats public key ${key}`;
      seen.add(key);
      if (!bls.isValidPublicKey(v.publicKey)) return `validator ${i} has an invalid BLS public key`;
      if (v.proofOfPossession !== undefined) {
        if (
          !(v.proofOfPossession instanceof Uint8Array) ||
          !bls.verify(v.publicKey, proofOfPossessionDigest(v.publicKey), v.proofOfPossession)
        )
          return `validator ${i} has an invalid proof of possession`;
      }
    }
    const publicKeys = data.validators.map((v) => new Uint8Array(v.publicKey));
    const stakes = data.validators.map((v) => v.stake);
    // hashValidatorSet reads only epoch, keys and stakes; proofs are not part of the committed set.
    const hash = hashValidatorSet({
      epoch: data.epoch,
      validators: data.validators.map((v) => ({ ...v, proofOfPossession: v.proofOfPossession ?? new Uint8Array() })),
    });
    return new Committee(
      data.epoch,
      publicKeys,
      stakes,
      stakes.reduce((s, x) => s + x, 0n),
      hash,
    );
  }

  get size(): number {
    return this.publicKeys.length;
  }

  /** Total stake of the signers in a bitmap; -1n if the bitmap is malformed for this committee (as `ValidatorSet`). */
  signedStake(bitmap: Uint8Array): bigint {
    if (!isValidBitmap(bitmap, this.size)) return -1n;
    let s = 0n;
    for (const i of bitmapIndices(bitmap)) s += this.stakes[i] ?? 0n;
    return s;
  }

  isQuorum(stake: bigint): boolean {
    return isQuorum(stake, this.totalStake);
  }

  /** The signers' keys, for `fastAggregateVerify` (the bitmap has been checked by `signedStake`). */
  signerKeys(bitmap: Uint8Array): Uint8Array[] {
    return bitmapIndices(bitmap).map((i) => this.publicKeys[i] as Uint8Array);
  }
}
