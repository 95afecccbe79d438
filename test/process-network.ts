/** Starts a local network of validator OS processes through the `ordo` CLI, for end-to-end tests. */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const CLI = join(ROOT, "packages/sequencer/src/cli/ordo.ts");
const NODE_ARGS = ["--conditions=source", "--import", "tsx", CLI];

export interface ProcessNetwork {
  dir: string;
  api: (i: number) => string;
  start(i: number): void;
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export async function startProcessNetwork(n: number, basePort: number): Promise<ProcessNetwork> {
  const dir = await mkdtemp(join(tmpdir(), "ordo-e2e-"));
  const created = spawnSync(
    process.execPath,
    [
      ...NODE_ARGS,
      "genesis",
      "create",
      "--validators",
      String(n),
      "--out",
      dir,
      "--base-port",
      String(basePort),
      "--api-port",
      String(basePort + 100),
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  if (created.status !== 0) throw new Error(`genesis create failed: ${created.stderr}`);
  const procs: (ChildProcess | null)[] = Array.from({ length: n }, () => null);
  const net: ProcessNetwork = {
    dir,
    api: (i) => `http://127.0.0.1:${basePort + 100 + i}`,
    start(i) {
      procs[i] = spawn(
        process.execPath,
        [...NODE_ARGS, "node", "start", "--config", join(dir, `validator-${i}`, "node.json")],
        {
          cwd: ROOT,
          stdio: ["ignore", "ignore", "inherit"],
        },
      );
    },
    async kill(i, signal = "SIGKILL") {
      const p = procs[i];
      if (!p || p.exitCode !== null) return;
      const exited = new Promise((r) => p.once("exit", r));
      p.kill(signal);
      await exited;
      procs[i] = null;
    },
    async stop() {
      for (let i = 0; i < n; i++) await net.kill(i, "SIGKILL");
      await rm(dir, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < n; i++) net.start(i);
  return net;
}

export async function waitFor<T>(
  f: () => Promise<T | undefined | null | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
}

export async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}
