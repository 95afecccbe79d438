import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGenesisBlock } from "@ordo/consensus";
import { blstBackend, generateValidatorKey, hashHeader, sha256, toHex, ValidatorSet } from "@ordo/core";
import { afterEach, describe, expect, it } from "vitest";
import { ValidatorNode } from "../src/node/validator-node.js";
import { startLoopbackTransports } from "../src/p2p/loopback.js";
import { generatePeerKey, peerIdOf } from "../src/p2p/peer-key.js";
import { createTransport, type Transport } from "../src/p2p/transport.js";
import { NodeStore } from "../src/storage/node-store.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function startNetwork(n: number) {
  const keys = Array.from({ length: n }, (_, i) => generateValidatorKey(blstBackend, sha256(new Uint8Array([i, 7]))));
  const validators = ValidatorSet.create(
    {
      epoch: 0,
      validators: keys.map((k) => ({ publicKey: k.publicKey, stake: 100n, proofOfPossession: k.proofOfPossession })),
    },
    blstBackend,
  );
  const genesis = createGenesisBlock({ chainId: 9, validators, timestampMs: 0 });
  const peerKeys = await Promise.all(Array.from({ length: n }, () => generatePeerKey()));
  const transports: Transport[] = await startLoopbackTransports({ count: n, keys: peerKeys });
  const dirs: string[] = [];
  const stores: NodeStore[] = [];
  const nodes: ValidatorNode[] = [];
  for (let i = 0; i < n; i++) {
    const dir = await mkdtemp(join(tmpdir(), "ordo-node-"));
    dirs.push(dir);
    const store = await NodeStore.open(dir);
    stores.push(store);
    nodes.push(
      await ValidatorNode.start({
        chainId: 9,
        self: i,
        validators,
        genesis,
        secretKey: (keys[i] as (typeof keys)[number]).secretKey,
        store,
        transport: transports[i] as Transport,
        baseTimeoutMs: 1500,
      }),
    );
  }
  cleanups.push(async () => {
    for (const node of nodes) await node.stop();
    await Promise.allSettled(transports.map((t) => t.stop()));
    for (const s of stores) await s.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  /** Stops validator i as a crash would leave it (no flushing beyond what was already durable), then starts it again from its data dir. */
  async function restart(i: number): Promise<void> {
    await (nodes[i] as ValidatorNode).stop();
    await (transports[i] as Transport).stop();
    await (stores[i] as NodeStore).close();
    const transport = await createTransport({
      privateKey: peerKeys[i] as (typeof peerKeys)[number],
      listen: "/ip4/127.0.0.1/tcp/0",
      self: i,
      peers: peerKeys.map((k, index) => ({ index, peerId: peerIdOf(k), addrs: [] })),
    });
    transports[i] = transport;
    for (const [j, other] of transports.entries()) {
      if (j === i) continue;
      await transport.setPeerAddrs(j, other.multiaddrs());
      await other.setPeerAddrs(i, transport.multiaddrs());
    }
    stores[i] = await NodeStore.open(dirs[i] as string);
    nodes[i] = await ValidatorNode.start({
      chainId: 9,
      self: i,
      validators,
      genesis,
      secretKey: (keys[i] as (typeof keys)[number]).secretKey,
      store: stores[i] as NodeStore,
      transport,
      baseTimeoutMs: 1500,
    });
  }
  return { nodes, stores, restart };
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
