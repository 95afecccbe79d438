/** The prover market as validators run it: signed system transactions over the API, executed on every validator. */
import {
  accountOf,
  encodeSystemTransaction,
  generateSystemKey,
  REFERENCE_CIRCUIT,
  type SystemTransactionBody,
  signSystemTransaction,
} from "@ordo/prover";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHAIN_ID, type InProcessNetwork, startInProcessNetwork, waitFor } from "./fixtures/in-process-network.js";

const operator = generateSystemKey();
const prover = generateSystemKey();
let net: InProcessNetwork;
beforeAll(async () => {
  net = await startInProcessNetwork(4, {
    withApi: true,
    market: { [accountOf(operator.publicKey)]: 1_000_000n, [accountOf(prover.publicKey)]: 50_000n },
  });
}, 30_000);
afterAll(async () => {
  await net?.stop();
});

const app = (i: number) => net.apps[i] as FastifyInstance;
const post = (i: number, data: Uint8Array) =>
  app(i).inject({
    method: "POST",
    url: "/v1/system/transactions",
    headers: { "content-type": "application/octet-stream" },
    payload: Buffer.from(data),
  });
const signed = (key: typeof prover, nonce: number, body: SystemTransactionBody) =>
  encodeSystemTransaction(signSystemTransaction(CHAIN_ID, key, nonce, body));

describe("prover market on the validators", () => {
  it("executes signed system transactions on every validator, and refuses unsigned or malformed ones", async () => {
    const vkHash = net.markets[0]?.executor.verifyingKeyHashOf(REFERENCE_CIRCUIT) as string;
    expect(
      (
        await post(
          0,
          signed(operator, 0, {
            kind: "register-rollup",
            namespace: 77,
            circuit: REFERENCE_CIRCUIT.name,
            verifyingKeyHash: vkHash,
            feeDeposit: 10_000n,
            deadlineBlocks: 30,
            maxFee: 100n,
          }),
        )
      ).statusCode,
    ).toBe(202);
    expect((await post(1, signed(prover, 0, { kind: "register-prover", bond: 20_000n }))).statusCode).toBe(202);

    const forged = signSystemTransaction(CHAIN_ID, prover, 1, { kind: "unbond", amount: 1n });
    const bad = await post(2, encodeSystemTransaction({ ...forged, signature: new Uint8Array(64).fill(7) }));
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("INVALID_INPUT");
    expect((await post(2, new Uint8Array([0x93, 1, 2, 3]))).json().error.code).toBe("INVALID_INPUT");
    expect(
      (await app(2).inject({ method: "POST", url: "/v1/system/transactions", payload: { data: "x" } })).statusCode,
    ).toBe(400);
    // Namespace 0 is not reachable through the rollup route.
    expect(
      (await app(2).inject({ method: "POST", url: "/v1/namespaces/0/transactions", payload: { data: "eA==" } }))
        .statusCode,
    ).toBe(400);

    const account = accountOf(prover.publicKey);
    for (const i of [0, 1, 2, 3])
      await waitFor(
        async () => {
          const r = (await app(i).inject({ method: "GET", url: "/v1/provers" })).json();
          return r.provers.some((p: { account: string; bond: string }) => p.account === account && p.bond === "20000");
        },
        30_000,
        `validator ${i} to see the prover`,
      );
    await waitFor(
      async () =>
        (await app(3).inject({ method: "GET", url: `/v1/market/accounts/${accountOf(operator.publicKey)}` })).json()
          .nextNonce === 1,
      30_000,
      "the rollup's registration",
    );
    const acct = (await app(3).inject({ method: "GET", url: `/v1/market/accounts/${account}` })).json();
    expect(acct).toMatchObject({ balance: "30000", nextNonce: 1 });
    // The registered rollup's slots open every other block.
    let m: { slots: { namespace: number }[] } = { slots: [] };
    await waitFor(
      async () => {
        m = (await app(3).inject({ method: "GET", url: "/v1/market" })).json();
        return m.slots.length > 0;
      },
      30_000,
      "a slot to open",
    );
    expect(m.slots.every((s: { namespace: number }) => s.namespace === 77)).toBe(true);
    const metrics = (await app(3).inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toContain(`ordo_prover_bond{prover="${account}"} 20000`);
    for (const name of [
      "ordo_market_height",
      "ordo_market_hhi",
      "ordo_market_nakamoto_coefficient",
      "ordo_market_top3_share",
    ])
      expect(metrics).toMatch(new RegExp(`^${name} \\d`, "m"));
  }, 60_000);

  it("rebuilds the market from the committed chain when a validator restarts", async () => {
    await net.restart(2);
    const account = accountOf(prover.publicKey);
    await waitFor(
      async () => {
        const r = (await app(2).inject({ method: "GET", url: "/v1/provers" })).json();
        return r.provers.some((p: { account: string }) => p.account === account);
      },
      30_000,
      "the restarted validator's market",
    );
    const [a, b] = await Promise.all(
      [0, 2].map(async (i) => (await app(i).inject({ method: "GET", url: `/v1/market/accounts/${account}` })).json()),
    );
    expect(b).toEqual(a);
  }, 60_000);
});
