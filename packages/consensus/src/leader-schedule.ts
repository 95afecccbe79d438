/**
 * Stake-weighted round-robin leader rotation. A validator leads a share of rounds
 * proportional to its stake, interleaved evenly (smooth weighted round-robin),
 * so consecutive rounds rarely share a leader and every validator's turn comes
 * within one cycle.
 */
import type { ValidatorIndex, ValidatorSet } from "@ordo/core";

/** Longest cycle we build; larger stake ratios are scaled to it. */
const MAX_CYCLE = 4096;

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

export function buildLeaderCycle(stakes: readonly bigint[]): ValidatorIndex[] {
  const g = stakes.reduce(gcd, 0n);
  let weights = stakes.map((s) => Number(s / g));
  let total = weights.reduce((a, b) => a + b, 0);
  if (!Number.isSafeInteger(total) || total > MAX_CYCLE) {
    const sum = stakes.reduce((a, b) => a + b, 0n);
    // Every validator keeps at least one slot, so none is starved of leadership.
    weights = stakes.map((s) => Math.max(1, Number((s * BigInt(MAX_CYCLE)) / sum)));
    total = weights.reduce((a, b) => a + b, 0);
  }
  const current = new Array<number>(weights.length).fill(0);
  const cycle: ValidatorIndex[] = [];
  for (let slot = 0; slot < total; slot++) {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i] = (current[i] as number) + (weights[i] as number);
      if ((current[i] as number) > (current[best] as number)) best = i;
    }
    current[best] = (current[best] as number) - total;
    cycle.push(best);
  }
  return cycle;
}

export class LeaderSchedule {
  private readonly cycle: ValidatorIndex[];

  constructor(validators: ValidatorSet) {
    this.cycle = buildLeaderCycle(validators.validators.map((v) => v.stake));
  }

  leader(round: number): ValidatorIndex {
    return this.cycle[round % this.cycle.length] as ValidatorIndex;
  }
}
