/**
 * A prover's strategy against the market, as a pure function of the market's
 * state: which sealed bids to commit and reveal in the next block, which newly
 * bound jobs to start proving, and when to submit their proofs. The prover
 * daemon and `bench:prover` run it; it holds only the prover's own secrets
 * (prices and salts of sealed bids).
 *
 * It also sees its steps through. A step whose transaction has not landed —
 * the market view does not reflect it `resubmitAfter` blocks after it was sent,
 * or the caller reports it lost (`resend`) — is sent again while its window is
 * open: a commit until the slot's commit window ends, a reveal until its reveal
 * window ends, a proof until the job's deadline. A step the view shows landed is
 * never sent again. When one step is due, every step still in flight goes out
 * again, in the order first sent, so a caller that signs them from its
 * account's next nonce signs the same transactions again (see `ProverPlan`).
 */
import { sealBid } from "./market.js";
import type { AccountId, FinalizedBatch, JobStatus, MarketTransaction } from "./types.js";

/** A step this prover takes: a market transaction, or — for a proof the caller holds — the job it proves. */
export type ProverStep =
  | Extract<MarketTransaction, { kind: "register-prover" | "commit-bid" | "reveal-bid" }>
  | { kind: "submit-proof"; job: number };

/** What the agent reads of the market: a `ProverMarket`, or a prover daemon's view of one over the API. */
export interface MarketView {
  readonly config: { readonly jobCollateral: bigint; readonly revealWindow?: number };
  prover(id: AccountId): { bond: bigint; locked: bigint } | undefined;
  openSlots(): readonly { id: number; namespace: number; openedAt: number; commitEnd: number; revealEnd: number }[];
  /**
   * A slot the market still keeps; with its bids where the view shows them (a `ProverMarket` does; the API
   * gives only their number).
   */
  slot(id: number): { readonly bids?: number | readonly ViewBid[] } | undefined;
  jobs(): readonly {
    id: number;
    namespace: number;
    status: JobStatus;
    assignee: { prover: AccountId } | null;
    batch: FinalizedBatch | null;
    deadline?: number | null;
  }[];
  /**
   * Whether this prover's transaction for `step` has been executed, where the view can tell (a prover
   * daemon can, from its account's nonce; the market refuses some it executes — a reveal after its window,
   * say — and then nothing could land the step any more).
   */
  landed?(step: ProverStep): boolean;
}

interface ViewBid {
  readonly prover: AccountId;
  readonly revealed?: unknown;
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
  /**
   * Stop committing new bids while this many of its jobs are bound to a batch and not proven yet (default: no
   * limit). A prover that wins more than it can prove before the deadlines is slashed for each it misses; open
   * bids are still revealed (a withheld reveal is slashed too).
   */
  maxJobsInProgress?: number;
  /** Register as a prover with this bond while the market has no prover account for `id` (default: never). */
  bond?: bigint;
  /**
   * Blocks after which a step the market does not reflect yet is sent again (default: a third of the reveal
   * window, at least 2; 4 if the view does not say the window).
   */
  resubmitAfter?: number;
}

/** What a prover sends for the next block. */
export interface ProverPlan {
  /**
   * In order: when `resend`, every step sent before that has not landed and still can (in the order first
   * sent); then the new steps.
   */
  steps: ProverStep[];
  /** Steps sent before are in `steps` again: the caller should send them again from its account's next nonce. */
  resend: boolean;
}

interface Sealed {
  price: bigint;
  salt: Uint8Array;
  commitEnd: number;
  revealEnd: number;
  revealIssued: boolean;
}

interface InFlight {
  step: ProverStep;
  /** The height it was last sent for. */
  sentAt: number;
  /** The caller reported it (or something sent before it) lost. */
  due: boolean;
}

export class ProverAgent {
  readonly id: AccountId;
  private readonly o: ProverAgentOptions;
  private readonly sealed = new Map<number, Sealed>();
  private readonly started = new Set<number>();
  /** Jobs the caller holds a proof for, and whether its submission was issued. */
  private readonly proofs = new Map<number, { issued: boolean }>();
  private registerIssued = false;
  /** Steps sent and not yet landed, in the order first sent (a `Map` keeps insertion order). */
  private readonly inFlight = new Map<string, InFlight>();

  constructor(o: ProverAgentOptions) {
    this.o = o;
    this.id = o.id;
  }

  /** One key per step: a step sent again keeps its key. */
  static stepKey(step: ProverStep): string {
    switch (step.kind) {
      case "register-prover":
        return "register";
      case "commit-bid":
        return `commit/${step.slot}`;
      case "reveal-bid":
        return `reveal/${step.slot}`;
      case "submit-proof":
        return `proof/${step.job}`;
    }
  }

  /** The steps this prover wants in block `height` (the height after the view's): see `ProverPlan`. */
  plan(market: MarketView, height: number): ProverPlan {
    for (const [key, f] of this.inFlight) if (this.settled(market, f.step, height)) this.inFlight.delete(key);
    const after = this.o.resubmitAfter ?? Math.max(2, Math.floor((market.config.revealWindow ?? 12) / 3));
    const steps: ProverStep[] = [];
    const resend = [...this.inFlight.values()].some((f) => f.due || height - f.sentAt >= after);
    if (resend)
      for (const f of this.inFlight.values()) {
        f.sentAt = height;
        f.due = false;
        steps.push(f.step);
      }
    const issue = (step: ProverStep) => {
      this.inFlight.set(ProverAgent.stepKey(step), { step, sentAt: height, due: false });
      steps.push(step);
    };

    const me = market.prover(this.id);
    if (!me) {
      if (this.o.bond !== undefined && !this.registerIssued) {
        this.registerIssued = true;
        issue({ kind: "register-prover", bond: this.o.bond });
      }
      return { steps, resend };
    }
    const collateral = market.config.jobCollateral;
    // Commits in flight hold no collateral in the view yet, but will.
    const committing = [...this.inFlight.values()].filter((f) => f.step.kind === "commit-bid").length;
    let free = me.bond - me.locked - collateral * BigInt(committing);
    const proving = market
      .jobs()
      .filter((j) => j.status === "assigned" && j.assignee?.prover === this.id && !this.proofs.has(j.id)).length;
    const atCapacity = proving >= (this.o.maxJobsInProgress ?? Number.POSITIVE_INFINITY);
    for (const slot of market.openSlots()) {
      const mine = this.sealed.get(slot.id);
      if (mine) {
        // Reveal once the commit window has closed, unless the view shows the commit did not land.
        if (!mine.revealIssued && slot.commitEnd <= height && height < slot.revealEnd) {
          if (this.bidOf(market, slot.id) === null) continue;
          mine.revealIssued = true;
          issue({ kind: "reveal-bid", slot: slot.id, price: mine.price, salt: mine.salt });
        }
        continue;
      }
      if (height < slot.openedAt || height >= slot.commitEnd) continue;
      if (free < collateral || atCapacity) continue;
      const waiting = market
        .jobs()
        .filter(
          (j) => j.namespace === slot.namespace && j.status === "waiting-for-batch" && j.assignee?.prover === this.id,
        ).length;
      const bidding = market.openSlots().filter((s) => s.namespace === slot.namespace && this.sealed.has(s.id)).length;
      if (waiting + bidding >= (this.o.maxWaitingJobs ?? 1)) continue;
      const salt = this.o.randomSalt();
      this.sealed.set(slot.id, {
        price: this.o.price,
        salt,
        commitEnd: slot.commitEnd,
        revealEnd: slot.revealEnd,
        revealIssued: false,
      });
      free -= collateral;
      issue({ kind: "commit-bid", slot: slot.id, sealed: sealBid(this.o.price, salt, this.id) });
    }
    // Forget a slot only once its reveal window is over (a view a few blocks behind may not show it yet).
    for (const [id, s] of this.sealed) if (height >= s.revealEnd) this.sealed.delete(id);
    for (const [job, p] of this.proofs) {
      const step: ProverStep = { kind: "submit-proof", job };
      if (this.settled(market, step, height)) this.proofs.delete(job);
      else if (!p.issued) {
        p.issued = true;
        issue(step);
      }
    }
    return { steps, resend };
  }

  /** The bids among `plan`'s steps (for callers that submit proofs on their own, as tests and `bench:prover` do). */
  transactionsFor(market: MarketView, height: number): MarketTransaction[] {
    return this.plan(market, height).steps.filter(
      (s): s is Exclude<ProverStep, { kind: "submit-proof" }> => s.kind !== "submit-proof",
    );
  }

  /** Jobs bound to this prover that it has not started yet (each is returned once, unless `proofFailed`). */
  jobsToProve(market: MarketView): ViewJob[] {
    const out: ViewJob[] = [];
    for (const job of market.jobs())
      if (job.status === "assigned" && job.assignee?.prover === this.id && !this.started.has(job.id)) {
        this.started.add(job.id);
        out.push(job);
      }
    return out;
  }

  /** The caller holds a proof for `job`: `plan` submits it, and again until it lands or the deadline passes. */
  proofReady(job: number): void {
    if (!this.proofs.has(job)) this.proofs.set(job, { issued: false });
  }

  /** Proving `job` did not get done (its witness could not be fetched, say): `jobsToProve` hands it out again. */
  proofFailed(job: number): void {
    this.started.delete(job);
  }

  /** Every step in flight is presumed lost (its node went away, or a submission failed): the next plan resends them. */
  resend(): void {
    for (const f of this.inFlight.values()) f.due = true;
  }

  /** Steps sent and not landed yet, in the order first sent. */
  pending(): ProverStep[] {
    return [...this.inFlight.values()].map((f) => f.step);
  }

  /** This prover's bid on a slot: null if the view shows the slot's bids and none is this prover's, undefined if it cannot tell. */
  private bidOf(market: MarketView, slotId: number): { revealed: boolean } | null | undefined {
    const bids = market.slot(slotId)?.bids;
    if (bids === undefined || typeof bids === "number") return undefined;
    const bid = bids.find((b) => b.prover === this.id);
    return bid ? { revealed: Boolean(bid.revealed) } : null;
  }

  /** Whether `step` has landed or can no longer land, so it is never sent again. */
  private settled(market: MarketView, step: ProverStep, height: number): boolean {
    if (market.landed?.(step)) return true;
    switch (step.kind) {
      case "register-prover":
        return market.prover(this.id) !== undefined;
      case "commit-bid":
      case "reveal-bid": {
        const mine = this.sealed.get(step.slot);
        const end = step.kind === "commit-bid" ? mine?.commitEnd : mine?.revealEnd;
        if (end === undefined || height >= end) return true;
        const bid = this.bidOf(market, step.slot);
        // A view that shows neither bids nor what landed: taken as landed once sent, as before retries.
        if (bid === undefined) return market.landed === undefined;
        return step.kind === "commit-bid" ? bid !== null : bid?.revealed === true;
      }
      case "submit-proof": {
        const job = market.jobs().find((j) => j.id === step.job);
        // Proven, passed on, or reopened; a view behind ours may still show it waiting for its batch.
        if (!job || job.status === "proven" || (job.status === "assigned" && job.assignee?.prover !== this.id))
          return true;
        return job.deadline !== undefined && job.deadline !== null && height > job.deadline;
      }
    }
  }
}
