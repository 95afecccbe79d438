/**
 * The prover agent sees its steps through: a step whose transaction did not land (lost with a validator,
 * say) is planned again while its window is open, and a step that landed is not.
 */
import { describe, expect, it } from "vitest";
import { type MarketEvent, type MarketTransaction, ProverAgent, ProverMarket } from "../src/index.js";
import type { MarketView, ProverStep } from "../src/market/prover-agent.js";

const NS = 5;

/** A market with one rollup (deadline `deadlineBlocks`) and the prover `a` registered at height 1. */
function setup(o: { deadlineBlocks?: number; resubmitAfter?: number } = {}) {
  const market = new ProverMarket(
    { balances: { op: 1_000_000n, a: 10_000n } },
    { commitWindow: 4, revealWindow: 6, slotInterval: 2, jobCollateral: 100n },
  );
  let salt = 0;
  const agent = new ProverAgent({
    id: "a",
    price: 10n,
    randomSalt: () => new Uint8Array(32).fill(++salt),
    resubmitAfter: o.resubmitAfter ?? 2,
  });
  const events: MarketEvent[] = [
    ...market.apply(1, "op", {
      kind: "register-rollup",
      namespace: NS,
      circuit: "c",
      verifyingKeyHash: "v",
      feeDeposit: 100_000n,
      deadlineBlocks: o.deadlineBlocks ?? 10,
      maxFee: 50n,
    }),
    ...market.apply(1, "a", { kind: "register-prover", bond: 1_000n }),
    ...market.endBlock(1),
  ];
  return { market, agent, events };
}

describe("prover agent: steps that did not land", () => {
  it("sends a lost reveal again while the reveal window is open, and stops once it lands", () => {
    const { market, agent, events } = setup();
    const revealedAt: number[] = [];
    let dropped = 0;
    for (let height = 2; height < 20; height++) {
      for (const tx of agent.transactionsFor(market, height)) {
        if (tx.kind === "reveal-bid" && tx.slot === 0) {
          revealedAt.push(height);
          // The first reveal is lost with its validator.
          if (dropped++ === 0) continue;
        }
        events.push(...market.apply(height, "a", tx));
      }
      events.push(...market.endBlock(height));
    }
    // Slot 0 opens at 3; commits until 6, reveals at 7..12. Lost at 7, sent again 2 blocks later, and no more.
    expect(revealedAt).toEqual([7, 9]);
    expect(events).toContainEqual({ type: "bid-revealed", slot: 0, prover: "a", price: 10n });
    expect(events.filter((e) => e.type === "slashed")).toEqual([]);
    expect(events.filter((e) => e.type === "rejected")).toEqual([]);
  });

  it("sends a reveal that never lands again only while its window is open", () => {
    const { market, agent, events } = setup();
    const revealedAt: number[] = [];
    for (let height = 2; height < 24; height++) {
      for (const tx of agent.transactionsFor(market, height)) {
        if (tx.kind === "reveal-bid" && tx.slot === 0) {
          revealedAt.push(height);
          continue; // every one of them is lost
        }
        events.push(...market.apply(height, "a", tx));
      }
      events.push(...market.endBlock(height));
    }
    expect(revealedAt).toEqual([7, 9, 11]); // the window is 7..12
    expect(events).toContainEqual(expect.objectContaining({ type: "slashed", reason: "withheld-reveal", slot: 0 }));
  });

  it("does not send again a step that lands late but before it is due", () => {
    const { market, agent, events } = setup({ resubmitAfter: 3 });
    const planned: string[] = [];
    const landing = new Map<number, MarketTransaction[]>();
    for (let height = 2; height < 30; height++) {
      const txs = agent.transactionsFor(market, height);
      planned.push(...txs.map((tx) => ProverAgent.stepKey(tx as ProverStep)));
      // Each lands two blocks after the block it was planned for, and shows in the plan after that.
      landing.set(height + 2, txs);
      for (const tx of landing.get(height) ?? []) events.push(...market.apply(height, "a", tx));
      events.push(...market.endBlock(height));
    }
    expect(planned.slice(0, 2)).toEqual(["commit/0", "reveal/0"]);
    expect(new Set(planned).size).toBe(planned.length); // nothing planned twice
    expect(events).toContainEqual({ type: "bid-revealed", slot: 0, prover: "a", price: 10n });
    expect(events.filter((e) => e.type === "rejected" || e.type === "slashed")).toEqual([]);
  });

  it("submits a proof again until it lands, before the deadline", () => {
    const { market, agent, events } = setup({ deadlineBlocks: 12 });
    const submittedAt: number[] = [];
    let job: number | undefined;
    for (let height = 2; height < 40; height++) {
      const plan = agent.plan(market, height);
      for (const step of plan.steps) {
        if (step.kind !== "submit-proof") {
          events.push(...market.apply(height, "a", step));
          continue;
        }
        submittedAt.push(height);
        // The first two submissions are lost.
        if (submittedAt.length <= 2) continue;
        events.push(...market.apply(height, "a", { kind: "submit-proof", job: step.job, verdict: "valid" }));
      }
      // A batch at 15: slot 0's job (won at 12) is bound to it, with deadline 27.
      events.push(...market.endBlock(height, height === 15 ? [{ namespace: NS, height, index: 0, sizeClass: 1 }] : []));
      for (const j of agent.jobsToProve(market)) {
        job = j.id;
        agent.proofReady(j.id); // proven at once
      }
    }
    expect(job).toBe(0);
    expect(market.job(0)?.deadline).toBe(27);
    expect(submittedAt).toEqual([16, 18, 20]);
    expect(events).toContainEqual({ type: "proof-accepted", job: 0, prover: "a", fee: 10n });
    expect(events.filter((e) => e.type === "slashed")).toEqual([]);
  });

  it("stops submitting a proof that never lands once the deadline has passed", () => {
    // A view that goes on showing the job assigned (a node behind, say): the deadline alone stops it.
    const view: MarketView = {
      config: { jobCollateral: 100n, revealWindow: 6 },
      prover: () => ({ bond: 1_000n, locked: 100n }),
      openSlots: () => [],
      slot: () => undefined,
      jobs: () => [{ id: 3, namespace: NS, status: "assigned", assignee: { prover: "a" }, batch: null, deadline: 20 }],
    };
    const agent = new ProverAgent({ id: "a", price: 10n, randomSalt: () => new Uint8Array(32), resubmitAfter: 2 });
    expect(agent.jobsToProve(view).map((j) => j.id)).toEqual([3]);
    agent.proofReady(3);
    const at: number[] = [];
    for (let height = 14; height < 30; height++)
      if (agent.plan(view, height).steps.some((s) => s.kind === "submit-proof")) at.push(height);
    expect(at).toEqual([14, 16, 18, 20]);
  });

  it("after resend(), sends every step in flight again at once, in the order first sent, but none that landed", () => {
    const landed = new Set<string>();
    const slots = [
      { id: 0, namespace: 1, openedAt: 1, commitEnd: 10, revealEnd: 22 },
      { id: 1, namespace: 2, openedAt: 1, commitEnd: 10, revealEnd: 22 },
    ];
    // A prover daemon's view: bids only counted, what landed known from the nonce.
    const view: MarketView = {
      config: { jobCollateral: 100n, revealWindow: 10 },
      prover: () => ({ bond: 1_000n, locked: 0n }),
      openSlots: () => slots,
      slot: (id) => (slots[id] ? { bids: 1 } : undefined),
      jobs: () => [],
      landed: (step) => landed.has(ProverAgent.stepKey(step)),
    };
    const agent = new ProverAgent({ id: "a", price: 10n, randomSalt: () => new Uint8Array(32).fill(7) });
    const first = agent.plan(view, 2);
    expect(first.resend).toBe(false);
    expect(first.steps.map((s) => ProverAgent.stepKey(s))).toEqual(["commit/0", "commit/1"]);
    expect(agent.plan(view, 3)).toEqual({ steps: [], resend: false });
    agent.resend();
    const again = agent.plan(view, 4);
    expect(again.resend).toBe(true);
    expect(again.steps).toEqual(first.steps); // the same sealed bids
    landed.add("commit/0");
    agent.resend();
    expect(agent.plan(view, 5).steps.map((s) => ProverAgent.stepKey(s))).toEqual(["commit/1"]);
    landed.add("commit/1");
    agent.resend();
    expect(agent.plan(view, 6)).toEqual({ steps: [], resend: false });
    // Not due yet at 10 (reveals planned then, sent at 10); due from 13 (resubmitAfter: a third of the window).
    expect(agent.plan(view, 10).steps.map((s) => ProverAgent.stepKey(s))).toEqual(["reveal/0", "reveal/1"]);
    expect(agent.plan(view, 12).steps).toEqual([]);
    landed.add("reveal/1");
    // reveal/0 never lands: sent again every 3 blocks while its window (10..21) is open — not at 22, when
    // it would be due again — though the view goes on showing the slot.
    const at: { height: number; keys: string[] }[] = [];
    for (let height = 13; height < 30; height++) {
      const plan = agent.plan(view, height);
      if (plan.steps.length > 0) at.push({ height, keys: plan.steps.map((s) => ProverAgent.stepKey(s)) });
    }
    expect(at).toEqual([13, 16, 19].map((height) => ({ height, keys: ["reveal/0"] })));
  });

  it("registers with its bond, again until the account exists", () => {
    let registered = false;
    const view: MarketView = {
      config: { jobCollateral: 100n },
      prover: () => (registered ? { bond: 500n, locked: 0n } : undefined),
      openSlots: () => [],
      slot: () => undefined,
      jobs: () => [],
    };
    const agent = new ProverAgent({ id: "a", price: 10n, bond: 500n, randomSalt: () => new Uint8Array(32) });
    const at: number[] = [];
    for (let h = 1; h < 12; h++) {
      if (h === 9) registered = true;
      if (agent.plan(view, h).steps.some((s) => s.kind === "register-prover")) at.push(h);
    }
    expect(at).toEqual([1, 5]); // resubmitAfter defaults to 4 when the view does not say the reveal window
  });
});
