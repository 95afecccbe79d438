/**
 * The DA poster's policy against the real clients and fakes of their published APIs: EigenDA answers 503 and
 * the block goes to Celestia instead (k-of-n), with the right status per layer; a required layer that is down
 * keeps the block unsatisfied and retried; a poster killed mid-post resumes from its file and posts nothing
 * twice; a bundled layer takes many blocks per submission, each read back as itself; a slow layer does not hold
 * a fast one back.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CelestiaLayer, celestiaNamespace } from "../src/layers/celestia.js";
import { EigenDaLayer } from "../src/layers/eigenda.js";
import { BUNDLE_ENTRY_OVERHEAD_BYTES, BUNDLE_HEADER_BYTES } from "../src/posting/block-bundle.js";
import { type BlockPosting, DaPoster, type PosterEvent, type PostingPolicy } from "../src/posting/da-poster.js";
import { FilePostingStore } from "../src/posting/file-posting-store.js";
import { retrievePostedPayload } from "../src/posting/retrieve-posted.js";
import { FakeCelestiaNode } from "./fakes/celestia-server.js";
import { FakeEigenDaProxy } from "./fakes/eigenda-server.js";

const TOKEN = "poster-test-token";
let celestia: FakeCelestiaNode;
let eigenda: FakeEigenDaProxy;
let dir: string;

beforeAll(async () => {
  celestia = await FakeCelestiaNode.start({ token: TOKEN });
  eigenda = await FakeEigenDaProxy.start();
  dir = await mkdtemp(join(tmpdir(), "ordo-poster-"));
});
afterAll(async () => {
  await celestia?.close();
  await eigenda?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const payloads = new Map<number, Uint8Array>();
const payload = (h: number) => {
  if (!payloads.has(h)) payloads.set(h, new Uint8Array(randomBytes(1000 + h)));
  return payloads.get(h) as Uint8Array;
};
const submits = () => celestia.calls.filter((m) => m === "blob.Submit").length;

function poster(
  file: string,
  policy: PostingPolicy,
  clock: { now: number },
  o: {
    submitTimeoutMs?: number;
    bundled?: string[];
    celestiaMaxBlobBytes?: number;
    maxAhead?: number;
    onEvent?: (e: PosterEvent) => void;
  } = {},
) {
  const layers = [
    new EigenDaLayer({ url: eigenda.url, timeoutMs: 2_000 }),
    new CelestiaLayer({
      url: celestia.url,
      authToken: TOKEN,
      namespace: celestiaNamespace(new Uint8Array([7, 7])),
      timeoutMs: 2_000,
      submitTimeoutMs: o.submitTimeoutMs ?? 2_000,
      ...(o.celestiaMaxBlobBytes ? { maxBlobBytes: o.celestiaMaxBlobBytes } : {}),
    }),
  ];
  const store = new FilePostingStore(join(dir, file));
  return {
    store,
    poster: new DaPoster({
      layers,
      policy,
      store,
      readPayload: async (h) => payload(h),
      backoffMs: { initial: 1_000, max: 8_000 },
      now: () => clock.now,
      ...(o.bundled ? { bundled: o.bundled } : {}),
      ...(o.maxAhead ? { maxAhead: o.maxAhead } : {}),
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    }),
    layers,
  };
}

describe("DA poster", () => {
  it("fails over from an EigenDA that answers 503 to Celestia (1 of 2), and reports each layer's status", async () => {
    const clock = { now: 1_000_000 };
    const { poster: p, store } = poster("failover.json", { kind: "k-of-n", k: 1 }, clock);
    eigenda.faults.unavailable = true;
    p.finalizedUpTo(2);
    await p.kick();
    // EigenDA failed once and backs off as a whole: it is not asked again for the next blocks.
    expect((await store.getPosting(0))?.layers.eigenda?.lastError?.kind).toBe("unavailable");
    expect(p.progress().layers.eigenda?.failures).toBe(1);
    for (const h of [0, 1, 2]) {
      const posting = await store.getPosting(h);
      expect(posting?.satisfied).toBe(true);
      expect(posting?.layers.eigenda?.state ?? "pending").toBe("pending");
      expect(posting?.layers.celestia?.state).toBe("posted");
      const report = await p.report(h);
      expect(report?.status.eigenda).toBe("not-posted");
      expect(["included", "final"]).toContain(report?.status.celestia);
    }
    expect(await store.getCursor()).toBe(3);
    expect(await p.lag()).toBe(0);
  });

  it("keeps a block unsatisfied while a required layer is down, backs off, and posts it once it is back", async () => {
    const clock = { now: 2_000_000 };
    const { poster: p, store } = poster("all.json", { kind: "all", layers: ["eigenda", "celestia"] }, clock);
    eigenda.faults.unavailable = true;
    p.finalizedUpTo(0);
    await p.kick();
    let posting = await store.getPosting(0);
    expect(posting?.satisfied).toBe(false);
    expect(posting?.layers.celestia?.state).toBe("posted");
    expect(posting?.layers.eigenda?.retryAt).toBeGreaterThan(clock.now);
    // Within the backoff nothing is tried again.
    const before = eigenda.dispersals;
    eigenda.faults.unavailable = false;
    await p.kick();
    expect(eigenda.dispersals).toBe(before);
    clock.now += 10_000;
    await p.kick();
    posting = await store.getPosting(0);
    expect(posting?.satisfied).toBe(true);
    expect(posting?.layers.eigenda?.state).toBe("posted");
    expect(eigenda.dispersals).toBe(before + 1);
    expect(await store.getCursor()).toBe(1);
  });

  it("after a restart mid-post, resumes from its file and finds what landed instead of posting it again", async () => {
    const clock = { now: 3_000_000 };
    // The first poster's Celestia call times out, though the blob lands: then the process "dies".
    celestia.faults.submitDelayMs = 600;
    const first = poster("restart.json", { kind: "all", layers: ["celestia"] }, clock, { submitTimeoutMs: 200 });
    first.poster.finalizedUpTo(0);
    await first.poster.kick();
    const landed = submits();
    const crashed = await first.store.getPosting(0);
    expect(crashed?.layers.celestia?.inFlight).toBe(true);
    expect(crashed?.satisfied).toBe(false);
    await new Promise((r) => setTimeout(r, 700)); // the delayed submission completes on the node
    celestia.faults.submitDelayMs = 0;
    // A new process, the same file.
    clock.now += 60_000;
    const second = poster("restart.json", { kind: "all", layers: ["celestia"] }, clock);
    second.poster.finalizedUpTo(1);
    await second.poster.kick();
    const resumed = await second.store.getPosting(0);
    expect(resumed?.satisfied).toBe(true);
    expect(resumed?.layers.celestia?.receipts).toHaveLength(1);
    expect(resumed?.layers.celestia?.inFlight).toBe(false);
    // Height 0 was found, not posted again; only height 1 was submitted.
    expect(submits()).toBe(landed + 1);
    expect(await second.store.getCursor()).toBe(2);
  });
  it("bundles every due block into as few Celestia submissions as fit, and reads each block back as itself", async () => {
    const clock = { now: 4_000_000 };
    // Room for 20 blocks of 1,000–1,100 bytes per submission.
    const max = BUNDLE_HEADER_BYTES + 20 * (BUNDLE_ENTRY_OVERHEAD_BYTES + 1_100);
    const events: PosterEvent[] = [];
    const {
      poster: p,
      store,
      layers,
    } = poster("bundled.json", { kind: "all", layers: ["celestia"] }, clock, {
      bundled: ["celestia"],
      celestiaMaxBlobBytes: max,
      onEvent: (e) => events.push(e),
    });
    const before = submits();
    p.finalizedUpTo(49);
    await p.kick();
    const bundles = events.flatMap((e) => (e.type === "bundle-posted" ? [e] : []));
    expect(submits() - before).toBe(bundles.length);
    expect(bundles.length).toBeGreaterThanOrEqual(3);
    expect(bundles.length).toBeLessThanOrEqual(4);
    expect(bundles.reduce((n, b) => n + b.blocks, 0)).toBe(50);
    for (const b of bundles) expect(b.bytes).toBeLessThanOrEqual(max);
    expect(await store.getCursor()).toBe(50);
    const celestiaLayer = layers[1] as CelestiaLayer;
    for (let h = 0; h < 50; h++) {
      const posting = await store.getPosting(h);
      const bundle = bundles.find((b) => b.first <= h && h <= b.last);
      expect(posting?.layers.celestia?.bundle).toEqual({ first: bundle?.first, last: bundle?.last });
      expect(await retrievePostedPayload(celestiaLayer, posting as BlockPosting)).toEqual(payload(h));
    }
    // What the layer returns is checked: tampered bytes, or a posting naming another payload, are refused.
    const posting = (await store.getPosting(7)) as BlockPosting;
    await expect(
      retrievePostedPayload(celestiaLayer, { ...posting, payloadHash: `0x${"00".repeat(32)}` }),
    ).rejects.toMatchObject({
      kind: "corrupt",
    });
    celestia.faults.tamper = true;
    await expect(retrievePostedPayload(celestiaLayer, posting)).rejects.toMatchObject({ kind: "corrupt" });
    celestia.faults.tamper = false;
  });

  it("after a restart, looks for a timed-out bundle byte for byte and posts only the blocks it did not hold", async () => {
    const clock = { now: 5_000_000 };
    celestia.faults.submitDelayMs = 600;
    const policy: PostingPolicy = { kind: "all", layers: ["celestia"] };
    const first = poster("bundle-restart.json", policy, clock, { submitTimeoutMs: 200, bundled: ["celestia"] });
    first.poster.finalizedUpTo(4);
    await first.poster.kick();
    const landed = submits();
    for (let h = 0; h <= 4; h++) {
      const l = (await first.store.getPosting(h))?.layers.celestia;
      expect(l?.inFlight).toBe(true);
      expect(l?.bundle).toEqual({ first: 0, last: 4 });
    }
    await new Promise((r) => setTimeout(r, 700)); // the delayed submission completes on the node
    celestia.faults.submitDelayMs = 0;
    clock.now += 60_000;
    const second = poster("bundle-restart.json", policy, clock, { bundled: ["celestia"] });
    second.poster.finalizedUpTo(9);
    await second.poster.kick();
    // Blocks 0–4 were found in the bundle that landed; 5–9 went in one new bundle.
    expect(submits()).toBe(landed + 1);
    const found = (await second.store.getPosting(0))?.layers.celestia?.receipts[0];
    for (let h = 0; h <= 9; h++) {
      const posting = (await second.store.getPosting(h)) as BlockPosting;
      expect(posting.satisfied).toBe(true);
      expect(posting.layers.celestia?.bundle).toEqual(h <= 4 ? { first: 0, last: 4 } : { first: 5, last: 9 });
      if (h <= 4) expect(posting.layers.celestia?.receipts[0]).toEqual(found);
      expect(await retrievePostedPayload(second.layers[1] as CelestiaLayer, posting)).toEqual(payload(h));
    }
  });

  it("runs each layer on its own: a slow layer does not hold a fast one back", async () => {
    const clock = { now: 6_000_000 };
    // Celestia takes the bundle and answers only when released.
    let release = () => {};
    celestia.faults.holdSubmits = new Promise<void>((r) => {
      release = r;
    });
    const events: PosterEvent[] = [];
    const { poster: p, store } = poster("independent.json", { kind: "all", layers: ["eigenda", "celestia"] }, clock, {
      bundled: ["celestia"],
      onEvent: (e) => events.push(e),
    });
    p.finalizedUpTo(15);
    const idle = p.kick();
    // EigenDA (one block per submission) posts all 16 blocks while Celestia's one bundle is still out.
    const eigendaPosted = () => events.filter((e) => e.type === "posted" && e.layer === "eigenda").length;
    const deadline = Date.now() + 20_000;
    while (eigendaPosted() < 16 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(eigendaPosted()).toBe(16);
    expect(events.some((e) => e.type === "bundle-posted")).toBe(false);
    expect(await store.getCursor()).toBe(0);
    release();
    delete celestia.faults.holdSubmits;
    await idle;
    expect(await store.getCursor()).toBe(16);
    expect(p.progress().layers).toMatchObject({
      eigenda: { submissions: 16, blocksPosted: 16 },
      celestia: { submissions: 1, blocksPosted: 16 },
    });
  });

  it("a layer that is down holds the cursor but not the others: they post on, up to maxAhead past the cursor", async () => {
    const clock = { now: 7_000_000 };
    celestia.faults.unavailable = true;
    const { poster: p, store } = poster("down.json", { kind: "all", layers: ["eigenda", "celestia"] }, clock, {
      maxAhead: 40,
    });
    // Heights become final a few at a time, as a chain makes them: EigenDA keeps up, far past its window of 16.
    for (let h = 0; h < 60; h += 5) {
      p.finalizedUpTo(h + 4);
      await p.kick();
    }
    celestia.faults.unavailable = false;
    const eigendaPosted = async () => {
      let n = 0;
      for (let h = 0; h < 60; h++) if ((await store.getPosting(h))?.layers.eigenda?.state === "posted") n++;
      return n;
    };
    expect(await eigendaPosted()).toBe(40);
    expect((await store.getPosting(40))?.layers.eigenda?.state ?? "pending").toBe("pending");
    expect(await store.getCursor()).toBe(0);
    expect(await p.lag()).toBe(60);
    // Celestia back (after its backoff): it catches up, the cursor moves, and EigenDA takes the rest.
    clock.now += 60_000;
    for (let i = 0; i < 8 && (await p.lag()) > 0; i++) await p.kick();
    expect(await eigendaPosted()).toBe(60);
    expect(await store.getCursor()).toBe(60);
  });
});
