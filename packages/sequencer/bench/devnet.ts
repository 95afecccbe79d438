/**
 * `npm run bench:devnet`: 4 validator processes on loopback under a rising
 * offered load of 256-byte transactions over 10 namespaces, then, in the same
 * run, the raw-transport baseline between the same 4 libp2p identities and
 * ports (each its own process, no consensus) and the ratio between the two.
 *
 * Per step it prints offered, accepted and finalized tx/s, finalized MB/s,
 * p50/p99 submit→final latency (probe transactions followed over the
 * namespace WebSocket stream), and CPU% and RSS of every validator process.
 * The load generator runs in this process, on the same cores.
 */
import "@ordo/core";
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { nodeStatus, startValidatorProcesses } from "../src/cli/validator-processes.js";

const HERE = import.meta.dirname ?? new URL(".", import.meta.url).pathname;
const CLI = resolve(HERE, "../src/cli/ordo.ts");
const TX_BYTES = 256;
const NAMESPACES = 10;
const PROBE_NAMESPACE = 1000;
const TXS_PER_REQUEST = 256;
const MAX_INFLIGHT = 48;

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "1000,2500,5000,10000,20000,40000" },
    seconds: { type: "string", default: "8" },
    "base-port": { type: "string", default: "26000" },
    "api-port": { type: "string", default: "26100" },
    "raw-mib": { type: "string", default: "64" },
    "cpu-prof": { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(
    "usage: bench:devnet [--steps 1000,2500,...] (offered tx/s per step) [--seconds 8] (per step) [--raw-mib 64] [--base-port 26000] [--api-port 26100] [--cpu-prof DIR]",
  );
  process.exit(0);
}
const steps = (values.steps as string).split(",").map(Number);
const seconds = Number(values.seconds);
if (steps.some((s) => !(s > 0)) || !(seconds > 0)) {
  console.error("--steps must be positive numbers and --seconds positive");
  process.exit(2);
}

// ── /proc readings ─────────────────────────────────────────────────────────

const CLOCK_TICKS = 100; // USER_HZ on Linux
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}
const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};

// ── the devnet ───────────────────────────────────────────────────────────────

const basePort = Number(values["base-port"]);
// Our own dir (not the default temp one `stop` removes): the raw baseline reuses its keys and ports.
const dir = await mkdtemp(join(tmpdir(), "ordo-bench-devnet-"));
const net = await startValidatorProcesses({
  dir,
  validators: 4,
  basePort,
  apiPort: Number(values["api-port"]),
  // --cpu-prof DIR: each validator writes a V8 CPU profile there when it stops.
  cli: [
    ...(values["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${values["cpu-prof"]}`] : []),
    ...process.execArgv,
    CLI,
  ],
});
const pids = net.procs.map((p) => p.pid as number);
process.once(
  "SIGINT",
  () => void net.stop().then(() => rm(dir, { recursive: true, force: true }).then(() => process.exit(130))),
);
console.log(
  `bench:devnet: 4 validator processes on 127.0.0.1, ${availableParallelism()} cores, node ${process.version}; load generator in this process`,
);
await net.waitForFinality(60_000);
await new Promise((r) => setTimeout(r, 3_000));
const idleRss = pids.map(rssMb);
console.log(`idle RSS per node: ${idleRss.map((r) => `${r.toFixed(0)} MB`).join(", ")}\n`);

// Probe transactions: submitted one by one, their finality seen on validator 0's stream.
const probeSent = new Map<string, number>();
const probeLatency = new Map<string, number>();
const latest = (await nodeStatus(net.apis[0] as string))?.committedHeight ?? 0;
const stream = new WebSocket(
  `${net.apis[0]?.replace("http", "ws")}/v1/namespaces/${PROBE_NAMESPACE}/stream?from=${latest + 1}`,
);
stream.on("message", (data) => {
  const now = performance.now();
  const m = JSON.parse(data.toString()) as { transactions: string[] };
  for (const t of m.transactions) {
    const id = Buffer.from(t, "base64").subarray(0, 32).toString();
    const sent = probeSent.get(id);
    if (sent !== undefined && !probeLatency.has(id)) probeLatency.set(id, now - sent);
  }
});
await new Promise((r) => stream.once("open", r));

let txCounter = 0;
function batchBody(count: number): Buffer {
  const body = randomBytes(count * (4 + TX_BYTES));
  for (let i = 0; i < count; i++) {
    const at = i * (4 + TX_BYTES);
    body.writeUInt32BE(TX_BYTES, at);
    body.writeDoubleBE(txCounter++, at + 4); // unique, so no two transactions collide
  }
  return body;
}

interface StepResult {
  offered: number;
  accepted: number;
  finalized: number;
  p50: number;
  p99: number;
  probesLost: number;
  cpu: number[];
  rss: number[];
  errors: string;
}

async function runStep(rate: number): Promise<StepResult> {
  const finalBefore = (await nodeStatus(net.apis[0] as string))?.counters.transactionsFinal ?? 0;
  const ticksBefore = pids.map(cpuTicks);
  const errors = new Map<string, number>();
  const stepProbes: string[] = [];
  let accepted = 0;
  let due = 0;
  let sent = 0;
  let inflight = 0;
  let request = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let nextProbe = start;
  // As a rollup's batcher would: about 40 requests a second, each with up to 256 transactions.
  const chunk = Math.min(TXS_PER_REQUEST, Math.max(1, Math.ceil(rate / 40)));
  while (performance.now() < end) {
    const now = performance.now();
    due = Math.floor(((now - start) / 1000) * rate);
    while (due - sent >= chunk && inflight < MAX_INFLIGHT) {
      const count = chunk;
      sent += count;
      inflight++;
      const api = net.apis[request % 4] as string;
      const ns = 1 + (request % NAMESPACES);
      request++;
      fetch(`${api}/v1/namespaces/${ns}/transactions/batch`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: batchBody(count),
      })
        .then(async (r) => {
          const body = (await r.json()) as { accepted?: number; results?: { error?: { code: string } }[] };
          if (r.status === 202) {
            accepted += body.accepted ?? 0;
            for (const x of body.results ?? [])
              if (x.error) errors.set(x.error.code, (errors.get(x.error.code) ?? 0) + 1);
          } else errors.set(`HTTP ${r.status}`, (errors.get(`HTTP ${r.status}`) ?? 0) + count);
        })
        .catch(() => errors.set("FETCH_FAILED", (errors.get("FETCH_FAILED") ?? 0) + count))
        .finally(() => {
          inflight--;
        });
    }
    if (now >= nextProbe) {
      nextProbe += 50;
      const id = `probe-${String(probeSent.size).padStart(26, "0")}`;
      const data = Buffer.alloc(TX_BYTES);
      data.write(id);
      probeSent.set(id, performance.now());
      stepProbes.push(id);
      void fetch(`${net.apis[probeSent.size % 4]}/v1/namespaces/${PROBE_NAMESPACE}/transactions`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: data,
      }).catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const elapsed = (performance.now() - start) / 1000;
  const ticksAfter = pids.map(cpuTicks);
  const finalAfter = (await nodeStatus(net.apis[0] as string))?.counters.transactionsFinal ?? 0;
  const rss = pids.map(rssMb);
  // Let this step's probes land (or count them lost) before the next step starts.
  const waitUntil = performance.now() + 10_000;
  while (stepProbes.some((p) => !probeLatency.has(p)) && performance.now() < waitUntil)
    await new Promise((r) => setTimeout(r, 50));
  while (inflight > 0) await new Promise((r) => setTimeout(r, 10));
  const latencies = stepProbes.flatMap((p) => (probeLatency.has(p) ? [probeLatency.get(p) as number] : []));
  return {
    offered: sent / elapsed,
    accepted: accepted / elapsed,
    finalized: (finalAfter - finalBefore) / elapsed,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    probesLost: stepProbes.length - latencies.length,
    cpu: ticksAfter.map((t, i) => ((t - (ticksBefore[i] as number)) / CLOCK_TICKS / elapsed) * 100),
    rss,
    errors: [...errors].map(([k, v]) => `${k}×${v}`).join(" "),
  };
}

const results: StepResult[] = [];
console.log(
  "offered tx/s | accepted tx/s | finalized tx/s | finalized MB/s | p50 ms | p99 ms | CPU % per node | RSS MB per node | refused",
);
for (const rate of steps) {
  const r = await runStep(rate);
  results.push(r);
  console.log(
    [
      r.offered.toFixed(0),
      r.accepted.toFixed(0),
      r.finalized.toFixed(0),
      ((r.finalized * TX_BYTES) / 1e6).toFixed(2),
      r.p50.toFixed(0),
      `${r.p99.toFixed(0)}${r.probesLost ? ` (${r.probesLost} probes not final in 10 s)` : ""}`,
      r.cpu.map((c) => c.toFixed(0)).join("/"),
      r.rss.map((m) => m.toFixed(0)).join("/"),
      r.errors || "-",
    ].join(" | "),
  );
  if (r.p50 > 5_000 || r.probesLost > 0) {
    console.log("(saturated: stopping the ramp)");
    break;
  }
}
stream.close();
await net.stop();

// ── the raw-transport baseline: the same 4 identities and ports, no consensus ─────

const rawMib = Number(values["raw-mib"]);
const frameBytes = 64 * 1024;
const framesPerPeer = Math.ceil((rawMib * 1024 * 1024) / frameBytes / 4);
const tag = randomBytes(8).toString("hex");
const peers = [0, 1, 2, 3].map((i) =>
  fork(
    resolve(HERE, "raw-peer.ts"),
    [
      "--config",
      join(net.dir, `validator-${i}`, "node.json"),
      "--frames",
      String(framesPerPeer),
      "--frame-bytes",
      String(frameBytes),
      "--tag",
      tag,
    ],
    { execArgv: process.execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] },
  ),
);
const waitAll = (type: string) =>
  Promise.all(
    peers.map(
      (p) =>
        new Promise<void>((res, rej) => {
          const on = (m: { type: string; message?: string }) => {
            if (m.type === type) {
              p.off("message", on);
              res();
            } else if (m.type === "error") rej(new Error(m.message));
          };
          p.on("message", on);
        }),
    ),
  );
await waitAll("ready");
const t0 = performance.now();
for (const p of peers) p.send({ type: "go" });
await waitAll("done");
const rawSeconds = (performance.now() - t0) / 1000;
for (const p of peers) p.send({ type: "stop" });
const rawMbPerSecond = (framesPerPeer * 4 * frameBytes) / 1e6 / rawSeconds;
const best = Math.max(...results.map((r) => (r.finalized * TX_BYTES) / 1e6));
console.log(
  `\nraw transport, same 4 identities and ports as separate processes, no consensus: ${rawMbPerSecond.toFixed(1)} MB/s unique payload (64 KiB frames, ${rawMib} MiB)`,
);
console.log(
  `best finalized: ${best.toFixed(2)} MB/s = ${((best / rawMbPerSecond) * 100).toFixed(1)}% of the raw transport`,
);
await Promise.all(peers.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once("exit", r)))));
await rm(dir, { recursive: true, force: true });
