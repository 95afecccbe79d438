/**
 * `npm run bench:consensus`: the consensus core's throughput with N validators
 * in one process and zero simulated latency, so the figure is the protocol's
 * CPU cost (signing, verification, hashing, encoding), not the network.
 *
 * Baseline, measured in the same process: one BLS signature verification with
 * the same backend. "commit / verify" says how many single verifications' worth
 * of CPU one committed block costs across all N validators.
 */
import "@ordo/core";
import { type BlsBackend, blstBackend, generateValidatorKey, nobleBackend, sha256 } from "@ordo/core";
import { DEFAULT_SIMULATION, runSimulation } from "../src/sim/simulation.js";

interface Counts {
  sign: number;
  verify: number;
}

function counting(inner: BlsBackend, counts: Counts): BlsBackend {
  return {
    ...inner,
    sign: (sk, m) => {
      counts.sign++;
      return inner.sign(sk, m);
    },
    verify: (pk, m, s) => {
      counts.verify++;
      return inner.verify(pk, m, s);
    },
    fastAggregateVerify: (pks, m, s) => {
      counts.verify++;
      return inner.fastAggregateVerify(pks, m, s);
    },
    aggregateVerify: (pks, ms, s) => {
      counts.verify++;
      return inner.aggregateVerify(pks, ms, s);
    },
  };
}

/** The baselines, timed in this process: one signature and one verification with `bls`. */
function singleOperationMs(bls: BlsBackend, iterations: number): { signMs: number; verifyMs: number } {
  const key = generateValidatorKey(bls, sha256(new Uint8Array([1])));
  const msg = sha256(new Uint8Array([2]));
  const sig = bls.sign(key.secretKey, msg);
  bls.verify(key.publicKey, msg, sig);
  let t0 = performance.now();
  for (let i = 0; i < iterations; i++) bls.sign(key.secretKey, msg);
  const signMs = (performance.now() - t0) / iterations;
  t0 = performance.now();
  for (let i = 0; i < iterations; i++) bls.verify(key.publicKey, msg, sig);
  return { signMs, verifyMs: (performance.now() - t0) / iterations };
}

const SIZES = [4, 7, 16, 31];
const COMMITS: Record<string, number[]> = { blst: [400, 200, 80, 40], noble: [6, 4, 3, 2] };
const quick = process.argv.includes("--quick");

interface Row {
  backend: string;
  validators: number;
  commits: number;
  commitsPerSec: number;
  cpuMsPerCommit: number;
  verifiesPerCommit: number;
  signsPerCommit: number;
  ratio: number;
}

const rows: Row[] = [];
for (const [name, bls] of [
  ["blst", blstBackend],
  ["noble", nobleBackend],
] as const) {
  const { signMs, verifyMs } = singleOperationMs(bls, name === "blst" ? 500 : 5);
  process.stderr.write(
    `${name}: one verification = ${verifyMs.toFixed(2)} ms (baseline), one signature = ${signMs.toFixed(2)} ms\n`,
  );
  SIZES.forEach((n, k) => {
    const target = Math.max(2, Math.round((COMMITS[name]?.[k] ?? 2) / (quick ? 10 : 1)));
    const counts: Counts = { sign: 0, verify: 0 };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const r = runSimulation({
      ...DEFAULT_SIMULATION,
      seed: 1,
      validators: n,
      byzantine: 0,
      crash: 0,
      faultFree: true,
      zeroLatency: true,
      shareVerification: false,
      checkCommits: false,
      bls: counting(bls, counts),
      stopAfterCommits: target,
      maxTransactionsPerBlock: 4,
    });
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (r.violations.length > 0) throw new Error(`benchmark run violated safety: ${r.violations.join("; ")}`);
    const commits = r.minHeight;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    rows.push({
      backend: name,
      validators: n,
      commits,
      commitsPerSec: commits / (wall / 1000),
      cpuMsPerCommit: cpuMs / commits,
      verifiesPerCommit: counts.verify / commits,
      signsPerCommit: counts.sign / commits,
      ratio: cpuMs / commits / verifyMs,
    });
    process.stderr.write(`  ${name} n=${n}: ${commits} commits in ${(wall / 1000).toFixed(1)} s\n`);
  });
}

const header =
  "| validators | BLS | commits | commits/s | CPU ms / commit | verifications / commit | signatures / commit | commit / verify |";
const lines = [header, "|---:|---|---:|---:|---:|---:|---:|---:|"];
for (const n of SIZES) {
  for (const r of rows.filter((x) => x.validators === n)) {
    lines.push(
      `| ${n} | ${r.backend} | ${r.commits} | ${r.commitsPerSec.toFixed(1)} | ${r.cpuMsPerCommit.toFixed(2)} | ${r.verifiesPerCommit.toFixed(1)} | ${r.signsPerCommit.toFixed(1)} | ${r.ratio.toFixed(1)}× |`,
    );
  }
}
const speedups = SIZES.map((n) => {
  const a = rows.find((r) => r.validators === n && r.backend === "blst");
  const b = rows.find((r) => r.validators === n && r.backend === "noble");
  return a && b ? `${n}: ${(b.cpuMsPerCommit / a.cpuMsPerCommit).toFixed(0)}×` : "";
});
process.stdout.write(
  `${lines.join("\n")}\n\nnative vs pure-JS CPU per commit (pure-JS / native) — ${speedups.join(", ")}\n`,
);
