import { describe, expect, it } from "vitest";
import { DEFAULT_SIMULATION, runSimulation, type SimulationOptions } from "../src/sim/simulation.js";
import { sweep } from "./simulator-seeds.js";

const epochs: Partial<SimulationOptions> = { epochLength: 3, observers: 3 };
const run = (seed: number, o: Partial<SimulationOptions> = {}) =>
  runSimulation({ ...DEFAULT_SIMULATION, ...epochs, seed, ...o });

describe("committee changes in the simulator", () => {
  it("switches committees every epoch on a fault-free network: 20 epochs, joins and leaves, nothing skipped", () => {
    const r = run(7, { faultFree: true, byzantine: 0, crash: 0, stopAfterCommits: 60 });
    expect(r.violations).toEqual([]);
    expect(r.epochs).toBeGreaterThanOrEqual(19);
    // The plan really changes who validates: some epoch's committee differs from genesis.
    const genesis = r.scenario.committees[0]?.members.join(",");
    expect(r.scenario.committees.slice(2, 20).some((c) => c.members.join(",") !== genesis)).toBe(true);
  });

  it("keeps safety and liveness over 60 faulty seeds with a committee change every 3 blocks", () => {
    sweep(30_001, 60, { ...epochs, validators: 7, byzantine: 2, crash: 1 });
  }, 600_000);

  it("keeps safety and liveness when the leaders around every boundary crash as the epoch's last block is proposed", () => {
    sweep(40_001, 40, { ...epochs, validators: 7, byzantine: 2, crash: 1, boundaryFaults: true, faultMs: 6000 });
  }, 600_000);

  it("takes committees from each node's staking ledger: joins and leaves change members, evidence in blocks slashes equivocators", () => {
    const calm = run(1, { staking: true, faultFree: true, byzantine: 0, crash: 0, stopAfterCommits: 90 });
    expect(calm.violations).toEqual([]);
    expect(calm.staking?.joins).toBeGreaterThan(0);
    expect(calm.staking?.leaves).toBeGreaterThan(0);
    expect(calm.staking?.membershipChanges).toBeGreaterThan(3);
    // Seed 2's Byzantine validators equivocate; honest validators report it, proposers include the evidence, every ledger jails them.
    const hostile = run(2, { staking: true, faultMs: 8000 });
    expect(hostile.violations).toEqual([]);
    expect(hostile.staking?.evidence).toBeGreaterThan(0);
    expect(hostile.staking?.slashed).toBe(2);
  });

  it("keeps safety and liveness over 40 faulty seeds with staking-decided committees and boundary faults", () => {
    sweep(50_001, 40, { ...epochs, validators: 7, byzantine: 2, crash: 1, staking: true, boundaryFaults: true });
  }, 600_000);

  it("replays an epoch run exactly", () => {
    const a = run(12, { faultMs: 6000 });
    const b = run(12, { faultMs: 6000 });
    expect({ ...a, scenario: undefined }).toEqual({ ...b, scenario: undefined });
    expect(a.epochs).toBeGreaterThan(0);
  });

  it("catches a broken safety rule across epochs: without the last-voted-round check, a double-sign within 60 seeds", () => {
    let caught: string[] = [];
    for (let seed = 1; seed <= 60 && caught.length === 0; seed++)
      caught = run(seed, { epochLength: 2, observers: 2, mutation: "skip-last-voted-round" }).violations;
    expect(caught.join("\n")).toMatch(/double-sign|agreement|prefix/);
  });
});
