/**
 * Four validators as separate OS processes, started through the `ordo` CLI,
 * talking over real libp2p and storing in real LevelDB, driven over HTTP.
 */
import { fromHex, verifyNamespaceProof } from "@ordo/core";
import { namespaceProofFromJson } from "@ordo/sequencer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getJson, type ProcessNetwork, startProcessNetwork, waitFor } from "./process-network.js";

let net: ProcessNetwork;
beforeAll(async () => {
  net = await startProcessNetwork(4, 23000);
  for (let i = 0; i < 4; i++)
    await waitFor(async () => (await getJson(`${net.api(i)}/health`)).status === 200, 60_000, `validator ${i} API`);
}, 90_000);
afterAll(async () => {
  await net?.stop();
});

async function submit(validator: number, namespace: number, text: string): Promise<string> {
  const r = await fetch(`${net.api(validator)}/v1/namespaces/${namespace}/transactions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ data: Buffer.from(text).toString("base64") }),
  });
  expect(r.status).toBe(202);
  return ((await r.json()) as { hash: string }).hash;
}

async function statusOn(validator: number, hash: string) {
  return (await getJson(`${net.api(validator)}/v1/transactions/${hash}`)).body as {
    status: string;
    height?: number;
    index?: number;
  };
}

async function finalEverywhere(hashes: string[], validators: number[]) {
  await waitFor(
    async () => {
      for (const v of validators) for (const h of hashes) if ((await statusOn(v, h)).status !== "final") return false;
      return true;
    },
    60_000,
    `transactions final on validators ${validators.join(",")}`,
  );
}

describe("a 4-process devnet", () => {
  it("finalizes transactions of 3 namespaces submitted to different validators in one order all agree on, with namespace proofs that verify", async () => {
    const hashes: string[] = [];
    for (let k = 0; k < 12; k++) hashes.push(await submit(k % 4, 11 + (k % 3), `e2e-${k}`));
    await finalEverywhere(hashes, [0, 1, 2, 3]);
    for (const h of hashes) {
      const seen = await Promise.all([0, 1, 2, 3].map((v) => statusOn(v, h)));
      expect(new Set(seen.map((s) => `${s.height}/${s.index}`)).size).toBe(1);
    }
    const first = await statusOn(0, hashes[0] as string);
    const block = (await getJson(`${net.api(1)}/v1/blocks/${first.height}`)).body as {
      header: { namespaceRoot: string };
    };
    for (const ns of [11, 12, 13, 99]) {
      const r = (await getJson(`${net.api(2)}/v1/namespaces/${ns}/blocks/${first.height}`)).body as {
        transactions: string[];
        proof: Parameters<typeof namespaceProofFromJson>[0];
      };
      const txs = r.transactions.map((t) => new Uint8Array(Buffer.from(t, "base64")));
      expect(verifyNamespaceProof(fromHex(block.header.namespaceRoot), ns, txs, namespaceProofFromJson(r.proof))).toBe(
        true,
      );
      if (ns === 99) expect(txs).toHaveLength(0);
    }
  }, 120_000);

  it("keeps finalizing with one validator SIGKILLed; the restarted validator catches up; a transaction whose validator is SIGKILLed right after its 202 still finalizes", async () => {
    await net.kill(3);
    const whileDown = [await submit(0, 11, "down-0"), await submit(1, 12, "down-1")];
    await finalEverywhere(whileDown, [0, 1, 2]);
    net.start(3);
    await finalEverywhere(whileDown, [3]);
    const height = async (v: number) =>
      ((await getJson(`${net.api(v)}/v1/status`)).body.committedHeight as number) ?? 0;
    const target = await height(0);
    await waitFor(async () => (await height(3)) >= target, 60_000, "validator 3 to catch up");
    const [a, b] = await Promise.all([0, 3].map((v) => getJson(`${net.api(v)}/v1/blocks/${target}`)));
    expect(a?.body.hash).toBe(b?.body.hash);

    // Accepted means durable: kill the validator that answered 202 at once.
    const orphan = await submit(2, 13, "acked-then-killed");
    await net.kill(2);
    net.start(2);
    await finalEverywhere([orphan], [0, 1, 2, 3]);
  }, 180_000);
});
