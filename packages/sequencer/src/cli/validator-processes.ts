/** A local network of validator OS processes started from a fresh genesis: what `ordo devnet` and `bench:devnet` run. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { genesisCreate } from "./genesis-create.js";

export interface NodeStatus {
  committedHeight: number;
  epoch: number;
  counters: { transactionsFinal: number };
}

/** A validator's `/v1/status`, or null when it does not answer within a second. */
export async function nodeStatus(api: string): Promise<NodeStatus | null> {
  try {
    const r = await fetch(`${api}/v1/status`, { signal: AbortSignal.timeout(1000) });
    return r.ok ? ((await r.json()) as NodeStatus) : null;
  } catch {
    return null;
  }
}

/** SIGTERM to each process still running; resolves when all have exited. */
export async function stopProcesses(procs: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((res) => {
          if (p.exitCode !== null || p.signalCode !== null) return res();
          p.once("exit", () => res());
          p.kill("SIGTERM");
        }),
    ),
  );
}

export interface ValidatorProcesses {
  dir: string;
  apis: string[];
  procs: ChildProcess[];
  /** Resolves once every validator has committed a block; rejects after `timeoutMs`. */
  waitForFinality(timeoutMs: number): Promise<void>;
  /** SIGTERM to every process, waits for their exits, removes the data dir if this created it. */
  stop(): Promise<void>;
}

export async function startValidatorProcesses(o: {
  validators: number;
  basePort: number;
  apiPort: number;
  /** Data dir to use; a fresh temp dir (removed on stop) when absent. */
  dir?: string;
  /** Node arguments that run the `ordo` CLI, e.g. `[...process.execArgv, "path/to/ordo.ts"]`. */
  cli: string[];
  /** Prover keys (and market balances) to create in the genesis (default 3). */
  provers?: number;
  /** Blocks per epoch in the genesis (default: one endless epoch). */
  epochLength?: number;
  /** Runs after the genesis and configs are written, before any validator starts (e.g. to adjust a node.json). */
  beforeStart?: (dir: string) => Promise<void>;
  stdio?: "inherit" | "ignore";
}): Promise<ValidatorProcesses> {
  const n = o.validators;
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), "ordo-devnet-")));
  await genesisCreate([
    "--validators",
    String(n),
    "--out",
    dir,
    "--base-port",
    String(o.basePort),
    "--api-port",
    String(o.apiPort),
    "--provers",
    String(o.provers ?? 3),
    ...(o.epochLength ? ["--epoch-length", String(o.epochLength)] : []),
  ]);
  await o.beforeStart?.(dir);
  const apis = Array.from({ length: n }, (_, i) => `http://127.0.0.1:${o.apiPort + i}`);
  const procs = Array.from({ length: n }, (_, i) =>
    spawn(process.execPath, [...o.cli, "node", "start", "--config", join(dir, `validator-${i}`, "node.json")], {
      stdio: ["ignore", "ignore", o.stdio ?? "inherit"],
    }),
  );
  return {
    dir,
    apis,
    procs,
    async waitForFinality(timeoutMs) {
      const t0 = Date.now();
      for (;;) {
        const statuses = await Promise.all(apis.map(nodeStatus));
        if (statuses.every((s) => s !== null && s.committedHeight > 0)) return;
        const exited = procs.findIndex((p) => p.exitCode !== null);
        if (exited >= 0) throw new Error(`validator ${exited} exited with code ${procs[exited]?.exitCode}`);
        if (Date.now() - t0 > timeoutMs)
          throw new Error(`the validators did not reach finality within ${timeoutMs / 1000} s; see their logs`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async stop() {
      await stopProcesses(procs);
      if (o.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}
