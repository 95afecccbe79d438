/**
 * `npm run bench:da`: the embedded DA layer's costs.
 *
 * Part 1 (here): Reed-Solomon erasure coding of 1 MiB and 8 MiB payloads with 8+8 and 16+16 shards — encode,
 * rebuild in the worst case (m data shards missing, so rebuilt from the remaining data and parity shards), and a
 * plain memory copy of the same payload for scale. Each figure is the median of `--runs` timed runs after as many
 * warm-up runs, in payload bytes per second (MB = 10^6 bytes).
 *
 * Part 2 (to come, see the marked section in `main`): the added finality-to-certificate latency on the devnet.
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { createScalarKernel, createSimdKernel, type Kernel } from "../src/erasure/kernel.js";
import { encodeShardsWith, rebuildPayloadWith } from "../src/erasure/reed-solomon.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "15" },
    kernel: { type: "string", default: "wasm-simd" },
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
  // Reserved for the lead: not implemented yet.
}

await main();
