/**
 * `npm run bench:prover`: real proofs of rollup batches (Groth16; with
 * `--circuit rollup_batch_d4b1`, a Groth16 and a PLONK proof per batch),
 * assigned through the prover market (sealed bids, beacon, bonding, deadlines),
 * against the same proofs made by one designated prover with no market, in one
 * run. A block is `--block-ms` of wall time; the market and the validators'
 * proof checks run as every validator would run them, in this process.
 *
 * Scenarios: (1) one designated prover, no market — the baseline; (2) the
 * market with 3 provers; (3) the market with 3 provers, one of them killed
 * after a third of the batches (its sealed bids go unrevealed, its job misses
 * its deadline and fails over to a backup).
 */
import "@ordo/core";
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import {
  AccountTree,
  type BatchWitness,
  batchCommitment,
  buildWitnessInput,
  CIRCUITS,
  circuitByName,
  type FinalizedBatch,
  loadVerificationKey,
  type MarketEvent,
  type MarketTransaction,
  type ProofBundle,
  ProverAgent,
  ProverMarket,
  proveBatch,
  type RollupCircuit,
  shutdownSnarkjs,
  type Transfer,
  verifyBatch,
} from "../src/index.js";

const { values } = parseArgs({
  options: {
    batches: { type: "string", default: "9" },
    "batch-every": { type: "string", default: "30" },
    "block-ms": { type: "string", default: "100" },
    "deadline-blocks": { type: "string" },
    circuit: { type: "string", default: "rollup_batch" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(
    `usage: bench:prover [--batches 9] [--batch-every 30 (blocks)] [--block-ms 100] [--deadline-blocks 60, or 600 with PLONK] [--circuit ${CIRCUITS.map((c) => c.name).join("|")}]`,
  );
  process.exit(0);
}
const found = circuitByName(values.circuit);
if (!found) {
  console.error(`--circuit must be one of ${CIRCUITS.map((c) => c.name).join(", ")}`);
  process.exit(2);
}
const CIRCUIT: RollupCircuit = found;
// A job must fit its proving time: a PLONK proof takes ~10-30 s here, a Groth16 one ~2-4 s.
const DEADLINE_BLOCKS = Number(values["deadline-blocks"] ?? (CIRCUIT.systems.includes("plonk") ? 600 : 60));
const BATCHES = Number(values.batches);
const BATCH_EVERY = Number(values["batch-every"]);
const BLOCK_MS = Number(values["block-ms"]);
const NS = 42;
const OPERATOR = "rollup-operator";
const verificationKeys = new Map(CIRCUIT.systems.map((system) => [system, loadVerificationKey(CIRCUIT, system)]));

interface RollupBatch {
  batch: FinalizedBatch;
  transfers: Transfer[];
  witness: BatchWitness;
  finalizedAt: number;
}

/** The rollup's finalized batches: full batches of valid transfers, chained state roots. */
function makeBatches(): { state: AccountTree; next(height: number, index: number): RollupBatch } {
  const circuit = CIRCUIT;
  let state = new AccountTree(
    circuit.depth,
    Array.from({ length: 8 }, (_, index) => ({ index, balance: 1_000_000n })),
  );
  const nonces = new Array<bigint>(8).fill(0n);
  let k = 0;
  return {
    state,
    next(height, index) {
      const transfers = Array.from({ length: circuit.batchSize }, (_, j) => {
        const from = (k + j) % 8;
        const tx = { from, to: (from + 3) % 8, amount: 7n, nonce: nonces[from] as bigint };
        nonces[from] = (nonces[from] as bigint) + 1n;
        return tx;
      });
      k += circuit.batchSize;
      const witness = buildWitnessInput(state, transfers, circuit.batchSize);
      state = witness.state;
      return {
        batch: { namespace: NS, height, index, sizeClass: 1 },
        transfers,
        witness,
        finalizedAt: performance.now(),
      };
    },
  };
}

/** The validators' check of a bundle: public inputs recomputed from the batch's transfers, every system's proof valid. */
async function validatorsVerify(b: RollupBatch, bundle: ProofBundle): Promise<boolean> {
  const inputs = { oldRoot: b.witness.oldRoot, newRoot: b.witness.newRoot, commitment: batchCommitment(b.transfers) };
  for (const [system, key] of verificationKeys) {
    const proof = bundle[system];
    if (!proof || !(await verifyBatch(key, inputs, proof, system))) return false;
  }
  return true;
}

/** One proof per system of the circuit, one after another (as a prover daemon makes them). */
async function proveBundle(b: RollupBatch): Promise<ProofBundle> {
  const circuit = CIRCUIT;
  const bundle: ProofBundle = {};
  for (const system of circuit.systems) bundle[system] = (await proveBatch(b.witness, { circuit, system })).proof;
  return bundle;
}

interface Result {
  name: string;
  latencies: number[];
  accepted: number;
  proofsComputed: number;
  proofsWasted: number;
  cpuSeconds: number;
  slashes: number;
  reassigned: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runScenario(name: string, opts: { market: boolean; provers: number; kill?: number }): Promise<Result> {
  const cpu0 = process.cpuUsage();
  const rollup = makeBatches();
  const byKey = new Map<string, RollupBatch>();
  const key = (b: FinalizedBatch) => `${b.height}/${b.index}`;
  const latencies: number[] = [];
  let proofsComputed = 0;
  let proofsWasted = 0;
  let slashes = 0;
  let reassigned = 0;
  const market = new ProverMarket(
    {
      balances: {
        [OPERATOR]: 10_000_000n,
        ...Object.fromEntries(Array.from({ length: opts.provers }, (_, i) => [`prover-${i}`, 100_000n])),
      },
    },
    {
      commitWindow: 2,
      revealWindow: 2,
      slotInterval: 1,
      jobCollateral: 1_000n,
      missPenalty: 2_000n,
      shareWindow: 30,
      maxShare: 0.5,
    },
  );
  const agents = Array.from(
    { length: opts.provers },
    (_, i) =>
      new ProverAgent({ id: `prover-${i}`, price: BigInt(10 + i), randomSalt: () => new Uint8Array(randomBytes(32)) }),
  );
  const dead = new Set<string>();
  const submissions: { from: string; tx: MarketTransaction }[] = [];
  /** Without the market: when each verified proof's batch was finalized; the proof lands in the next block. */
  const verifiedDirect: number[] = [];
  let height = 0;
  const apply = (from: string, tx: MarketTransaction) => market.apply(height, from, tx);
  height++;
  apply(OPERATOR, {
    kind: "register-rollup",
    namespace: NS,
    circuit: CIRCUIT.name,
    verifyingKeyHash: "devnet",
    feeDeposit: 1_000_000n,
    deadlineBlocks: DEADLINE_BLOCKS,
    maxFee: 100n,
  });
  for (const a of agents) apply(a.id, { kind: "register-prover", bond: 10_000n });
  market.endBlock(height);

  let produced = 0;
  let accepted = 0;
  const deadline = performance.now() + 300_000;
  const prove = (prover: string, b: RollupBatch, onDone: (proof: ProofBundle) => void) => {
    proofsComputed++;
    void proveBundle(b).then((proof) => {
      if (dead.has(prover)) {
        proofsWasted++;
        return;
      }
      onDone(proof);
    });
  };
  while (accepted < BATCHES && performance.now() < deadline) {
    height++;
    const events: MarketEvent[] = [];
    const finalized: FinalizedBatch[] = [];
    if (height % BATCH_EVERY === 0 && produced < BATCHES) {
      const b = rollup.next(height, 0);
      byKey.set(key(b.batch), b);
      finalized.push(b.batch);
      produced++;
    }
    if (opts.market) {
      for (const a of agents)
        if (!dead.has(a.id)) for (const tx of a.transactionsFor(market, height)) events.push(...apply(a.id, tx));
      for (const s of submissions.splice(0)) {
        const applied = apply(s.from, s.tx);
        // A bundle the market did not take (its job passed to a backup meanwhile) was computed for nothing.
        if (s.tx.kind === "submit-proof" && !applied.some((e) => e.type === "proof-accepted")) proofsWasted++;
        events.push(...applied);
      }
      events.push(...market.endBlock(height, finalized));
      for (const e of events) {
        if (e.type === "proof-accepted") {
          const job = market.job(e.job);
          const b = byKey.get(key(job?.batch as FinalizedBatch)) as RollupBatch;
          latencies.push(performance.now() - b.finalizedAt);
          accepted++;
          if (opts.kill !== undefined && accepted === Math.ceil(BATCHES / 3)) dead.add(`prover-${opts.kill}`);
        }
        if (e.type === "slashed") slashes++;
        if (e.type === "job-reassigned") reassigned++;
      }
      for (const a of agents) {
        if (dead.has(a.id)) continue;
        for (const job of a.jobsToProve(market)) {
          const b = byKey.get(key(job.batch as FinalizedBatch)) as RollupBatch;
          prove(a.id, b, (proof) => {
            void validatorsVerify(b, proof).then((ok) =>
              submissions.push({
                from: a.id,
                tx: { kind: "submit-proof", job: job.id, verdict: ok ? "valid" : "invalid" },
              }),
            );
          });
        }
      }
    } else {
      // One designated prover, no market: proves each batch at finality, lands the proof in the next block.
      for (const finalizedAt of verifiedDirect.splice(0)) {
        latencies.push(performance.now() - finalizedAt);
        accepted++;
      }
      for (const f of finalized) {
        const b = byKey.get(key(f)) as RollupBatch;
        prove("designated", b, (proof) => {
          void validatorsVerify(b, proof).then((ok) => {
            if (ok) verifiedDirect.push(b.finalizedAt);
          });
        });
      }
    }
    await sleep(BLOCK_MS);
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    name,
    latencies,
    accepted,
    proofsComputed,
    proofsWasted,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    slashes,
    reassigned,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

console.log(
  `bench:prover: ${BATCHES} batches of ${CIRCUIT.batchSize} transfer(s) (${CIRCUIT.name}: RollupBatch(${CIRCUIT.depth}, ${CIRCUIT.batchSize}), ${CIRCUIT.systems.join(" + ")}), one every ${BATCH_EVERY} blocks of ${BLOCK_MS} ms, deadline ${DEADLINE_BLOCKS} blocks; ${availableParallelism()} cores, node ${process.version}`,
);
const results: Result[] = [];
results.push(await runScenario("designated prover, no market (baseline)", { market: false, provers: 1 }));
results.push(await runScenario("market, 3 provers", { market: true, provers: 3 }));
results.push(await runScenario("market, 3 provers, 1 killed after a third", { market: true, provers: 3, kill: 0 }));
await shutdownSnarkjs();

const base = results[0] as Result;
console.log(
  "\nscenario | batches proven | finality→accepted p50 ms | mean ms | vs baseline | proof bundles computed (wasted) | CPU s per accepted bundle | vs baseline | slashes | reassigned",
);
for (const r of results) {
  const cpuPer = r.cpuSeconds / Math.max(1, r.accepted);
  console.log(
    [
      r.name,
      `${r.accepted}/${BATCHES}`,
      median(r.latencies).toFixed(0),
      mean(r.latencies).toFixed(0),
      `${(mean(r.latencies) / mean(base.latencies)).toFixed(2)}×`,
      `${r.proofsComputed} (${r.proofsWasted})`,
      cpuPer.toFixed(2),
      `${(cpuPer / (base.cpuSeconds / Math.max(1, base.accepted))).toFixed(2)}×`,
      r.slashes,
      r.reassigned,
    ].join(" | "),
  );
}
