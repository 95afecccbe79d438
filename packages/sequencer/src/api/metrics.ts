/** Prometheus metrics of one validator (prom-client), read from the node and store at scrape time. */
import { Counter, Gauge, Registry } from "prom-client";
import type { ValidatorNode } from "../node/validator-node.js";
import type { NodeStore } from "../storage/node-store.js";

export function createMetrics(o: { node: ValidatorNode; store: NodeStore }): { registry: Registry } {
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
  return { registry };
}
