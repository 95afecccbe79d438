/** The prover market's inputs, state and effects. Amounts are bigints; heights are block heights (no wall clock). */

/** An account (a prover or a rollup operator): the hex of its public key, as the shell authenticated it. */
export type AccountId = string;

export interface MarketConfig {
  /** Blocks a slot accepts sealed bids after it opens. */
  commitWindow: number;
  /** Blocks after the commit window in which bids are revealed. */
  revealWindow: number;
  /** A new slot opens for every registered rollup each this many blocks. */
  slotInterval: number;
  /** Blocks between `unbond` and the funds returning to the balance. */
  unbondingDelay: number;
  /** Bond locked per sealed bid and per job held: a bond of k × this holds at most k at once. */
  jobCollateral: bigint;
  /** Forfeited from the bond for each sealed bid not revealed in its window. */
  withheldRevealPenalty: bigint;
  /** Base slash for a missed deadline, and for an invalid proof; both grow with market share (see `slashAmount`). */
  missPenalty: bigint;
  invalidProofPenalty: bigint;
  /** The last this many assignments are the window for market shares. */
  shareWindow: number;
  /** No prover is assigned a job that would lift its share of the window above this while another bid can take it. */
  maxShare: number;
  /** Slash multiplier 1 + shareSlashFactor × share²: super-linear in the prover's market share. */
  shareSlashFactor: number;
}

export const DEFAULT_MARKET_CONFIG: Readonly<MarketConfig> = Object.freeze({
  commitWindow: 4,
  revealWindow: 4,
  slotInterval: 2,
  unbondingDelay: 100,
  jobCollateral: 1_000n,
  withheldRevealPenalty: 100n,
  missPenalty: 200n,
  invalidProofPenalty: 500n,
  shareWindow: 100,
  maxShare: 0.5,
  shareSlashFactor: 8,
});

/** System transactions (namespace 0), each from an authenticated account. */
export type MarketTransaction =
  | { kind: "register-prover"; bond: bigint }
  | { kind: "unbond"; amount: bigint }
  | {
      kind: "register-rollup";
      namespace: number;
      /** What proves a batch: the circuit's name and the hash of its verifying key. */
      circuit: string;
      verifyingKeyHash: string;
      feeDeposit: bigint;
      /** Blocks an assigned prover has to land a proof. */
      deadlineBlocks: number;
      /** Highest price a bid may ask per job. */
      maxFee: bigint;
    }
  | { kind: "commit-bid"; slot: number; sealed: Uint8Array }
  | { kind: "reveal-bid"; slot: number; price: bigint; salt: Uint8Array }
  /** `verdict` is the validators' own check of the proof against the job's public inputs (the shell runs it). */
  | { kind: "submit-proof"; job: number; verdict: "valid" | "invalid" };

/** A finalized batch of a registered rollup: a job, known to bidders only by its rollup and size class. */
export interface FinalizedBatch {
  namespace: number;
  /** Height of the block that finalized it and its index among the namespace's proof batches there. */
  height: number;
  index: number;
  sizeClass: number;
}

export interface ProverAccount {
  id: AccountId;
  bond: bigint;
  /** Collateral held by open sealed bids and jobs. */
  locked: bigint;
  unbonding: { amount: bigint; releaseAt: number }[];
  jobsWon: number;
  proofsAccepted: number;
  slashes: number;
  slashedTotal: bigint;
}

export interface Rollup {
  namespace: number;
  operator: AccountId;
  circuit: string;
  verifyingKeyHash: string;
  deposit: bigint;
  deadlineBlocks: number;
  maxFee: bigint;
}

export interface Bid {
  prover: AccountId;
  sealed: Uint8Array;
  revealed?: { price: bigint; salt: Uint8Array };
}

export interface Slot {
  id: number;
  namespace: number;
  openedAt: number;
  commitEnd: number;
  revealEnd: number;
  bids: Bid[];
  closed: boolean;
}

export type JobStatus = "waiting-for-batch" | "assigned" | "proven";

export interface Job {
  id: number;
  namespace: number;
  slot: number;
  /** The randomness of its slot: sha256 over the revealed salts. */
  beacon: Uint8Array;
  /** Revealed bids, best first, that have not held the job yet. */
  backups: { prover: AccountId; price: bigint }[];
  assignee: { prover: AccountId; price: bigint } | null;
  /** The batch, once bound (never before the winner is bonded to the job). */
  batch: FinalizedBatch | null;
  deadline: number | null;
  status: JobStatus;
  /** Fee reserved from the rollup's deposit while the job is open. */
  reserved: bigint;
}

/** What happened: for the shell (logs, metrics, the prover daemons' view) and for tests. */
export type MarketEvent =
  | { type: "rejected"; from: AccountId; kind: MarketTransaction["kind"]; reason: string }
  | { type: "prover-registered"; prover: AccountId; bond: bigint }
  | { type: "rollup-registered"; namespace: number }
  | { type: "slot-opened"; slot: number; namespace: number; commitEnd: number; revealEnd: number }
  | { type: "bid-committed"; slot: number; prover: AccountId }
  | { type: "bid-revealed"; slot: number; prover: AccountId; price: bigint }
  | { type: "batch-queued"; batch: FinalizedBatch }
  | { type: "slot-unsold"; slot: number }
  | { type: "job-awarded"; job: number; slot: number; prover: AccountId; price: bigint; backups: number }
  | { type: "job-bound"; job: number; prover: AccountId; batch: FinalizedBatch; deadline: number }
  | { type: "job-reassigned"; job: number; from: AccountId; to: AccountId; deadline: number }
  | { type: "job-reopened"; job: number; batch: FinalizedBatch }
  | { type: "proof-accepted"; job: number; prover: AccountId; fee: bigint }
  | {
      type: "slashed";
      prover: AccountId;
      amount: bigint;
      reason: "withheld-reveal" | "missed-deadline" | "invalid-proof";
      job?: number;
      slot?: number;
    }
  | { type: "unbonded"; prover: AccountId; amount: bigint };

/** How concentrated proving is, over the share window. */
export interface Decentralization {
  assignments: number;
  /** Share of the top three provers, 0..1. */
  top3Share: number;
  /** Fewest provers that together hold more than half of the assignments. */
  nakamotoCoefficient: number;
  /** Herfindahl–Hirschman index, 0..10,000. */
  hhi: number;
  shares: { prover: AccountId; share: number }[];
}
