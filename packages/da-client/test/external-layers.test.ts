/**
 * Contract tests of the Celestia, EigenDA and Avail clients against local fakes of their published APIs (none can
 * be reached from here): a round trip submit → status → retrieve → verify for each, every failure users hit mapped
 * to the `DaLayerError` kind the posting policy acts on, deadlines through AbortSignal, and a tampered retrieval
 * caught by `verify`.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { sha256, toHex } from "@ordo/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DaLayerError, type DaReceipt } from "../src/layer.js";
import { AvailLayer, blake2b, blake2b256 } from "../src/layers/avail.js";
import { CelestiaLayer, celestiaNamespace, checkNamespace } from "../src/layers/celestia.js";
import { EIGENDA_MAX_PAYLOAD_BYTES_16MIB, EigenDaLayer } from "../src/layers/eigenda.js";
import { type BlockPosting, DaPoster, type PostingStore } from "../src/posting/da-poster.js";
import { FakeAvailLightClient } from "./fakes/avail-server.js";
import { FakeCelestiaNode } from "./fakes/celestia-server.js";
import { FakeEigenDaProxy } from "./fakes/eigenda-server.js";

async function rejectsWith(p: Promise<unknown>, kind: DaLayerError["kind"], text?: RegExp): Promise<DaLayerError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DaLayerError);
  expect((e as DaLayerError).kind).toBe(kind);
  if (text) expect((e as DaLayerError).message).toMatch(text);
  return e as DaLayerError;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

function flipped(b: Uint8Array, at = 0): Uint8Array {
  const c = b.slice();
  c[at] = (c[at] as number) ^ 1;
  return c;
}

/** A port nothing listens on: connections are refused. */
const DEAD_URL = "http://127.0.0.1:1";

/** Runs `f` with the URL of a server that accepts requests and never answers. */
async function withSilentServer(f: (url: string) => Promise<void>): Promise<void> {
  const server = createServer(() => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    await f(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

// ---------------------------------------------------------------------------------------------------------------

describe("Celestia client against a fake celestia-node", () => {
  const TOKEN = "test-jwt";
  const namespace = celestiaNamespace(Buffer.from("ordo-da"));
  let node: FakeCelestiaNode;
  const layer = (o: Partial<ConstructorParameters<typeof CelestiaLayer>[0]> = {}) =>
    new CelestiaLayer({ url: node.url, authToken: TOKEN, namespace, ...o });

  beforeAll(async () => {
    node = await FakeCelestiaNode.start({ token: TOKEN, maxTxBytes: 64 * 1024 });
  });
  afterAll(() => node.close());
  afterEach(() => {
    Object.assign(node.faults, { submitDelayMs: 0, timeoutAfterLanding: 0, unavailable: false, tamper: false });
  });

  it("builds version-0 namespaces: 0x00, 18 zero bytes, the 10-byte ID right-aligned", () => {
    expect(namespace.length).toBe(29);
    expect([...namespace.subarray(0, 22)].every((x) => x === 0)).toBe(true);
    expect(Buffer.from(namespace.subarray(22)).toString()).toBe("ordo-da");
    // The example from celestia-types' docs: new_v0(&[1, 2, 3, 4, 5]).
    expect(Buffer.from(celestiaNamespace(new Uint8Array([1, 2, 3, 4, 5]))).toString("base64")).toBe(
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQIDBAU=",
    );
    expect(() => celestiaNamespace(new Uint8Array([0xff]))).toThrow(/reserved/);
    expect(() => celestiaNamespace(new Uint8Array(11).fill(1))).toThrow(/1\.\.10/);
    const v1 = new Uint8Array(29);
    v1[0] = 1;
    v1[28] = 1;
    expect(() => checkNamespace(v1)).toThrow(/version/);
  });

  it("round trip: submit → status → retrieve → verify", async () => {
    const l = layer();
    const payload = randomBytes(20_000);
    const r = await l.submit(payload);
    expect(r.layer).toBe("celestia");
    expect(r.ref.height).toBe(node.height);
    expect(r.ref.namespace).toBe(Buffer.from(namespace).toString("base64"));
    // The commitment is the node's, read back with blob.GetAll after Submit returned the height.
    const stored = node.blobsAt(node.height)[0];
    expect(r.ref.commitment).toBe(stored?.commitment.toString("base64"));
    expect(await l.status(r)).toBe("final");
    const back = await l.retrieve(r);
    expect(same(back, payload)).toBe(true);
    expect(await l.verify(r, back)).toBe(true);
    expect(await l.verify(r, flipped(back))).toBe(false);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it("a retrieved blob that differs is caught by verify", async () => {
    const l = layer();
    const r = await l.submit(randomBytes(1_000));
    node.faults.tamper = true;
    const back = await l.retrieve(r);
    expect(await l.verify(r, back)).toBe(false);
  });

  it("status and retrieve of a commitment the node does not have: unknown / not-found", async () => {
    const l = layer();
    const r = await l.submit(randomBytes(500));
    const bogus: DaReceipt = { ...r, ref: { ...r.ref, commitment: Buffer.alloc(32, 7).toString("base64") } };
    expect(await l.status(bogus)).toBe("unknown");
    await rejectsWith(l.retrieve(bogus), "not-found", /blob: not found/);
  });

  it("a client-side timeout after which the blob landed: find() returns it, nothing is submitted twice", async () => {
    const l = layer({ submitTimeoutMs: 150 });
    const payload = randomBytes(3_000);
    node.faults.submitDelayMs = 600;
    const before = node.calls.filter((m) => m === "blob.Submit").length;
    await rejectsWith(l.submit(payload), "timeout");
    const found = await l.find(payload);
    expect(found).not.toBeNull();
    expect(found?.ref.height).toBe(node.height);
    expect(await l.status(found as DaReceipt)).toBe("final");
    expect(same(await l.retrieve(found as DaReceipt), payload)).toBe(true);
    expect(node.calls.filter((m) => m === "blob.Submit").length).toBe(before + 1);
    expect(await l.find(randomBytes(3_000))).toBeNull();
  });

  it("the node's own broadcast timeout ('timed out waiting for tx to be included') is a timeout too", async () => {
    const l = layer();
    const payload = randomBytes(2_000);
    node.faults.timeoutAfterLanding = 1;
    await rejectsWith(l.submit(payload), "timeout", /timed out waiting for tx/);
    expect((await l.find(payload))?.ref.height).toBe(node.height);
  });

  it("the posting policy asks find() after the timeout and does not post the payload twice", async () => {
    const l = layer({ submitTimeoutMs: 150 });
    const payload = randomBytes(4_000);
    const postings = new Map<number, BlockPosting>();
    let cursor = 0;
    const store: PostingStore = {
      getCursor: async () => cursor,
      setCursor: async (h) => {
        cursor = h;
      },
      getPosting: async (h) => postings.get(h) ?? null,
      putPosting: async (p) => {
        postings.set(p.height, structuredClone(p));
      },
      putPostings: async (ps) => {
        for (const p of ps) postings.set(p.height, structuredClone(p));
      },
    };
    let clock = 1_000_000;
    const poster = new DaPoster({
      layers: [l],
      policy: { kind: "all", layers: ["celestia"] },
      store,
      readPayload: async (h) => (h === 0 ? payload : null),
      backoffMs: { initial: 10, max: 10 },
      now: () => clock,
    });
    node.faults.submitDelayMs = 500;
    const submitsBefore = node.calls.filter((m) => m === "blob.Submit").length;
    poster.finalizedUpTo(0);
    await poster.kick();
    expect(postings.get(0)?.layers.celestia?.lastError?.kind).toBe("timeout");
    node.faults.submitDelayMs = 0;
    clock += 1_000;
    await poster.kick();
    expect(postings.get(0)?.satisfied).toBe(true);
    expect(node.calls.filter((m) => m === "blob.Submit").length).toBe(submitsBefore + 1);
    expect(postings.get(0)?.layers.celestia?.receipts[0]?.ref.height).toBe(node.height);
  });

  it("auth: a wrong token is HTTP 401, no token a permission error; both unavailable (fail over, not the payload's fault)", async () => {
    await rejectsWith(layer({ authToken: "wrong" }).submit(randomBytes(10)), "unavailable", /HTTP 401/);
    await rejectsWith(layer({ authToken: undefined }).submit(randomBytes(10)), "unavailable", /missing permission/);
    await rejectsWith(layer({ authToken: "wrong" }).retrieve(await layer().submit(randomBytes(10))), "unavailable");
  });

  it("too large: refused locally above maxBlobBytes, and by the node above its MaxTxSize: rejected", async () => {
    const l = layer();
    expect(l.maxBlobBytes).toBe(1_973_786);
    await rejectsWith(l.submit(new Uint8Array(l.maxBlobBytes + 1)), "rejected");
    await rejectsWith(l.submit(new Uint8Array(0)), "rejected");
    // This fake node's MaxTxSize is 64 KiB: a layer configured larger learns it from the node.
    await rejectsWith(l.submit(randomBytes(100_000)), "rejected", /larger than the application's configured MaxTxSize/);
  });

  it("a node that is down (503, connection refused) is unavailable; a silent one times out by AbortSignal", async () => {
    node.faults.unavailable = true;
    await rejectsWith(layer().submit(randomBytes(10)), "unavailable", /503/);
    node.faults.unavailable = false;
    await rejectsWith(
      new CelestiaLayer({ url: DEAD_URL, authToken: TOKEN, namespace }).submit(randomBytes(10)),
      "unavailable",
    );
    const r = await layer().submit(randomBytes(10));
    await withSilentServer(async (url) => {
      const t0 = performance.now();
      await rejectsWith(new CelestiaLayer({ url, authToken: TOKEN, namespace, timeoutMs: 100 }).status(r), "timeout");
      expect(performance.now() - t0).toBeLessThan(1_000);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("EigenDA client against a fake eigenda-proxy", () => {
  let proxy: FakeEigenDaProxy;
  const layer = (o: Partial<ConstructorParameters<typeof EigenDaLayer>[0]> = {}) =>
    new EigenDaLayer({ url: proxy.url, ...o });

  beforeAll(async () => {
    proxy = await FakeEigenDaProxy.start({ maxBlobLength: 1024 * 1024 });
  });
  afterAll(() => proxy.close());
  afterEach(() => {
    Object.assign(proxy.faults, { unavailable: false, rateLimited: false, putDelayMs: 0, tamper: false });
  });

  it("round trip: PUT → certificate → status → GET → verify", async () => {
    const l = layer();
    const payload = randomBytes(50_000);
    const r = await l.submit(payload);
    expect(r.layer).toBe("eigenda");
    expect(String(r.ref.commitment)).toMatch(/^0x01[0-9a-f]+$/);
    expect(r.ref.certVersion).toBe(1);
    expect(await l.status(r)).toBe("final");
    expect(await layer({ certsAreFinal: false }).status(r)).toBe("included");
    const back = await l.retrieve(r);
    expect(same(back, payload)).toBe(true);
    expect(await l.verify(r, back)).toBe(true);
    expect(await l.verify(r, flipped(back))).toBe(false);
  });

  it("a retrieved payload that differs is caught by verify", async () => {
    const l = layer();
    const r = await l.submit(randomBytes(2_000));
    proxy.faults.tamper = true;
    expect(await l.verify(r, await l.retrieve(r))).toBe(false);
  });

  it("503 is the failover signal and 429 a rate limit: both unavailable", async () => {
    proxy.faults.unavailable = true;
    await rejectsWith(layer().submit(randomBytes(100)), "unavailable", /503.*failover/);
    proxy.faults.unavailable = false;
    proxy.faults.rateLimited = true;
    await rejectsWith(layer().submit(randomBytes(100)), "unavailable", /429/);
  });

  it("too large: refused locally above maxBlobBytes, by the proxy (400) above its max blob length: rejected", async () => {
    expect(layer().maxBlobBytes).toBe(EIGENDA_MAX_PAYLOAD_BYTES_16MIB);
    expect(EIGENDA_MAX_PAYLOAD_BYTES_16MIB).toBe(16_252_897);
    await rejectsWith(layer({ maxBlobBytes: 1000 }).submit(randomBytes(1001)), "rejected");
    // The fake proxy runs with --eigenda.max-blob-length 1MiB.
    await rejectsWith(layer().submit(randomBytes(1_100_000)), "rejected", /larger than max blob size/);
  });

  it("a PUT that times out may still have dispersed (no find: a resubmission disperses again)", async () => {
    const l = layer({ submitTimeoutMs: 100 });
    expect("find" in l).toBe(false);
    proxy.faults.putDelayMs = 400;
    const before = proxy.dispersals;
    await rejectsWith(l.submit(randomBytes(100)), "timeout");
    expect(proxy.dispersals).toBe(before + 1);
  });

  it("GET of a certificate that fails verification: rejected (418), status unknown; a lost blob (500): unavailable", async () => {
    const l = layer();
    const r = await l.submit(randomBytes(300));
    const forged: DaReceipt = { ...r, ref: { ...r.ref, commitment: `0x01${"ab".repeat(40)}` } };
    await rejectsWith(l.retrieve(forged), "rejected", /418/);
    expect(await l.status(forged)).toBe("unknown");
    await rejectsWith(l.retrieve({ ...r, ref: { ...r.ref, commitment: "0x012" } }), "rejected", /400/);
    proxy.lose(String(r.ref.commitment));
    await rejectsWith(l.retrieve(r), "unavailable", /500/);
    await rejectsWith(l.status(r), "unavailable");
  });

  it("a proxy that is not there: unavailable; a silent one times out by AbortSignal", async () => {
    await rejectsWith(new EigenDaLayer({ url: DEAD_URL }).submit(randomBytes(10)), "unavailable");
    const r = await layer().submit(randomBytes(10));
    await withSilentServer(async (url) => {
      await rejectsWith(new EigenDaLayer({ url, timeoutMs: 100 }).retrieve(r), "timeout");
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("Avail client against a fake light client (API v2)", () => {
  let lc: FakeAvailLightClient;
  const layer = (o: Partial<ConstructorParameters<typeof AvailLayer>[0]> = {}) => new AvailLayer({ url: lc.url, ...o });

  beforeAll(async () => {
    lc = await FakeAvailLightClient.start();
  });
  afterAll(() => lc.close());
  afterEach(() => {
    Object.assign(lc.faults, { nonceDrift: 0, submitDelayMs: 0, tamper: false, noAppMode: false });
    lc.finalize();
  });

  it("computes Substrate's blake2b-256 (and BLAKE2b-512 equal to node:crypto's)", () => {
    expect(toHex(blake2b256(Buffer.from("abc")))).toBe(
      "0xbddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319",
    );
    expect(toHex(blake2b256(new Uint8Array(0)))).toBe(
      "0x0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8",
    );
    for (const n of [0, 1, 127, 128, 129, 256, 1_000, 70_000]) {
      const x = randomBytes(n);
      expect(Buffer.from(blake2b(x)).toString("hex")).toBe(createHash("blake2b512").update(x).digest("hex"));
    }
  });

  it("round trip: submit → included → final once finalized → retrieve → verify", async () => {
    const l = layer();
    const payload = randomBytes(30_000);
    const r = await l.submit(payload);
    expect(r.layer).toBe("avail");
    expect(r.ref.blockNumber).toBe(lc.head);
    expect(String(r.ref.hash)).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await l.status(r)).toBe("included");
    await rejectsWith(l.retrieve(r), "not-found");
    lc.finalize();
    expect(await l.status(r)).toBe("final");
    const back = await l.retrieve(r);
    expect(same(back, payload)).toBe(true);
    expect(await l.verify(r, back)).toBe(true);
    expect(await l.verify(r, flipped(back, 100))).toBe(false);
  });

  it("picks its own transaction among several in the block by extrinsic hash", async () => {
    const l = layer();
    const a = randomBytes(1_000);
    const ra = await l.submit(a);
    lc.finalize();
    // A second transaction for the same app in a later block, and ours read back by hash.
    await l.submit(randomBytes(1_000));
    lc.finalize();
    expect(same(await l.retrieve(ra), a)).toBe(true);
  });

  it("a retrieved payload that differs is caught by verify", async () => {
    const l = layer();
    const r = await l.submit(randomBytes(5_000));
    lc.finalize();
    lc.faults.tamper = true;
    expect(await l.verify(r, await l.retrieve(r))).toBe(false);
  });

  it("a submit that times out but landed: find() sees it once finalized", async () => {
    const l = layer({ submitTimeoutMs: 100 });
    const payload = randomBytes(2_000);
    lc.faults.submitDelayMs = 400;
    const before = lc.submits;
    await rejectsWith(l.submit(payload), "timeout");
    expect(lc.submits).toBe(before + 1);
    // Landed in a block the light client has not seen finalized: not visible yet.
    expect(await l.find(payload)).toBeNull();
    lc.finalize();
    const found = await l.find(payload);
    expect(found?.ref.blockNumber).toBe(lc.head);
    expect(await l.status(found as DaReceipt)).toBe("final");
    expect(same(await l.retrieve(found as DaReceipt), payload)).toBe(true);
  });

  it("nonce drift (1010 outdated) is unavailable, and the next attempt goes through", async () => {
    const l = layer();
    lc.faults.nonceDrift = 1;
    await rejectsWith(l.submit(randomBytes(100)), "unavailable", /outdated/);
    expect((await l.submit(randomBytes(100))).ref.blockNumber).toBe(lc.head);
  });

  it("a block reorganized away before finality: status unknown, retrieve not-found", async () => {
    const l = layer();
    const r = await l.submit(randomBytes(700));
    lc.reorg(r.ref.blockNumber as number);
    lc.finalize();
    expect(await l.status(r)).toBe("unknown");
    await rejectsWith(l.retrieve(r), "not-found");
  });

  it("no app mode / no signing key (404) is unavailable; too large is rejected locally, a 500 from the node unavailable", async () => {
    lc.faults.noAppMode = true;
    await rejectsWith(layer().submit(randomBytes(10)), "unavailable", /app mode/);
    lc.faults.noAppMode = false;
    expect(layer().maxBlobBytes).toBe(524_288);
    await rejectsWith(layer().submit(new Uint8Array(524_289)), "rejected");
    await rejectsWith(layer({ maxBlobBytes: 1_000_000 }).submit(randomBytes(600_000)), "unavailable", /500/);
  });

  it("a light client that is not there: unavailable; a slow read times out", async () => {
    await rejectsWith(new AvailLayer({ url: DEAD_URL }).submit(randomBytes(10)), "unavailable");
    const r = await layer().submit(randomBytes(10));
    lc.finalize();
    expect(toHex(sha256(await layer().retrieve(r)))).toBe(r.payloadHash);
    await withSilentServer(async (url) => {
      await rejectsWith(new AvailLayer({ url, timeoutMs: 100 }).status(r), "timeout");
      await rejectsWith(new AvailLayer({ url, submitTimeoutMs: 100 }).submit(randomBytes(10)), "timeout");
    });
  });
});
