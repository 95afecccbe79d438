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
});
