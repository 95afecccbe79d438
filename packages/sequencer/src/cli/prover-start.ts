/**
 * `ordo prover start`: a prover daemon. It follows the market over a
 * validator's API, bonds, bids with sealed bids and reveals them, and proves
 * the jobs bound to it in a worker thread, submitting every market step as a
 * signed system transaction. One JSON log line per step (pino).
 */
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  accountOf,
  encodeSystemTransaction,
  type FinalizedBatch,
  type JobStatus,
  type MarketView,
  ProverAgent,
  ProvingWorker,
  type SystemTransactionBody,
  signSystemTransaction,
} from "@ordo/prover";
import { pino } from "pino";
import { readSystemKeyFile } from "./files.js";
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

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!r.ok) throw new Error(`GET ${url}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
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

export async function proverStart(args: string[], help: string): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      key: { type: "string" },
      node: { type: "string" },
      price: { type: "string" },
      bond: { type: "string" },
      "invalid-proofs": { type: "boolean" },
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
  const node = values.node.replace(/\/$/, "");
  const key = await readSystemKeyFile(resolve(values.key), true);
  const me = accountOf(key.publicKey);
  const log = pino({ base: { prover: me.slice(0, 10) } });
  const { chainId } = await getJson<{ chainId: number }>(`${node}/v1/status`);
  const agent = new ProverAgent({
    id: me,
    price: BigInt(values.price ?? 10),
    randomSalt: () => new Uint8Array(randomBytes(32)),
  });
  const worker = new ProvingWorker();
  const counts = { proofsComputed: 0, proofsSubmitted: 0 };
  let nonce = (await getJson<AccountJson>(`${node}/v1/market/accounts/${me}`)).nextNonce;
  let registering = false;
  let lastSubmitAt = 0;
  let stopping = false;

  const submit = async (body: SystemTransactionBody) => {
    const data = encodeSystemTransaction(signSystemTransaction(chainId, key, nonce, body));
    const r = await fetch(`${node}/v1/system/transactions`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: data,
    });
    if (r.status !== 202) {
      log.warn({ kind: body.kind, status: r.status, body: await r.text() }, "submission refused");
      return;
    }
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
    const w = await getJson<{ input: object }>(`${node}/v1/market/jobs/${jobId}/witness`);
    log.info({ job: jobId }, "proving");
    const t0 = performance.now();
    let proofJson: string;
    if (values["invalid-proofs"]) {
      proofJson = JSON.stringify({ pi_a: ["1", "2", "1"], pi_b: [], pi_c: [], protocol: "groth16", curve: "bn128" });
    } else {
      const { proof } = await worker.prove(w.input);
      counts.proofsComputed++;
      proofJson = JSON.stringify(proof);
    }
    log.info({ job: jobId, ms: Math.round(performance.now() - t0), ...counts }, "proved");
    enqueue(async () => {
      await submit({ kind: "submit-proof", job: jobId, proof: new TextEncoder().encode(proofJson) });
      counts.proofsSubmitted++;
    });
  };

  const shutdown = async () => {
    stopping = true;
    log.info(counts, "stopping");
    await worker.terminate();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown());
  process.once("SIGTERM", () => void shutdown());
  log.info({ account: me, node, price: String(values.price ?? 10) }, "prover started");

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
