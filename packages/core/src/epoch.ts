/**
 * Epochs. Epoch e's blocks run from height `epochStartHeight(e)` to
 * `epochEndHeight(e)`; the block at the end height (the epoch's *last block*)
 * carries, as a system transaction, an epoch-change commitment: the
 * `hashValidatorSet` of epoch e+1's committee (keys and stakes). Consensus
 * finalizes that block under epoch e's committee, so "this block is final" plus
 * "this transaction is in it" is a committee change certified by the outgoing
 * committee: what light clients and the L1 contract follow.
 *
 * The commitment is `abi.encode(bytes32 tag, uint64 nextEpoch, bytes32
 * validatorSetHash)`, 96 bytes, so the L1 reads it with `abi.decode`.
 */
import type { Bytes32 } from "./bytes.js";
import { bytesEqual } from "./bytes.js";
import { DOMAIN, encodeStaticAbiWords } from "./hashing.js";

/** The schedule every validator agrees on at genesis. */
export interface EpochSchedule {
  /** Blocks per epoch (≥ 2): epoch e ends at height (e + 1) · length. */
  length: number;
}

export interface EpochChangeCommitment {
  /** The epoch the committee serves: the current epoch + 1. */
  nextEpoch: number;
  /** `hashValidatorSet` of that committee. */
  validatorSetHash: Bytes32;
}

export const EPOCH_CHANGE_BYTES = 96;

export function epochEndHeight(schedule: EpochSchedule, epoch: number): number {
  return (epoch + 1) * schedule.length;
}

export function epochStartHeight(schedule: EpochSchedule, epoch: number): number {
  return epoch === 0 ? 0 : epoch * schedule.length + 1;
}

/** The epoch a committed height belongs to (height 0, genesis, is epoch 0's). */
export function epochOfHeight(schedule: EpochSchedule, height: number): number {
  return height === 0 ? 0 : Math.floor((height - 1) / schedule.length);
}

export function isValidEpochSchedule(schedule: EpochSchedule): boolean {
  return Number.isSafeInteger(schedule.length) && schedule.length >= 2;
}

export function encodeEpochChange(c: EpochChangeCommitment): Uint8Array {
  return encodeStaticAbiWords([DOMAIN.epochChange, c.nextEpoch, c.validatorSetHash]);
}

/** The commitment a system transaction holds, or null if it is not one (any other bytes, any length). */
export function decodeEpochChange(data: Uint8Array): EpochChangeCommitment | null {
  if (!(data instanceof Uint8Array) || data.length !== EPOCH_CHANGE_BYTES) return null;
  if (!bytesEqual(data.subarray(0, 32), DOMAIN.epochChange)) return null;
  // uint64 in a 32-byte word: the top 24 bytes are zero, and we keep to safe integers.
  for (let i = 32; i < 56; i++) if (data[i] !== 0) return null;
  const view = new DataView(data.buffer, data.byteOffset + 56, 8);
  const nextEpoch = view.getUint32(0) * 2 ** 32 + view.getUint32(4);
  if (!Number.isSafeInteger(nextEpoch)) return null;
  return { nextEpoch, validatorSetHash: data.slice(64, 96) };
}
