import { hashHeader, toHex } from "@ordo/core";
import { afterEach, describe, expect, it } from "vitest";
import type { ValidatorNode } from "../src/node/validator-node.js";
import type { NodeStore } from "../src/storage/node-store.js";
import { type InProcessNetwork, startInProcessNetwork, waitFor } from "./fixtures/in-process-network.js";

const networks: InProcessNetwork[] = [];
afterEach(async () => {
  for (const net of networks.splice(0)) await net.stop();
});

async function startNetwork(n: number): Promise<InProcessNetwork> {
  const net = await startInProcessNetwork(n);
  networks.push(net);
  return net;
}

describe("validator nodes over real libp2p and LevelDB", () => {
  it("finalize transactions of three namespaces, submitted to different validators, in one order everyone agrees on", async () => {
    const { nodes, stores } = await startNetwork(4);
    const hashes: Uint8Array[] = [];
    for (let k = 0; k < 30; k++) {
      const node = nodes[k % 4] as ValidatorNode;
      const r = await node.submit({ namespace: 1 + (k % 3), data: new TextEncoder().encode(`tx-${k}`) });
      expect(r.ok).toBe(true);
      if (r.ok) hashes.push(r.hash);
    }
    await waitFor(
      async () => {
        for (const s of stores)
          for (const h of hashes) if ((await s.transactionStatus(h))?.status !== "final") return false;
        return true;
      },
      30_000,
      "every transaction final on every validator",
    );
    const heights = await Promise.all(stores.map(async (s) => (await s.latestCommitted())?.height ?? 0));
    const common = Math.min(...heights);
    for (let h = 1; h <= common; h++) {
      const blocks = await Promise.all(stores.map((s) => s.getBlock(h)));
      const ids = new Set(blocks.map((b) => (b ? toHex(hashHeader(b.header)) : "none")));
      expect(ids.size).toBe(1);
    }
    // Each transaction sits at the same height and index everywhere.
    for (const h of hashes) {
      const statuses = await Promise.all(stores.map((s) => s.transactionStatus(h)));
      expect(new Set(statuses.map((st) => JSON.stringify(st))).size).toBe(1);
    }
  }, 60_000);

  it("keeps finalizing while one validator is down, and the restarted validator catches up without signing anything conflicting", async () => {
    const { nodes, stores, restart } = await startNetwork(4);
    const submit = async (via: number, k: number) => {
      const r = await (nodes[via] as ValidatorNode).submit({ namespace: 5, data: new TextEncoder().encode(`r-${k}`) });
      if (!r.ok) throw new Error(r.message);
      return r.hash;
    };
    const first = await submit(0, 0);
    await waitFor(
      async () => (await (stores[3] as NodeStore).transactionStatus(first))?.status === "final",
      30_000,
      "first tx final",
    );
    const safetyBefore = await (stores[3] as NodeStore).loadSafetyState();
    await (nodes[3] as ValidatorNode).stop();
    const whileDown = [await submit(1, 1), await submit(2, 2)];
    await waitFor(
      async () => {
        for (const h of whileDown)
          if ((await (stores[0] as NodeStore).transactionStatus(h))?.status !== "final") return false;
        return true;
      },
      30_000,
      "three validators finalizing without the fourth",
    );
    await restart(3);
    const target = (await (stores[0] as NodeStore).latestCommitted())?.height ?? 0;
    await waitFor(
      async () => ((await (stores[3] as NodeStore).latestCommitted())?.height ?? 0) >= target,
      30_000,
      "the restarted validator to catch up",
    );
    for (let h = 1; h <= target; h++) {
      const [a, b] = await Promise.all([(stores[0] as NodeStore).getBlock(h), (stores[3] as NodeStore).getBlock(h)]);
      expect(a && toHex(hashHeader(a.header))).toBe(b && toHex(hashHeader(b.header)));
    }
    const safetyAfter = await (stores[3] as NodeStore).loadSafetyState();
    expect(safetyAfter?.lastVotedRound ?? 0).toBeGreaterThanOrEqual(safetyBefore?.lastVotedRound ?? 0);
  }, 90_000);
});
