/** The chaos fault plan is a pure function of its seed and keeps its promises about how many validators are out. */
import { describe, expect, it } from "vitest";
import { checkLiveness } from "./chaos/checks.js";
import {
  faultTolerance,
  planFaults,
  SIDE_FAULTS,
  VALIDATOR_FAULTS,
  type ValidatorFault,
  validatorsOut,
} from "./chaos/schedule.js";

const plan = (seed: number, validators = 4, minutes = 10) =>
  planFaults({ seed, durationMs: minutes * 60_000, validators, provers: 2 });

describe("planFaults", () => {
  it("gives the same plan for the same seed, and another for another seed", () => {
    expect(plan(7)).toStrictEqual(plan(7));
    expect(plan(7)).not.toStrictEqual(plan(8));
  });

  it("never takes more than f validators out at once, and never overlaps episodes of a track", () => {
    for (let seed = 0; seed < 200; seed++)
      for (const n of [4, 7, 10]) {
        const p = plan(seed, n);
        for (const [k, e] of p.validators.entries()) {
          expect(validatorsOut(e.fault)).toBeLessThanOrEqual(faultTolerance(n));
          const targets = "targets" in e.fault ? e.fault.targets : e.fault.groups.flat();
          for (const v of targets) expect(v).toBeLessThan(n);
          expect(new Set(targets).size).toBe(targets.length);
          const next = p.validators[k + 1];
          if (next) expect(next.atMs).toBeGreaterThanOrEqual(e.atMs + e.durationMs);
          expect(e.atMs + e.durationMs).toBeLessThanOrEqual(10 * 60_000);
        }
      }
  });

  it("splits the committee into two halves with no member on both sides", () => {
    const splits = Array.from({ length: 50 }, (_, s) => plan(s).validators)
      .flat()
      .map((e) => e.fault)
      .filter((f): f is Extract<ValidatorFault, { kind: "partition-split" }> => f.kind === "partition-split");
    expect(splits.length).toBeGreaterThan(0);
    for (const { groups } of splits) {
      expect(groups[0].length).toBe(2);
      expect([...groups[0], ...groups[1]].sort()).toStrictEqual([0, 1, 2, 3]);
    }
  });

  it("goes through every kind first, so even a one-minute run sees most of them", () => {
    const p = plan(3, 4, 10);
    expect(new Set(p.validators.slice(0, VALIDATOR_FAULTS.length).map((e) => e.fault.kind))).toStrictEqual(
      new Set(VALIDATOR_FAULTS),
    );
    expect(new Set(p.side.slice(0, SIDE_FAULTS.length).map((e) => e.fault.kind))).toStrictEqual(new Set(SIDE_FAULTS));
    const short = plan(3, 4, 1);
    expect(short.validators.length).toBeGreaterThanOrEqual(4);
  });

  it("draws only the kinds it is given", () => {
    const p = planFaults({ seed: 1, durationMs: 600_000, validators: 4, provers: 0, validatorFaults: ["crash"] });
    expect(new Set(p.validators.map((e) => e.fault.kind))).toStrictEqual(new Set(["crash"]));
    expect(p.side.some((e) => e.fault.kind === "prover-crash" || e.fault.kind === "withheld-reveals")).toBe(false);
  });
});

describe("checkLiveness", () => {
  const timeline = (heights: number[]) => heights.map((h, k) => ({ atMs: k * 2_000, heights: [h, h, null, h] }));

  it("measures the longest time the highest height stood still, and fails it past the bound", () => {
    // 10 -> 11 at 2 s, then still until 32 s.
    const r = checkLiveness(timeline([10, 11, ...Array(14).fill(11), 12]), [], 25_000);
    expect(r.longestMs).toBe(30_000);
    expect(r.ok).toBe(false);
    expect(r.detail).toContain("at height 11, from 2 s to 32 s");
    expect(checkLiveness(timeline([10, 11, ...Array(14).fill(11), 12]), [], 30_000).ok).toBe(true);
  });

  it("does not count time inside a split partition, and counts a stall still going at the end", () => {
    const stuck = timeline([10, 11, ...Array(14).fill(11), 12]);
    expect(checkLiveness(stuck, [{ fromMs: 4_000, toMs: 14_000 }], 25_000)).toMatchObject({
      ok: true,
      longestMs: 20_000,
    });
    expect(checkLiveness(timeline([5, 6, 6, 6, 6]), [], 60_000).longestMs).toBe(6_000);
  });
});
