import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initialSafetyState, type SafetyState } from "@ordo/consensus";
import { hashTransaction, OrdoError, toHex } from "@ordo/core";
import { Level } from "level";
import { Packr } from "msgpackr";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NodeStore, type PendingTransaction, StoreCorruptError, storeKey } from "../src/storage/node-store.js";
import { chain, nextBlock, pending, qcFor, tx } from "./fixtures/storage-chain.js";

let root: string;
let dir: string;
const open: NodeStore[] = [];

async function openStore(): Promise<NodeStore> {
  const s = await NodeStore.open(dir);
  open.push(s);
  return s;
}

async function closeStore(s: NodeStore): Promise<void> {
  open.splice(open.indexOf(s), 1);
  await s.close();
}

/** Writes raw bytes under `key`, bypassing NodeStore (the store must be closed). */
async function writeRaw(key: string, value: Uint8Array): Promise<void> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: "utf8", valueEncoding: "view" });
  await db.open();
  await db.put(key, value);
  await db.close();
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const hexes = (txs: { hash: Uint8Array }[]) => txs.map((t) => toHex(t.hash)).sort();

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(OrdoError);
  expect((e as OrdoError).code).toBe(code);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ordo-store-"));
  dir = root;
});

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  await rm(root, { recursive: true, force: true });
});

describe("NodeStore records", () => {
  it("creates a missing directory, nested, and starts empty", async () => {
    dir = join(dir, "a", "b");
    const s = await openStore();
    expect(await s.loadSafetyState()).toBeNull();
    expect(await s.latestCommitted()).toBeNull();
    expect(s.latestHeight).toBeNull();
    expect(await s.getFinality()).toBeNull();
    expect(await s.getBlock(0)).toBeNull();
    expect(await all(s.loadPending())).toEqual([]);
  });

  it("round-trips the safety state with byte fields as plain Uint8Arrays", async () => {
    const s = await openStore();
    const state: SafetyState = {
      epoch: 3,
      lastVotedRound: 4_294_967_296 + 5,
      oneChainRound: 41,
      highQc: qcFor(41, new Uint8Array(32).fill(9)),
      highTc: {
        epoch: 3,
        round: 42,
        signers: new Uint8Array([7]),
        highQcRounds: [41, 40, 41],
        signature: new Uint8Array(96).fill(5),
      },
      preferredRound: 40,
      lastProposedRound: 39,
      lastVote: {
        round: 42,
        blockHash: new Uint8Array(32).fill(1),
        committedHash: new Uint8Array(32).fill(2),
        signature: new Uint8Array(96).fill(3),
      },
      lastTimeout: { round: 43, highQcRound: 41, signature: new Uint8Array(96).fill(4) },
    };
    await s.saveSafetyState(state);
    const back = await s.loadSafetyState();
    expect(back).toEqual(state);
    for (const b of [
      back?.lastVote?.blockHash,
      back?.lastVote?.signature,
      back?.lastTimeout?.signature,
      back?.highQc?.signature,
      back?.highTc?.signers,
      back?.highTc?.signature,
    ]) {
      expect(b?.constructor).toBe(Uint8Array);
    }
    await s.saveSafetyState(initialSafetyState(7));
    expect(await s.loadSafetyState()).toEqual(initialSafetyState(7));
  });

  it("reads a version 1 safety state (before the highest QC and TC were kept) with neither", async () => {
    await writeRaw(storeKey.safety, new Packr({ useRecords: false }).pack([1, 2, 9, 8, 7, 6, null, null]));
    const s = await openStore();
    expect(await s.loadSafetyState()).toEqual({
      ...initialSafetyState(2),
      lastVotedRound: 9,
      oneChainRound: 8,
      preferredRound: 7,
      lastProposedRound: 6,
    });
  });

  it("never lets an older safety state overwrite a newer one when saves overlap", async () => {
    const s = await openStore();
    const states = Array.from({ length: 50 }, (_, i) => ({ ...initialSafetyState(0), lastVotedRound: i + 1 }));
    const state = initialSafetyState(0);
    const saves: Promise<void>[] = [];
    for (const next of states) {
      Object.assign(state, next); // the caller mutates its state object after each save
      saves.push(s.saveSafetyState(state));
    }
    await Promise.all(saves);
    expect(await s.loadSafetyState()).toEqual(states[49]);
    await closeStore(s);
    expect(await (await openStore()).loadSafetyState()).toEqual(states[49]);
  });

  it("round-trips committed blocks, their QCs, the hash index and the latest finality certificate", async () => {
    const s = await openStore();
    const { entries, tip } = chain(null, 4);
    await s.commitBlocks(entries.slice(0, 1));
    await s.commitBlocks(entries.slice(1));
    for (const [h, e] of entries.entries()) {
      expect(await s.getBlock(h)).toEqual(e.block);
      expect(await s.getQc(h)).toEqual(e.qc);
      expect(await s.getBlockByHash(e.blockHash)).toEqual({ height: h, block: e.block });
    }
    const last = entries[3]!;
    expect(await s.latestCommitted()).toEqual({ height: 3, block: last.block, blockHash: last.blockHash, qc: last.qc });
    expect(s.latestHeight).toBe(3);
    expect(tip?.height).toBe(3);
    expect(await s.getFinality()).toEqual(last.finality);
    expect(await s.getBlock(4)).toBeNull();
    expect(await s.getBlock(-1)).toBeNull();
    expect(await s.getQc(1.5)).toBeNull();
    expect(await s.getBlockByHash(new Uint8Array(32))).toBeNull();
  });

  it("accepts height 1 as the first commit of an empty store (genesis not stored)", async () => {
    const s = await openStore();
    const genesis = chain(null, 1).tip;
    const { entries } = chain(genesis, 2);
    await s.commitBlocks(entries);
    expect(s.latestHeight).toBe(2);
  });

  it("round-trips batches and batch certificates, and deletes both", async () => {
    const s = await openStore();
    const d1 = new Uint8Array(32).fill(0xa1);
    const d2 = new Uint8Array(32).fill(0xa2);
    await s.putBatch(d1, new Uint8Array([1, 2, 3]));
    await s.putBatch(d2, new Uint8Array(0), { sync: false });
    await s.putBatchCertificate(d1, new Uint8Array([9, 9]));
    expect(await s.getBatch(d1)).toEqual(new Uint8Array([1, 2, 3]));
    expect((await s.getBatch(d1))?.constructor).toBe(Uint8Array);
    expect(await s.getBatch(d2)).toEqual(new Uint8Array(0));
    expect(await s.getBatchCertificate(d1)).toEqual(new Uint8Array([9, 9]));
    expect(await s.getBatchCertificate(d2)).toBeNull();
    await s.deleteBatches([d1]);
    expect(await s.getBatch(d1)).toBeNull();
    expect(await s.getBatchCertificate(d1)).toBeNull();
    expect(await s.getBatch(d2)).toEqual(new Uint8Array(0));
  });

  it("round-trips pending transactions and reports pending, dropped and unknown statuses", async () => {
    const s = await openStore();
    const a = pending(tx(1, "a"), 1_700_000_000_123);
    const b = pending(tx(0xffff_ffff, "b"), 5);
    const c = pending(tx(2, ""), 6);
    await Promise.all([s.putPendingTransaction(a), s.putPendingTransactions([b, c])]);
    const loaded = await all(s.loadPending());
    expect(loaded.sort((x, y) => x.receivedAtMs - y.receivedAtMs)).toEqual([b, c, a]);
    expect(await s.transactionStatus(a.hash)).toEqual({ status: "pending" });
    await s.markDropped(a.hash, "EXPIRED");
    expect(await s.transactionStatus(a.hash)).toEqual({ status: "dropped", reason: "EXPIRED" });
    await s.markDroppedMany([{ hash: b.hash, reason: "MEMPOOL_FULL" }]);
    await s.deletePending([c.hash]);
    expect(await all(s.loadPending())).toEqual([]);
    expect(await s.transactionStatus(c.hash)).toBeNull();
    // Accepting a dropped transaction again makes it pending again.
    await s.putPendingTransaction(a);
    expect(await s.transactionStatus(a.hash)).toEqual({ status: "pending" });
    expect(await s.transactionStatus(b.hash)).toEqual({ status: "dropped", reason: "MEMPOOL_FULL" });
  });

  it("group-commits many concurrent pending writes, all durable", async () => {
    const s = await openStore();
    const txs = Array.from({ length: 300 }, (_, i) => pending(tx(1 + (i % 5), `tx ${i}`), i));
    await Promise.all(txs.map((t) => s.putPendingTransaction(t)));
    await closeStore(s);
    const again = await openStore();
    expect(hexes(await all(again.loadPending()))).toEqual(hexes(txs));
  });

  it("rejects out-of-range arguments with STORE_INVALID_ARGUMENT", async () => {
    const s = await openStore();
    await expectCode(s.putPendingTransaction({ ...pending(tx(1, "x")), namespace: -1 }), "STORE_INVALID_ARGUMENT");
    await expectCode(s.putPendingTransaction({ ...pending(tx(1, "x")), receivedAtMs: 0.5 }), "STORE_INVALID_ARGUMENT");
    await expectCode(s.saveSafetyState({ ...initialSafetyState(0), lastVotedRound: -1 }), "STORE_INVALID_ARGUMENT");
  });
});

describe("NodeStore commits", () => {
  it("moves a block's transactions from pending to final exactly when the block commits, in one batch", async () => {
    const s = await openStore();
    const txs = [tx(1, "a"), tx(2, "b"), tx(1, "c"), tx(3, "d")];
    const [a, b, c, d] = txs.map((t) => pending(t)) as [PendingTransaction, ...PendingTransaction[]];
    await s.putPendingTransactions([a, b!, c!, d!]);
    const genesis = nextBlock(null);
    await s.commitBlocks([genesis.entry], genesis.txIndex);
    expect(hexes(await all(s.loadPending()))).toEqual(hexes([a, b!, c!, d!]));

    // Block 1 includes a, b and c (grouped by namespace: a, c | b); d stays pending.
    const tip = { height: 0, blockHash: genesis.entry.blockHash, qc: genesis.entry.qc };
    const one = nextBlock(tip, txs.slice(0, 3));
    await s.commitBlocks([one.entry], one.txIndex);
    expect(hexes(await all(s.loadPending()))).toEqual(hexes([d!]));
    expect(await s.transactionStatus(a.hash)).toEqual({ status: "final", height: 1, index: 0, namespace: 1 });
    expect(await s.transactionStatus(c!.hash)).toEqual({ status: "final", height: 1, index: 1, namespace: 1 });
    expect(await s.transactionStatus(b!.hash)).toEqual({ status: "final", height: 1, index: 2, namespace: 2 });
    expect(await s.transactionStatus(d!.hash)).toEqual({ status: "pending" });
  });

  it("makes a dropped transaction final when a block includes it after all", async () => {
    const s = await openStore();
    const t = tx(5, "late");
    await s.putPendingTransaction(pending(t));
    await s.markDropped(hashTransaction(t.namespace, t.data), "EXPIRED");
    const { entries, txIndex } = chain(null, 2, (h) => (h === 1 ? [t] : []));
    await s.commitBlocks(entries, txIndex);
    expect(await s.transactionStatus(hashTransaction(t.namespace, t.data))).toEqual({
      status: "final",
      height: 1,
      index: 0,
      namespace: 5,
    });
  });

  it("rejects a commit that does not continue the chain at latest + 1, and changes nothing", async () => {
    const s = await openStore();
    const { entries, txIndex } = chain(null, 5, (h) => [tx(1, `t${h}`)]);
    await expectCode(s.commitBlocks([entries[2]!]), "STORE_NOT_CONTIGUOUS"); // empty store: 0 or 1 only
    await s.commitBlocks(entries.slice(0, 2));
    await expectCode(s.commitBlocks([entries[3]!]), "STORE_NOT_CONTIGUOUS"); // gap
    await expectCode(s.commitBlocks([entries[1]!]), "STORE_NOT_CONTIGUOUS"); // repeat
    await expectCode(s.commitBlocks([entries[2]!, entries[4]!]), "STORE_NOT_CONTIGUOUS"); // gap inside the range
    // A block at the right height on another branch.
    const fork = nextBlock({ height: 1, blockHash: new Uint8Array(32).fill(7), qc: entries[1]!.qc });
    await expectCode(s.commitBlocks([fork.entry]), "STORE_INVALID_COMMIT");
    // A hash that is not the header's, a QC for another block, an index entry outside the range.
    await expectCode(s.commitBlocks([{ ...entries[2]!, blockHash: new Uint8Array(32) }]), "STORE_INVALID_COMMIT");
    await expectCode(s.commitBlocks([{ ...entries[2]!, qc: entries[1]!.qc }]), "STORE_INVALID_COMMIT");
    await expectCode(s.commitBlocks([entries[2]!], [txIndex[3]!]), "STORE_INVALID_COMMIT");
    expect(s.latestHeight).toBe(1);
    expect(await s.getBlock(2)).toBeNull();
    expect(await s.transactionStatus(txIndex[2]!.hash)).toBeNull();
    await s.commitBlocks(entries.slice(2), txIndex.slice(2));
    expect(s.latestHeight).toBe(4);
  });

  it("serializes concurrent commits", async () => {
    const s = await openStore();
    const { entries } = chain(null, 6);
    await Promise.all(entries.map((e) => s.commitBlocks([e])));
    expect(s.latestHeight).toBe(5);
  });

  it("never lets a dissemination state queued before a commit overwrite the commit's state", async () => {
    // The chaos run that lost transactions: a state saved while a group write was in flight landed after the
    // commit's, so a restart saw a committed block's own batches as uncommitted and the author's window stuck.
    const s = await openStore();
    const { entries } = chain(null, 2);
    await s.commitBlocks(entries.slice(0, 1));
    const inFlight = s.saveSafetyState({ ...initialSafetyState(1), lastVotedRound: 3 });
    await new Promise((r) => setImmediate(r)); // that group is being written now; the next save waits behind it
    const older = s.saveDisseminationState(new Uint8Array([1]));
    await s.commitBlocks(entries.slice(1), [], () => new Uint8Array([2]));
    await Promise.all([inFlight, older]);
    expect([...((await s.loadDisseminationState()) ?? [])]).toEqual([2]);
    await closeStore(s);
    expect([...((await (await openStore()).loadDisseminationState()) ?? [])]).toEqual([2]);
  });

  it("computes a commit's dissemination state when its write is queued, after every earlier save", async () => {
    const s = await openStore();
    const { entries } = chain(null, 1);
    let state = new Uint8Array([1]);
    const commit = s.commitBlocks(entries, [], () => state);
    // Changed (and saved) between the call and the write: the commit must not write the state it would have read.
    state = new Uint8Array([2]);
    await Promise.all([commit, s.saveDisseminationState(state)]);
    expect([...((await s.loadDisseminationState()) ?? [])]).toEqual([2]);
  });

  it("returns the same state after close and reopen", async () => {
    const s = await openStore();
    const { entries, txIndex } = chain(null, 3, (h) => [tx(h + 1, `t${h}`)]);
    const state = { ...initialSafetyState(1), lastVotedRound: 12, preferredRound: 10 };
    const p = pending(tx(9, "still pending"), 77);
    const digest = new Uint8Array(32).fill(5);
    await s.saveSafetyState(state);
    await s.commitBlocks(entries, txIndex);
    await s.putPendingTransaction(p);
    await s.putBatch(digest, new Uint8Array([4, 5]));
    await s.putBatchCertificate(digest, new Uint8Array([6]));
    await s.markDropped(new Uint8Array(32).fill(3), "EXPIRED");
    const before = {
      head: await s.latestCommitted(),
      finality: await s.getFinality(),
      block1: await s.getBlockByHash(entries[1]!.blockHash),
    };
    await closeStore(s);

    const r = await openStore();
    expect(await r.loadSafetyState()).toEqual(state);
    expect(await r.latestCommitted()).toEqual(before.head);
    expect(await r.getFinality()).toEqual(before.finality);
    expect(await r.getBlockByHash(entries[1]!.blockHash)).toEqual(before.block1);
    expect(await all(r.loadPending())).toEqual([p]);
    expect(await r.getBatch(digest)).toEqual(new Uint8Array([4, 5]));
    expect(await r.getBatchCertificate(digest)).toEqual(new Uint8Array([6]));
    expect(await r.transactionStatus(txIndex[2]!.hash)).toEqual({ status: "final", height: 2, index: 0, namespace: 3 });
    expect(await r.transactionStatus(new Uint8Array(32).fill(3))).toEqual({ status: "dropped", reason: "EXPIRED" });
    // And it keeps committing where it left off.
    await r.commitBlocks(chain(before.head && { ...before.head }, 1).entries);
    expect(r.latestHeight).toBe(3);
  });

  it("skips, and cleans up, a pending record of a transaction that is already final", async () => {
    const s = await openStore();
    const t = tx(4, "resubmitted");
    const { entries, txIndex } = chain(null, 2, (h) => (h === 1 ? [t] : []));
    await s.commitBlocks(entries, txIndex);
    await s.putPendingTransaction(pending(t)); // a resubmission racing its commit
    expect(await s.transactionStatus(txIndex[0]!.hash)).toMatchObject({ status: "final" });
    expect(await all(s.loadPending())).toEqual([]);
    await closeStore(s);
    const db = new Level<string, Uint8Array>(dir, { keyEncoding: "utf8", valueEncoding: "view" });
    await db.open();
    expect(await db.get(storeKey.pending(txIndex[0]!.hash))).toBeUndefined();
    await db.close();
  });
});

describe("NodeStore failures", () => {
  it("reports corrupt values as STORE_CORRUPT naming the key, without crashing", async () => {
    const s = await openStore();
    const { entries, txIndex } = chain(null, 2, (h) => [tx(1, `t${h}`)]);
    await s.commitBlocks(entries, txIndex);
    const p = pending(tx(2, "p"));
    await s.putPendingTransaction(p);
    await closeStore(s);

    const garbage = new Uint8Array([0xc1, 0xff, 0x00, 0x13]);
    await writeRaw(storeKey.block(1), garbage);
    await writeRaw(storeKey.qc(0), new Uint8Array([0x93, 1, 2, 3]));
    await writeRaw(storeKey.safety, garbage);
    await writeRaw(storeKey.tx(txIndex[0]!.hash), new Uint8Array([0x92, 1, 2])); // wrong arity
    await writeRaw(storeKey.batch(new Uint8Array(1)), garbage); // raw bytes: nothing to check

    const r = await openStore();
    const corrupt = async (p: Promise<unknown>, key: string) => {
      const e = await p.then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(StoreCorruptError);
      expect(e).toMatchObject({ code: "STORE_CORRUPT", key });
    };
    await corrupt(r.getBlock(1), storeKey.block(1));
    await corrupt(r.getBlockByHash(entries[1]!.blockHash), storeKey.block(1));
    await corrupt(r.latestCommitted(), storeKey.block(1));
    await corrupt(r.getQc(0), storeKey.qc(0));
    await corrupt(r.loadSafetyState(), storeKey.safety);
    await corrupt(r.transactionStatus(txIndex[0]!.hash), storeKey.tx(txIndex[0]!.hash));
    // Everything else still reads.
    expect(await r.getBlock(0)).toEqual(entries[0]!.block);
    expect(await r.getQc(1)).toEqual(entries[1]!.qc);
    expect(await all(r.loadPending())).toEqual([p]);
  });

  it("reports a pending record whose data does not match its hash as STORE_CORRUPT", async () => {
    const p = pending(tx(2, "original"));
    const s = await openStore();
    await s.putPendingTransaction(p);
    await closeStore(s);
    await writeRaw(storeKey.pending(p.hash), new Packr({ useRecords: false }).pack([2, Buffer.from("tampered"), 1]));
    const r = await openStore();
    await expect(all(r.loadPending())).rejects.toMatchObject({ code: "STORE_CORRUPT" });
  });

  it("refuses to open over a corrupt head record with STORE_CORRUPT", async () => {
    await (await openStore()).commitBlocks(chain(null, 1).entries);
    await closeStore(open[0]!);
    await writeRaw(storeKey.head, new Uint8Array([0xff]));
    await expect(NodeStore.open(dir)).rejects.toMatchObject({ code: "STORE_CORRUPT", key: storeKey.head });
  });

  it("refuses a directory another store has open with STORE_LOCKED", async () => {
    await openStore();
    await expect(NodeStore.open(dir)).rejects.toMatchObject({ code: "STORE_LOCKED" });
  });

  it("refuses a store of another format version", async () => {
    await closeStore(await openStore());
    await writeRaw(storeKey.version, new Uint8Array([0x02]));
    await expect(NodeStore.open(dir)).rejects.toMatchObject({ code: "STORE_VERSION_MISMATCH" });
  });
});

describe("NodeStore crash", () => {
  let child: ChildProcess | null = null;
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    child = null;
  });

  it("keeps a pending transaction written with sync across a SIGKILL mid-write, with commits atomic", async () => {
    const script = fileURLToPath(new URL("./fixtures/storage-crash-writer.ts", import.meta.url));
    const root = fileURLToPath(new URL("../../..", import.meta.url));
    const proc = spawn(process.execPath, ["--conditions=source", "--import", "tsx", script, dir], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    let out = "";
    const printed = (line: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (out.includes(`${line}\n`)) resolve();
        };
        proc.stdout?.on("data", check);
        proc.once("exit", (code) => reject(new Error(`writer exited (${code}) before "${line}": ${stderr}`)));
        check();
      });
    proc.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    await printed("ok");
    // Let it commit a few blocks, and a little more, so the kill lands among commits.
    await printed("committed 3");
    await new Promise((r) => setTimeout(r, 20));
    proc.kill("SIGKILL");
    await exited;
    expect(proc.signalCode).toBe("SIGKILL");

    const s = await openStore();
    const survivor = pending(tx(7, "accepted before the crash"));
    expect(await s.transactionStatus(survivor.hash)).toEqual({ status: "pending" });
    const pend = await all(s.loadPending());
    expect(hexes(pend)).toContain(toHex(survivor.hash));

    // Every committed block is there and linked, and its transaction moved from pending to final with it.
    const head = await s.latestCommitted();
    expect(head?.height).toBeGreaterThanOrEqual(3);
    const height = head!.height;
    const pendingHex = new Set(hexes(pend));
    for (let h = 1; h <= height; h++) {
      const block = await s.getBlock(h);
      const parent = await s.getBlockByHash(block!.header.parentHash);
      expect(parent?.height).toBe(h - 1);
      const t = tx(8, `tx of block ${h}`);
      const hash = hashTransaction(t.namespace, t.data);
      expect(await s.transactionStatus(hash)).toEqual({ status: "final", height: h, index: 0, namespace: 8 });
      expect(pendingHex.has(toHex(hash))).toBe(false);
    }
    const next = tx(8, `tx of block ${height + 1}`);
    expect([null, "pending"]).toContain(
      (await s.transactionStatus(hashTransaction(next.namespace, next.data)))?.status ?? null,
    );
  });
});
