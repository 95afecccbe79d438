/**
 * `ordo prover start`: a prover daemon. It follows the market over a
 * validator's API, bonds, bids with sealed bids and reveals them, and proves
 * the jobs bound to it in a separate process (one proof per proof system the
 * rollup's circuit requires), submitting every market step as a signed system
 * transaction. One JSON log line per step (pino); Prometheus metrics on
 * `--metrics-port`.
 *
 * Robustness:
 * - `--node` may list several validators. The daemon follows one at a time and
 *   fails over to the next when the one it follows does not answer, or is
 *   clearly behind the others (checked when a request fails, every 10 s, and
 *   while its height stands still).
 * - The agent (`ProverAgent.plan`) decides which steps go out again: a step
 *   whose transaction has not landed a few blocks after it was sent, or after a
 *   failover or a failed submission, is resent while its window is open. The
 *   daemon signs each nonce for one step only and sends a transaction again
 *   byte for byte (`Outbox`), so the account's next nonce on the node says
 *   exactly which steps landed, and a duplicate is at most refused.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { hashTransaction, toHex } from "@ordo/core";
import {
  accountOf,
  circuitByName,
  encodeProofBundle,
  encodeSystemTransaction,
  type FinalizedBatch,
  type JobStatus,
  type MarketView,
  type ProofBundle,
  type ProofSystem,
  ProverAgent,
  ProvingWorker,
  SYSTEM_NAMESPACE,
  type SystemTransactionBody,
  signSystemTransaction,
} from "@ordo/prover";
import { pino } from "pino";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { readSystemKeyFile } from "./files.js";
import { getJson, postSignedSystemTransaction } from "./system-client.js";
import { UsageError } from "./usage.js";

export { PROVER_START_HELP } from "./prover-start-help.js";

/** A node more than this many blocks below the highest committed height the daemon can reach is behind. */
const MAX_LAG_BLOCKS = 5;
/** How often the daemon compares the node it follows with the others. */
const HEALTH_CHECK_MS = 10_000;
/** A market height that stands still this long makes the daemon look at the other nodes (then again as often). */
const STALL_MS = 3_000;
const POLL_MS = 150;

type Step = ReturnType<ProverAgent["plan"]>["steps"][number];

interface PostResult {
  outcome: "accepted" | "duplicate" | "refused" | "failed";
  status?: number;
  body?: string;
  err?: string;
  /** The node did not answer at all. */
  unreachable?: boolean;
}

interface MarketJson {
  height: number;
  config: { jobCollateral: string; revealWindow?: number };
  slots: { id: number; namespace: number; openedAt: number; commitEnd: number; revealEnd: number; bids: number }[];
  jobs: {
    id: number;
    namespace: number;
    status: JobStatus;
    assignee: string | null;
    batch: FinalizedBatch | null;
    deadline: number | null;
  }[];
}

interface AccountJson {
  nextNonce: number;
  prover: { bond: string; locked: string } | null;
}

function viewOf(m: MarketJson, me: string, account: AccountJson, outbox: Outbox): MarketView {
  return {
    config: { jobCollateral: BigInt(m.config.jobCollateral), revealWindow: m.config.revealWindow },
    prover: (id) =>
      id === me && account.prover
        ? { bond: BigInt(account.prover.bond), locked: BigInt(account.prover.locked) }
        : undefined,
    openSlots: () => m.slots,
    slot: (id) => m.slots.find((s) => s.id === id),
    jobs: () => m.jobs.map((j) => ({ ...j, assignee: j.assignee === null ? null : { prover: j.assignee } })),
    // The API shows how many bids a slot has, not whose or whether revealed: the account's nonce tells ours.
    landed: (step) => outbox.landed(step),
  };
}

/**
 * The daemon's signed transactions by nonce. Each nonce is signed for one step only and a transaction is
 * sent again byte for byte, so when the account's next nonce passes a nonce, that step's transaction was
 * executed — whichever node it went through, however many times it was sent.
 */
class Outbox {
  /** The next nonce to sign. */
  nonce = 0;
  /** Signed and not executed yet as far as the followed node says: nonces from its next nonce up, in order. */
  private readonly waiting = new Map<number, { key: string; step: Step; bytes: Uint8Array }>();
  /** Keys of steps whose transaction was executed (the latest few thousand). */
  private readonly done = new Set<string>();

  /** The followed node says the account's next nonce is `next`. */
  settle(next: number): void {
    for (const [n, e] of this.waiting)
      if (n < next) {
        this.done.add(e.key);
        this.waiting.delete(n);
      }
    // Higher on the chain: taken by transactions this run did not sign (a previous run's).
    if (next > this.nonce) this.nonce = next;
    for (const key of this.done) {
      if (this.done.size <= 4_096) break;
      this.done.delete(key);
    }
  }

  landed(step: Step): boolean {
    return this.done.has(ProverAgent.stepKey(step));
  }

  has(key: string): boolean {
    for (const e of this.waiting.values()) if (e.key === key) return true;
    return false;
  }

  add(step: Step, bytes: Uint8Array): number {
    const n = this.nonce++;
    this.waiting.set(n, { key: ProverAgent.stepKey(step), step, bytes });
    return n;
  }

  /** Forgets the transactions from nonce `n` on (no node takes them): their nonces are signed afresh. */
  dropFrom(n: number): void {
    for (const k of this.waiting.keys()) if (k >= n) this.waiting.delete(k);
    this.nonce = Math.min(this.nonce, n);
  }

  entries(): { nonce: number; step: Step; bytes: Uint8Array }[] {
    return [...this.waiting.entries()].sort((a, b) => a[0] - b[0]).map(([nonce, e]) => ({ nonce, ...e }));
  }
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
      help: "System transactions submitted, by kind and outcome (accepted, duplicate, refused, failed)",
      labelNames: ["kind", "outcome"],
      ...r,
    }),
    resubmissions: new Counter({
      name: "ordo_prover_resubmissions_total",
      help: "System transactions sent again (not landed in time, or after a failover or a failed submission), by kind",
      labelNames: ["kind"],
      ...r,
    }),
    failovers: new Counter({
      name: "ordo_prover_node_failovers_total",
      help: "Switches to another validator's API",
      ...r,
    }),
    jobsInProgress: new Gauge({ name: "ordo_prover_jobs_in_progress", help: "Jobs being proven now", ...r }),
    bond: new Gauge({ name: "ordo_prover_bond", help: "Bonded stake, as the node reports it", ...r }),
    locked: new Gauge({ name: "ordo_prover_bond_locked", help: "Bond held as collateral by open jobs", ...r }),
    height: new Gauge({ name: "ordo_prover_market_height", help: "The committed height the market view is at", ...r }),
  };
}

/** `--node URL[,URL...]`: validator API URLs, without trailing slashes, each once. */
function parseNodes(v: string | undefined): string[] {
  const urls = (v ?? "")
    .split(",")
    .map((u) => u.trim().replace(/\/+$/, ""))
    .filter((u) => u !== "");
  if (urls.length === 0 || urls.some((u) => !/^https?:\/\/./.test(u)))
    throw new UsageError("--node URL[,URL...] (validator API URLs, comma-separated) is required");
  return [...new Set(urls)];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function proverStart(args: string[], help: string): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      key: { type: "string" },
      node: { type: "string" },
      price: { type: "string" },
      bond: { type: "string" },
      "max-jobs": { type: "string" },
      "invalid-proofs": { type: "boolean" },
      "metrics-port": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return void process.stdout.write(help);
  if (!values.key) throw new UsageError("--key FILE is required");
  const nodes = parseNodes(values.node);
  if (values.price !== undefined && !/^[0-9]{1,18}$/.test(values.price))
    throw new UsageError("--price must be an integer");
  if (values.bond !== undefined && !/^[0-9]{1,18}$/.test(values.bond))
    throw new UsageError("--bond must be an integer");
  const maxJobs = Number(values["max-jobs"] ?? 1);
  if (!Number.isInteger(maxJobs) || maxJobs < 1 || maxJobs > 1_000)
    throw new UsageError("--max-jobs must be an integer from 1 to 1000");
  const metricsPort = values["metrics-port"] === undefined ? undefined : Number(values["metrics-port"]);
  if (metricsPort !== undefined && !(Number.isInteger(metricsPort) && metricsPort >= 0 && metricsPort < 65536))
    throw new UsageError("--metrics-port must be a TCP port (0-65535)");
  const key = await readSystemKeyFile(resolve(values.key), true);
  const me = accountOf(key.publicKey);
  const log = pino({ base: { prover: me.slice(0, 10) } });
  /** The node followed now: an index into `nodes`. */
  let current = 0;
  const node = () => nodes[current] as string;
  // The node may still be starting (or busy): wait for one rather than exit.
  let chainId: number | undefined;
  for (let attempt = 0; chainId === undefined; attempt++) {
    let err = "";
    for (const [i, url] of nodes.entries()) {
      try {
        chainId = (await getJson<{ chainId: number }>(`${url}/v1/status`)).chainId;
        current = i;
        break;
      } catch (e) {
        err = String(e);
      }
    }
    if (chainId !== undefined) break;
    if (attempt >= 60)
      throw new Error(
        `cannot reach ${nodes.length === 1 ? "the node at" : "any of the nodes"} ${nodes.join(",")}: ${err}`,
      );
    log.warn({ err }, nodes.length === 1 ? "cannot reach the node; retrying" : "cannot reach any node; retrying");
    await sleep(1_000);
  }
  const agent = new ProverAgent({
    id: me,
    price: BigInt(values.price ?? 10),
    bond: BigInt(values.bond ?? 10_000),
    maxJobsInProgress: maxJobs,
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
  const outbox = new Outbox();
  /** Proof bundles computed, by job, until their submission is settled. */
  const bundles = new Map<number, Uint8Array>();
  /** Send the outbox again before anything new (after a failover or a failed submission). */
  let replay = false;
  let stopping = false;

  // ── following the nodes ───────────────────────────────────────────────

  let nextCheckAt = Date.now() + HEALTH_CHECK_MS;
  const wrongChain = new Set<string>();
  /**
   * Compares the followed node with the others (`/v1/status`) and fails over to the next one in `--node`
   * order that answers and is not behind: when the followed one did not answer (`unreachable`), or when it
   * does not answer now or is more than MAX_LAG_BLOCKS below the highest. Returns whether it failed over.
   */
  const checkNodes = async (reason: "unreachable" | "behind"): Promise<boolean> => {
    nextCheckAt = Date.now() + HEALTH_CHECK_MS;
    if (nodes.length < 2) return false;
    const heights = await Promise.all(
      nodes.map(async (url) => {
        try {
          const s = await getJson<{ chainId: number; committedHeight: number }>(`${url}/v1/status`, 2_000);
          if (s.chainId === chainId) return s.committedHeight;
          if (!wrongChain.has(url))
            log.warn({ node: url, chainId: s.chainId }, "the node is on another chain; skipped");
          wrongChain.add(url);
        } catch {}
        return null;
      }),
    );
    const reached = heights.filter((h): h is number => h !== null);
    if (reached.length === 0) {
      log.warn({ nodes }, "cannot reach any node; retrying");
      return false;
    }
    const best = Math.max(...reached);
    const fresh = (h: number | null | undefined) => typeof h === "number" && h >= best - MAX_LAG_BLOCKS;
    if (reason === "behind" && fresh(heights[current])) return false;
    for (let k = 1; k < nodes.length; k++) {
      const to = (current + k) % nodes.length;
      if (!fresh(heights[to])) continue;
      log.warn(
        { from: node(), to: nodes[to], reason, fromHeight: heights[current], toHeight: heights[to] },
        "failing over to another node",
      );
      current = to;
      metrics.failovers.inc();
      // What went to the old node may be lost with it: everything in flight goes out again, in nonce order.
      agent.resend();
      replay = true;
      return true;
    }
    if (reason === "unreachable") log.warn({ node: node() }, "cannot reach the node; retrying");
    return false;
  };

  // ── submitting ─────────────────────────────────────────────────────────

  const fields = (step: Step, nonce: number) => ({
    kind: step.kind,
    nonce,
    ...("slot" in step ? { slot: step.slot } : {}),
    ...("job" in step ? { job: step.job } : {}),
  });

  /** Posts signed bytes to the followed node: taken (202), held already (409), refused, or failed (try again). */
  const post = async (bytes: Uint8Array): Promise<PostResult> => {
    try {
      const r = await postSignedSystemTransaction(node(), bytes);
      if (r.status === 202) return { outcome: "accepted" };
      // The node holds this very transaction already: nothing to do.
      if (r.status === 409) return { outcome: "duplicate" };
      // Busy (full, rate-limited, not ready): it may take it later.
      if (r.status === 429 || r.status >= 500) return { outcome: "failed", status: r.status, body: r.text };
      return { outcome: "refused", status: r.status, body: r.text };
    } catch (e) {
      return { outcome: "failed", err: String(e), unreachable: true };
    }
  };

  /**
   * Whether the followed node has the transaction pending or in a certified, not yet committed block. A
   * committed one is sent again: its nonce was not next when it was executed (one before it was lost).
   */
  const onItsWay = async (bytes: Uint8Array): Promise<boolean> => {
    try {
      const hash = toHex(hashTransaction(SYSTEM_NAMESPACE, bytes));
      const { status } = await getJson<{ status: string }>(`${node()}/v1/transactions/${hash}`, 2_000);
      return status === "pending" || status === "soft";
    } catch {
      return false; // unknown here (404), or no answer: send it
    }
  };

  /** After a failed post: everything in flight goes out again on the next round, through another node if need be. */
  const failed = async (unreachable: boolean) => {
    agent.resend();
    replay = true;
    if (unreachable) await checkNodes("unreachable");
  };

  const bodyOf = (step: Step): SystemTransactionBody | undefined => {
    if (step.kind !== "submit-proof") return step;
    const proof = bundles.get(step.job);
    return proof && { kind: "submit-proof", job: step.job, proof };
  };

  /** Sends a plan: the outbox again first when due, then each new step at the next nonce. */
  const send = async (plan: ReturnType<ProverAgent["plan"]>) => {
    if (plan.resend || replay) {
      replay = false;
      for (const e of outbox.entries()) {
        // Pending or in a certified block at this node: on its way, not lost (what a busy chain shows as slow).
        if (await onItsWay(e.bytes)) continue;
        const r = await post(e.bytes);
        metrics.submissions.inc({ kind: e.step.kind, outcome: r.outcome });
        if (r.outcome === "accepted" || r.outcome === "duplicate") {
          metrics.resubmissions.inc({ kind: e.step.kind });
          log.info({ ...fields(e.step, e.nonce), node: node(), held: r.outcome === "duplicate" }, "resubmitted");
          continue;
        }
        log.warn({ ...fields(e.step, e.nonce), node: node(), ...r }, "resubmission failed");
        if (r.outcome === "refused") {
          // The node will not take it: its nonce and those after it are signed afresh for what is still wanted.
          outbox.dropFrom(e.nonce);
          agent.resend();
          return;
        }
        return failed(r.unreachable === true);
      }
    }
    for (const step of plan.steps) {
      // In flight already: sent again above when due.
      if (outbox.has(ProverAgent.stepKey(step))) continue;
      const body = bodyOf(step);
      if (!body) continue;
      const bytes = encodeSystemTransaction(signSystemTransaction(chainId, key, outbox.nonce, body));
      const nonce = outbox.add(step, bytes);
      const r = await post(bytes);
      metrics.submissions.inc({ kind: step.kind, outcome: r.outcome });
      if (r.outcome === "accepted" || r.outcome === "duplicate") {
        log.info(fields(step, nonce), "submitted");
        if (step.kind === "submit-proof") {
          counts.proofsSubmitted++;
          metrics.proofsSubmitted.inc();
        }
        continue;
      }
      log.warn({ ...fields(step, nonce), node: node(), ...r }, "submission failed");
      if (r.outcome === "refused") {
        // Not taken: its nonce goes to the next step; the agent sends this one again if it is still wanted.
        outbox.dropFrom(nonce);
        continue;
      }
      return failed(r.unreachable === true);
    }
  };

  // ── proving ────────────────────────────────────────────────────────────

  const prove = async (jobId: number) => {
    let w: { circuit: string; systems: ProofSystem[]; input: object };
    try {
      w = await getJson<typeof w>(`${node()}/v1/market/jobs/${jobId}/witness`);
    } catch (e) {
      // The node may be gone or behind: try again (through whichever node is followed then) while the job is ours.
      log.warn({ job: jobId, node: node(), err: String(e) }, "cannot fetch the witness; retrying");
      await sleep(1_000);
      agent.proofFailed(jobId);
      return;
    }
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
    // The agent submits it from the next round on, and again until it lands or the deadline passes.
    bundles.set(jobId, encodeProofBundle(bundle));
    agent.proofReady(jobId);
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
    {
      account: me,
      node: node(),
      ...(nodes.length > 1 ? { nodes } : {}),
      price: String(values.price ?? 10),
      metrics: metricsPort === undefined ? null : metricsPort,
    },
    "prover started",
  );

  let lastHeight = -1;
  let heightSince = Date.now();
  while (!stopping) {
    const now = Date.now();
    if (nodes.length > 1 && (now >= nextCheckAt || now - heightSince >= STALL_MS)) {
      // A standing height is looked into again only after another STALL_MS.
      if (now - heightSince >= STALL_MS) heightSince = now;
      await checkNodes("behind");
    }
    let plan: ReturnType<ProverAgent["plan"]>;
    try {
      // The market first, then the account: the nonce is then at least as recent as the view.
      const market = await getJson<MarketJson>(`${node()}/v1/market`);
      const account = await getJson<AccountJson>(`${node()}/v1/market/accounts/${me}`);
      if (market.height !== lastHeight) {
        lastHeight = market.height;
        heightSince = Date.now();
      }
      outbox.settle(account.nextNonce);
      metrics.height.set(market.height);
      metrics.bond.set(Number(account.prover?.bond ?? 0));
      metrics.locked.set(Number(account.prover?.locked ?? 0));
      const view = viewOf(market, me, account, outbox);
      for (const job of agent.jobsToProve(view))
        void prove(job.id).catch((e: unknown) => log.warn({ job: job.id, err: String(e) }, "proof failed"));
      plan = agent.plan(view, market.height + 1);
      // Keep a bundle only while its submission is in flight.
      const proving = new Set(agent.pending().flatMap((s) => (s.kind === "submit-proof" ? [s.job] : [])));
      for (const job of bundles.keys()) if (!proving.has(job)) bundles.delete(job);
    } catch (e) {
      if (nodes.length === 1) log.warn({ err: String(e) }, "cannot reach the node; retrying");
      else {
        log.warn({ node: node(), err: String(e) }, "the node did not answer");
        await checkNodes("unreachable");
      }
      await sleep(POLL_MS);
      continue;
    }
    try {
      await send(plan);
    } catch (e) {
      log.warn({ err: String(e) }, "step failed");
    }
    await sleep(POLL_MS);
  }
}
