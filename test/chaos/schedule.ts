/**
 * The fault plan of a chaos run, a pure function of its seed: what happens to
 * which process, when, and for how long. Three tracks run side by side:
 * validators (never more than f of them crashed, cut off, Byzantine or
 * skewed at once; a split partition leaves no side a quorum, and nothing else
 * happens to validators meanwhile), provers, and the infrastructure (the DA
 * layer and the L1). Each track first goes through every kind it has in a
 * seeded order, so even a short run sees most of them.
 */

export type ValidatorFault =
  | { kind: "crash"; targets: number[] }
  | { kind: "partition-minority"; targets: number[] }
  | { kind: "partition-split"; groups: [number[], number[]] }
  | { kind: "slow"; targets: number[] }
  | { kind: "clock-skew"; targets: number[]; skewMs: number }
  | { kind: "byzantine"; targets: number[] };

export type SideFault =
  | { kind: "prover-crash"; prover: number }
  | { kind: "withheld-reveals" }
  | { kind: "da-outage" }
  | { kind: "l1-restart" };

export interface Episode<F> {
  atMs: number;
  durationMs: number;
  fault: F;
}

export interface FaultPlan {
  validators: Episode<ValidatorFault>[];
  side: Episode<SideFault>[];
}

export const VALIDATOR_FAULTS = [
  "crash",
  "partition-minority",
  "partition-split",
  "slow",
  "clock-skew",
  "byzantine",
] as const satisfies readonly ValidatorFault["kind"][];
export const SIDE_FAULTS = [
  "prover-crash",
  "withheld-reveals",
  "da-outage",
  "l1-restart",
] as const satisfies readonly SideFault["kind"][];

/** mulberry32: a small, fast, seedable PRNG (the plan must be the same for the same seed everywhere). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function faultTolerance(n: number): number {
  return Math.floor((n - 1) / 3);
}

function shuffle<T>(xs: readonly T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export interface PlanOptions {
  seed: number;
  durationMs: number;
  validators: number;
  provers: number;
  /** Kinds to draw from (default: all); the others never happen. */
  validatorFaults?: readonly ValidatorFault["kind"][];
  sideFaults?: readonly SideFault["kind"][];
  /** The largest clock skew (ms) a skewed validator gets, either way. */
  maxSkewMs?: number;
}

export function planFaults(o: PlanOptions): FaultPlan {
  const rand = prng(o.seed);
  const between = (lo: number, hi: number) => Math.round(lo + rand() * (hi - lo));
  const n = o.validators;
  const f = faultTolerance(n);
  const pick = (k: number) => shuffle([...Array(n).keys()], rand).slice(0, k);
  const validatorKinds = o.validatorFaults ?? VALIDATOR_FAULTS;
  const sideKinds = (o.sideFaults ?? SIDE_FAULTS).filter(
    (k) => o.provers > 0 || (k !== "prover-crash" && k !== "withheld-reveals"),
  );
  const validatorFault = (kind: ValidatorFault["kind"]): ValidatorFault => {
    const k = Math.max(1, between(1, f));
    switch (kind) {
      case "crash":
        return { kind, targets: pick(k) };
      case "partition-minority":
        return { kind, targets: pick(k) };
      case "partition-split": {
        const order = shuffle([...Array(n).keys()], rand);
        const half = Math.floor(n / 2);
        return { kind, groups: [order.slice(0, half).sort(), order.slice(half).sort()] };
      }
      case "slow":
        return { kind, targets: pick(1) };
      case "clock-skew": {
        const max = o.maxSkewMs ?? 5_000;
        return { kind, targets: pick(1), skewMs: (rand() < 0.5 ? -1 : 1) * between(max / 5, max) };
      }
      case "byzantine":
        return { kind, targets: pick(1) };
    }
  };
  const sideFault = (kind: SideFault["kind"]): SideFault =>
    kind === "prover-crash" ? { kind, prover: between(0, o.provers - 1) } : { kind };

  const track = <K extends string, F>(
    kinds: readonly K[],
    make: (k: K) => F,
    first: number,
    duration: [number, number],
    gap: [number, number],
  ): Episode<F>[] => {
    const out: Episode<F>[] = [];
    if (kinds.length === 0) return out;
    const order = shuffle(kinds, rand);
    let at = first;
    for (let e = 0; ; e++) {
      const durationMs = between(...duration);
      if (at + durationMs > o.durationMs) break;
      const kind = e < order.length ? (order[e] as K) : (kinds[between(0, kinds.length - 1)] as K);
      out.push({ atMs: at, durationMs, fault: make(kind) });
      at += durationMs + between(...gap);
    }
    return out;
  };
  return {
    validators: track(validatorKinds, validatorFault, 3_000, [6_000, 12_000], [2_000, 4_000]),
    side: track(sideKinds, sideFault, 5_000, [5_000, 15_000], [3_000, 8_000]),
  };
}

/** How many validators a fault takes out of the quorum: the schedule keeps it at most f (a split aside). */
export function validatorsOut(fault: ValidatorFault): number {
  return fault.kind === "partition-split" || fault.kind === "slow" ? 0 : fault.targets.length;
}

export function describeFault(fault: ValidatorFault | SideFault): string {
  switch (fault.kind) {
    case "partition-split":
      return `partition ${fault.groups.map((g) => `{${g.join(",")}}`).join(" | ")}`;
    case "clock-skew":
      return `clock-skew validator ${fault.targets.join(",")} by ${fault.skewMs > 0 ? "+" : ""}${fault.skewMs} ms`;
    case "prover-crash":
      return `prover-crash prover ${fault.prover}`;
    case "withheld-reveals":
    case "da-outage":
    case "l1-restart":
      return fault.kind;
    default:
      return `${fault.kind} validator ${fault.targets.join(",")}`;
  }
}
