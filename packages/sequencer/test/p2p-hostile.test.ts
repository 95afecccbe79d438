/**
 * A hostile validator process on the real transport: while it runs its node, it also sends the others garbage,
 * truncated and byte-flipped encodings of every protocol (consensus, dissemination, DA), unsolicited replays of
 * real committed blocks, and frames over the size limit. The honest validators drop all of it, keep finalizing
 * every accepted transaction, and agree on every height.
 */
import { encodeMessage, hashHeader } from "@ordo/core";
import fc from "fast-check";
import { afterAll, expect, it } from "vitest";
import { type InProcessNetwork, startInProcessNetwork, waitFor } from "./fixtures/in-process-network.js";

let net: InProcessNetwork | undefined;
afterAll(async () => net?.stop());

it("drops garbage, truncated, flipped, replayed and oversized frames from a peer and keeps finalizing", async () => {
  net = await startInProcessNetwork(4);
  const { nodes, stores, transports } = net;
  await waitFor(async () => (stores[0]?.latestHeight ?? 0) >= 3, 30_000, "height 3");
  const hostile = transports[3];
  if (!hostile) throw new Error("no transport");
  const block = await stores[3]?.getBlock(2);
  if (!block) throw new Error("no block 2");
  // Real encodings to corrupt: an unsolicited sync response (a replay of committed blocks), a vote, and frames
  // that look like the other protocols' tags (dissemination 16–21, DA 32–36) with random bodies.
  const samples = [
    encodeMessage({ kind: "sync-response", blocks: [block] }),
    encodeMessage({
      kind: "vote",
      epoch: 0,
      round: block.header.round,
      blockHash: hashHeader(block.header),
      committedHash: new Uint8Array(32),
      author: 3,
      signature: new Uint8Array(96).fill(0xa0),
    }),
    ...[16, 17, 18, 19, 20, 21, 32, 33, 34, 35, 36].map((tag) => Uint8Array.of(0x93, 1, tag, 0xc4, 2, 9, 9)),
  ];
  const frame = fc.oneof(
    fc.uint8Array({ maxLength: 4096 }),
    fc.constantFrom(...samples),
    fc
      .tuple(fc.constantFrom(...samples), fc.nat(), fc.nat({ max: 255 }))
      .map(([s, at, v]) => s.map((b, i) => (i === at % s.length ? v : b))),
    fc.tuple(fc.constantFrom(...samples), fc.nat()).map(([s, n]) => s.subarray(0, n % s.length)),
  );
  const frames = fc.sample(frame, { numRuns: 600, seed: 42 });
  frames.push(new Uint8Array(40 * 1024 * 1024)); // over the transport's frame limit: dropped, never buffered

  const hashes: Uint8Array[] = [];
  const decodeErrorsBefore = nodes.slice(0, 3).reduce((s, n) => s + n.counters.decodeErrors, 0);
  for (const [k, bytes] of frames.entries()) {
    hostile.send(k % 3, bytes);
    if (k % 50 === 0) {
      const r = await nodes[k % 3]?.submit({ namespace: 5, data: new TextEncoder().encode(`amid-garbage-${k}`) });
      if (r?.ok) hashes.push(r.hash);
      await new Promise((res) => setTimeout(res, 20));
    }
  }
  expect(hashes.length).toBeGreaterThan(10);
  await waitFor(
    async () => {
      for (const s of stores.slice(0, 3))
        for (const h of hashes) if ((await s.transactionStatus(h))?.status !== "final") return false;
      return true;
    },
    60_000,
    "every accepted transaction final on the honest validators",
  );
  expect(nodes.slice(0, 3).reduce((s, n) => s + n.counters.decodeErrors, 0)).toBeGreaterThan(decodeErrorsBefore);
  const common = Math.min(...stores.slice(0, 3).map((s) => s.latestHeight ?? 0));
  for (let h = 1; h <= common; h++) {
    const blocks = await Promise.all(stores.slice(0, 3).map((s) => s.getBlock(h)));
    expect(new Set(blocks.map((b) => (b ? Buffer.from(hashHeader(b.header)).toString("hex") : "none"))).size).toBe(1);
  }
}, 120_000);
