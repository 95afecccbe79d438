/**
 * `ordo prover start`: a prover daemon. It follows the market over a
 * validator's API, bonds, bids with sealed bids and reveals them, and proves
 * the jobs bound to it in a separate process (one proof per proof system the
 * rollup's circuit requires), submitting every market step as a signed system
 * transaction. One JSON log line per step (pino); Prometheus metrics on
 * `--metrics-port`.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  accountOf,
  circuitByName,
  encodeProofBundle,
  type FinalizedBatch,
  type JobStatus,
  type MarketView,
  type ProofBundle,
  type ProofSystem,
  ProverAgent,
  ProvingWorker,
  type SystemTransactionBody,
} from "@ordo/prover";
import { pino } from "pino";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { readSystemKeyFile } from "./files.js";
import { getJson, postSystemTransaction } from "./system-client.js";
import { UsageError } from "./usage.js";

export { PROVER_START_HELP } from "./prover-start-help.js";

interface MarketJson {
  height: number;
  config: { jobCollateral: string };
  slots: { id: number; namespace: number; openedAt: number; commitEnd: number; revealEnd: number }[];
  jobs: { id: number; namespace: number; status: JobStatus; assignee: string | null; batch: FinalizedBatch | null }[];
}

interface AccountJson {
  nextNonce: number;
  prover: { bond: string; locked: string } | null;
}

function viewOf(m: MarketJson, me: string, account: AccountJson): MarketView {
  return {
    config: { jobCollateral: BigInt(m.config.jobCollateral) },
    prover: (id) =>
      id === me && account.prover
        ? { bond: BigInt(account.prover.bond), locked: BigInt(account.prover.locked) }
        : undefined,
    openSlots: () => m.slots,
    slot: (id) => m.slots.find((s) => s.id === id),
    jobs: () => m.jobs.map((j) => ({ ...j, assignee: j.assignee === null ? null : { prover: j.assignee } })),
  };
}

/** What a prover daemon exports: its work, its bids and its standing in the market. */
function proverMetrics() {
  const registry = new Registry();
  const r = { registers: [registry] };
  return {
    registry,
    proofsComputed: new Counter({
      name: "ordo_prover_proofs_computed_total",
      help: "Proofs this prover computed, by proof system",
      labelNames: ["system"],
      ...r,
    }),
    proofsSubmitted: new Counter({
      name: "ordo_prover_proofs_submitted_total",
      help: "Proof bundles submitted",
      ...r,
    }),
    provingSeconds: new Histogram({
      name: "ordo_prover_proving_seconds",
      help: "Wall time of one proof, by proof system",
      labelNames: ["system"],
      buckets: [0.5, 1, 2, 4, 8, 16, 32, 64],
      ...r,
    }),
    provingFailures: new Counter({ name: "ordo_prover_proving_failures_total", help: "Proofs that failed", ...r }),
    submissions: new Counter({
      name: "ordo_prover_submissions_total",
      help: "System transactions submitted, by kind and outcome",
      labelNames: ["kind", "outcome"],
      ...r,
    }),
    jobsInProgress: new Gauge({ name: "ordo_prover_jobs_in_progress", help: "Jobs being proven now", ...r }),
    bond: new Gauge({ name: "ordo_prover_bond", help: "Bonded stake, as the node reports it", ...r }),
    locked: new Gauge({ name: "ordo_prover_bond_locked", help: "Bond held as collateral by open jobs", ...r }),
    height: new Gauge({ name: "ordo_prover_market_height", help: "The committed height the market view is at", ...r }),
  };
}

export async function proverStart(args: string[], help: string): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      key: { type: "string" },
      node: { type: "string" },
      price: { type: "string" },
      bond: { type: "string" },
      "invalid-proofs": { type: "boolean" },
      "metrics-port": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return void process.stdout.write(help);
  if (!values.key) throw new UsageError("--key FILE is required");
  if (!values.node || !/^https?:\/\//.test(values.node))
    throw new UsageError("--node URL (a validator's API) is required");
  if (values.price !== undefined && !/^[0-9]{1,18}$/.test(values.price))
    throw new UsageError("--price must be an integer");
  if (values.bond !== undefined && !/^[0-9]{1,18}$/.test(values.bond))
    throw new UsageError("--bond must be an integer");
  const metricsPort = values["metrics-port"] === undefined ? undefined : Number(values["metrics-port"]);
  if (metricsPort !== undefined && !(Number.isInteger(metricsPort) && metricsPort >= 0 && metricsPort < 65536))
    throw new UsageError("--metrics-port must be a TCP port (0-65535)");
  const node = values.node.replace(/\/$/, "");
  const key = await readSystemKeyFile(resolve(values.key), true);
  const me = accountOf(key.publicKey);
  const log = pino({ base: { prover: me.slice(0, 10) } });
  // The node may still be starting (or busy): wait for it rather than exit.
  let chainId: number | undefined;
  for (let attempt = 0; chainId === undefined; attempt++) {
    try {
      chainId = (await getJson<{ chainId: number }>(`${node}/v1/status`)).chainId;
    } catch (e) {
      if (attempt >= 60) throw new Error(`cannot reach the node at ${node}: ${String(e)}`);
      log.warn({ err: String(e) }, "cannot reach the node; retrying");
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
  const agent = new ProverAgent({
    id: me,
    price: BigInt(values.price ?? 10),
    randomSalt: () => new Uint8Array(randomBytes(32)),
  });
  const worker = new ProvingWorker();
  const counts = { proofsComputed: 0, proofsSubmitted: 0 };
  const metrics = proverMetrics();
  const metricsServer =
    metricsPort === undefined
      ? undefined
      : createServer((req, res) => {
          if (req.url !== "/metrics") return void res.writeHead(404).end();
          void metrics.registry.metrics().then((text) => {
            res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text);
          });
        });
  if (metricsServer && metricsPort !== undefined)
    await new Promise<void>((ok, fail) => metricsServer.once("error", fail).listen(metricsPort, "127.0.0.1", ok));
  // The loop below takes the chain's next nonce before the first submission.
  let nonce = 0;
  let registering = false;
  let lastSubmitAt = 0;
  let stopping = false;

  const submit = async (body: SystemTransactionBody) => {
    const r = await postSystemTransaction(node, chainId, key, nonce, body);
    if (r.status !== 202) {
      metrics.submissions.inc({ kind: body.kind, outcome: "refused" });
      log.warn({ kind: body.kind, status: r.status, body: r.text }, "submission refused");
      return;
    }
    metrics.submissions.inc({ kind: body.kind, outcome: "accepted" });
    nonce++;
    lastSubmitAt = Date.now();
    log.info(
      { kind: body.kind, ...("slot" in body ? { slot: body.slot } : {}), ...("job" in body ? { job: body.job } : {}) },
      "submitted",
    );
  };

  // Submissions go out one at a time, in nonce order; proving runs beside them.
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (f: () => Promise<void>) => {
    queue = queue.then(f).catch((e: unknown) => log.warn({ err: String(e) }, "step failed"));
  };

  const prove = async (jobId: number) => {
    const w = await getJson<{ circuit: string; systems: ProofSystem[]; input: object }>(
      `${node}/v1/market/jobs/${jobId}/witness`,
    );
    const circuit = circuitByName(w.circuit);
    if (!circuit) throw new Error(`job ${jobId} needs circuit ${w.circuit}, which this prover does not have`);
    const bundle: ProofBundle = {};
    metrics.jobsInProgress.inc();
    try {
      for (const [i, system] of circuit.systems.entries()) {
        log.info({ job: jobId, circuit: circuit.name, system, step: `${i + 1}/${circuit.systems.length}` }, "proving");
        const t0 = performance.now();
        if (values["invalid-proofs"]) {
          bundle[system] = { pi_a: ["1", "2", "1"], pi_b: [], pi_c: [], protocol: "groth16", curve: "bn128" };
          continue;
        }
        const { proof } = await worker.prove(w.input, circuit, system);
        const seconds = (performance.now() - t0) / 1000;
        counts.proofsComputed++;
        metrics.proofsComputed.inc({ system });
        metrics.provingSeconds.observe({ system }, seconds);
        bundle[system] = proof;
        log.info({ job: jobId, system, ms: Math.round(seconds * 1000), ...counts }, "proved");
      }
    } catch (e) {
      metrics.provingFailures.inc();
      throw e;
    } finally {
      metrics.jobsInProgress.dec();
    }
    enqueue(async () => {
      await submit({ kind: "submit-proof", job: jobId, proof: encodeProofBundle(bundle) });
      counts.proofsSubmitted++;
      metrics.proofsSubmitted.inc();
    });
  };

  const shutdown = async () => {
    stopping = true;
    log.info(counts, "stopping");
    metricsServer?.close();
    await worker.terminate();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown());
  process.once("SIGTERM", () => void shutdown());
  log.info(
    { account: me, node, price: String(values.price ?? 10), metrics: metricsPort === undefined ? null : metricsPort },
    "prover started",
  );

  while (!stopping) {
    try {
      const [market, account] = await Promise.all([
        getJson<MarketJson>(`${node}/v1/market`),
        getJson<AccountJson>(`${node}/v1/market/accounts/${me}`),
      ]);
      // Resynchronize the nonce: higher on the chain means earlier submissions (perhaps of a previous run)
      // took those numbers; lower for a while means ours were dropped.
      if (account.nextNonce > nonce || (account.nextNonce < nonce && Date.now() - lastSubmitAt > 5_000))
        nonce = account.nextNonce;
      metrics.height.set(market.height);
      metrics.bond.set(Number(account.prover?.bond ?? 0));
      metrics.locked.set(Number(account.prover?.locked ?? 0));
      if (!account.prover && !registering) {
        registering = true;
        enqueue(() => submit({ kind: "register-prover", bond: BigInt(values.bond ?? 10_000) }));
      }
      const view = viewOf(market, me, account);
      for (const tx of agent.transactionsFor(view, market.height + 1))
        if (tx.kind !== "submit-proof") enqueue(() => submit(tx));
      for (const job of agent.jobsToProve(view))
        void prove(job.id).catch((e: unknown) => log.warn({ job: job.id, err: String(e) }, "proof failed"));
    } catch (e) {
      log.warn({ err: String(e) }, "cannot reach the node; retrying");
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}
