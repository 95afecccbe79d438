/**
 * Four validators as separate OS processes, started through the `ordo` CLI,
 * talking over real libp2p and storing in real LevelDB, driven over HTTP.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { tcp } from "@libp2p/tcp";
import { lpStream } from "@libp2p/utils";
import { multiaddr } from "@multiformats/multiaddr";
import { blstBackend, encodeMessage, fromHex, verifyNamespaceProof, voteDigest } from "@ordo/core";
import { CONSENSUS_PROTOCOL, loadOrCreatePeerKey, namespaceProofFromJson } from "@ordo/sequencer";
import fc from "fast-check";
import { createLibp2p } from "libp2p";
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

  it("keeps finalizing under load with one validator SIGKILLed; the restarted validator catches up and no one signs anything conflicting; a transaction whose validator is SIGKILLed right after its 202 still finalizes", async () => {
    // Steady load on validators 0..2 for the whole kill/restart cycle of validator 3.
    const accepted: string[] = [];
    let loading = true;
    const load = (async () => {
      for (let k = 0; loading; k++) {
        accepted.push(await submit(k % 3, 11 + (k % 3), `load-${k}`));
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    await new Promise((r) => setTimeout(r, 1_000));
    await net.kill(3);
    await new Promise((r) => setTimeout(r, 3_000));
    net.start(3);
    await new Promise((r) => setTimeout(r, 2_000));
    loading = false;
    await load;
    expect(accepted.length).toBeGreaterThan(100);
    await finalEverywhere(accepted, [0, 1, 2, 3]);

    const height = async (v: number) => (await getJson(`${net.api(v)}/v1/status`)).body.committedHeight as number;
    const target = await height(0);
    await waitFor(async () => (await height(3)) >= target, 60_000, "validator 3 to catch up");
    for (let h = 1; h <= target; h += Math.max(1, Math.floor(target / 25))) {
      const seen = await Promise.all([0, 1, 2, 3].map((v) => getJson(`${net.api(v)}/v1/blocks/${h}`)));
      expect(new Set(seen.map((r) => r.body.hash)).size, `height ${h}`).toBe(1);
    }
    // A double vote or double proposal reaches the next leader, which reports it: none anywhere.
    for (const v of [0, 1, 2, 3]) {
      const counters = (await getJson(`${net.api(v)}/v1/status`)).body.counters as { evidence: number };
      expect(counters.evidence, `evidence seen by validator ${v}`).toBe(0);
    }

    // Accepted means durable: kill the validator that answered 202 at once.
    const orphan = await submit(2, 13, "acked-then-killed");
    await net.kill(2);
    net.start(2);
    await finalEverywhere([orphan], [0, 1, 2, 3]);
  }, 180_000);

  it("survives a peer with a validator's key that sends garbage, truncated, oversized and replayed frames: typed drops, no state change", async () => {
    const status = async (v: number) =>
      (await getJson(`${net.api(v)}/v1/status`)).body as {
        committedHeight: number;
        mempool: { transactions: number };
        counters: { decodeErrors: number; rejected: number; evidence: number };
      };
    // The hostile peer takes over validator 3's identity while the real one is down.
    await net.kill(3);
    const dir = join(net.dir, "validator-3");
    const genesis = JSON.parse(await readFile(join(net.dir, "genesis.json"), "utf8")) as {
      chainId: number;
      validators: { addrs: string[] }[];
    };
    const secretKey = fromHex((await readFile(join(dir, "bls.key"), "utf8")).trim());
    const before = await status(0);
    const hostile = await createLibp2p({
      privateKey: await loadOrCreatePeerKey(join(dir, "peer.key")),
      addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    });
    try {
      const target = multiaddr(genesis.validators[0]?.addrs[0] as string);
      const lp = lpStream(await hostile.dialProtocol(target, CONSENSUS_PROTOCOL), { maxDataLength: 64 << 20 });
      const vote = (round: number, sign = true) => {
        const blockHash = new Uint8Array(randomBytes(32));
        const committedHash = new Uint8Array(randomBytes(32));
        const digest = voteDigest(genesis.chainId, 0, round, blockHash, committedHash);
        const signature = sign ? blstBackend.sign(secretKey, digest) : new Uint8Array(randomBytes(96));
        return encodeMessage({ kind: "vote", epoch: 0, round, blockHash, committedHash, author: 3, signature });
      };
      const valid = vote(before.committedHeight + 3);
      // Well-formed but invalid votes cost the peer a little score each; they change nothing.
      for (let i = 0; i < 15; i++) await lp.write(vote(1)); // replayed into a long-past round
      for (let i = 0; i < 15; i++) await lp.write(vote(before.committedHeight + 5, false)); // forged signature
      for (let i = 0; i < 15; i++) await lp.write(valid); // one vote, replayed
      await waitFor(
        async () => (await status(0)).counters.rejected > before.counters.rejected,
        30_000,
        "validator 0 to reject the forged votes",
      );
      // A length prefix of 40 MiB (over the 32 MiB frame limit) on its own stream, which then ends.
      const oversized = await hostile.dialProtocol(target, CONSENSUS_PROTOCOL);
      oversized.send(new Uint8Array([0x80, 0x80, 0x80, 0x14, ...randomBytes(4096)]));
      await oversized.close();
      // Truncated and random frames: each is a decode error that costs a lot of score, until validator 0
      // disconnects the peer for a cooldown.
      const junk = [
        ...Array.from({ length: 12 }, (_, i) => valid.subarray(0, 1 + i * 9)),
        ...Array.from({ length: 40 }, (_, i) => new Uint8Array(randomBytes(1 + ((i * 131) % 3000)))),
      ];
      let written = 0;
      let cutOff = false;
      try {
        for (const frame of junk) {
          await lp.write(frame);
          written++;
        }
        await new Promise((r) => setTimeout(r, 2_000)); // the disconnect may trail the last write
        await lp.write(valid);
      } catch {
        cutOff = true; // the stream was closed under us: the peer was disconnected
      }
      expect(cutOff).toBe(true);
      const decodeErrors = (await status(0)).counters.decodeErrors - before.counters.decodeErrors;
      expect(decodeErrors).toBeGreaterThanOrEqual(1);
      expect(decodeErrors).toBeLessThanOrEqual(written);
      // During the cooldown the peer cannot get back in.
      await expect(hostile.dialProtocol(target, CONSENSUS_PROTOCOL)).rejects.toThrow();
    } finally {
      await hostile.stop();
    }
    const after = await status(0);
    expect(after.counters.rejected).toBeGreaterThan(before.counters.rejected); // the forged signatures
    expect(after.counters.evidence).toBe(0);
    expect(after.mempool.transactions).toBe(before.mempool.transactions);
    const metrics = await (await fetch(`${net.api(0)}/metrics`)).text();
    expect(metrics).toMatch(/^ordo_decode_errors_total [1-9]\d*/m);

    // The network goes on as before, with the real validator 3 back (once validator 0's cooldown of its
    // peer id ends, 30 s).
    net.start(3);
    const tx = await submit(0, 12, "after-the-attack");
    await finalEverywhere([tx], [0, 1, 2, 3]);
    const h = (await statusOn(0, tx)).height as number;
    const seen = await Promise.all([0, 1, 2, 3].map((v) => getJson(`${net.api(v)}/v1/blocks/${h}`)));
    expect(new Set(seen.map((r) => r.body.hash)).size).toBe(1);
  }, 150_000);

  it("property: random HTTP requests to a validator process never get a 5xx or an untyped error, and it keeps serving", async () => {
    const api = net.api(1);
    const routes = [
      "/v1/namespaces/NS/transactions",
      "/v1/namespaces/NS/transactions/batch",
      "/v1/transactions/X",
      "/v1/blocks/X",
      "/v1/namespaces/NS/blocks/X",
      "/v1/namespaces/NS/blocks?from=X&to=X&limit=X",
      "/v1/status",
      "/nope/X",
    ];
    const segment = fc.oneof(
      fc.constantFrom("1", "0", "-1", "4294967296", "latest", "0x00", `0x${"ab".repeat(32)}`, "%00", "..", ""),
      fc.string({ maxLength: 16 }).map(encodeURIComponent),
    );
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
      fc.json({ maxDepth: 3 }),
      fc.constant(Buffer.alloc(1024 * 1024 + 10, 7)),
    );
    const contentType = fc.constantFrom(
      "application/json",
      "application/octet-stream",
      "text/plain",
      "application/x-www-form-urlencoded",
      "",
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        segment,
        segment,
        fc.constantFrom("GET", "POST", "PUT", "DELETE"),
        body,
        contentType,
        async (route, ns, x, method, payload, type) => {
          const url = `${api}${route.replace("NS", ns).replaceAll("X", x)}`;
          const r = await fetch(url, {
            method,
            ...(method === "GET" ? {} : { body: payload, headers: type ? { "content-type": type } : {} }),
          });
          expect(r.status, `${method} ${url}`).toBeLessThan(500);
          const text = await r.text();
          if (r.status >= 400) {
            const err = JSON.parse(text) as { error: { code: string; message: string } };
            expect(err.error.code).toMatch(/^[A-Z_]+$/);
            expect(typeof err.error.message).toBe("string");
          }
        },
      ),
      { numRuns: 150 },
    );
    expect((await getJson(`${api}/health`)).status).toBe(200);
    const tx = await submit(1, 11, "after-the-fuzz");
    await finalEverywhere([tx], [1]);
  }, 120_000);
});
