/**
 * The embedded DA layer on 4 real validators (libp2p, LevelDB, BLS): a committed block's payload is
 * erasure-coded 8 + 8, each validator keeps its shards and attests, a certificate needs more than 2/3 of the
 * stake, and the payload comes back from any 8 valid shards — with 2 validators (8 shards) gone, and with a
 * corrupt shard among them.
 */
import {
  type Block,
  blstBackend,
  decodeBlockPayload,
  namespaceRoot,
  sha256,
  toHex,
  verifyNamespaceProof,
} from "@ordo/core";
import { type DaCertificate, verifyDaCertificate } from "@ordo/da-client";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NamespaceProofJson, namespaceProofFromJson } from "../src/api/json.js";
import { encodeDaMessage } from "../src/da/da-codec.js";
import type { DaService } from "../src/da/da-service.js";
import { decodeBlockBatches } from "../src/dissemination/codec.js";
import { CHAIN_ID, type InProcessNetwork, startInProcessNetwork, waitFor } from "./fixtures/in-process-network.js";

let net: InProcessNetwork;
beforeAll(async () => {
  net = await startInProcessNetwork(4, { withApi: true, da: { k: 8, m: 8, poster: 0 } });
}, 30_000);
afterAll(async () => {
  await net?.stop();
});

const da = (i: number) => net.das[i] as DaService;

/** Submits transactions to validator 0 and waits until every validator committed them; their height. */
async function commitTransactions(count: number, namespace = 5): Promise<number> {
  const node = net.nodes[0] as (typeof net.nodes)[number];
  const heights: number[] = [];
  const off = node.onCommit((e) => {
    if (e.transactions.some((t) => t.namespace === namespace)) heights.push(e.height);
  });
  for (let i = 0; i < count; i++)
    await node.submit({ namespace, data: new Uint8Array(sha256(new Uint8Array([i, namespace, count]))) });
  await waitFor(() => heights.length > 0, 30_000, "a block with the transactions");
  off();
  const height = heights[0] as number;
  await waitFor(
    async () => (await Promise.all(net.das.map((d) => d.payloadAt(height)))).every((p) => p !== null),
    30_000,
    "every validator to hold the block",
  );
  return height;
}

describe("embedded DA layer", () => {
  let cert: DaCertificate;
  let payload: Uint8Array;
  let height: number;

  it("disperses a committed block to every validator and certifies it with more than 2/3 of the stake", async () => {
    height = await commitTransactions(20);
    payload = (await da(0).payloadAt(height)) as Uint8Array;
    cert = await da(0).embedded.disperse(height, payload);
    expect(cert.payloadLength).toBe(payload.length);
    expect(verifyDaCertificate(blstBackend, CHAIN_ID, net.validators, cert)).toBe(true);
    // Each validator holds exactly its shards: 16 / 4 = 4 (the fourth may store its own after the quorum formed).
    for (let i = 0; i < 4; i++) {
      await waitFor(
        async () => (await da(i).embedded.storedShards(height)) !== null,
        10_000,
        `validator ${i}'s shards`,
      );
      const mine = await da(i).embedded.storedShards(height);
      expect(mine?.shards.map((s) => s.index)).toEqual([i, i + 4, i + 8, i + 12]);
    }
    da(0).embedded.announce(cert);
    await waitFor(
      async () => (await da(3).embedded.certificate(height)) !== null,
      10_000,
      "the certificate on validator 3",
    );
    // The payload is the block's transactions: it commits to the header's namespace root.
    const block = await net.stores[1]?.getBlock(height);
    expect(namespaceRoot(decodeBlockPayload(payload))).toEqual(block?.header.namespaceRoot);
  }, 60_000);

  it("the poster on validator 0 certifies every block with transactions on its own, from height 1", async () => {
    const h = await commitTransactions(5, 6);
    await waitFor(async () => (await da(2).embedded.certificate(h)) !== null, 60_000, "the poster's certificate");
    // The certificate reaches validator 2 before the poster records its receipt, and the poster works a window of
    // heights ahead of its cursor, so lower ones may still be in flight: let them all land.
    await waitFor(
      async () => {
        for (let x = 1; x <= h; x++) if (!(await da(0).poster?.report(x))?.satisfied) return false;
        return true;
      },
      30_000,
      `every height up to ${h} done by the poster`,
    );
    const report = await da(0).poster?.report(h);
    expect(report?.status.embedded).toBe("final");
    // Every height up to it is done: certified if it had transactions, skipped (nothing to make available) if not.
    for (let x = 1; x <= h; x++) {
      const p = await da(0).poster?.report(x);
      expect(p?.satisfied, `height ${x}`).toBe(true);
      const empty = decodeBlockPayload((await da(0).payloadAt(x)) as Uint8Array).groups.length === 0;
      expect(p?.layers.embedded?.state, `height ${x}`).toBe(empty ? "skipped" : "posted");
    }
    // The poster's progress is exported: its cursor is past h, and the embedded layer counted the blocks it took.
    let metrics = "";
    const value = (line: string) => Number(metrics.match(new RegExp(`^${line} (\\d+)$`, "m"))?.[1]);
    await waitFor(
      async () => {
        metrics = (await (net.apps[0] as FastifyInstance).inject({ url: "/metrics" })).body;
        return value("ordo_da_poster_cursor_height") > h;
      },
      10_000,
      "the poster's cursor past h in its metrics",
    );
    expect(value('ordo_da_blocks_posted_total\\{layer="embedded"\\}')).toBeGreaterThan(0);
    expect(value('ordo_da_failures_total\\{layer="embedded"\\}')).toBe(0);
  }, 90_000);

  it("does not count a validator that does not hold its shards, and refuses a forged signer", async () => {
    const bits = new Uint8Array(cert.signers);
    const signers = [0, 1, 2, 3].filter((i) => ((bits[0] as number) >> i) & 1);
    expect(signers.length).toBeGreaterThanOrEqual(3);
    // Claiming a signer whose attestation is not in the aggregate breaks the signature.
    const missing = [0, 1, 2, 3].find((i) => !signers.includes(i));
    if (missing !== undefined) {
      const forged = { ...cert, signers: new Uint8Array([(bits[0] as number) | (1 << missing)]) };
      expect(verifyDaCertificate(blstBackend, CHAIN_ID, net.validators, forged)).toBe(false);
    }
    // Two signers are not more than 2/3 of four equal stakes.
    const two = { ...cert, signers: new Uint8Array([(1 << (signers[0] as number)) | (1 << (signers[1] as number))]) };
    expect(verifyDaCertificate(blstBackend, CHAIN_ID, net.validators, two)).toBe(false);
    // A push whose shards do not match the block the validator committed is not stored, and not attested.
    const rejectedBefore = da(2).embedded.counters.shardsRejected;
    const junk = new Uint8Array(payload.length).fill(7);
    await expect(da(0).embedded.disperse(height, junk, 2_000)).rejects.toThrow(/no quorum/);
    expect(da(2).embedded.counters.shardsRejected).toBeGreaterThan(rejectedBefore);
    expect((await da(2).embedded.storedShards(height))?.shardRoot).toEqual(cert.shardRoot); // the real shards stay
  }, 30_000);

  it("reports the block's DA at /v1/blocks/:height/da, and serves a block it pruned rebuilt from DA", async () => {
    const app = net.apps[1] as FastifyInstance;
    const r = await app.inject({ method: "GET", url: `/v1/blocks/${height}/da` });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.embedded.shardsHeld).toEqual([1, 5, 9, 13]);
    expect(body.embedded.certificate.shardRoot).toBe(toHex(cert.shardRoot));
    // Validator 1 drops the block's batches (as pruning would): the namespace query rebuilds them from shards.
    const block = (await net.stores[1]?.getBlock(height)) as Block;
    await net.stores[1]?.deleteBatches(decodeBlockBatches(block.payload).certificates.map((c) => c.digest));
    const q = await app.inject({ method: "GET", url: `/v1/namespaces/5/blocks/${height}` });
    expect(q.statusCode, q.body).toBe(200);
    const nb = q.json() as { source: string; transactions: string[]; proof: NamespaceProofJson };
    expect(nb.source).toBe("da");
    expect(nb.transactions.length).toBeGreaterThan(0);
    const txs = nb.transactions.map((t) => new Uint8Array(Buffer.from(t, "base64")));
    expect(verifyNamespaceProof(block.header.namespaceRoot, 5, txs, namespaceProofFromJson(nb.proof))).toBe(true);
  }, 30_000);

  it("still serves every payload with 2 of 4 validators (8 of 16 shards) gone", async () => {
    await net.kill(2);
    await net.kill(3);
    expect(await da(0).embedded.retrieve(cert)).toEqual(payload);
    expect(await da(1).embedded.retrieve(cert)).toEqual(payload);
  }, 30_000);

  it("detects a corrupt shard and leaves it out: with only 7 valid shards left, no payload is made up", async () => {
    // Validator 1 now serves one of its shards corrupted; with validators 2 and 3 gone, 7 valid shards remain.
    const stored = (await da(1).embedded.storedShards(height)) as NonNullable<
      Awaited<ReturnType<DaService["embedded"]["storedShards"]>>
    >;
    const bad = {
      ...stored,
      shards: stored.shards.map((s, i) => (i === 0 ? { ...s, shard: s.shard.map((b) => b ^ 1) } : s)),
    };
    await net.stores[1]?.putDaRecord("shards", height, encodeDaMessage({ ...bad, kind: "response" }));
    const rejected = da(0).embedded.counters.shardsRejected;
    await expect(da(0).embedded.retrieve(cert, 2_000)).rejects.toThrow(/only 7 of 8 shards/);
    expect(da(0).embedded.counters.shardsRejected).toBe(rejected + 1);
  }, 30_000);
});
