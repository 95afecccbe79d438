/**
 * A prover's strategy against the market, as a pure function of the market's
 * state: which sealed bids to commit and reveal in the next block, and which
 * newly bound jobs to start proving. The prover daemon and `bench:prover` run
 * it; it holds only the prover's own secrets (prices and salts of sealed bids).
 */
import { sealBid } from "./market.js";
import type { AccountId, FinalizedBatch, JobStatus, MarketTransaction } from "./types.js";

/** What the agent reads of the market: a `ProverMarket`, or a prover daemon's view of one over the API. */
export interface MarketView {
  readonly config: { readonly jobCollateral: bigint };
  prover(id: AccountId): { bond: bigint; locked: bigint } | undefined;
  openSlots(): readonly { id: number; namespace: number; openedAt: number; commitEnd: number; revealEnd: number }[];
  slot(id: number): unknown;
  jobs(): readonly {
    id: number;
    namespace: number;
    status: JobStatus;
    assignee: { prover: AccountId } | null;
    batch: FinalizedBatch | null;
  }[];
}

type ViewJob = ReturnType<MarketView["jobs"]>[number];

export interface ProverAgentOptions {
  id: AccountId;
  /** Asking price per job. */
  price: bigint;
  /** 32 fresh random bytes per bid. */
  randomSalt: () => Uint8Array;
  /** Stop bidding on a rollup while this many of its own won jobs and open bids wait for a batch (default 1). */
  maxWaitingJobs?: number;
}

export class ProverAgent {
  readonly id: AccountId;
  private readonly o: ProverAgentOptions;
  private readonly sealed = new Map<number, { price: bigint; salt: Uint8Array; revealed: boolean }>();
  private readonly started = new Set<number>();

  constructor(o: ProverAgentOptions) {
    this.o = o;
    this.id = o.id;
  }

  /** The system transactions this prover wants in block `height`. */
  transactionsFor(market: MarketView, height: number): MarketTransaction[] {
    const out: MarketTransaction[] = [];
    const me = market.prover(this.id);
    if (!me) return out;
    let free = me.bond - me.locked;
    for (const slot of market.openSlots()) {
      const mine = this.sealed.get(slot.id);
      if (mine && !mine.revealed && slot.commitEnd <= height && height < slot.revealEnd) {
        mine.revealed = true;
        out.push({ kind: "reveal-bid", slot: slot.id, price: mine.price, salt: mine.salt });
        continue;
      }
      if (mine || height < slot.openedAt || height >= slot.commitEnd) continue;
      if (free < market.config.jobCollateral) continue;
      const waiting = market
        .jobs()
        .filter(
          (j) => j.namespace === slot.namespace && j.status === "waiting-for-batch" && j.assignee?.prover === this.id,
        ).length;
      const bidding = market.openSlots().filter((s) => s.namespace === slot.namespace && this.sealed.has(s.id)).length;
      if (waiting + bidding >= (this.o.maxWaitingJobs ?? 1)) continue;
      const salt = this.o.randomSalt();
      this.sealed.set(slot.id, { price: this.o.price, salt, revealed: false });
      free -= market.config.jobCollateral;
      out.push({ kind: "commit-bid", slot: slot.id, sealed: sealBid(this.o.price, salt, this.id) });
    }
    for (const id of [...this.sealed.keys()]) if (!market.slot(id)) this.sealed.delete(id);
    return out;
  }

  /** Jobs bound to this prover that it has not started yet (each is returned once). */
  jobsToProve(market: MarketView): ViewJob[] {
    const out: ViewJob[] = [];
    for (const job of market.jobs())
      if (job.status === "assigned" && job.assignee?.prover === this.id && !this.started.has(job.id)) {
        this.started.add(job.id);
        out.push(job);
      }
    return out;
  }
}
