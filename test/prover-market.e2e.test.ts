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
  MULTI_PROOF_CIRCUIT,
  REFERENCE_CIRCUIT,
  type RollupCircuit,
  type SystemKey,
  signSystemTransaction,
  systemPublicKey,
  verifyingKeyHash,
} from "@ordo/prover";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getJson, type ProcessNetwork, startProcessNetwork, waitFor } from "./process-network.js";

const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const CLI = join(ROOT, "packages/sequencer/src/cli/ordo.ts");
const NS = 77;

const metricsPort = (j: number) => 25200 + j;
let net: ProcessNetwork;
const provers: ChildProcess[] = [];
let operatorKey: SystemKey | undefined;

function startProver(j: number, extra: string[] = []): ChildProcess {
  const p = spawn(
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
      ...(extra.includes("--price") ? [] : ["--price", String(10 + j)]),
      "--metrics-port",
      String(metricsPort(j)),
      ...extra,
    ],
    { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] },
  );
  provers[j] = p;
  return p;
}

beforeAll(async () => {
  net = await startProcessNetwork(4, 25000);
  for (let i = 0; i < 4; i++)
    await waitFor(async () => (await getJson(`${net.api(i)}/health`)).status === 200, 60_000, `validator ${i} API`);
  for (let j = 0; j < 3; j++) startProver(j);
  operatorKey = await keyOf("rollup-operator");
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
  counters: { proofsVerified: number; proofsInvalid: number };
  jobs: { id: number; namespace: number; status: string; assignee: string | null }[];
  rollups: {
    namespace: number;
    circuit: string;
    provenRoot: string;
    latestRoot: string;
    batches: number;
    proven: number;
  }[];
}

async function market(v = 0): Promise<Market> {
  return (await getJson(`${net.api(v)}/v1/market`)).body as unknown as Market;
}

async function registerRollup(
  namespace: number,
  nonce: number,
  deadlineBlocks: number,
  circuit: RollupCircuit = REFERENCE_CIRCUIT,
): Promise<void> {
  const operator = await keyOf("rollup-operator");
  const status = (await getJson(`${net.api(0)}/v1/status`)).body as { chainId: number };
  const vkHash = verifyingKeyHash(circuit);
  const r = await fetch(`${net.api(0)}/v1/system/transactions`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: encodeSystemTransaction(
      signSystemTransaction(status.chainId, operator, nonce, {
        kind: "register-rollup",
        namespace,
        circuit: circuit.name,
        verifyingKeyHash: vkHash,
        feeDeposit: 100_000n,
        deadlineBlocks,
        maxFee: 100n,
      }),
    ),
  });
  expect(r.status).toBe(202);
  await waitFor(
    async () => (await market(1)).rollups.some((x) => x.namespace === namespace),
    30_000,
    `rollup ${namespace}`,
  );
}

/** Transfers among the genesis accounts (0..15 hold 1,000,000 each): account `from` moves `amount` with `nonce`. */
async function transfer(namespace: number, from: number, nonce: number, via: number): Promise<void> {
  const data = encodeTransfer({ from, to: (from + 5) % 16, amount: 100 + from, nonce });
  const t = await fetch(`${net.api(via)}/v1/namespaces/${namespace}/transactions`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: data,
  });
  expect(t.status).toBe(202);
}

async function allProven(namespace: number, atLeast: number, timeoutMs: number): Promise<Market> {
  return waitFor(
    async () => {
      const m = await market(2);
      const rollup = m.rollups.find((x) => x.namespace === namespace);
      return rollup && rollup.batches >= atLeast && rollup.proven === rollup.batches ? m : null;
    },
    timeoutMs,
    `every batch of rollup ${namespace} to be proven`,
  );
}

async function proverStats(v: number) {
  return (
    (await getJson(`${net.api(v)}/v1/provers`)).body as {
      provers: { account: string; proofsAccepted: number; slashes: number; jobsWon: number }[];
    }
  ).provers;
}

/** What a prover daemon's `/metrics` says it computed, by proof system. */
async function proofsComputed(j: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort(j)}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^ordo_prover_proofs_computed_total\{system="(\w+)"\} (\d+)$/gm))
    out[m[1] as string] = Number(m[2]);
  return out;
}

describe("the prover market on a 4-process devnet with 3 prover daemons", () => {
  it("auctions, proves and verifies every batch of a rollup and of a multi-proof rollup; their proven roots advance", async () => {
    expect((await market(0)).rollups).toEqual([]);
    await registerRollup(NS, 0, 400);
    // A rollup whose every batch needs a Groth16 and a PLONK proof.
    const MULTI = 79;
    await registerRollup(MULTI, 1, 400, MULTI_PROOF_CIRCUIT);
    await transfer(MULTI, 4, 0, 3);
    for (let burst = 0; burst < 2; burst++) {
      for (let k = 0; k < 3; k++) await transfer(NS, burst * 3 + k, 0, k);
      await new Promise((res) => setTimeout(res, 1_500));
    }
    const done = await allProven(NS, 2, 150_000);
    const rollup = done.rollups.find((x) => x.namespace === NS) as Market["rollups"][number];
    expect(rollup.provenRoot).toBe(rollup.latestRoot);
    const multi = (await allProven(MULTI, 1, 150_000)).rollups.find((x) => x.namespace === MULTI);
    expect(multi).toMatchObject({ circuit: MULTI_PROOF_CIRCUIT.name, batches: 1, proven: 1 });
    expect(multi?.provenRoot).toBe(multi?.latestRoot);
    // Exactly one verified proof bundle per batch, and exactly one computation per proof: once every batch of
    // both rollups is proven (one validator's snapshot), the daemons computed a Groth16 proof per batch of both
    // and a PLONK proof per multi-proof batch, none for a job someone else held. (A wasted proof would keep the
    // counts apart for good.)
    const settled = await waitFor(
      async () => {
        const m = await market(2);
        const a = m.rollups.find((x) => x.namespace === NS);
        const b = m.rollups.find((x) => x.namespace === MULTI);
        if (!a || !b || a.proven !== a.batches || b.proven !== b.batches) return null;
        const computed = await Promise.all([0, 1, 2].map(proofsComputed));
        const sum = (system: string) => computed.reduce((s, c) => s + (c[system] ?? 0), 0);
        const counts = { verified: m.counters.proofsVerified, groth16: sum("groth16"), plonk: sum("plonk") };
        const expected = { verified: a.proven + b.proven, groth16: a.proven + b.proven, plonk: b.proven };
        return JSON.stringify(counts) === JSON.stringify(expected) ? counts : null;
      },
      60_000,
      "one verified bundle and one computation per proof",
    );
    const verified = settled.verified;
    // Every validator comes to the same view of the provers (each at its own pace).
    const stats = await waitFor(
      async () => {
        const all = await Promise.all([0, 1, 2, 3].map(proverStats));
        const accepted = all.map((x) => x.reduce((s, p) => s + p.proofsAccepted, 0));
        return accepted.every((a) => a === verified) ? all : null;
      },
      30_000,
      "every validator to count the accepted proofs",
    );
    expect(stats[0]?.some((p) => p.account === accountOf((operatorKey as SystemKey).publicKey))).toBe(false);
  }, 240_000);

  it("slashes an assigned prover SIGKILLed mid-job and lands the backup's proof; rejects and slashes invalid proofs", async () => {
    // A rollup with a short deadline, so a missed one shows within the test.
    const NS2 = 78;
    await registerRollup(NS2, 2, 60);
    await transfer(NS2, 10, 0, 0);
    await transfer(NS2, 11, 0, 1);
    const bound = await waitFor(
      async () => (await market(0)).jobs.find((j) => j.namespace === NS2 && j.status === "assigned"),
      60_000,
      "a job of the new rollup to be bound",
    );
    const accounts = await Promise.all([0, 1, 2].map(async (j) => accountOf((await keyOf(`prover-${j}`)).publicKey)));
    const victim = accounts.indexOf(bound.assignee as string);
    expect(victim).toBeGreaterThanOrEqual(0);
    (provers[victim] as ChildProcess).kill("SIGKILL");
    const done = await allProven(NS2, 1, 150_000);
    const slashed = (await proverStats(1)).find((p) => p.account === accounts[victim]);
    expect(slashed?.slashes).toBeGreaterThanOrEqual(1);
    expect(done.rollups.find((x) => x.namespace === NS2)?.proven).toBeGreaterThanOrEqual(1);

    // The same prover comes back submitting proofs that do not verify: rejected, slashed, proven by others.
    startProver(victim, ["--invalid-proofs", "--price", "1"]); // the cheapest bid: it wins what the share cap allows
    const before = (await market(0)).counters.proofsInvalid;
    // Keep batches coming until one reaches a job the cheater won (jobs are bound in the order they were won).
    let k = 0;
    await waitFor(
      async () => {
        const m = await market(0);
        if (m.counters.proofsInvalid > before) return true;
        // Feed a batch only while fewer than two wait for proofs: a backlog would outlast the test on a busy machine.
        const r = m.rollups.find((x) => x.namespace === NS2);
        if (r && r.batches - r.proven < 2) {
          await transfer(NS2, 12 + (k % 4), Math.floor(k / 4), k % 4);
          k++;
        }
        await new Promise((res) => setTimeout(res, 1_000));
        return false;
      },
      150_000,
      "an invalid proof",
    );
    const cheater = await waitFor(
      async () => (await proverStats(2)).find((p) => p.account === accounts[victim] && p.slashes >= 2),
      60_000,
      "the cheater to be slashed",
    );
    expect(cheater.proofsAccepted).toBeLessThanOrEqual(slashed?.proofsAccepted ?? 0); // no invalid proof counted
    // Stop it, and the honest provers prove every batch, its jobs included (reassigned, or back to a new slot).
    (provers[victim] as ChildProcess).kill("SIGKILL");
    const final = await allProven(NS2, 2, 200_000);
    expect(final.counters.proofsInvalid).toBeGreaterThan(before);
  }, 500_000);
});
