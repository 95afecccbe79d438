/** The market as validators run it on committed blocks: signed system transactions, real proofs, two validators in step. */
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import {
  accountOf,
  type BatchWitness,
  type BlockTransaction,
  encodeProofBundle,
  encodeSystemTransaction,
  encodeTransfer,
  generateSystemKey,
  type MarketEvent,
  MarketExecutor,
  type MarketTransaction,
  MULTI_PROOF_CIRCUIT,
  type ProofBundle,
  ProverAgent,
  proveBatch,
  REFERENCE_CIRCUIT,
  type RollupCircuit,
  referenceRollupGenesis,
  type SystemKey,
  type SystemTransactionBody,
  shutdownSnarkjs,
  signSystemTransaction,
} from "../src/index.js";

afterAll(shutdownSnarkjs);

const CHAIN = 5;
const NS = 7;

/** Two validators' executors, an operator and two provers with agents, and a signer that keeps each key's nonce. */
function network() {
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
  const registerRollup = (circuit: RollupCircuit, verifyingKeyHash = v0.verifyingKeyHashOf(circuit)) =>
    sign(operator, {
      kind: "register-rollup",
      namespace: NS,
      circuit: circuit.name,
      verifyingKeyHash,
      feeDeposit: 100_000n,
      deadlineBlocks: 20,
      maxFee: 50n,
    });
  /** The agents' bids for `height`, signed. */
  const bids = (height: number) =>
    agents.flatMap((a, i) =>
      a
        .transactionsFor(v0.market, height)
        .map((tx) => sign(provers[i] as SystemKey, tx as Exclude<MarketTransaction, { kind: "submit-proof" }>)),
    );
  return { operator, provers, validators, v0, sign, agents, events, run, registerRollup, bids };
}

const json = (x: unknown) =>
  JSON.stringify(x, (_k, v) =>
    typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v,
  );

describe("market executor", () => {
  it("runs the market on signed system transactions with real proofs, identically on two validators", async () => {
    const { operator, provers, v0, sign, agents, events, run, registerRollup, bids } = network();
    await run(1, [
      registerRollup(REFERENCE_CIRCUIT),
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
      const txs = [...pending, ...bids(height)];
      pending = [];
      if (height === 6) for (const t of transfers) txs.push({ namespace: NS, data: encodeTransfer(t) });
      await run(height, txs);
      for (const [i, a] of agents.entries())
        for (const job of a.jobsToProve(v0.market)) {
          const batch = job.batch as NonNullable<typeof job.batch>;
          let proof: Uint8Array;
          if (!cheated) {
            // The first assignee lands a proof of nothing: rejected, slashed, and the job moves on.
            cheated = true;
            proof = encodeProofBundle({
              groth16: { pi_a: ["1", "2", "1"], pi_b: [], pi_c: [], protocol: "groth16", curve: "bn128" },
            });
          } else {
            const witness = v0.rollup(NS)?.witness(batch.height, batch.index);
            const out = await proveBatch(witness as NonNullable<typeof witness>);
            proof = encodeProofBundle({ groth16: out.proof });
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
    expect(json(events[1])).toBe(json(events[0]));
  }, 120_000);

  it("refuses a rollup whose circuit or verifying key this network cannot verify", async () => {
    const { v0, run, registerRollup, operator, sign } = network();
    await run(1, [registerRollup(REFERENCE_CIRCUIT, v0.verifyingKeyHashOf(MULTI_PROOF_CIRCUIT))]);
    await run(2, [
      sign(operator, {
        kind: "register-rollup",
        namespace: NS,
        circuit: "no_such_circuit",
        verifyingKeyHash: v0.verifyingKeyHashOf(REFERENCE_CIRCUIT),
        feeDeposit: 100_000n,
        deadlineBlocks: 20,
        maxFee: 50n,
      }),
    ]);
    expect(v0.counters.refused).toBe(2);
    expect(v0.market.rollup(NS)).toBeUndefined();
    expect(v0.rollupNamespaces()).toEqual([]);
  });

  it("accepts a multi-proof rollup's batch only with a valid Groth16 and a valid PLONK proof", async () => {
    const { provers, v0, sign, agents, events, run, registerRollup, bids } = network();
    await run(1, [
      registerRollup(MULTI_PROOF_CIRCUIT),
      ...provers.map((k) => sign(k, { kind: "register-prover", bond: 1_000n })),
    ]);
    expect(v0.rollup(NS)?.circuit).toBe(MULTI_PROOF_CIRCUIT);
    let pending: BlockTransaction[] = [];
    let groth16Only = true;
    for (let height = 2; height < 60; height++) {
      const txs = [...pending, ...bids(height)];
      pending = [];
      if (height === 6) txs.push({ namespace: NS, data: encodeTransfer({ from: 3, to: 15, amount: 7n, nonce: 0n }) });
      await run(height, txs);
      for (const [i, a] of agents.entries())
        for (const job of a.jobsToProve(v0.market)) {
          const batch = job.batch as NonNullable<typeof job.batch>;
          const witness = v0.rollup(NS)?.witness(batch.height, batch.index) as NonNullable<BatchWitness>;
          const groth16 = (await proveBatch(witness, { circuit: MULTI_PROOF_CIRCUIT, system: "groth16" })).proof;
          // The first assignee sends a valid Groth16 proof alone: not enough for this rollup, so it is slashed.
          const bundle: ProofBundle = groth16Only
            ? { groth16 }
            : { groth16, plonk: (await proveBatch(witness, { circuit: MULTI_PROOF_CIRCUIT, system: "plonk" })).proof };
          groth16Only = false;
          pending.push(
            sign(provers[i] as SystemKey, { kind: "submit-proof", job: job.id, proof: encodeProofBundle(bundle) }),
          );
        }
      if (v0.rollup(NS)?.counts.proven === 1) break;
    }
    const tracker = v0.rollup(NS);
    expect(tracker?.counts).toEqual({ batches: 1, proven: 1 });
    expect(tracker?.provenRoot).toBe(tracker?.latestRoot);
    expect(tracker?.provenRoot).not.toBe(referenceRollupGenesis(MULTI_PROOF_CIRCUIT).root);
    expect(v0.counters).toMatchObject({ proofsVerified: 2, proofsInvalid: 1 });
    const mine = events[0] as MarketEvent[];
    expect(mine.filter((e) => e.type === "slashed" && e.reason === "invalid-proof")).toHaveLength(1);
    expect(mine.filter((e) => e.type === "proof-accepted")).toHaveLength(1);
    expect(json(events[1])).toBe(json(events[0]));
  }, 180_000);
});
