import { sha256 } from "@ordo/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AccountId,
  type FinalizedBatch,
  type MarketConfig,
  type MarketEvent,
  type MarketTransaction,
  ProverMarket,
  sealBid,
  slashAmount,
} from "../src/index.js";

const CONFIG: Partial<MarketConfig> = {
  commitWindow: 2,
  revealWindow: 2,
  slotInterval: 1,
  unbondingDelay: 10,
  jobCollateral: 100n,
  withheldRevealPenalty: 30n,
  missPenalty: 50n,
  invalidProofPenalty: 120n,
  shareWindow: 20,
  maxShare: 0.5,
  shareSlashFactor: 8,
};
const NS = 7;
const OPERATOR = "rollup-operator";

const salt = (who: string, slot: number) => sha256(new TextEncoder().encode(`${who}/${slot}`));

/** Drives a market block by block, collecting every event. */
class Harness {
  readonly market: ProverMarket;
  height = 0;
  readonly events: MarketEvent[] = [];
  constructor(balances: Record<AccountId, bigint>, config: Partial<MarketConfig> = CONFIG) {
    this.market = new ProverMarket({ balances: { [OPERATOR]: 1_000_000n, ...balances } }, config);
  }
  /** One block: its system transactions, then its finalized batches. */
  block(txs: [AccountId, MarketTransaction][] = [], batches: FinalizedBatch[] = []): MarketEvent[] {
    this.height++;
    const out: MarketEvent[] = [];
    for (const [from, tx] of txs) out.push(...this.market.apply(this.height, from, tx));
    out.push(...this.market.endBlock(this.height, batches));
    this.events.push(...out);
    return out;
  }
  registerRollup(deadlineBlocks = 3, maxFee = 50n) {
    return this.block([
      [
        OPERATOR,
        {
          kind: "register-rollup",
          namespace: NS,
          circuit: "rollup_batch",
          verifyingKeyHash: "0xabc",
          feeDeposit: 10_000n,
          deadlineBlocks,
          maxFee,
        },
      ],
    ]);
  }
  batch(index: number): FinalizedBatch {
    return { namespace: NS, height: this.height + 1, index, sizeClass: 1 };
  }
  /** The open slot whose commit window includes the next height. */
  nextSlot(): number {
    const h = this.height + 1;
    const s = this.market.openSlots().find((x) => x.openedAt <= h && h < x.commitEnd);
    if (!s) throw new Error(`no slot takes bids at height ${h}`);
    return s.id;
  }
  /** Sealed bids on the next slot, then their reveals, then blocks until the slot closes. Returns the slot id. */
  auction(bids: { who: AccountId; price: bigint; reveal?: boolean }[], batches: FinalizedBatch[] = []): number {
    const slot = this.nextSlot();
    this.block(
      bids.map((b) => [b.who, { kind: "commit-bid", slot, sealed: sealBid(b.price, salt(b.who, slot), b.who) }]),
    );
    const s = this.market.slot(slot);
    while (this.height + 1 < (s?.commitEnd ?? 0)) this.block();
    this.block(
      bids
        .filter((b) => b.reveal !== false)
        .map((b) => [b.who, { kind: "reveal-bid", slot, price: b.price, salt: salt(b.who, slot) }]),
      batches,
    );
    while (this.market.slot(slot) && !this.market.slot(slot)?.closed) this.block();
    return slot;
  }
  jobOfSlot(slot: number) {
    return this.market.jobs().find((j) => j.slot === slot);
  }
}

/** A market with the rollup registered (with this proving deadline) and alice and bob bonded 500 each. */
function aliceAndBob(deadlineBlocks?: number): Harness {
  const h = new Harness({ alice: 1_000n, bob: 1_000n });
  h.registerRollup(deadlineBlocks);
  h.block([
    ["alice", { kind: "register-prover", bond: 500n }],
    ["bob", { kind: "register-prover", bond: 500n }],
  ]);
  return h;
}

const rejected = (events: MarketEvent[]) => events.filter((e) => e.type === "rejected");

describe("prover market", () => {
  it("runs a job end to end: sealed bids, reveal, award, binding to a batch, proof, fee", () => {
    const h = aliceAndBob();
    const slot = h.auction(
      [
        { who: "alice", price: 40n },
        { who: "bob", price: 30n },
      ],
      [h.batch(0)],
    );
    const job = h.jobOfSlot(slot);
    expect(job?.assignee?.prover).toBe("bob");
    expect(job?.status).toBe("assigned");
    expect(job?.batch).toMatchObject({ namespace: NS, index: 0 });
    expect(job?.backups).toEqual([{ prover: "alice", price: 40n }]);
    expect(h.market.prover("bob")?.locked).toBe(100n);
    expect(h.market.prover("alice")?.locked).toBe(0n);

    const before = h.market.balanceOf("bob");
    const depositBefore = h.market.rollup(NS)?.deposit as bigint;
    const done = h.block([["bob", { kind: "submit-proof", job: job?.id as number, verdict: "valid" }]]);
    expect(done).toContainEqual({ type: "proof-accepted", job: job?.id, prover: "bob", fee: 30n });
    expect(h.market.balanceOf("bob")).toBe(before + 30n);
    expect(h.market.job(job?.id as number)?.status).toBe("proven");
    expect(h.market.prover("bob")?.locked).toBe(0n);
    // The unspent part of the reserved max fee went back to the rollup.
    expect(h.market.rollup(NS)?.deposit).toBe(depositBefore + 50n - 30n);
  });

  it("rejects a reveal with the wrong salt, a reveal after its window, and a bid after the commit window", () => {
    const h = new Harness({ alice: 1_000n });
    h.registerRollup();
    h.block([["alice", { kind: "register-prover", bond: 500n }]]);
    const slot = h.nextSlot();
    const s = h.market.slot(slot);
    h.block([["alice", { kind: "commit-bid", slot, sealed: sealBid(10n, salt("alice", slot), "alice") }]]);
    while (h.height + 1 < (s?.commitEnd ?? 0)) h.block();
    // First reveal height: a late commit, and a reveal with the wrong salt.
    const first = h.block([
      ["alice", { kind: "commit-bid", slot, sealed: sealBid(9n, salt("x", 1), "alice") }],
      ["alice", { kind: "reveal-bid", slot, price: 10n, salt: salt("alice", slot + 1) }],
    ]);
    expect(rejected(first).map((e) => e.type === "rejected" && e.reason)).toEqual([
      expect.stringMatching(/takes sealed bids at heights/),
      "price and salt do not open the sealed bid",
    ]);
    const wrongPrice = h.block([["alice", { kind: "reveal-bid", slot, price: 11n, salt: salt("alice", slot) }]]);
    expect(rejected(wrongPrice)[0]?.reason).toBe("price and salt do not open the sealed bid");
    while (h.market.slot(slot) && !h.market.slot(slot)?.closed) h.block();
    const afterWindow = h.block([["alice", { kind: "reveal-bid", slot, price: 10n, salt: salt("alice", slot) }]]);
    expect(rejected(afterWindow)).toHaveLength(1);
  });

  it("forfeits bond for a sealed bid never revealed", () => {
    const h = aliceAndBob();
    const slot = h.auction(
      [
        { who: "alice", price: 10n, reveal: false },
        { who: "bob", price: 20n },
      ],
      [h.batch(0)],
    );
    expect(h.events).toContainEqual({ type: "slashed", prover: "alice", amount: 30n, reason: "withheld-reveal", slot });
    expect(h.market.prover("alice")?.bond).toBe(470n);
    expect(h.market.prover("alice")?.locked).toBe(0n);
    expect(h.jobOfSlot(slot)?.assignee?.prover).toBe("bob");
  });

  it("slashes a missed deadline and hands the job to the backup with a fresh deadline; only the assignee's proof counts", () => {
    const h = aliceAndBob(3);
    const slot = h.auction(
      [
        { who: "alice", price: 10n },
        { who: "bob", price: 20n },
      ],
      [h.batch(0)],
    );
    const job = h.jobOfSlot(slot) as NonNullable<ReturnType<Harness["jobOfSlot"]>>;
    expect(job.assignee?.prover).toBe("alice");
    // Bob cannot take a job that is Alice's: no proof is computed twice.
    const early = h.block([["bob", { kind: "submit-proof", job: job.id, verdict: "valid" }]]);
    expect(rejected(early)[0]?.reason).toMatch(/assigned to another prover/);
    while (h.market.job(job.id)?.assignee?.prover === "alice") h.block();
    const reassigned = h.events.find((e) => e.type === "job-reassigned");
    expect(reassigned).toMatchObject({ job: job.id, from: "alice", to: "bob", deadline: h.height + 3 });
    const slash = h.events.find((e) => e.type === "slashed" && e.reason === "missed-deadline");
    expect(slash).toMatchObject({ prover: "alice", job: job.id });
    expect((slash as { amount: bigint }).amount).toBeGreaterThanOrEqual(50n);
    expect(h.market.prover("alice")?.locked).toBe(0n);
    const late = h.block([["alice", { kind: "submit-proof", job: job.id, verdict: "valid" }]]);
    expect(rejected(late)).toHaveLength(1);
    const ok = h.block([["bob", { kind: "submit-proof", job: job.id, verdict: "valid" }]]);
    expect(ok).toContainEqual({ type: "proof-accepted", job: job.id, prover: "bob", fee: 20n });
  });

  it("rejects and slashes an invalid proof harder than a missed deadline, and reassigns at once", () => {
    const h = aliceAndBob();
    const slot = h.auction(
      [
        { who: "alice", price: 10n },
        { who: "bob", price: 20n },
      ],
      [h.batch(0)],
    );
    const job = h.jobOfSlot(slot) as NonNullable<ReturnType<Harness["jobOfSlot"]>>;
    const bad = h.block([["alice", { kind: "submit-proof", job: job.id, verdict: "invalid" }]]);
    expect(rejected(bad)[0]?.reason).toBe("the proof does not verify");
    const slash = bad.find((e) => e.type === "slashed") as { amount: bigint; reason: string };
    expect(slash.reason).toBe("invalid-proof");
    expect(slash.amount).toBeGreaterThanOrEqual(120n);
    expect(bad).toContainEqual(expect.objectContaining({ type: "job-reassigned", from: "alice", to: "bob" }));
  });

  it("reopens the batch for a new slot when no backup is left, so every batch ends up proven", () => {
    const h = aliceAndBob(2);
    const first = h.auction([{ who: "alice", price: 10n }], [h.batch(0)]);
    const job = h.jobOfSlot(first) as NonNullable<ReturnType<Harness["jobOfSlot"]>>;
    const batch = job.batch;
    while (h.market.job(job.id)) h.block();
    expect(h.events).toContainEqual({ type: "job-reopened", job: job.id, batch });
    expect(h.market.unboundBatches(NS)).toEqual([batch]);
    const second = h.auction([{ who: "bob", price: 15n }]);
    const again = h.jobOfSlot(second);
    expect(again?.batch).toEqual(batch);
    h.block([["bob", { kind: "submit-proof", job: again?.id as number, verdict: "valid" }]]);
    expect(h.market.job(again?.id as number)?.status).toBe("proven");
  });

  it("caps how many bids and jobs a bond can hold", () => {
    const h = new Harness({ alice: 1_000n });
    h.registerRollup();
    h.block([["alice", { kind: "register-prover", bond: 150n }]]); // one job's collateral (100), not two
    const s1 = h.nextSlot();
    h.block([["alice", { kind: "commit-bid", slot: s1, sealed: sealBid(1n, salt("alice", s1), "alice") }]]);
    const s2 = h.nextSlot();
    const second = h.block([
      ["alice", { kind: "commit-bid", slot: s2, sealed: sealBid(1n, salt("alice", s2), "alice") }],
    ]);
    expect(rejected(second)[0]?.reason).toMatch(/free bond 50 is below the collateral/);
    const unbond = h.block([["alice", { kind: "unbond", amount: 100n }]]);
    expect(rejected(unbond)[0]?.reason).toMatch(/only 50 of the bond is free/);
  });

  it("returns unbonded stake only after the unbonding delay", () => {
    const h = new Harness({ alice: 1_000n });
    h.block([["alice", { kind: "register-prover", bond: 400n }]]);
    h.block([["alice", { kind: "unbond", amount: 300n }]]);
    expect(h.market.balanceOf("alice")).toBe(600n);
    expect(h.market.prover("alice")?.bond).toBe(100n);
    for (let i = 0; i < 9; i++) h.block();
    expect(h.market.balanceOf("alice")).toBe(600n);
    h.block();
    expect(h.market.balanceOf("alice")).toBe(900n);
  });

  it("keeps a whale with 90% of all bonded stake at or below the share cap while others bid", () => {
    const h = new Harness({ whale: 100_000n, p1: 5_000n, p2: 5_000n, p3: 5_000n });
    h.registerRollup(50, 100n);
    h.block([
      ["whale", { kind: "register-prover", bond: 27_000n }], // 90% of the 30,000 bonded
      ["p1", { kind: "register-prover", bond: 1_000n }],
      ["p2", { kind: "register-prover", bond: 1_000n }],
      ["p3", { kind: "register-prover", bond: 1_000n }],
    ]);
    let batchIndex = 0;
    for (let k = 0; k < 40; k++) {
      const slot = h.auction(
        [
          { who: "whale", price: 1n },
          { who: ["p1", "p2", "p3"][k % 3] as string, price: 90n },
        ],
        [h.batch(batchIndex++)],
      );
      // Everyone proves at once, so bonds free up.
      const job = h.jobOfSlot(slot);
      if (job?.assignee) h.block([[job.assignee.prover, { kind: "submit-proof", job: job.id, verdict: "valid" }]]);
    }
    const d = h.market.decentralization();
    const whale = d.shares.find((s) => s.prover === "whale")?.share ?? 0;
    expect(whale).toBeGreaterThan(0.4); // it wins whatever the cap allows...
    expect(whale).toBeLessThanOrEqual(0.5); // ...and no more
    expect(d.nakamotoCoefficient).toBeGreaterThanOrEqual(2);
    expect(d.hhi).toBeLessThan(5_000);
  });

  it("slashes super-linearly in market share", () => {
    expect(slashAmount(100n, 0, 8)).toBe(100n);
    expect(slashAmount(100n, 0.25, 8)).toBe(150n);
    expect(slashAmount(100n, 0.5, 8)).toBe(300n);
    expect(slashAmount(100n, 1, 8)).toBe(900n);
    // Doubling the share more than doubles the added slash.
    expect(slashAmount(1000n, 0.5, 8) - 1000n).toBeGreaterThan(2n * (slashAmount(1000n, 0.25, 8) - 1000n));
  });

  it("property: every validator that runs the same blocks reaches the same assignments, events and balances", () => {
    const provers = ["p0", "p1", "p2", "p3"];
    const action = fc.record({
      who: fc.constantFrom(...provers),
      what: fc.constantFrom("bid", "reveal", "reveal-wrong", "prove", "prove-invalid", "unbond", "idle"),
      price: fc.bigInt({ min: 0n, max: 60n }),
      batches: fc.integer({ min: 0, max: 2 }),
    });
    fc.assert(
      fc.property(fc.array(action, { minLength: 20, maxLength: 120 }), (actions) => {
        const run = () => {
          const h = new Harness(Object.fromEntries(provers.map((p) => [p, 5_000n])));
          h.registerRollup(3);
          h.block(provers.map((p) => [p, { kind: "register-prover", bond: 1_000n }] as [AccountId, MarketTransaction]));
          const prices = new Map<string, bigint>();
          let index = 0;
          for (const a of actions) {
            const txs: [AccountId, MarketTransaction][] = [];
            const open = h.market.openSlots();
            const commitSlot = open.find((s) => s.openedAt <= h.height + 1 && h.height + 1 < s.commitEnd);
            const revealSlot = open.find((s) => s.commitEnd <= h.height + 1 && h.height + 1 < s.revealEnd);
            const mine = h.market.jobs().find((j) => j.assignee?.prover === a.who && j.status === "assigned");
            if (a.what === "bid" && commitSlot) {
              prices.set(`${a.who}/${commitSlot.id}`, a.price);
              txs.push([
                a.who,
                {
                  kind: "commit-bid",
                  slot: commitSlot.id,
                  sealed: sealBid(a.price, salt(a.who, commitSlot.id), a.who),
                },
              ]);
            } else if ((a.what === "reveal" || a.what === "reveal-wrong") && revealSlot) {
              const price = prices.get(`${a.who}/${revealSlot.id}`) ?? a.price;
              const s = a.what === "reveal" ? salt(a.who, revealSlot.id) : salt(a.who, -1);
              txs.push([a.who, { kind: "reveal-bid", slot: revealSlot.id, price, salt: s }]);
            } else if ((a.what === "prove" || a.what === "prove-invalid") && mine)
              txs.push([
                a.who,
                { kind: "submit-proof", job: mine.id, verdict: a.what === "prove" ? "valid" : "invalid" },
              ]);
            else if (a.what === "unbond") txs.push([a.who, { kind: "unbond", amount: 10n }]);
            h.block(
              txs,
              Array.from({ length: a.batches }, () => h.batch(index++)),
            );
          }
          return h;
        };
        const a = run();
        const b = run();
        const snapshot = (h: Harness) =>
          JSON.stringify(
            {
              events: h.events,
              jobs: h.market.jobs(),
              provers: h.market.provers(),
              balances: provers.map((p) => h.market.balanceOf(p)),
              burned: h.market.burned,
            },
            (_k, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v),
          );
        expect(snapshot(a)).toBe(snapshot(b));
        // Conservation: balances + bonds + unbonding + deposits + burned + reserved fees never change.
        const total = (h: Harness) =>
          provers.reduce((s, p) => s + h.market.balanceOf(p), 0n) +
          h.market.provers().reduce((s, p) => s + p.bond + p.unbonding.reduce((u, x) => u + x.amount, 0n), 0n) +
          h.market.balanceOf(OPERATOR) +
          (h.market.rollup(NS)?.deposit ?? 0n) +
          h.market.jobs().reduce((s, j) => s + j.reserved, 0n) +
          h.market.burned;
        expect(total(a)).toBe(1_000_000n + 4n * 5_000n);
        // Locked collateral never exceeds the bond.
        for (const p of a.market.provers()) expect(p.locked <= p.bond).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});
