/**
 * `ordo devnet`: a whole local network in one command. Creates a fresh genesis,
 * starts each validator as its own OS process with its own data dir and ports,
 * waits for finality, prints the endpoints, then a status line every few
 * seconds, and stops everything cleanly on Ctrl-C.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { genesisCreate } from "./genesis-create.js";

interface Status {
  committedHeight: number;
  counters: { transactionsFinal: number };
}

async function status(api: string): Promise<Status | null> {
  try {
    const r = await fetch(`${api}/v1/status`, { signal: AbortSignal.timeout(1000) });
    return r.ok ? ((await r.json()) as Status) : null;
  } catch {
    return null;
  }
}

/** Submits one probe transaction and resolves with its submit→final latency (ms), or null. */
async function probe(api: string, k: number): Promise<number | null> {
  const t0 = performance.now();
  try {
    const r = await fetch(`${api}/v1/namespaces/4242/transactions`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: new TextEncoder().encode(`devnet-probe-${process.pid}-${k}-${Date.now()}`),
    });
    if (r.status !== 202) return null;
    const { hash } = (await r.json()) as { hash: string };
    for (let i = 0; i < 100; i++) {
      const s = (await (await fetch(`${api}/v1/transactions/${hash}`)).json()) as { status: string };
      if (s.status === "final") return performance.now() - t0;
      await new Promise((res) => setTimeout(res, 20));
    }
  } catch {
    // a validator restarting: no sample this time
  }
  return null;
}

export async function devnet(args: string[], help: string, cli: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      validators: { type: "string" },
      "base-port": { type: "string" },
      "api-port": { type: "string" },
      dir: { type: "string" },
      "interval-ms": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return void process.stdout.write(help);
  const n = Number(values.validators ?? 4);
  if (!Number.isInteger(n) || n < 1 || n > 31) throw new Error(`--validators must be an integer from 1 to 31`);
  const basePort = Number(values["base-port"] ?? 9000);
  const apiPort = Number(values["api-port"] ?? 8000);
  const interval = Number(values["interval-ms"] ?? 3000);
  const dir = values.dir ?? (await mkdtemp(join(tmpdir(), "ordo-devnet-")));
  const removeDir = values.dir === undefined;
  await genesisCreate([
    "--validators",
    String(n),
    "--out",
    dir,
    "--base-port",
    String(basePort),
    "--api-port",
    String(apiPort),
  ]);
  const apis = Array.from({ length: n }, (_, i) => `http://127.0.0.1:${apiPort + i}`);
  const procs: ChildProcess[] = [];
  for (let i = 0; i < n; i++) {
    procs.push(
      spawn(
        process.execPath,
        [...process.execArgv, ...cli, "node", "start", "--config", join(dir, `validator-${i}`, "node.json")],
        {
          stdio: ["ignore", "ignore", "inherit"],
        },
      ),
    );
  }
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("\nstopping the devnet...\n");
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((res) => {
            if (p.exitCode !== null) return res();
            p.once("exit", () => res());
            p.kill("SIGTERM");
          }),
      ),
    );
    if (removeDir) await rm(dir, { recursive: true, force: true });
    process.exit(code);
  };
  process.once("SIGINT", () => void stop(0));
  process.once("SIGTERM", () => void stop(0));

  process.stdout.write(`starting ${n} validators (data in ${dir})...\n`);
  const t0 = Date.now();
  for (;;) {
    const heights = await Promise.all(apis.map(status));
    if (heights.every((s) => s !== null && s.committedHeight > 0)) break;
    if (Date.now() - t0 > 60_000) {
      process.stderr.write("error: the devnet did not reach finality within 60 s; see the validator logs above\n");
      await stop(1);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  process.stdout.write(`finalizing after ${((Date.now() - t0) / 1000).toFixed(1)} s. Endpoints:\n`);
  for (const [i, api] of apis.entries())
    process.stdout.write(`  validator ${i}: ${api}  (P2P 127.0.0.1:${basePort + i})\n`);
  process.stdout.write(
    `submit: curl -X POST -H 'content-type: application/json' -d '{"data":"aGVsbG8="}' ${apis[0]}/v1/namespaces/7/transactions\nCtrl-C stops the devnet.\n`,
  );

  let last = { at: Date.now(), final: 0 };
  const latencies: number[] = [];
  let k = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, interval));
    const sample = await probe(apis[k % n] as string, k);
    k++;
    if (sample !== null) latencies.push(sample);
    if (latencies.length > 50) latencies.shift();
    const statuses = await Promise.all(apis.map(status));
    const up = statuses.filter((s) => s !== null) as Status[];
    const height = Math.max(0, ...up.map((s) => s.committedHeight));
    const final = Math.max(0, ...up.map((s) => s.counters.transactionsFinal));
    const now = Date.now();
    const tps = ((final - last.final) * 1000) / (now - last.at);
    last = { at: now, final };
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = sorted.length ? `${Math.round(sorted[Math.floor(sorted.length / 2)] as number)} ms` : "n/a";
    process.stdout.write(
      `height ${height}  tx/s ${tps.toFixed(1)}  p50 submit→final ${p50}  validators up ${up.length}/${n}\n`,
    );
  }
}
