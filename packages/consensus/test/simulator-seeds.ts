/** Shared by the seed-sweep test files, which vitest runs in parallel. */
import { expect } from "vitest";
import { DEFAULT_SIMULATION, runSimulation, type SimulationOptions } from "../src/sim/simulation.js";

export function sweep(first: number, count: number, o: Partial<SimulationOptions>): void {
  const failures: string[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const r = runSimulation({ ...DEFAULT_SIMULATION, ...o, seed });
    if (r.violations.length > 0)
      failures.push(
        `seed ${seed}: ${r.violations.join("; ")}\n  replay: npm run sim -- --seed ${seed} --validators ${o.validators} --byzantine ${o.byzantine} --crash ${o.crash}${o.epochLength ? ` --epoch-length ${o.epochLength} --observers ${o.observers ?? 0}${o.boundaryFaults ? " --boundary-faults" : ""}${o.staking ? " --staking" : ""}` : ""}`,
      );
  }
  expect(failures).toEqual([]);
}
