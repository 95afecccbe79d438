/**
 * The prover market as a pure state machine, executed by every validator on
 * the system transactions of each finalized block (namespace 0), keyed by
 * block height. No wall clock, no randomness of its own, no I/O: the same
 * inputs give the same state and events on every validator.
 *
 * A job's life:
 * 1. Each registered rollup gets a new *slot* every `slotInterval` blocks.
 *    Provers commit sealed bids to the slot — `sha256(tag, price, salt,
 *    prover)` — while its commit window is open. A slot is not a batch: no
 *    bidder knows which batch it will prove.
 * 2. In the reveal window bidders open their bids. At the window's end the
 *    slot's *beacon* is `sha256` over every revealed salt; it ranks equal
 *    prices and picks the batch. A sealed bid left unrevealed forfeits
 *    `withheldRevealPenalty` of the bond.
 * 3. The best revealed bid wins, unless that would lift the prover's share of
 *    the last `shareWindow` assignments above `maxShare` while another bid
 *    can take the job. The winner's collateral stays locked: it is now bonded
 *    to the job. Only then is the job bound to a finalized batch of the
 *    rollup, chosen by the beacon among those waiting.
 * 4. The assignee has `deadlineBlocks` to land a proof the validators verify.
 *    A missed deadline or an invalid proof is slashed (more for the invalid
 *    proof, and super-linearly more for a prover with a large share) and the
 *    job passes at once to the next-best revealed bid with a fresh deadline;
 *    when no backup is left the batch goes back to wait for a new slot. Only
 *    the assignee's proof is accepted, so no proof is computed twice.
 */
import { concatBytes, sha256 } from "@ordo/core";
import {
  type AccountId,
  type Bid,
  DEFAULT_MARKET_CONFIG,
  type Decentralization,
  type FinalizedBatch,
  type Job,
  type MarketConfig,
  type MarketEvent,
  type MarketTransaction,
  type ProverAccount,
  type Rollup,
  type Slot,
} from "./types.js";

const BID_TAG = new TextEncoder().encode("ordo/prover-market/bid/v1");
const BEACON_TAG = new TextEncoder().encode("ordo/prover-market/beacon/v1");
const SALT_BYTES = 32;

function u64Bytes(n: bigint | number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

function u256Bytes(n: bigint): Uint8Array {
  if (n < 0n || n >= 1n << 256n) throw new RangeError("price must fit in 256 bits");
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 31; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** The sealed form of a bid: what `commit-bid` carries and `reveal-bid` must open. */
export function sealBid(price: bigint, salt: Uint8Array, prover: AccountId): Uint8Array {
  return sha256(concatBytes(BID_TAG, u256Bytes(price), salt, new TextEncoder().encode(prover)));
}

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

function modBytes(bytes: Uint8Array, n: number): number {
  let r = 0;
  for (const b of bytes) r = (r * 256 + b) % n;
  return r;
}

/** `base × (1 + factor × share²)`: a prover holding more of the market risks more per fault. */
export function slashAmount(base: bigint, share: number, factor: number): bigint {
  const s = BigInt(Math.round(Math.min(1, Math.max(0, share)) * 10_000));
  const f = BigInt(Math.round(factor * 1_000));
  return (base * (10n ** 11n + f * s * s)) / 10n ** 11n;
}

export interface MarketGenesis {
  /** Spendable balances: bonds and fee deposits are moved out of them, fees and unbonded stake back in. */
  balances: Record<AccountId, bigint>;
}

export class ProverMarket {
  readonly config: Readonly<MarketConfig>;
  private readonly balances = new Map<AccountId, bigint>();
  private readonly proverAccounts = new Map<AccountId, ProverAccount>();
  private readonly rollupsByNs = new Map<number, Rollup>();
  private readonly slotsById = new Map<number, Slot>();
  private readonly jobsById = new Map<number, Job>();
  /** Finalized batches not yet bound to a job, per namespace, oldest first. */
  private readonly unbound = new Map<number, FinalizedBatch[]>();
  /** Awarded jobs waiting for a batch, per namespace, in award order. */
  private readonly awaitingBatch = new Map<number, number[]>();
  /** Who was assigned each of the last `shareWindow` assignments. */
  private readonly history: AccountId[] = [];
  private nextSlotId = 0;
  private nextJobId = 0;
  private height = 0;
  /** Slashed stake, burned. */
  burned = 0n;

  constructor(genesis: MarketGenesis, config: Partial<MarketConfig> = {}) {
    this.config = Object.freeze({ ...DEFAULT_MARKET_CONFIG, ...config });
    const c = this.config;
    for (const [name, v] of Object.entries(c))
      if ((typeof v === "number" && !(v >= 0)) || (typeof v === "bigint" && v < 0n))
        throw new RangeError(`market config ${name} must be non-negative, got ${String(v)}`);
    if (c.commitWindow < 1 || c.revealWindow < 1 || c.slotInterval < 1 || c.shareWindow < 1)
      throw new RangeError("commitWindow, revealWindow, slotInterval and shareWindow must be at least 1");
    if (c.maxShare <= 0 || c.maxShare > 1) throw new RangeError("maxShare must be in (0, 1]");
    for (const [id, amount] of Object.entries(genesis.balances)) this.balances.set(id, amount);
  }

  // ── inputs ─────────────────────────────────────────────────────────────

  /** Executes one system transaction of the block at `height`, sent by `from`. */
  apply(height: number, from: AccountId, tx: MarketTransaction): MarketEvent[] {
    this.advanceTo(height);
    const out: MarketEvent[] = [];
    const reason = this.execute(from, tx, out);
    if (reason !== null) out.push({ type: "rejected", from, kind: tx.kind, reason });
    return out;
  }

  /**
   * Closes the block at `height` after its system transactions: queues its
   * finalized batches of registered rollups as jobs-to-be, closes the slots
   * whose reveal window ends, enforces deadlines, releases unbonded stake and
   * opens the next slots.
   */
  endBlock(height: number, batches: readonly FinalizedBatch[] = []): MarketEvent[] {
    this.advanceTo(height);
    const out: MarketEvent[] = [];
    for (const b of batches) {
      if (!this.rollupsByNs.has(b.namespace)) continue;
      const list = this.unbound.get(b.namespace) ?? [];
      list.push({ ...b });
      this.unbound.set(b.namespace, list);
      out.push({ type: "batch-queued", batch: { ...b } });
    }
    for (const slot of [...this.slotsById.values()])
      if (!slot.closed && height >= slot.revealEnd - 1) this.closeSlot(slot, out);
    for (const job of [...this.jobsById.values()])
      if (job.status === "assigned" && job.deadline !== null && height > job.deadline) {
        const a = job.assignee as { prover: AccountId };
        this.slash(a.prover, this.config.missPenalty, "missed-deadline", out, { job: job.id });
        this.releaseJob(job, a.prover);
        this.failover(job, a.prover, out);
      }
    for (const ns of [...this.awaitingBatch.keys()].sort((a, b) => a - b)) this.bindWaiting(ns, out);
    for (const p of this.proverAccounts.values()) {
      const due = p.unbonding.filter((u) => u.releaseAt <= height);
      if (due.length === 0) continue;
      p.unbonding = p.unbonding.filter((u) => u.releaseAt > height);
      for (const u of due) {
        this.credit(p.id, u.amount);
        out.push({ type: "unbonded", prover: p.id, amount: u.amount });
      }
    }
    if (height % this.config.slotInterval === 0)
      for (const ns of [...this.rollupsByNs.keys()].sort((a, b) => a - b)) this.openSlot(ns, height, out);
    return out;
  }

  // ── queries ────────────────────────────────────────────────────────────

  balanceOf(id: AccountId): bigint {
    return this.balances.get(id) ?? 0n;
  }
  prover(id: AccountId): Readonly<ProverAccount> | undefined {
    return this.proverAccounts.get(id);
  }
  provers(): readonly Readonly<ProverAccount>[] {
    return [...this.proverAccounts.values()];
  }
  rollup(namespace: number): Readonly<Rollup> | undefined {
    return this.rollupsByNs.get(namespace);
  }
  slot(id: number): Readonly<Slot> | undefined {
    return this.slotsById.get(id);
  }
  /** Slots whose commit or reveal window is open. */
  openSlots(): readonly Readonly<Slot>[] {
    return [...this.slotsById.values()].filter((s) => !s.closed);
  }
  job(id: number): Readonly<Job> | undefined {
    return this.jobsById.get(id);
  }
  jobs(): readonly Readonly<Job>[] {
    return [...this.jobsById.values()];
  }
  /** Batches finalized but not yet bound to a job, per namespace. */
  unboundBatches(namespace: number): readonly FinalizedBatch[] {
    return this.unbound.get(namespace) ?? [];
  }

  /** A prover's share of the last `shareWindow` assignments. */
  shareOf(id: AccountId): number {
    if (this.history.length === 0) return 0;
    return this.history.filter((p) => p === id).length / this.history.length;
  }

  decentralization(): Decentralization {
    const counts = new Map<AccountId, number>();
    for (const p of this.history) counts.set(p, (counts.get(p) ?? 0) + 1);
    const n = this.history.length;
    const shares = [...counts.entries()]
      .map(([prover, c]) => ({ prover, share: n === 0 ? 0 : c / n }))
      .sort((a, b) => b.share - a.share || compareStrings(a.prover, b.prover));
    let cumulative = 0;
    let nakamoto = 0;
    for (const s of shares) {
      if (cumulative > 0.5) break;
      cumulative += s.share;
      nakamoto++;
    }
    return {
      assignments: n,
      top3Share: shares.slice(0, 3).reduce((sum, s) => sum + s.share, 0),
      nakamotoCoefficient: nakamoto,
      hhi: Math.round(shares.reduce((sum, s) => sum + (s.share * 100) ** 2, 0)),
      shares,
    };
  }

  // ── transactions ───────────────────────────────────────────────────────

  /** Applies `tx`; returns why it is refused (and then changes nothing), or null. */
  private execute(from: AccountId, tx: MarketTransaction, out: MarketEvent[]): string | null {
    const c = this.config;
    switch (tx.kind) {
      case "register-prover": {
        if (typeof tx.bond !== "bigint" || tx.bond <= 0n) return "bond must be positive";
        if (this.balanceOf(from) < tx.bond) return `balance ${this.balanceOf(from)} is below the bond ${tx.bond}`;
        this.debit(from, tx.bond);
        const p = this.proverAccounts.get(from) ?? {
          id: from,
          bond: 0n,
          locked: 0n,
          unbonding: [],
          jobsWon: 0,
          proofsAccepted: 0,
          slashes: 0,
          slashedTotal: 0n,
        };
        p.bond += tx.bond;
        this.proverAccounts.set(from, p);
        out.push({ type: "prover-registered", prover: from, bond: p.bond });
        return null;
      }
      case "unbond": {
        const p = this.proverAccounts.get(from);
        if (!p) return "not a registered prover";
        if (typeof tx.amount !== "bigint" || tx.amount <= 0n) return "amount must be positive";
        if (p.bond - p.locked < tx.amount) return `only ${p.bond - p.locked} of the bond is free of open bids and jobs`;
        p.bond -= tx.amount;
        p.unbonding.push({ amount: tx.amount, releaseAt: this.height + c.unbondingDelay });
        return null;
      }
      case "register-rollup": {
        if (!Number.isSafeInteger(tx.namespace) || tx.namespace < 1 || tx.namespace > 0xffffffff)
          return "namespace must be in 1..2^32-1";
        if (this.rollupsByNs.has(tx.namespace)) return `namespace ${tx.namespace} is already registered`;
        if (!Number.isSafeInteger(tx.deadlineBlocks) || tx.deadlineBlocks < 1) return "deadlineBlocks must be ≥ 1";
        if (typeof tx.maxFee !== "bigint" || tx.maxFee < 0n) return "maxFee must be non-negative";
        if (typeof tx.feeDeposit !== "bigint" || tx.feeDeposit < 0n) return "feeDeposit must be non-negative";
        if (typeof tx.circuit !== "string" || typeof tx.verifyingKeyHash !== "string")
          return "circuit and verifyingKeyHash must be strings";
        if (this.balanceOf(from) < tx.feeDeposit) return "balance is below the fee deposit";
        this.debit(from, tx.feeDeposit);
        this.rollupsByNs.set(tx.namespace, {
          namespace: tx.namespace,
          operator: from,
          circuit: tx.circuit,
          verifyingKeyHash: tx.verifyingKeyHash,
          deposit: tx.feeDeposit,
          deadlineBlocks: tx.deadlineBlocks,
          maxFee: tx.maxFee,
        });
        out.push({ type: "rollup-registered", namespace: tx.namespace });
        return null;
      }
      case "commit-bid": {
        const p = this.proverAccounts.get(from);
        if (!p) return "not a registered prover";
        const slot = this.slotsById.get(tx.slot);
        if (!slot) return `no slot ${tx.slot}`;
        if (this.height < slot.openedAt || this.height >= slot.commitEnd)
          return `slot ${slot.id} takes sealed bids at heights ${slot.openedAt}..${slot.commitEnd - 1}`;
        if (!(tx.sealed instanceof Uint8Array) || tx.sealed.length !== 32) return "a sealed bid is 32 bytes";
        if (slot.bids.some((b) => b.prover === from)) return `already bid on slot ${slot.id}`;
        if (p.bond - p.locked < c.jobCollateral)
          return `free bond ${p.bond - p.locked} is below the collateral of one more bid (${c.jobCollateral})`;
        p.locked += c.jobCollateral;
        slot.bids.push({ prover: from, sealed: new Uint8Array(tx.sealed) });
        out.push({ type: "bid-committed", slot: slot.id, prover: from });
        return null;
      }
      case "reveal-bid": {
        const slot = this.slotsById.get(tx.slot);
        if (!slot) return `no slot ${tx.slot}`;
        if (this.height < slot.commitEnd || this.height >= slot.revealEnd)
          return `slot ${slot.id} takes reveals at heights ${slot.commitEnd}..${slot.revealEnd - 1}`;
        const bid = slot.bids.find((b) => b.prover === from);
        if (!bid) return `no sealed bid from this prover on slot ${slot.id}`;
        if (bid.revealed) return "already revealed";
        if (!(tx.salt instanceof Uint8Array) || tx.salt.length !== SALT_BYTES) return "the salt is 32 bytes";
        if (typeof tx.price !== "bigint" || tx.price < 0n || tx.price >= 1n << 256n) return "bad price";
        if (compareBytes(sealBid(tx.price, tx.salt, from), bid.sealed) !== 0)
          return "price and salt do not open the sealed bid";
        const rollup = this.rollupsByNs.get(slot.namespace) as Rollup;
        if (tx.price > rollup.maxFee) return `price ${tx.price} is above the rollup's max fee ${rollup.maxFee}`;
        bid.revealed = { price: tx.price, salt: new Uint8Array(tx.salt) };
        out.push({ type: "bid-revealed", slot: slot.id, prover: from, price: tx.price });
        return null;
      }
      case "submit-proof": {
        const job = this.jobsById.get(tx.job);
        if (!job) return `no job ${tx.job}`;
        if (job.status !== "assigned" || !job.assignee) return `job ${job.id} is ${job.status}`;
        if (job.assignee.prover !== from) return `job ${job.id} is assigned to another prover`;
        if (job.deadline !== null && this.height > job.deadline) return `the deadline of job ${job.id} has passed`;
        if (tx.verdict === "valid") {
          const fee = job.assignee.price;
          this.credit(from, fee);
          const rollup = this.rollupsByNs.get(job.namespace) as Rollup;
          rollup.deposit += job.reserved - fee;
          job.reserved = 0n;
          job.status = "proven";
          this.releaseJob(job, from);
          (this.proverAccounts.get(from) as ProverAccount).proofsAccepted++;
          out.push({ type: "proof-accepted", job: job.id, prover: from, fee });
          return null;
        }
        // Refused, and it costs: slashed and replaced at once.
        out.push({ type: "rejected", from, kind: tx.kind, reason: "the proof does not verify" });
        this.slash(from, c.invalidProofPenalty, "invalid-proof", out, { job: job.id });
        this.releaseJob(job, from);
        this.failover(job, from, out);
        return null;
      }
    }
  }

  // ── slots and jobs ─────────────────────────────────────────────────────

  private openSlot(namespace: number, height: number, out: MarketEvent[]): void {
    const c = this.config;
    const slot: Slot = {
      id: this.nextSlotId++,
      namespace,
      openedAt: height + 1,
      commitEnd: height + 1 + c.commitWindow,
      revealEnd: height + 1 + c.commitWindow + c.revealWindow,
      bids: [],
      closed: false,
    };
    this.slotsById.set(slot.id, slot);
    out.push({ type: "slot-opened", slot: slot.id, namespace, commitEnd: slot.commitEnd, revealEnd: slot.revealEnd });
  }

  /** At the end of the last reveal height: forfeits unrevealed bids, derives the beacon, awards the job. */
  private closeSlot(slot: Slot, out: MarketEvent[]): void {
    const c = this.config;
    slot.closed = true;
    const revealed: (Bid & { revealed: NonNullable<Bid["revealed"]> })[] = [];
    for (const bid of slot.bids) {
      this.unlock(bid.prover, c.jobCollateral);
      if (bid.revealed) revealed.push(bid as (typeof revealed)[number]);
      else this.slash(bid.prover, c.withheldRevealPenalty, "withheld-reveal", out, { slot: slot.id });
    }
    const rollup = this.rollupsByNs.get(slot.namespace) as Rollup;
    if (revealed.length === 0 || rollup.deposit < rollup.maxFee) {
      this.slotsById.delete(slot.id);
      out.push({ type: "slot-unsold", slot: slot.id });
      return;
    }
    revealed.sort((a, b) => compareStrings(a.prover, b.prover));
    const beacon = sha256(concatBytes(BEACON_TAG, u64Bytes(slot.id), ...revealed.map((b) => b.revealed.salt)));
    const tiebreak = (p: AccountId) => sha256(concatBytes(beacon, new TextEncoder().encode(p)));
    const ranked = revealed
      .map((b) => ({ prover: b.prover, price: b.revealed.price, key: tiebreak(b.prover) }))
      .sort((a, b) => (a.price < b.price ? -1 : a.price > b.price ? 1 : compareBytes(a.key, b.key)))
      .map(({ prover, price }) => ({ prover, price }));
    const job: Job = {
      id: this.nextJobId++,
      namespace: slot.namespace,
      slot: slot.id,
      beacon,
      backups: ranked,
      assignee: null,
      batch: null,
      deadline: null,
      status: "waiting-for-batch",
      reserved: rollup.maxFee,
    };
    rollup.deposit -= rollup.maxFee;
    const winner = this.takeNextEligible(job);
    this.slotsById.delete(slot.id);
    if (!winner) {
      rollup.deposit += job.reserved;
      out.push({ type: "slot-unsold", slot: slot.id });
      return;
    }
    this.jobsById.set(job.id, job);
    out.push({
      type: "job-awarded",
      job: job.id,
      slot: slot.id,
      prover: winner.prover,
      price: winner.price,
      backups: job.backups.length,
    });
    const waiting = this.awaitingBatch.get(job.namespace) ?? [];
    waiting.push(job.id);
    this.awaitingBatch.set(job.namespace, waiting);
    this.bindWaiting(job.namespace, out);
  }

  /**
   * The best remaining bid whose prover can hold one more job, skipping one
   * that would exceed `maxShare` while a later bid could take the job; it is
   * assigned (collateral locked, counted in the share window) and removed from
   * the backups.
   */
  private takeNextEligible(job: Job): { prover: AccountId; price: bigint } | null {
    const c = this.config;
    const eligible = job.backups.filter((b) => {
      const p = this.proverAccounts.get(b.prover);
      return p !== undefined && p.bond - p.locked >= c.jobCollateral;
    });
    if (eligible.length === 0) {
      job.backups = [];
      return null;
    }
    const window = Math.min(this.history.length + 1, c.shareWindow);
    const recent = this.history.slice(-(window - 1));
    const wouldExceed = (prover: AccountId) => (recent.filter((p) => p === prover).length + 1) / window > c.maxShare;
    const pick = eligible.find((b) => !wouldExceed(b.prover)) ?? (eligible[0] as (typeof eligible)[number]);
    job.backups = job.backups.filter((b) => b !== pick);
    const p = this.proverAccounts.get(pick.prover) as ProverAccount;
    p.locked += c.jobCollateral;
    p.jobsWon++;
    job.assignee = pick;
    this.history.push(pick.prover);
    if (this.history.length > c.shareWindow) this.history.shift();
    return pick;
  }

  /** Binds awarded jobs of `namespace`, in award order, to waiting batches picked by each job's beacon. */
  private bindWaiting(namespace: number, out: MarketEvent[]): void {
    const jobs = this.awaitingBatch.get(namespace) ?? [];
    const pool = this.unbound.get(namespace) ?? [];
    while (jobs.length > 0 && pool.length > 0) {
      const job = this.jobsById.get(jobs.shift() as number) as Job;
      const [batch] = pool.splice(modBytes(job.beacon, pool.length), 1) as [FinalizedBatch];
      const rollup = this.rollupsByNs.get(namespace) as Rollup;
      job.batch = batch;
      job.status = "assigned";
      job.deadline = this.height + rollup.deadlineBlocks;
      out.push({
        type: "job-bound",
        job: job.id,
        prover: (job.assignee as { prover: AccountId }).prover,
        batch: { ...batch },
        deadline: job.deadline,
      });
    }
  }

  /** Passes a job whose assignee failed to the next eligible backup, or sends its batch back to wait for a slot. */
  private failover(job: Job, failed: AccountId, out: MarketEvent[]): void {
    const next = this.takeNextEligible(job);
    const rollup = this.rollupsByNs.get(job.namespace) as Rollup;
    if (next) {
      job.deadline = this.height + rollup.deadlineBlocks;
      out.push({ type: "job-reassigned", job: job.id, from: failed, to: next.prover, deadline: job.deadline });
      return;
    }
    const batch = job.batch as FinalizedBatch;
    rollup.deposit += job.reserved;
    job.reserved = 0n;
    this.jobsById.delete(job.id);
    // Back at the front: the next slot of this rollup takes it.
    this.unbound.set(job.namespace, [batch, ...(this.unbound.get(job.namespace) ?? [])]);
    out.push({ type: "job-reopened", job: job.id, batch: { ...batch } });
  }

  private releaseJob(job: Job, prover: AccountId): void {
    this.unlock(prover, this.config.jobCollateral);
    if (job.assignee?.prover === prover) job.assignee = null;
  }

  // ── accounts ───────────────────────────────────────────────────────────

  private slash(
    prover: AccountId,
    base: bigint,
    reason: "withheld-reveal" | "missed-deadline" | "invalid-proof",
    out: MarketEvent[],
    at: { job?: number; slot?: number },
  ): void {
    const p = this.proverAccounts.get(prover);
    if (!p) return;
    const wanted =
      reason === "withheld-reveal" ? base : slashAmount(base, this.shareOf(prover), this.config.shareSlashFactor);
    // biome-ignore lint/complexity/useMathMinMax: bigints (Math.min takes numbers)
    const amount = wanted < p.bond ? wanted : p.bond;
    p.bond -= amount;
    if (p.locked > p.bond) p.locked = p.bond;
    p.slashes++;
    p.slashedTotal += amount;
    this.burned += amount;
    out.push({ type: "slashed", prover, amount, reason, ...at });
  }

  private unlock(prover: AccountId, amount: bigint): void {
    const p = this.proverAccounts.get(prover);
    if (p) p.locked = p.locked > amount ? p.locked - amount : 0n;
  }

  private credit(id: AccountId, amount: bigint): void {
    this.balances.set(id, this.balanceOf(id) + amount);
  }

  private debit(id: AccountId, amount: bigint): void {
    this.balances.set(id, this.balanceOf(id) - amount);
  }

  private advanceTo(height: number): void {
    if (!Number.isSafeInteger(height) || height < this.height)
      throw new RangeError(`height ${height} is below the market's height ${this.height}`);
    this.height = height;
  }
}
