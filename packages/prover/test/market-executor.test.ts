/** The market as validators run it on committed blocks: signed system transactions, real proofs, two validators in step. */
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import {
  accountOf,
  type BlockTransaction,
  encodeSystemTransaction,
  encodeTransfer,
  generateSystemKey,
  type MarketEvent,
  MarketExecutor,
  type MarketTransaction,
  ProverAgent,
  proveBatch,
  REFERENCE_CIRCUIT,
  type SystemKey,
  type SystemTransactionBody,
  shutdownSnarkjs,
  signSystemTransaction,
} from "../src/index.js";

afterAll(shutdownSnarkjs);

const CHAIN = 5;
const NS = 7;

describe("market executor", () => {
  it("runs the market on signed system transactions with real proofs, identically on two validators", async () => {
    const operator = generateSystemKey();
    const provers = [generateSystemKey(), generateSystemKey()];
    const balances = Object.fromEntries([operator, ...provers].map((k) => [accountOf(k.publicKey), 1_000_000n]));
    const config = { commitWindow: 2, revealWindow: 2, slotInterval: 1, jobCollateral: 100n };
    const validators = [
      new MarketExecutor({ chainId: CHAIN, balances, config }),
      new MarketExecutor({ chainId: CHAIN, balances, config }),
    ];
    const v0 = validators[0] as MarketExecutor;
    const nonces = new Map<string, number>();
    const sign = (key: SystemKey, body: SystemTransactionBody): BlockTransaction => {
      const id = accountOf(key.publicKey);
      const nonce = nonces.get(id) ?? 0;
      nonces.set(id, nonce + 1);
      return { namespace: 0, data: encodeSystemTransaction(signSystemTransaction(CHAIN, key, nonce, body)) };
    };
    const agents = provers.map(
      (k, i) =>
        new ProverAgent({
          id: accountOf(k.publicKey),
          price: BigInt(10 + i),
          randomSalt: () => new Uint8Array(randomBytes(32)),
        }),
    );
    const events: MarketEvent[][] = [[], []];
    const run = async (height: number, txs: BlockTransaction[]) => {
      for (const [i, v] of validators.entries())
        (events[i] as MarketEvent[]).push(...(await v.executeBlock(height, txs)));
    };

    await run(1, [
      sign(operator, {
        kind: "register-rollup",
        namespace: NS,
        circuit: REFERENCE_CIRCUIT,
        verifyingKeyHash: v0.referenceVerifyingKeyHash,
        feeDeposit: 100_000n,
        deadlineBlocks: 20,
        maxFee: 50n,
      }),
      ...provers.map((k) => sign(k, { kind: "register-prover", bond: 1_000n })),
      // Refused: a bad signature, and a replayed nonce.
      {
        namespace: 0,
        data: encodeSystemTransaction({
          ...signSystemTransaction(CHAIN, operator, 1, { kind: "unbond", amount: 1n }),
          signature: new Uint8Array(64),
        }),
      },
      {
        namespace: 0,
        data: encodeSystemTransaction(signSystemTransaction(CHAIN, operator, 0, { kind: "unbond", amount: 1n })),
      },
      { namespace: 0, data: new Uint8Array([1, 2, 3]) },
    ]);
    expect(v0.counters.refused).toBe(3);
    expect(v0.market.rollup(NS)).toBeDefined();

    const transfers = [
      { from: 0, to: 1, amount: 10n, nonce: 0n },
      { from: 1, to: 2, amount: 5n, nonce: 0n },
      { from: 2, to: 3, amount: 1n, nonce: 0n },
    ];
    let pending: BlockTransaction[] = [];
    let cheated = false;
    for (let height = 2; height < 80; height++) {
      const txs = [...pending];
      pending = [];
      for (const [i, a] of agents.entries())
        for (const tx of a.transactionsFor(v0.market, height))
          txs.push(sign(provers[i] as SystemKey, tx as Exclude<MarketTransaction, { kind: "submit-proof" }>));
      if (height === 6) for (const t of transfers) txs.push({ namespace: NS, data: encodeTransfer(t) });
      await run(height, txs);
      for (const [i, a] of agents.entries())
        for (const job of a.jobsToProve(v0.market)) {
          const batch = job.batch as NonNullable<typeof job.batch>;
          let proof: Uint8Array;
          if (!cheated) {
            // The first assignee lands a proof of nothing: rejected, slashed, and the job moves on.
            cheated = true;
            proof = new TextEncoder().encode(
              JSON.stringify({ pi_a: ["1", "2", "1"], pi_b: [], pi_c: [], protocol: "groth16", curve: "bn128" }),
            );
          } else {
            const witness = v0.rollup(NS)?.witness(batch.height, batch.index);
            const out = await proveBatch(witness as NonNullable<typeof witness>);
            proof = new TextEncoder().encode(JSON.stringify(out.proof));
          }
          pending.push(sign(provers[i] as SystemKey, { kind: "submit-proof", job: job.id, proof }));
        }
      const tracker = v0.rollup(NS);
      if (tracker && tracker.counts.batches === 2 && tracker.counts.proven === 2) break;
    }
    const tracker = v0.rollup(NS);
    expect(tracker?.counts).toEqual({ batches: 2, proven: 2 });
    expect(tracker?.provenRoot).toBe(tracker?.latestRoot);
    expect(v0.counters.proofsInvalid).toBe(1);
    const mine = events[0] as MarketEvent[];
    expect(mine.filter((e) => e.type === "slashed" && e.reason === "invalid-proof")).toHaveLength(1);
    expect(mine.filter((e) => e.type === "job-reassigned")).toHaveLength(1);
    expect(mine.filter((e) => e.type === "proof-accepted")).toHaveLength(2);
    const json = (x: unknown) =>
      JSON.stringify(x, (_k, v) =>
        typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v,
      );
    expect(json(events[1])).toBe(json(events[0]));
  }, 120_000);
});
