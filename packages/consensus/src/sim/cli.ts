/**
 * `npm run sim -- --seeds 1000 --validators 7 --byzantine 2 --crash 1`
 *
 * Runs one scenario per seed and prints a line for each, ending in
 * `violations: N`. A failing seed prints the command that replays it exactly.
 */
import "@ordo/core";
import { fork } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { blstBackend, nobleBackend } from "@ordo/core";
import {
  DEFAULT_SIMULATION,
  MUTATIONS,
  type MutationName,
  runSimulation,
  type SimulationOptions,
  type SimulationResult,
} from "./simulation.js";

const HELP = `Usage: npm run sim -- [options]

Runs the deterministic consensus simulator, one scenario per seed.

Options:
  --seeds N          number of seeds to run, starting at --start (default 100)
  --start N          first seed (default 1)
  --seed N           run exactly this seed (replay a failure)
  --validators N     validators, 4 to 31 (default 7)
  --byzantine N      Byzantine validators, kept below a third of stake (default 2)
  --crash N          honest validators that crash and restart from disk (default 1)
  --twins MODE       on | off | auto: run one Byzantine validator as two instances with one key (default auto)
  --fault-ms MS      virtual length of the faulty phase before faults heal (default 3000)
  --epoch-length N   blocks per epoch, 2 or more; committees change at each boundary (default 0: one epoch)
  --observers N      nodes outside the genesis committee that follow and may join later ones (default 0)
  --boundary-faults  crash the leaders around each epoch's last block as it is proposed
  --staking          committees from each node's staking ledger: joins, leaves and evidence in blocks
  --bls NAME         blst | noble (default blst)
  --mutate NAME      disable a safety rule to show the simulator catches it: ${Object.keys(MUTATIONS).join(", ")}
  --jobs N           worker processes (default: available cores)
  --quiet            print only failing seeds and the summary
  --help             this text
`;

interface Job {
  seeds: number[];
  options: Omit<SimulationOptions, "seed" | "bls"> & { blsName: "blst" | "noble" };
}

interface Line {
  seed: number;
  text: string;
  ok: boolean;
  result: Pick<SimulationResult, "violations">;
}

function describe(r: SimulationResult, o: Job["options"], ms: number): string {
  const s = r.scenario;
  const byz = [...s.byzantine.entries()]
    .map(([v, b]) => (s.twin === v ? `${v}:twins` : `${v}:${b.join("+")}`))
    .join(" ");
  return [
    `seed=${r.seed}`,
    `n=${o.validators}`,
    `byzantine=[${byz}]`,
    `crashes=${s.crashes.length}`,
    `partitions=${s.partitions.length}`,
    `drop=${s.dropRate}`,
    `rounds=${r.rounds}`,
    `height=${r.minHeight}..${r.maxHeight}`,
    `msgs=${r.messages}`,
    `dropped=${r.dropped}`,
    `garbage=${r.decodeErrors}`,
    `evidence=${r.evidence}`,
    `virtual=${(r.virtualMs / 1000).toFixed(1)}s`,
    `cpu=${ms.toFixed(0)}ms`,
    `violations: ${r.violations.length}`,
  ].join(" ");
}

function runJob(job: Job, emit: (line: Line) => void): void {
  const { blsName, ...options } = job.options;
  const bls = blsName === "noble" ? nobleBackend : blstBackend;
  for (const seed of job.seeds) {
    const t0 = performance.now();
    const result = runSimulation({ ...options, seed, bls });
    const text = describe(result, job.options, performance.now() - t0);
    emit({ seed, text, ok: result.violations.length === 0, result: { violations: result.violations } });
  }
}

function replayCommand(seed: number, o: Job["options"]): string {
  const parts = [
    `npm run sim -- --seed ${seed} --validators ${o.validators} --byzantine ${o.byzantine} --crash ${o.crash}`,
    `--twins ${o.twins === "auto" ? "auto" : o.twins ? "on" : "off"} --fault-ms ${o.faultMs}`,
  ];
  if (o.epochLength) parts.push(`--epoch-length ${o.epochLength}`);
  if (o.observers) parts.push(`--observers ${o.observers}`);
  if (o.boundaryFaults) parts.push("--boundary-faults");
  if (o.staking) parts.push("--staking");
  if (o.blsName !== "blst") parts.push(`--bls ${o.blsName}`);
  if (o.mutation) parts.push(`--mutate ${o.mutation}`);
  return parts.join(" ");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seeds: { type: "string" },
      start: { type: "string" },
      seed: { type: "string" },
      validators: { type: "string" },
      byzantine: { type: "string" },
      crash: { type: "string" },
      twins: { type: "string" },
      "fault-ms": { type: "string" },
      "epoch-length": { type: "string" },
      observers: { type: "string" },
      "boundary-faults": { type: "boolean" },
      staking: { type: "boolean" },
      bls: { type: "string" },
      mutate: { type: "string" },
      jobs: { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const int = (name: string, v: string | undefined, dflt: number, lo: number, hi: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi)
      throw new UsageError(`--${name} must be an integer from ${lo} to ${hi}, got "${v}"`);
    return n;
  };
  const validators = int("validators", values.validators, DEFAULT_SIMULATION.validators, 4, 31);
  const byzantine = int(
    "byzantine",
    values.byzantine,
    DEFAULT_SIMULATION.byzantine,
    0,
    Math.floor((validators - 1) / 3),
  );
  const crash = int("crash", values.crash, DEFAULT_SIMULATION.crash, 0, validators - byzantine);
  const twinsArg = values.twins ?? "auto";
  if (!["on", "off", "auto"].includes(twinsArg))
    throw new UsageError(`--twins must be on, off or auto, got "${twinsArg}"`);
  const blsName = (values.bls ?? "blst") as "blst" | "noble";
  if (blsName !== "blst" && blsName !== "noble")
    throw new UsageError(`--bls must be blst or noble, got "${values.bls}"`);
  const mutation = values.mutate as MutationName | undefined;
  if (mutation !== undefined && !(mutation in MUTATIONS))
    throw new UsageError(`unknown mutation "${mutation}"; choose one of: ${Object.keys(MUTATIONS).join(", ")}`);
  const seeds: number[] = [];
  if (values.seed !== undefined) seeds.push(int("seed", values.seed, 1, 0, 2 ** 32 - 1));
  else {
    const start = int("start", values.start, 1, 0, 2 ** 32 - 1);
    const count = int("seeds", values.seeds, 100, 1, 10_000_000);
    for (let i = 0; i < count; i++) seeds.push(start + i);
  }
  if (values["epoch-length"] === "1") throw new UsageError("--epoch-length must be 0 (one epoch) or at least 2");
  if (values.staking && !values["epoch-length"]) throw new UsageError("--staking needs --epoch-length N (N ≥ 2)");
  const options: Job["options"] = {
    ...DEFAULT_SIMULATION,
    validators,
    byzantine,
    crash,
    twins: twinsArg === "auto" ? "auto" : twinsArg === "on",
    faultMs: int("fault-ms", values["fault-ms"], DEFAULT_SIMULATION.faultMs, 100, 600_000),
    epochLength: int("epoch-length", values["epoch-length"], 0, 0, 1_000_000),
    observers: int("observers", values.observers, 0, 0, 31 - validators),
    boundaryFaults: values["boundary-faults"] === true,
    staking: values.staking === true,
    blsName,
    ...(mutation ? { mutation } : {}),
  };
  const jobs = Math.min(int("jobs", values.jobs, availableParallelism(), 1, 64), seeds.length);

  const t0 = performance.now();
  const failures: number[] = [];
  const pending = new Map<number, Line>();
  let nextIndex = 0;
  const print = (line: Line) => {
    pending.set(line.seed, line);
    // Print in seed order whatever order the workers finish in.
    while (nextIndex < seeds.length && pending.has(seeds[nextIndex] as number)) {
      const l = pending.get(seeds[nextIndex] as number) as Line;
      pending.delete(l.seed);
      nextIndex++;
      if (!l.ok) {
        failures.push(l.seed);
        process.stdout.write(`${l.text}\n`);
        for (const v of l.result.violations) process.stdout.write(`  violation: ${v}\n`);
        process.stdout.write(`  replay: ${replayCommand(l.seed, options)}\n`);
      } else if (!values.quiet) process.stdout.write(`${l.text}\n`);
      // Quiet runs still show they are alive: a progress line on stderr every tenth of the way.
      if (values.quiet && seeds.length >= 100 && nextIndex % Math.ceil(seeds.length / 10) === 0)
        process.stderr.write(
          `progress: ${nextIndex}/${seeds.length} seeds, ${failures.length} failing, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
        );
    }
  };

  if (jobs <= 1) runJob({ seeds, options }, print);
  else {
    const parts: number[][] = Array.from({ length: jobs }, () => []);
    for (const [i, s] of seeds.entries()) parts[i % jobs]?.push(s);
    await Promise.all(
      parts.map(
        (part) =>
          new Promise<void>((resolve, reject) => {
            // Child processes rather than worker threads: they inherit the TypeScript loader from execArgv.
            const w = fork(fileURLToPath(import.meta.url), [], {
              execArgv: process.execArgv,
              env: { ...process.env, ORDO_SIM_WORKER: "1" },
              stdio: ["ignore", "inherit", "inherit", "ipc"],
            });
            w.send({ seeds: part, options } satisfies Job);
            w.on("message", (line: Line) => print(line));
            w.on("error", reject);
            w.on("exit", (code) =>
              code === 0 ? resolve() : reject(new Error(`simulator worker exited with ${code}`)),
            );
          }),
      ),
    );
  }
  const secs = (performance.now() - t0) / 1000;
  process.stdout.write(
    `summary: ${seeds.length} seeds, ${failures.length} failing${failures.length ? ` (${failures.slice(0, 20).join(", ")})` : ""}, ${secs.toFixed(1)} s on ${jobs} process(es), violations: ${failures.length}\n`,
  );
  return failures.length === 0 ? 0 : 1;
}

class UsageError extends Error {}

if (process.env.ORDO_SIM_WORKER === "1") {
  process.once("message", (job: Job) => {
    const sent: Promise<void>[] = [];
    runJob(job, (line) => sent.push(new Promise((resolve) => process.send?.(line, () => resolve()))));
    void Promise.all(sent).then(() => process.disconnect());
  });
} else {
  main().then(
    (code) => process.exit(code),
    (e) => {
      if (e instanceof UsageError) {
        process.stderr.write(`error: ${e.message}\nRun \`npm run sim -- --help\` for the options.\n`);
        process.exit(2);
      }
      process.stderr.write(`${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
}
