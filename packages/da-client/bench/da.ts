/**
 * `npm run bench:da`: the embedded DA layer's costs.
 *
 * Part 1 (here): Reed-Solomon erasure coding of 1 MiB and 8 MiB payloads with 8+8 and 16+16 shards — encode,
 * rebuild in the worst case (m data shards missing, so rebuilt from the remaining data and parity shards), and a
 * plain memory copy of the same payload for scale. Each figure is the median of `--runs` timed runs after as many
 * warm-up runs, in payload bytes per second (MB = 10^6 bytes).
 *
 * Part 2: the finality-to-certificate latency the embedded layer adds on a real devnet (`ordo devnet` as
 * processes: 4 validators over libp2p and LevelDB, validator 0 posting): for each probe transaction, the time
 * from its block's finality to the embedded DA certificate of that block, next to submit→final as the baseline.
 */
import { spawn } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createScalarKernel, createSimdKernel, type Kernel } from "../src/erasure/kernel.js";
import { encodeShardsWith, rebuildPayloadWith } from "../src/erasure/reed-solomon.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "15" },
    kernel: { type: "string", default: "wasm-simd" },
    probes: { type: "string", default: "20" },
    "no-devnet": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("usage: bench:da [--runs 15] [--kernel wasm-simd|scalar]");
  process.exit(0);
}
const RUNS = Number(values.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error("--runs must be a positive integer");
  process.exit(2);
}

function pickKernel(name: string): Kernel {
  if (name === "scalar") return createScalarKernel();
  if (name === "wasm-simd") {
    const kernel = createSimdKernel();
    if (kernel) return kernel;
    console.error("WebAssembly SIMD is not available on this runtime");
    process.exit(2);
  }
  console.error("--kernel must be wasm-simd or scalar");
  process.exit(2);
}

const MiB = 1 << 20;
const PAYLOAD_SIZES = [1 * MiB, 8 * MiB];
const CODES: [k: number, m: number][] = [
  [8, 8],
  [16, 16],
];

/** Deterministic, incompressible-looking payload bytes (xorshift32). */
function payloadOf(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Median seconds of `runs` calls of `f`, after `runs` warm-up calls (JIT, wasm tier-up, page faults). */
function medianSeconds(f: () => unknown, runs: number): number {
  for (let i = 0; i < runs; i++) f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    f();
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return times.length % 2 === 1 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
}

interface ErasureRow {
  payload: string;
  code: string;
  encode: number;
  rebuild: number;
  bufferFrom: number;
  set: number;
}

function benchErasure(kernel: Kernel): ErasureRow[] {
  const rows: ErasureRow[] = [];
  for (const size of PAYLOAD_SIZES) {
    const payload = payloadOf(size);
    const mbps = (seconds: number) => size / 1e6 / seconds;
    const target = new Uint8Array(size);
    const bufferFrom = mbps(medianSeconds(() => Buffer.from(payload), RUNS));
    const set = mbps(medianSeconds(() => target.set(payload), RUNS));
    for (const [k, m] of CODES) {
      const shards = encodeShardsWith(kernel, payload, k, m);
      // The worst case for rebuilding: m data shards gone (all of them when m ≥ k).
      const partial: (Uint8Array | null)[] = [...shards];
      for (let j = 0; j < Math.min(k, m); j++) partial[j] = null;
      const rebuilt = rebuildPayloadWith(kernel, partial, k, m);
      if (!Buffer.from(rebuilt.buffer, rebuilt.byteOffset, rebuilt.length).equals(payload)) {
        throw new Error(`bench: ${k}+${m} rebuilt a different payload`);
      }
      rows.push({
        payload: `${size / MiB} MiB`,
        code: `${k}+${m}`,
        encode: mbps(medianSeconds(() => encodeShardsWith(kernel, payload, k, m), RUNS)),
        rebuild: mbps(medianSeconds(() => rebuildPayloadWith(kernel, partial, k, m), RUNS)),
        bufferFrom,
        set,
      });
    }
  }
  return rows;
}

function printErasureTable(kernel: Kernel, rows: ErasureRow[]): void {
  const cpu = cpus();
  console.log(
    `## Reed-Solomon erasure coding (kernel ${kernel.name}; node ${process.version}; ${cpu.length} × ${cpu[0]?.model ?? "?"})`,
  );
  console.log(`median of ${RUNS} runs after ${RUNS} warm-up runs; MB/s of payload bytes (10^6 B/s)\n`);
  console.log(
    "| payload | k+m | encode MB/s | rebuild MB/s (m data shards missing) | memcpy MB/s (Buffer.from) | memcpy MB/s (Uint8Array.set) | encode / memcpy |",
  );
  console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
  const f = (x: number) => x.toFixed(0);
  for (const r of rows) {
    console.log(
      `| ${r.payload} | ${r.code} | ${f(r.encode)} | ${f(r.rebuild)} | ${f(r.bufferFrom)} | ${f(r.set)} | ${(r.encode / r.bufferFrom).toFixed(3)} |`,
    );
  }
  console.log();
}

async function main(): Promise<void> {
  // ---- Part 1: erasure coding. ----
  const kernel = pickKernel(values.kernel);
  printErasureTable(kernel, benchErasure(kernel));

  // ---- Part 2: added finality-to-certificate latency on the devnet. ----
  if (!values["no-devnet"]) await devnetLatency(Number(values.probes));
}

/** Runs `ordo devnet` (no provers, no L1), sends probes, and times finality and the DA certificate of each. */
async function devnetLatency(probes: number): Promise<void> {
  const root = fileURLToPath(new URL("../../..", import.meta.url));
  const api = (i: number) => `http://127.0.0.1:${28100 + i}`;
  const child = spawn(
    process.execPath,
    [
      "--conditions=source",
      "--import",
      "tsx",
      "packages/sequencer/src/cli/ordo.ts",
      "devnet",
      "--provers",
      "0",
      "--no-l1",
      "--base-port",
      "28000",
      "--api-port",
      "28100",
      "--interval-ms",
      "60000",
    ],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
  );
  const get = async (url: string) => {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      return r.ok ? ((await r.json()) as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  };
  const until = async <T>(f: () => Promise<T | null>, ms: number, what: string): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await f();
      if (v !== null) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  try {
    await until(
      async () => ((await get(`${api(0)}/v1/status`))?.committedHeight as number) > 2 || null,
      120_000,
      "the devnet",
    );
    const final: number[] = [];
    const certified: number[] = [];
    for (let k = 0; k < probes; k++) {
      const t0 = performance.now();
      const r = await fetch(`${api(1)}/v1/namespaces/9/transactions`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: new TextEncoder().encode(`da-probe-${process.pid}-${k}-${Date.now()}`),
      });
      const { hash } = (await r.json()) as { hash: string };
      const height = await until(
        async () => {
          const s = await get(`${api(1)}/v1/transactions/${hash}`);
          return s?.status === "final" ? (s.height as number) : null;
        },
        30_000,
        "finality",
      );
      const tFinal = performance.now();
      await until(
        async () =>
          ((await get(`${api(0)}/v1/blocks/${height}/da`)) as { embedded?: { certificate: unknown } } | null)?.embedded
            ?.certificate ?? null,
        30_000,
        "the DA certificate",
      );
      final.push(tFinal - t0);
      certified.push(performance.now() - tFinal);
      await new Promise((r) => setTimeout(r, 300));
    }
    const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))] as number;
    console.log(`\n## Embedded DA on the devnet (4 validator processes, 8+8 shards, ${probes} probes)\n`);
    console.log("| what | p50 ms | p90 ms | max ms |");
    console.log("| --- | ---: | ---: | ---: |");
    console.log(
      `| submit → final (baseline) | ${p(final, 0.5).toFixed(0)} | ${p(final, 0.9).toFixed(0)} | ${Math.max(...final).toFixed(0)} |`,
    );
    console.log(
      `| final → DA certificate (added) | ${p(certified, 0.5).toFixed(0)} | ${p(certified, 0.9).toFixed(0)} | ${Math.max(...certified).toFixed(0)} |`,
    );
    console.log(`\nadded latency / baseline (p50): ${(p(certified, 0.5) / p(final, 0.5)).toFixed(2)}×`);
  } finally {
    child.kill("SIGINT");
    await new Promise((r) => child.once("exit", r));
  }
}

await main();
