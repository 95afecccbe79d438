import { hashTransaction, InvalidConfigError, type Transaction, toHex } from "@ordo/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_MEMPOOL_CONFIG,
  Mempool,
  type MempoolConfig,
  type MempoolEntry,
  type MempoolRejectCode,
} from "../src/mempool/mempool.js";

const UNLIMITED = { maxBytes: Number.MAX_SAFE_INTEGER, maxCount: Number.MAX_SAFE_INTEGER };

let unique = 0;
/** A `size`-byte transaction; unique (a counter is its first 8 bytes) when size ≥ 8. */
function freshTx(namespace: number, size = 16): Transaction {
  const data = new Uint8Array(Math.max(size, 8));
  new DataView(data.buffer).setFloat64(0, unique++ + 0.5);
  return { namespace, data: data.subarray(0, size) };
}

const hex = (h: Uint8Array): string => toHex(h);

function addOk(m: Mempool, tx: Transaction, now = 0): Uint8Array {
  const r = m.add(tx, now);
  if (!r.ok) throw new Error(`unexpected ${r.code}: ${r.message}`);
  return r.hash;
}

function countBy(entries: MempoolEntry[]): Map<number, number> {
  const c = new Map<number, number>();
  for (const e of entries) c.set(e.namespace, (c.get(e.namespace) ?? 0) + 1);
  return c;
}

function shuffled<T>(xs: T[], keys: number[]): T[] {
  return xs
    .map((x, i) => [x, keys[i % Math.max(1, keys.length)] ?? 0, i] as const)
    .sort((a, b) => a[1] - b[1] || a[2] - b[2])
    .map(([x]) => x);
}

describe("Mempool rejections", () => {
  it("rejects a transaction already held with DUPLICATE and its hash", () => {
    const m = new Mempool();
    const t = freshTx(1);
    const hash = addOk(m, t);
    expect(hash).toEqual(hashTransaction(1, t.data));
    const again = m.add({ namespace: 1, data: new Uint8Array(t.data) }, 5);
    expect(again).toMatchObject({ ok: false, code: "DUPLICATE", hash });
    // The same bytes under another namespace are another transaction.
    expect(m.add({ namespace: 2, data: t.data }, 5).ok).toBe(true);
    expect(m.size).toBe(2);
  });

  it("rejects data above maxTransactionBytes with TOO_LARGE, and accepts exactly the limit", () => {
    const m = new Mempool({ maxTransactionBytes: 100 });
    expect(m.add(freshTx(1, 101), 0)).toMatchObject({ ok: false, code: "TOO_LARGE" });
    expect(m.add(freshTx(1, 100), 0).ok).toBe(true);
  });

  it("rejects a namespace over its byte or count quota with NAMESPACE_QUOTA, leaving other namespaces free", () => {
    const bytes = new Mempool({ namespaceMaxBytes: 100 });
    addOk(bytes, freshTx(1, 60));
    expect(bytes.add(freshTx(1, 41), 0)).toMatchObject({ ok: false, code: "NAMESPACE_QUOTA" });
    addOk(bytes, freshTx(1, 40));
    addOk(bytes, freshTx(2, 100));

    const count = new Mempool({ namespaceMaxTransactions: 2 });
    addOk(count, freshTx(1));
    addOk(count, freshTx(1));
    expect(count.add(freshTx(1), 0)).toMatchObject({ ok: false, code: "NAMESPACE_QUOTA" });
    addOk(count, freshTx(3));
    // Taking frees quota.
    count.take({ maxBytes: 1_000, maxCount: 1 });
    count.take({ maxBytes: 1_000, maxCount: 1 });
    expect(count.add(freshTx(1), 0).ok).toBe(true);
  });

  it("rejects beyond the total byte or count cap with MEMPOOL_FULL", () => {
    const bytes = new Mempool({ maxBytes: 100 });
    addOk(bytes, freshTx(1, 50));
    addOk(bytes, freshTx(2, 50));
    expect(bytes.add(freshTx(3, 1), 0)).toMatchObject({ ok: false, code: "MEMPOOL_FULL" });
    expect(bytes.add(freshTx(3, 0), 0).ok).toBe(true);

    const count = new Mempool({ maxTransactions: 2 });
    addOk(count, freshTx(1));
    addOk(count, freshTx(2));
    expect(count.add(freshTx(3), 0)).toMatchObject({ ok: false, code: "MEMPOOL_FULL" });
  });

  it("rejects namespace 0 without the system flag, and namespaces out of range, with INVALID_NAMESPACE", () => {
    const m = new Mempool();
    for (const ns of [0, -1, 2 ** 32, 1.5, Number.NaN])
      expect(m.add(freshTx(ns), 0)).toMatchObject({ ok: false, code: "INVALID_NAMESPACE" });
    expect(m.add(freshTx(0), 0, { system: true }).ok).toBe(true);
    expect(m.add(freshTx(0xffff_ffff), 0).ok).toBe(true);
    expect(m.size).toBe(2);
  });

  it("checks in a fixed order: namespace, size, duplicate, quota, capacity", () => {
    const m = new Mempool({ maxTransactionBytes: 10, namespaceMaxTransactions: 1, maxTransactions: 1 });
    const t = freshTx(1, 10);
    addOk(m, t);
    expect(m.add({ namespace: 0, data: new Uint8Array(11) }, 0)).toMatchObject({ code: "INVALID_NAMESPACE" });
    expect(m.add({ namespace: 1, data: new Uint8Array(11) }, 0)).toMatchObject({ code: "TOO_LARGE" });
    expect(m.add(t, 0)).toMatchObject({ code: "DUPLICATE" });
    expect(m.add(freshTx(1, 10), 0)).toMatchObject({ code: "NAMESPACE_QUOTA" });
    expect(m.add(freshTx(2, 10), 0)).toMatchObject({ code: "MEMPOOL_FULL" });
  });

  it("refuses a config with a negative or fractional limit", () => {
    expect(() => new Mempool({ maxBytes: -1 })).toThrow(InvalidConfigError);
    expect(() => new Mempool({ ttlMs: 1.5 })).toThrow(InvalidConfigError);
    expect(new Mempool().config).toEqual(DEFAULT_MEMPOOL_CONFIG);
  });
});

describe("Mempool take", () => {
  it("serves namespaces one transaction per turn, FIFO within each", () => {
    const m = new Mempool();
    const a = [freshTx(1), freshTx(1), freshTx(1), freshTx(1)];
    const b = [freshTx(2)];
    const c = [freshTx(3), freshTx(3)];
    for (const t of [...a, ...b, ...c]) addOk(m, t);
    const out = m.take(UNLIMITED);
    expect(out.map((e) => e.data)).toEqual([a[0], b[0], c[0], a[1], c[1], a[2], a[3]].map((t) => t!.data));
    expect(m.size).toBe(0);
    expect(m.bytes).toBe(0);
    expect(m.namespaces()).toEqual([]);
  });

  it("skips a namespace whose next transaction does not fit, without reordering it", () => {
    const m = new Mempool();
    const big = freshTx(1, 100);
    const small1 = freshTx(1, 10);
    const x = [freshTx(2, 10), freshTx(2, 10), freshTx(2, 10)];
    for (const t of [big, small1, ...x]) addOk(m, t);
    const out = m.take({ maxBytes: 50, maxCount: 10 });
    expect(out.map((e) => e.data)).toEqual(x.map((t) => t.data));
    expect(m.take({ maxBytes: 1_000, maxCount: 10 }).map((e) => e.data)).toEqual([big.data, small1.data]);
  });

  it("starts each call after the namespace served last", () => {
    const m = new Mempool();
    for (let i = 0; i < 3; i++) for (const ns of [10, 20, 30]) addOk(m, freshTx(ns));
    const served = Array.from({ length: 9 }, () => m.take({ maxBytes: 1_000, maxCount: 1 })[0]?.namespace);
    expect(served).toEqual([10, 20, 30, 10, 20, 30, 10, 20, 30]);
  });

  it("puts a newly active namespace at the back of the line, behind the namespace just served", () => {
    const m = new Mempool();
    for (let i = 0; i < 3; i++) for (const ns of [1, 2, 3]) addOk(m, freshTx(ns));
    expect(m.take({ maxBytes: 1_000, maxCount: 1 })[0]?.namespace).toBe(1);
    addOk(m, freshTx(4));
    expect(m.take({ maxBytes: 1_000, maxCount: 4 }).map((e) => e.namespace)).toEqual([2, 3, 1, 4]);
  });

  it("returns nothing for zero limits or an empty pool", () => {
    const m = new Mempool();
    expect(m.take(UNLIMITED)).toEqual([]);
    addOk(m, freshTx(1));
    expect(m.take({ maxBytes: 1_000, maxCount: 0 })).toEqual([]);
    expect(m.take({ maxBytes: 0, maxCount: 5 })).toEqual([]);
    expect(m.size).toBe(1);
  });
});

describe("Mempool remove, expire, restore", () => {
  it("removes given transactions wherever they sit and ignores unknown ones", () => {
    const m = new Mempool();
    const ts = [freshTx(1), freshTx(1), freshTx(2), freshTx(1)];
    const hashes = ts.map((t) => addOk(m, t));
    expect(m.remove([hashes[1]!, hashes[2]!, new Uint8Array(32)])).toBe(2);
    expect(m.has(hashes[1]!)).toBe(false);
    expect(m.take(UNLIMITED).map((e) => e.data)).toEqual([ts[0]!.data, ts[3]!.data]);
  });

  it("expires transactions ttlMs after they were received, oldest first", () => {
    const m = new Mempool({ ttlMs: 1_000 });
    const h1 = addOk(m, freshTx(1), 100);
    const h2 = addOk(m, freshTx(2), 50); // received earlier, added later
    const h3 = addOk(m, freshTx(1), 600);
    expect(m.expire(1_049)).toEqual([]);
    expect(m.expire(1_100)).toEqual([
      { hash: h2, reason: "EXPIRED" },
      { hash: h1, reason: "EXPIRED" },
    ]);
    expect(m.size).toBe(1);
    expect(m.expire(1_600)).toEqual([{ hash: h3, reason: "EXPIRED" }]);
    expect(m.namespaces()).toEqual([]);
  });

  it("restores entries after a restart keeping receivedAt, and reports those it cannot keep", () => {
    const m = new Mempool({ ttlMs: 1_000 });
    const entries: MempoolEntry[] = [];
    for (const [ns, t, size] of [
      [1, 100, 10],
      [1, 900, 10],
      [0, 950, 10], // system transactions were admitted with the flag; restore keeps them
      [2, 990, 50],
      [2, 995, 10],
    ] as const) {
      const tx = freshTx(ns, size);
      entries.push({ hash: hashTransaction(ns, tx.data), namespace: ns, data: tx.data, receivedAtMs: t });
    }
    const restarted = new Mempool({ ttlMs: 1_000, namespaceMaxBytes: 55 });
    const dropped = restarted.restore([...entries].reverse(), 1_200);
    expect(dropped).toEqual([
      { hash: entries[0]!.hash, reason: "EXPIRED" },
      { hash: entries[4]!.hash, reason: "NAMESPACE_QUOTA" },
    ]);
    expect(restarted.size).toBe(3);
    expect(restarted.restore(entries.slice(1, 2), 1_200)).toEqual([]); // already held: skipped
    expect(restarted.size).toBe(3);
    expect(restarted.expire(1_899)).toEqual([]);
    expect(restarted.expire(1_900)).toEqual([{ hash: entries[1]!.hash, reason: "EXPIRED" }]);
    expect(m.size).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// Properties

describe("Mempool properties", () => {
  it("any take of n·K transactions from K namespaces each holding enough gives n to each", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 12 }),
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 6, maxLength: 6 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 200 }),
        fc.array(fc.integer({ min: 1, max: 0xffff_ffff }), { minLength: 6, maxLength: 6 }),
        (k, n, prior, extra, order, nsIds) => {
          const namespaces = [...new Set(nsIds)].slice(0, k);
          fc.pre(namespaces.length === k);
          const m = new Mempool();
          const txs = namespaces.flatMap((ns, i) =>
            Array.from({ length: n + prior + (extra[i] ?? 0) }, () => freshTx(ns, 8)),
          );
          for (const t of shuffled(txs, order)) addOk(m, t);
          // Earlier takes of any size move the starting namespace around.
          m.take({ maxBytes: Number.MAX_SAFE_INTEGER, maxCount: prior });
          const out = m.take({ maxBytes: Number.MAX_SAFE_INTEGER, maxCount: n * k });
          const counts = countBy(out);
          expect(out.length).toBe(n * k);
          for (const ns of namespaces) expect(counts.get(ns)).toBe(n);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("successive single takes visit every namespace before any twice", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 4 }), (k, rounds) => {
        const m = new Mempool();
        for (let r = 0; r < rounds + 1; r++) for (let ns = 1; ns <= k; ns++) addOk(m, freshTx(ns, 8));
        for (let r = 0; r < rounds; r++) {
          const window = Array.from({ length: k }, () => m.take({ maxBytes: 100, maxCount: 1 })[0]?.namespace);
          expect(new Set(window).size).toBe(k);
        }
      }),
    );
  });

  type Op =
    | { kind: "add"; ns: number; size: number; dupOf: number | null; system: boolean }
    | { kind: "take"; maxBytes: number; maxCount: number }
    | { kind: "remove"; picks: number[] }
    | { kind: "expire" }
    | { kind: "tick"; ms: number };

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant("add" as const),
        ns: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 5 }) }, fc.constantFrom(0, -1, 2 ** 32)),
        size: fc.oneof(fc.integer({ min: 0, max: 120 }), fc.constantFrom(0, 8, 100, 101)),
        dupOf: fc.option(fc.nat(), { freq: 4 }),
        system: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("take" as const),
        maxBytes: fc.integer({ min: 0, max: 400 }),
        maxCount: fc.integer({ min: 0, max: 12 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("remove" as const), picks: fc.array(fc.nat(), { maxLength: 4 }) }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: "expire" as const }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 400 }) }) },
  );

  const configArb: fc.Arbitrary<Partial<MempoolConfig>> = fc.record({
    maxBytes: fc.integer({ min: 0, max: 600 }),
    maxTransactions: fc.integer({ min: 0, max: 20 }),
    maxTransactionBytes: fc.integer({ min: 0, max: 100 }),
    namespaceMaxBytes: fc.integer({ min: 0, max: 300 }),
    namespaceMaxTransactions: fc.integer({ min: 0, max: 8 }),
    ttlMs: fc.integer({ min: 0, max: 1_500 }),
  });

  it("matches a simple model: caps and quotas never exceeded, dedup, FIFO per namespace, TTL, maximal takes", () => {
    fc.assert(
      fc.property(configArb, fc.array(opArb, { maxLength: 120 }), (cfg, ops) => {
        const m = new Mempool(cfg);
        const c = m.config;
        // The model: held transactions in insertion order.
        let held: (MempoolEntry & { key: string })[] = [];
        const seen: Transaction[] = [];
        let now = 0;
        const nsBytes = (ns: number) => held.filter((e) => e.namespace === ns).reduce((s, e) => s + e.data.length, 0);
        const nsCount = (ns: number) => held.filter((e) => e.namespace === ns).length;
        const total = () => held.reduce((s, e) => s + e.data.length, 0);

        for (const op of ops) {
          if (op.kind === "add") {
            const tx = op.dupOf !== null && seen.length > 0 ? seen[op.dupOf % seen.length]! : freshTx(op.ns, op.size);
            seen.push(tx);
            const key = hex(hashTransaction(tx.namespace >>> 0, tx.data));
            const ns = tx.namespace;
            let expected: MempoolRejectCode | null = null;
            if (!Number.isInteger(ns) || ns < 0 || ns > 0xffff_ffff || (ns === 0 && !op.system))
              expected = "INVALID_NAMESPACE";
            else if (tx.data.length > c.maxTransactionBytes) expected = "TOO_LARGE";
            else if (held.some((e) => e.key === key)) expected = "DUPLICATE";
            else if (nsCount(ns) + 1 > c.namespaceMaxTransactions || nsBytes(ns) + tx.data.length > c.namespaceMaxBytes)
              expected = "NAMESPACE_QUOTA";
            else if (held.length + 1 > c.maxTransactions || total() + tx.data.length > c.maxBytes)
              expected = "MEMPOOL_FULL";
            const r = m.add(tx, now, { system: op.system });
            if (expected === null) {
              expect(r.ok).toBe(true);
              held.push({ key, hash: hashTransaction(ns, tx.data), namespace: ns, data: tx.data, receivedAtMs: now });
            } else expect(r).toMatchObject({ ok: false, code: expected });
          } else if (op.kind === "take") {
            const out = m.take(op);
            const bytes = out.reduce((s, e) => s + e.data.length, 0);
            expect(out.length).toBeLessThanOrEqual(op.maxCount);
            expect(bytes).toBeLessThanOrEqual(op.maxBytes);
            // Per namespace, a FIFO prefix of what was held.
            for (const [ns] of countBy(out)) {
              const got = out.filter((e) => e.namespace === ns).map((e) => hex(e.hash));
              const queue = held.filter((e) => e.namespace === ns).map((e) => e.key);
              expect(got).toEqual(queue.slice(0, got.length));
            }
            const taken = new Set(out.map((e) => hex(e.hash)));
            held = held.filter((e) => !taken.has(e.key));
            // Maximal: short of maxCount only when no namespace's next transaction fits the bytes left.
            if (out.length < op.maxCount)
              for (const e of held.filter((x, i) => held.findIndex((y) => y.namespace === x.namespace) === i))
                expect(e.data.length).toBeGreaterThan(op.maxBytes - bytes);
          } else if (op.kind === "remove") {
            const victims = held.length === 0 ? [] : op.picks.map((p) => held[p % held.length]!.hash);
            const keys = new Set(victims.map(hex));
            expect(m.remove(victims)).toBe(keys.size);
            held = held.filter((e) => !keys.has(e.key));
          } else if (op.kind === "expire") {
            const out = m.expire(now);
            const due = held.filter((e) => now - e.receivedAtMs >= c.ttlMs);
            expect(out.map((d) => hex(d.hash))).toEqual(due.map((e) => e.key));
            expect(out.every((d) => d.reason === "EXPIRED")).toBe(true);
            held = held.filter((e) => now - e.receivedAtMs < c.ttlMs);
          } else now += op.ms;

          expect(m.size).toBe(held.length);
          expect(m.bytes).toBe(total());
          expect(m.bytes).toBeLessThanOrEqual(c.maxBytes);
          expect(m.size).toBeLessThanOrEqual(c.maxTransactions);
          for (const u of m.namespaces()) {
            expect(u.bytes).toBe(nsBytes(u.namespace));
            expect(u.transactions).toBe(nsCount(u.namespace));
            expect(u.bytes).toBeLessThanOrEqual(c.namespaceMaxBytes);
            expect(u.transactions).toBeLessThanOrEqual(c.namespaceMaxTransactions);
          }
          expect(m.namespaces().length).toBe(new Set(held.map((e) => e.namespace)).size);
          for (const e of held) expect(m.has(e.hash)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("expires exactly the transactions past their TTL whatever order they were received in", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ns: fc.integer({ min: 1, max: 4 }), t: fc.integer({ min: 0, max: 10_000 }) }), {
          maxLength: 60,
        }),
        fc.array(fc.integer({ min: 0, max: 12_000 }), { maxLength: 6 }),
        fc.integer({ min: 0, max: 5_000 }),
        (arrivals, checks, ttlMs) => {
          const m = new Mempool({ ttlMs });
          let live = arrivals.map(({ ns, t }) => ({ hash: addOk(m, freshTx(ns), t), t }));
          for (const now of [...checks].sort((a, b) => a - b)) {
            const out = m.expire(now);
            const due = live.filter((e) => now - e.t >= ttlMs);
            expect(out.map((d) => hex(d.hash)).sort()).toEqual(due.map((e) => hex(e.hash)).sort());
            // Oldest first.
            const times = out.map((d) => live.find((e) => hex(e.hash) === hex(d.hash))!.t);
            expect(times).toEqual([...times].sort((a, b) => a - b));
            live = live.filter((e) => now - e.t < ttlMs);
            expect(m.size).toBe(live.length);
          }
        },
      ),
    );
  });

  it("a mempool restored from its persisted entries serves the same transactions in the same per-namespace order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ns: fc.integer({ min: 1, max: 4 }), size: fc.integer({ min: 8, max: 40 }) }), {
          maxLength: 60,
        }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 100 }),
        fc.array(fc.nat(), { maxLength: 60 }),
        (arrivals, takeFirst, restartAt, order) => {
          const ttlMs = 50;
          const m = new Mempool({ ttlMs });
          // What the store would hold: every accepted transaction until it is taken and committed.
          const persisted = new Map<string, MempoolEntry>();
          arrivals.forEach(({ ns, size }, i) => {
            const tx = freshTx(ns, size);
            const hash = addOk(m, tx, i);
            persisted.set(hex(hash), { hash, namespace: ns, data: tx.data, receivedAtMs: i });
          });
          for (const e of m.take({ maxBytes: 10_000, maxCount: takeFirst })) persisted.delete(hex(e.hash));

          const restarted = new Mempool({ ttlMs });
          const dropped = restarted.restore(shuffled([...persisted.values()], order), restartAt);
          const expired = m.expire(restartAt);
          expect(dropped).toEqual(expired);
          expect(restarted.size).toBe(m.size);
          expect(restarted.bytes).toBe(m.bytes);
          expect(restarted.namespaces()).toEqual(m.namespaces());
          const a = m.take(UNLIMITED);
          const b = restarted.take(UNLIMITED);
          for (let ns = 1; ns <= 4; ns++)
            expect(b.filter((e) => e.namespace === ns)).toEqual(a.filter((e) => e.namespace === ns));
          // And TTLs ran on from the original receive times.
          expect(b.every((e) => restartAt - e.receivedAtMs < ttlMs)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
