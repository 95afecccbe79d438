/**
 * A scenario is everything a seed decides before the run: stakes, who is
 * Byzantine and how, who crashes and when, partitions, link quality.
 */
import { exceedsOneThird } from "@ordo/core";
import type { Rng } from "./rng.js";

export const BYZANTINE_BEHAVIORS = [
  "equivocate",
  "double-vote",
  "invalid-payload",
  "vote-invalid",
  "withhold",
  "replay",
  "garbage",
  "forge",
] as const;
export type ByzantineBehavior = (typeof BYZANTINE_BEHAVIORS)[number];

export interface ScenarioOptions {
  validators: number;
  byzantine: number;
  crash: number;
  /** "auto": the seed decides whether one Byzantine validator runs as twins. */
  twins: boolean | "auto";
  /** Length of the faulty phase (virtual ms); then faults heal and liveness is checked. */
  faultMs: number;
  /** Faults off: no drops, partitions, crashes or Byzantine nodes (benchmarks). */
  faultFree: boolean;
  zeroLatency: boolean;
}

export interface CrashPlan {
  validator: number;
  at: number;
  restartAt: number;
}

export interface PartitionPlan {
  at: number;
  healAt: number;
  /** Validators on the minority side; everyone else is on the other side. */
  side: number[];
}

export interface Scenario {
  stakes: bigint[];
  byzantine: Map<number, ByzantineBehavior[]>;
  twin: number | null;
  crashes: CrashPlan[];
  partitions: PartitionPlan[];
  /** Base one-way latency per link (ms), [from][to]. */
  latency: number[][];
  jitterMs: number;
  dropRate: number;
  duplicateRate: number;
  diskLatencyMs: number;
}

export function generateScenario(rng: Rng, o: ScenarioOptions): Scenario {
  const n = o.validators;
  const stakes =
    rng.chance(0.5) || o.faultFree
      ? new Array(n).fill(100n)
      : Array.from({ length: n }, () => BigInt(50 + rng.int(151)));
  const total = stakes.reduce((a, b) => a + b, 0n);

  const byzantine = new Map<number, ByzantineBehavior[]>();
  let twin: number | null = null;
  if (!o.faultFree && o.byzantine > 0) {
    const chosen = chooseByzantine(rng, stakes, total, o.byzantine);
    const useTwins = o.twins === "auto" ? rng.chance(0.25) : o.twins;
    for (const v of chosen) {
      if (useTwins && twin === null) {
        twin = v;
        byzantine.set(v, []);
        continue;
      }
      const behaviors = BYZANTINE_BEHAVIORS.filter(() => rng.chance(0.45));
      byzantine.set(v, behaviors.length > 0 ? behaviors : [rng.pick(BYZANTINE_BEHAVIORS)]);
    }
  }

  const crashes: CrashPlan[] = [];
  if (!o.faultFree && o.crash > 0) {
    const honest = rng.shuffle([...Array(n).keys()].filter((v) => !byzantine.has(v)));
    for (const v of honest.slice(0, o.crash)) {
      const at = rng.range(0.05, 0.6) * o.faultMs;
      crashes.push({ validator: v, at, restartAt: Math.min(at + rng.range(0.05, 0.4) * o.faultMs, o.faultMs * 0.95) });
      // Sometimes a second crash, shortly after restarting: restart from disk twice in one run.
      if (rng.chance(0.3)) {
        const again = Math.min(o.faultMs * 0.97, crashes[crashes.length - 1]!.restartAt + rng.range(5, 200));
        crashes.push({ validator: v, at: again, restartAt: Math.min(again + rng.range(10, 300), o.faultMs * 0.99) });
      }
    }
  }

  const partitions: PartitionPlan[] = [];
  if (!o.faultFree && rng.chance(0.6)) {
    const count = 1 + rng.int(2);
    for (let i = 0; i < count; i++) {
      const at = rng.range(0, 0.7) * o.faultMs;
      const side = rng.shuffle([...Array(n).keys()]).slice(0, 1 + rng.int(Math.floor(n / 2)));
      partitions.push({ at, healAt: Math.min(o.faultMs, at + rng.range(0.05, 0.3) * o.faultMs), side });
    }
  }

  const latency = Array.from({ length: n }, () =>
    Array.from({ length: n }, () => (o.zeroLatency ? 0 : rng.range(1, 40))),
  );
  return {
    stakes,
    byzantine,
    twin,
    crashes,
    partitions,
    latency,
    jitterMs: o.zeroLatency ? 0 : rng.range(0, 15),
    dropRate: o.faultFree ? 0 : rng.pick([0, 0, 0.01, 0.05, 0.1]),
    duplicateRate: o.faultFree ? 0 : rng.pick([0, 0.02, 0.05]),
    diskLatencyMs: o.zeroLatency ? 0 : rng.range(0.05, 3),
  };
}

/** Picks `count` validators whose stake together stays below a third (the f that safety tolerates). */
function chooseByzantine(rng: Rng, stakes: bigint[], total: bigint, count: number): number[] {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pick = rng.shuffle([...stakes.keys()]).slice(0, count);
    const stake = pick.reduce((s, v) => s + (stakes[v] as bigint), 0n);
    if (!exceedsOneThird(stake, total) && stake * 3n !== total) return pick.sort((a, b) => a - b);
  }
  // Fall back to the lightest validators, dropping the heaviest of them until the bound holds.
  const byStake = [...stakes.keys()].sort((a, b) => Number((stakes[a] as bigint) - (stakes[b] as bigint)));
  const pick = byStake.slice(0, count);
  while (pick.length > 0 && pick.reduce((s, v) => s + (stakes[v] as bigint), 0n) * 3n >= total) pick.pop();
  return pick.sort((a, b) => a - b);
}
