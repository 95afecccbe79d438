/**
 * The prover market end to end: 4 validator processes and 3 prover daemons
 * (`ordo prover start`) as OS processes; a rollup registers, its transfers
 * become final, jobs are auctioned, proven with real Groth16 proofs, verified
 * by the validators, and the rollup's proven state root advances.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fromHex } from "@ordo/core";
import {
  accountOf,
  encodeSystemTransaction,
  encodeTransfer,
  REFERENCE_CIRCUIT,
  type SystemKey,
  signSystemTransaction,
  systemPublicKey,
} from "@ordo/prover";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getJson, type ProcessNetwork, startProcessNetwork, waitFor } from "./process-network.js";

const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const CLI = join(ROOT, "packages/sequencer/src/cli/ordo.ts");
const NS = 77;

let net: ProcessNetwork;
const provers: ChildProcess[] = [];
beforeAll(async () => {
  net = await startProcessNetwork(4, 25000);
  for (let i = 0; i < 4; i++)
    await waitFor(async () => (await getJson(`${net.api(i)}/health`)).status === 200, 60_000, `validator ${i} API`);
  for (let j = 0; j < 3; j++)
    provers.push(
      spawn(
        process.execPath,
        [
          "--conditions=source",
          "--import",
          "tsx",
          CLI,
          "prover",
          "start",
          "--key",
          join(net.dir, `prover-${j}`, "system.key"),
          "--node",
          net.api(j),
          "--price",
          String(10 + j),
        ],
        { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] },
      ),
    );
}, 90_000);
afterAll(async () => {
  for (const p of provers) p.kill("SIGKILL");
  await net?.stop();
});

async function keyOf(name: string): Promise<SystemKey> {
  const secretKey = fromHex((await readFile(join(net.dir, name, "system.key"), "utf8")).trim());
  return { secretKey, publicKey: systemPublicKey(secretKey) };
}

interface Market {
  height: number;
  jobs: { id: number; status: string; assignee: string | null }[];
  rollups: { namespace: number; provenRoot: string; latestRoot: string; batches: number; proven: number }[];
}

describe("the prover market on a 4-process devnet with 3 prover daemons", () => {
  it("auctions, proves and verifies every batch of a rollup; its proven root advances", async () => {
    const operator = await keyOf("rollup-operator");
    const market0 = (await getJson(`${net.api(0)}/v1/market`)).body as unknown as Market;
    expect(market0.rollups).toEqual([]);
    const status = (await getJson(`${net.api(0)}/v1/status`)).body as { chainId: number };
    // The reference circuit's verifying key hash, as every validator computes it.
    const { MarketExecutor } = await import("@ordo/prover");
    const vkHash = new MarketExecutor({ chainId: status.chainId, balances: {} }).referenceVerifyingKeyHash;
    const register = encodeSystemTransaction(
      signSystemTransaction(status.chainId, operator, 0, {
        kind: "register-rollup",
        namespace: NS,
        circuit: REFERENCE_CIRCUIT,
        verifyingKeyHash: vkHash,
        feeDeposit: 100_000n,
        deadlineBlocks: 400,
        maxFee: 100n,
      }),
    );
    const r = await fetch(`${net.api(0)}/v1/system/transactions`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: register,
    });
    expect(r.status).toBe(202);
    await waitFor(
      async () => ((await getJson(`${net.api(1)}/v1/market`)).body as unknown as Market).rollups.length === 1,
      30_000,
      "the rollup's registration",
    );
    // Transfers among the genesis accounts (0..15 hold 1,000,000 each), in two bursts.
    for (let burst = 0; burst < 2; burst++) {
      for (let k = 0; k < 3; k++) {
        const from = burst * 3 + k;
        const data = encodeTransfer({ from, to: (from + 5) % 16, amount: 100 + k, nonce: 0 });
        const t = await fetch(`${net.api(k)}/v1/namespaces/${NS}/transactions`, {
          method: "POST",
          headers: { "content-type": "application/octet-stream" },
          body: data,
        });
        expect(t.status).toBe(202);
      }
      await new Promise((res) => setTimeout(res, 1_500));
    }
    const done = await waitFor(
      async () => {
        const m = (await getJson(`${net.api(2)}/v1/market`)).body as unknown as Market;
        const rollup = m.rollups[0];
        return rollup && rollup.batches >= 2 && rollup.proven === rollup.batches ? m : null;
      },
      150_000,
      "every batch to be proven",
    );
    const rollup = done.rollups[0] as Market["rollups"][number];
    expect(rollup.provenRoot).toBe(rollup.latestRoot);
    // Every validator agrees on the market's outcome.
    const provers = await Promise.all(
      [0, 1, 2, 3].map(
        async (v) =>
          (await getJson(`${net.api(v)}/v1/provers`)).body as {
            provers: { account: string; proofsAccepted: number }[];
          },
      ),
    );
    const accepted = (p: (typeof provers)[number]) => p.provers.reduce((s, x) => s + x.proofsAccepted, 0);
    expect(accepted(provers[2] as (typeof provers)[number])).toBe(rollup.proven);
    const operatorAccount = accountOf(operator.publicKey);
    expect(provers[0]?.provers.some((p) => p.account === operatorAccount)).toBe(false);
  }, 240_000);
});
