/**
 * The DA poster's policy against the real clients and fakes of their published APIs: EigenDA answers 503 and
 * the block goes to Celestia instead (k-of-n), with the right status per layer; a required layer that is down
 * keeps the block unsatisfied and retried; a poster killed mid-post resumes from its file and posts nothing
 * twice.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CelestiaLayer, celestiaNamespace } from "../src/layers/celestia.js";
import { EigenDaLayer } from "../src/layers/eigenda.js";
import { DaPoster, type PostingPolicy } from "../src/posting/da-poster.js";
import { FilePostingStore } from "../src/posting/file-posting-store.js";
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

function poster(file: string, policy: PostingPolicy, clock: { now: number }, o: { submitTimeoutMs?: number } = {}) {
  const layers = [
    new EigenDaLayer({ url: eigenda.url, timeoutMs: 2_000 }),
    new CelestiaLayer({
      url: celestia.url,
      authToken: TOKEN,
      namespace: celestiaNamespace(new Uint8Array([7, 7])),
      timeoutMs: 2_000,
      submitTimeoutMs: o.submitTimeoutMs ?? 2_000,
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
    }),
  };
}

describe("DA poster", () => {
  it("fails over from an EigenDA that answers 503 to Celestia (1 of 2), and reports each layer's status", async () => {
    const clock = { now: 1_000_000 };
    const { poster: p, store } = poster("failover.json", { kind: "k-of-n", k: 1 }, clock);
    eigenda.faults.unavailable = true;
    p.finalizedUpTo(2);
    await p.kick();
    for (const h of [0, 1, 2]) {
      const posting = await store.getPosting(h);
      expect(posting?.satisfied).toBe(true);
      expect(posting?.layers.eigenda?.lastError?.kind).toBe("unavailable");
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
});
