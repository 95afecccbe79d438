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
  /** Blocks per epoch; 0 runs one endless epoch with a fixed committee. */
  epochLength?: number;
  /** Nodes beyond the genesis committee: they observe, and may join later committees. */
  observers?: number;
}

/** One epoch's committee: pool node ids and their stakes, in committee-index order. */
export interface CommitteePlan {
  members: number[];
  stakes: bigint[];
}

/** Committees planned for this many epochs; later epochs keep the last one. */
export const PLANNED_EPOCHS = 256;

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
  /** Epoch e's committee (e < PLANNED_EPOCHS); epochs 0 and 1 are the genesis committee. */
  committees: CommitteePlan[];
}

export function generateScenario(rng: Rng, o: ScenarioOptions): Scenario {
  const n = o.validators;
  const pool = n + (o.observers ?? 0);
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

  const latency = Array.from({ length: pool }, () =>
    Array.from({ length: pool }, () => (o.zeroLatency ? 0 : rng.range(1, 40))),
  );
  // Drawn last, from its own stream, so runs without epochs keep the scenarios they had.
  const committees = planCommittees(
    rng.fork(),
    stakes,
    pool,
    new Set(byzantine.keys()),
    o.epochLength ? PLANNED_EPOCHS : 1,
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
    committees,
  };
}

/**
 * Committee changes the way staking makes them: each epoch from 2 on, a member
 * may leave, a pool node may join, a stake may change; never below 4 members,
 * and the Byzantine nodes always hold less than a third of the stake.
 */
function planCommittees(
  rng: Rng,
  genesisStakes: bigint[],
  pool: number,
  byzantine: Set<number>,
  epochs: number,
): CommitteePlan[] {
  const first: CommitteePlan = { members: genesisStakes.map((_, i) => i), stakes: [...genesisStakes] };
  const plans = [first, first];
  const byzantineOk = (p: CommitteePlan) => {
    const total = p.stakes.reduce((a, b) => a + b, 0n);
    const byz = p.members.reduce((s, m, i) => (byzantine.has(m) ? s + (p.stakes[i] as bigint) : s), 0n);
    return !exceedsOneThird(byz, total) && byz * 3n !== total;
  };
  for (let e = 2; e < epochs; e++) {
    const prev = plans[e - 1] as CommitteePlan;
    const next: CommitteePlan = { members: [...prev.members], stakes: [...prev.stakes] };
    if (next.members.length > 4 && rng.chance(0.4)) {
      const i = rng.int(next.members.length);
      next.members.splice(i, 1);
      next.stakes.splice(i, 1);
    }
    const outside = [...Array(pool).keys()].filter((m) => !next.members.includes(m));
    if (outside.length > 0 && next.members.length < 31 && rng.chance(0.5)) {
      next.members.push(rng.pick(outside));
      next.stakes.push(BigInt(50 + rng.int(151)));
    }
    if (rng.chance(0.3)) next.stakes[rng.int(next.stakes.length)] = BigInt(50 + rng.int(151));
    // Staking orders a committee by key; here a shuffle stands in, so indexes move between epochs.
    const order = rng.shuffle([...next.members.keys()]);
    const shuffled = {
      members: order.map((i) => next.members[i] as number),
      stakes: order.map((i) => next.stakes[i] as bigint),
    };
    plans.push(byzantineOk(shuffled) ? shuffled : { members: [...prev.members], stakes: [...prev.stakes] });
  }
  return plans;
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
