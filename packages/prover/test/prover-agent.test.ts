import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type MarketEvent, ProverAgent, ProverMarket } from "../src/index.js";

describe("prover agent", () => {
  it("keeps bidding slots ahead of the batches, reveals in time, and is handed each bound job once", () => {
    const market = new ProverMarket(
      { balances: { op: 1_000_000n, a: 10_000n, b: 10_000n } },
      { commitWindow: 2, revealWindow: 2, slotInterval: 1, jobCollateral: 100n },
    );
    const agents = ["a", "b"].map(
      (id, i) => new ProverAgent({ id, price: BigInt(10 + i), randomSalt: () => new Uint8Array(randomBytes(32)) }),
    );
    const events: MarketEvent[] = [];
    let height = 1;
    events.push(
      ...market.apply(height, "op", {
        kind: "register-rollup",
        namespace: 5,
        circuit: "c",
        verifyingKeyHash: "v",
        feeDeposit: 100_000n,
        deadlineBlocks: 5,
        maxFee: 50n,
      }),
      ...agents.flatMap((a) => market.apply(height, a.id, { kind: "register-prover", bond: 1_000n })),
      ...market.endBlock(height),
    );
    const proving: number[] = [];
    for (height = 2; height < 60; height++) {
      for (const a of agents)
        for (const tx of a.transactionsFor(market, height)) events.push(...market.apply(height, a.id, tx));
      // Every job started in an earlier block is proven now.
      for (const id of proving.splice(0)) {
        const job = market.job(id);
        if (job?.assignee)
          events.push(
            ...market.apply(height, job.assignee.prover, { kind: "submit-proof", job: id, verdict: "valid" }),
          );
      }
      const batches = height % 5 === 0 ? [{ namespace: 5, height, index: 0, sizeClass: 1 }] : [];
      events.push(...market.endBlock(height, batches));
      for (const a of agents) for (const job of a.jobsToProve(market)) proving.push(job.id);
    }
    expect(events.filter((e) => e.type === "rejected")).toEqual([]);
    expect(events.filter((e) => e.type === "slashed")).toEqual([]);
    const proven = events.filter((e) => e.type === "proof-accepted");
    expect(proven.length).toBeGreaterThanOrEqual(10);
    // A won job was waiting when each batch arrived: it was bound in the block that finalized the batch.
    for (const e of events.filter((x) => x.type === "job-bound"))
      expect(e.type === "job-bound" && e.batch.height).toBe(e.type === "job-bound" && e.deadline - 5);
    expect(new Set(proven.map((e) => e.type === "proof-accepted" && e.prover)).size).toBe(2); // both took jobs
  });
  it("with maxJobsInProgress 1, commits no new bid while its bound job is unproven, and bids again once proven", () => {
    const market = new ProverMarket(
      { balances: { op: 1_000_000n, a: 10_000n } },
      { commitWindow: 3, revealWindow: 3, slotInterval: 1, jobCollateral: 100n },
    );
    const agent = new ProverAgent({
      id: "a",
      price: 10n,
      maxWaitingJobs: 3,
      maxJobsInProgress: 1,
      randomSalt: () => new Uint8Array(randomBytes(32)),
    });
    const rollup = (namespace: number) =>
      market.apply(1, "op", {
        kind: "register-rollup",
        namespace,
        circuit: "c",
        verifyingKeyHash: "v",
        feeDeposit: 100_000n,
        deadlineBlocks: 50,
        maxFee: 50n,
      });
    const events: MarketEvent[] = [
      ...rollup(5),
      ...rollup(6),
      ...market.apply(1, "a", { kind: "register-prover", bond: 1_000n }),
      ...market.endBlock(1),
    ];
    const kinds: Record<number, string[]> = {};
    let bound: number | undefined;
    for (let height = 2; height < 30; height++) {
      const txs = agent.transactionsFor(market, height);
      kinds[height] = txs.map((t) => t.kind);
      for (const tx of txs) events.push(...market.apply(height, "a", tx));
      // One batch of rollup 5, once a job of it is won; the agent starts proving it and finishes at height 20.
      const batches = height === 5 ? [{ namespace: 5, height, index: 0, sizeClass: 1 }] : [];
      events.push(...market.endBlock(height, batches));
      for (const job of agent.jobsToProve(market)) bound = job.id;
      if (height === 20 && bound !== undefined) agent.proofReady(bound);
    }
    expect(events.filter((e) => e.type === "rejected" || e.type === "slashed")).toEqual([]);
    expect(bound).toBeDefined();
    const boundAt = events.findIndex((e) => e.type === "job-bound");
    expect(boundAt).toBeGreaterThan(0);
    // From the block after the job was bound until the proof is ready: no new commit.
    for (let h = 8; h <= 20; h++) expect(kinds[h], `height ${h}`).not.toContain("commit-bid");
    // Proven (ready): it bids again.
    expect(Object.entries(kinds).some(([h, k]) => Number(h) > 20 && k.includes("commit-bid"))).toBe(true);
  });
  it("at capacity it still reveals the bids it committed (a withheld reveal is slashed)", () => {
    const agent = new ProverAgent({
      id: "a",
      price: 10n,
      maxJobsInProgress: 1,
      randomSalt: () => new Uint8Array(randomBytes(32)),
    });
    const slotS = { id: 1, namespace: 5, openedAt: 1, commitEnd: 4, revealEnd: 7 };
    const slotT = { id: 2, namespace: 6, openedAt: 5, commitEnd: 8, revealEnd: 11 };
    const job = { id: 9, namespace: 6, status: "assigned" as const, assignee: { prover: "a" }, batch: null };
    const view = (o: {
      slots: (typeof slotS)[];
      jobs: (typeof job)[];
      bids: Record<number, { prover: string }[]>;
    }) => ({
      config: { jobCollateral: 100n, revealWindow: 3 },
      prover: () => ({ bond: 1_000n, locked: 0n }),
      openSlots: () => o.slots,
      slot: (id: number) => ({ bids: o.bids[id] ?? [] }),
      jobs: () => o.jobs,
    });
    // Free: it commits to S.
    expect(agent.plan(view({ slots: [slotS], jobs: [], bids: {} }), 2).steps.map((s) => s.kind)).toEqual([
      "commit-bid",
    ]);
    // A job of its own is being proven: it reveals S, and does not commit to T.
    const busy = view({ slots: [slotS, slotT], jobs: [job], bids: { 1: [{ prover: "a" }] } });
    expect(agent.plan(busy, 5).steps.map((s) => s.kind)).toEqual(["reveal-bid"]);
    // The proof is ready: it commits to T again.
    agent.proofReady(job.id);
    expect(agent.plan(busy, 6).steps.map((s) => s.kind)).toContain("commit-bid");
  });
});
