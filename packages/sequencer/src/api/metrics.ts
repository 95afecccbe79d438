/** Prometheus metrics of one validator (prom-client), read from the node and store at scrape time. */
import type { DaPoster, PosterLayerStats } from "@ordo/da-client";
import { Counter, Gauge, Registry } from "prom-client";
import type { MarketService } from "../market/market-service.js";
import type { ValidatorNode } from "../node/validator-node.js";
import type { NodeStore } from "../storage/node-store.js";

export function createMetrics(o: {
  node: ValidatorNode;
  store: NodeStore;
  market?: MarketService;
  daPoster?: DaPoster;
}): {
  registry: Registry;
} {
  const registry = new Registry();
  const { node, store } = o;
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  gauge("ordo_committed_height", "Height of the latest committed block", () => store.latestHeight ?? 0);
  gauge("ordo_current_round", "The consensus round this validator is in", () => node.replica.currentRound);
  gauge("ordo_mempool_transactions", "Transactions waiting in the mempool", () => node.mempool.size);
  gauge("ordo_mempool_bytes", "Bytes of transaction data waiting in the mempool", () => node.mempool.bytes);
  counter("ordo_decode_errors_total", "Frames from peers that did not decode", () => node.counters.decodeErrors);
  counter(
    "ordo_rejected_messages_total",
    "Messages rejected by consensus or dissemination",
    () => node.counters.rejected,
  );
  counter("ordo_commits_total", "Blocks committed", () => node.counters.commits);
  counter(
    "ordo_equivocation_evidence_total",
    "Double proposals or double votes this validator has seen (any is a safety alarm)",
    () => node.counters.evidence,
  );
  gauge("ordo_soft_transactions", "Transactions in certified blocks not yet committed", () => node.softCount);
  counter("ordo_transactions_final_total", "Transactions finalized", () => node.counters.transactionsFinal);
  const own = () => node.quorumStore.ownProgress();
  gauge("ordo_dissemination_window_floor", "Lowest own batch sequence not yet committed", () => own().floor);
  gauge("ordo_dissemination_next_sequence", "Sequence of the next own batch", () => own().nextSequence);
  gauge("ordo_dissemination_uncertified_batches", "Own batches still collecting acks", () => own().uncertified);
  gauge(
    "ordo_dissemination_pending_transactions",
    "Transactions handed to dissemination, waiting to be sealed into a batch",
    () => own().pendingTransactions,
  );
  counter(
    "ordo_dissemination_certificates_formed_total",
    "Certificates formed for own batches",
    () => node.quorumStore.stats.certificatesFormed,
  );
  if (o.market) registerMarketMetrics(registry, o.market, gauge, counter);
  if (o.daPoster) registerDaPosterMetrics(registry, o.daPoster, gauge);
  return { registry };
}

/** The DA poster on the validator that posts: how far behind the chain it is, and what each layer took. */
function registerDaPosterMetrics(
  registry: Registry,
  poster: DaPoster,
  gauge: (name: string, help: string, read: () => number) => Gauge,
): void {
  gauge("ordo_da_poster_cursor_height", "First height some DA layer still owes", () => poster.progress().cursor);
  gauge("ordo_da_poster_lag_heights", "Final heights not yet posted under the DA policy", () => poster.progress().lag);
  const perLayer = (name: string, help: string, field: keyof PosterLayerStats) =>
    new Counter({
      name,
      help,
      labelNames: ["layer"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [layer, stats] of Object.entries(poster.progress().layers)) this.inc({ layer }, stats[field]);
      },
    });
  perLayer("ordo_da_submissions_total", "Submissions to a DA layer (a bundle of blocks is one)", "submissions");
  perLayer("ordo_da_blocks_posted_total", "Blocks a DA layer took", "blocksPosted");
  perLayer("ordo_da_bytes_posted_total", "Bytes a DA layer took", "bytesPosted");
  perLayer("ordo_da_failures_total", "Failed submissions to a DA layer", "failures");
}

/** The prover market as this validator executes it: per prover, and how concentrated proving is. */
function registerMarketMetrics(
  registry: Registry,
  market: MarketService,
  gauge: (name: string, help: string, read: () => number) => Gauge,
  counter: (name: string, help: string, read: () => number) => Counter,
): void {
  const m = () => market.executor.market;
  gauge("ordo_market_height", "Height of the last block the prover market executed", () => market.height);
  gauge(
    "ordo_market_open_jobs",
    "Jobs awarded and not yet proven",
    () =>
      m()
        .jobs()
        .filter((j) => j.status !== "proven").length,
  );
  gauge(
    "ordo_market_top3_share",
    "Share of the top three provers over the share window (0..1)",
    () => m().decentralization().top3Share,
  );
  gauge(
    "ordo_market_nakamoto_coefficient",
    "Fewest provers holding more than half of the recent assignments",
    () => m().decentralization().nakamotoCoefficient,
  );
  gauge("ordo_market_hhi", "Herfindahl-Hirschman index of proving (0..10000)", () => m().decentralization().hhi);
  counter(
    "ordo_market_proofs_verified_total",
    "Proofs this validator verified",
    () => market.executor.counters.proofsVerified,
  );
  counter(
    "ordo_market_proofs_invalid_total",
    "Proofs that did not verify",
    () => market.executor.counters.proofsInvalid,
  );
  const perProver = (
    name: string,
    help: string,
    read: (p: ReturnType<ReturnType<typeof m>["provers"]>[number]) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["prover"],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of m().provers()) this.set({ prover: p.id }, read(p));
      },
    });
  perProver("ordo_prover_bond", "A prover's bond", (p) => Number(p.bond));
  perProver("ordo_prover_jobs_won", "Jobs a prover was assigned", (p) => p.jobsWon);
  perProver("ordo_prover_proofs_accepted", "Proofs of a prover the validators accepted", (p) => p.proofsAccepted);
  perProver("ordo_prover_slashes", "Times a prover was slashed", (p) => p.slashes);
  perProver("ordo_prover_share", "A prover's share of the recent assignments (0..1)", (p) => m().shareOf(p.id));
}
