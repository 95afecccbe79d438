/**
 * The validator's durable state, in LevelDB (`level`).
 *
 * Keys are UTF-8 strings `<kind>:<id>`: heights as 16 zero-padded decimal
 * digits (so they sort numerically), hashes and digests as lowercase hex.
 * Blocks and QCs are stored in the core wire codec; the small records (safety
 * state, transaction index, pending and dropped transactions) as positional
 * MessagePack arrays. Every value read is decoded strictly; a value that does
 * not decode is reported as a `StoreCorruptError` (code `STORE_CORRUPT`).
 *
 * Each change that touches more than one key is one atomic LevelDB batch.
 * Writes the node answers on ("persist before you speak") are synchronous
 * (fsync'd): the safety state (before a vote or timeout leaves the node), an
 * accepted transaction (before its `202`), a drop (the reason a client is
 * told), a committed block range (finality the API reports), and a batch or its
 * certificate (an acknowledgement promises the batch is kept). Deletions that
 * are only garbage collection are not. The small synchronous writes (safety
 * state, pending and dropped transactions) are group-committed: while one
 * fsync is under way the next writes collect into one batch, in call order.
 *
 * | key                     | value                                                        |
 * | ----------------------- | ------------------------------------------------------------ |
 * | `meta:version`          | format version (msgpack int)                                 |
 * | `meta:safety`           | `SafetyState`                                                |
 * | `meta:head`             | `[height, blockHash]` of the latest committed block          |
 * | `meta:finality`         | latest finality certificate (codec QC)                       |
 * | `block:<height>`        | block (codec)                                                |
 * | `qc:<height>`           | the QC certifying that block (codec)                         |
 * | `hash:<blockHash>`      | height                                                       |
 * | `tx:<txHash>`           | `[height, index, namespace]` of a final transaction          |
 * | `pending:<txHash>`      | `[namespace, data, receivedAtMs]` of an accepted transaction |
 * | `dropped:<txHash>`      | reason                                                       |
 * | `batch:<digest>`        | batch bytes                                                  |
 * | `batchcert:<digest>`    | batch certificate bytes                                      |
 * | `da-<kind>:<height>`    | embedded DA shards / certificate, DA posting state and cursor |
 */
import { mkdir } from "node:fs/promises";
import type { SafetyState } from "@ordo/consensus";
import {
  type Block,
  bytesEqual,
  type CodecLimits,
  decodeBlock,
  decodeQuorumCertificate,
  decodeTimeoutCertificate,
  encodeBlock,
  encodeQuorumCertificate,
  encodeTimeoutCertificate,
  hashHeader,
  hashTransaction,
  MAX_NAMESPACE,
  type NamespaceId,
  OrdoError,
  type QuorumCertificate,
  toHex,
} from "@ordo/core";
import { Level } from "level";
import { Packr, Unpackr } from "msgpackr";

/** Format version of the key layout and records; a store of another version is refused. */
export const STORE_FORMAT_VERSION = 1;

/**
 * Stable codes of the errors `NodeStore` throws itself (LevelDB I/O errors pass through).
 * - `STORE_CORRUPT`: a stored value does not decode; `details` names the key.
 * - `STORE_NOT_CONTIGUOUS`: a commit does not continue the committed chain at `latest + 1`.
 * - `STORE_INVALID_COMMIT`: a commit's hash, parent link, QC or transaction index is inconsistent.
 * - `STORE_INVALID_ARGUMENT`: a height, namespace or record field is out of range.
 * - `STORE_LOCKED`: another process has the database open.
 * - `STORE_OPEN_FAILED`: LevelDB could not open the directory.
 * - `STORE_VERSION_MISMATCH`: the directory holds another store format.
 */
export type StoreErrorCode =
  | "STORE_CORRUPT"
  | "STORE_NOT_CONTIGUOUS"
  | "STORE_INVALID_COMMIT"
  | "STORE_INVALID_ARGUMENT"
  | "STORE_LOCKED"
  | "STORE_OPEN_FAILED"
  | "STORE_VERSION_MISMATCH";

export class StoreError extends OrdoError {
  declare readonly code: StoreErrorCode;
  constructor(
    code: StoreErrorCode,
    message: string,
    options: { details?: string; fix?: string; cause?: unknown } = {},
  ) {
    super(code, message, options);
    this.name = "StoreError";
  }
}

/** A stored value did not decode: the database was damaged or written by something else. */
export class StoreCorruptError extends StoreError {
  /** The key whose value is corrupt. */
  readonly key: string;
  constructor(key: string, cause: unknown) {
    super("STORE_CORRUPT", `store value at ${key} is corrupt`, {
      details: cause instanceof Error ? cause.message : String(cause),
      fix: "restore the data directory from a backup, or wipe it and let the node catch up from its peers",
      cause,
    });
    this.name = "StoreCorruptError";
    this.key = key;
  }
}

/** One committed block, as the consensus core's `commit` effect gives it. */
export interface CommitEntry {
  block: Block;
  blockHash: Uint8Array;
  /** The QC certifying `block`. */
  qc: QuorumCertificate;
  /** The QC whose `committedHash` finalizes this block or a descendant. */
  finality: QuorumCertificate;
}

/** Where a final transaction sits: block height, position in the block's payload order, namespace. */
export interface TxIndexEntry {
  hash: Uint8Array;
  namespace: NamespaceId;
  height: number;
  index: number;
  /** False when the caller knows the transaction is not pending in this store (saves a deletion). Default true. */
  pendingHere?: boolean;
}

/** An accepted, not yet final transaction (the shape of `MempoolEntry`). */
export interface PendingTransaction {
  /** `hashTransaction(namespace, data)`. */
  hash: Uint8Array;
  namespace: NamespaceId;
  data: Uint8Array;
  receivedAtMs: number;
}

export interface CommittedHead {
  height: number;
  block: Block;
  blockHash: Uint8Array;
  qc: QuorumCertificate;
}

export type TransactionStatus =
  | { status: "pending" }
  | { status: "final"; height: number; index: number; namespace: NamespaceId }
  | { status: "dropped"; reason: string };

export interface WriteOptions {
  /** fsync before resolving. Each method documents its default. */
  sync?: boolean;
}

export interface NodeStoreOptions {
  /** Limits for decoding stored blocks and QCs (default: the codec's defaults, which the wire also uses). */
  codecLimits?: Partial<CodecLimits>;
}

/** The key layout. Exported for tests and tooling; not part of the package's face. */
export const storeKey = {
  version: "meta:version",
  safety: "meta:safety",
  head: "meta:head",
  finality: "meta:finality",
  dissemination: "meta:dissemination",
  block: (height: number) => `block:${heightId(height)}`,
  qc: (height: number) => `qc:${heightId(height)}`,
  finalityAt: (height: number) => `final:${heightId(height)}`,
  blockHash: (hash: Uint8Array) => `hash:${hex(hash)}`,
  tx: (hash: Uint8Array) => `tx:${hex(hash)}`,
  pending: (hash: Uint8Array) => `pending:${hex(hash)}`,
  dropped: (hash: Uint8Array) => `dropped:${hex(hash)}`,
  batch: (digest: Uint8Array) => `batch:${hex(digest)}`,
  batchCertificate: (digest: Uint8Array) => `batchcert:${hex(digest)}`,
  da: (kind: DaRecordKind, id: number) => `da-${kind}:${heightId(id)}`,
} as const;

/** What the embedded DA layer and the DA poster keep: a validator's shards and certificate per height, posting state. */
export type DaRecordKind = "shards" | "certificate" | "posting" | "cursor";

type Db = Level<string, Uint8Array>;
type Op = { type: "put"; key: string; value: Uint8Array } | { type: "del"; key: string };

const packr = new Packr({ useRecords: false, moreTypes: false, structuredClone: false, bundleStrings: false });
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: false,
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  int64AsType: "number",
});

/** Pending transactions read per LevelDB round trip in `loadPending`. */
const LOAD_CHUNK = 512;

export class NodeStore {
  private readonly db: Db;
  private readonly limits: Partial<CodecLimits> | undefined;
  /** Latest committed height and hash (mirrors `meta:head`), or null before the first commit. */
  private head: { height: number; blockHash: Uint8Array } | null;
  /** Commits run one at a time: each checks and moves `head`. */
  private commitChain: Promise<unknown> = Promise.resolve();
  /**
   * Group commit of the synchronous small writes (safety state, pending and
   * dropped transactions): the next group collects while one is being written.
   * Within a group the last write to a key wins, and groups are written in order.
   */
  private nextGroup: { ops: Map<string, Op>; waiters: { resolve: () => void; reject: (e: unknown) => void }[] } | null =
    null;
  private flushing: Promise<void> | null = null;

  private constructor(db: Db, head: NodeStore["head"], limits: Partial<CodecLimits> | undefined) {
    this.db = db;
    this.head = head;
    this.limits = limits;
  }

  /** Opens (creating if missing, with parent directories) the store in `dir`. */
  static async open(dir: string, options: NodeStoreOptions = {}): Promise<NodeStore> {
    await mkdir(dir, { recursive: true });
    const db: Db = new Level<string, Uint8Array>(dir, { keyEncoding: "utf8", valueEncoding: "view" });
    try {
      await db.open();
    } catch (e) {
      if (hasCode(e, "LEVEL_LOCKED"))
        throw new StoreError("STORE_LOCKED", `store at ${dir} is in use by another process`, {
          fix: "stop the other node using this data directory, or give this one its own",
          cause: e,
        });
      throw new StoreError("STORE_OPEN_FAILED", `cannot open store at ${dir}`, {
        details: e instanceof Error ? e.message : String(e),
        cause: e,
      });
    }
    try {
      const version = await getRaw(db, storeKey.version);
      if (version === undefined) await db.put(storeKey.version, packr.pack(STORE_FORMAT_VERSION), { sync: true });
      else {
        const v = decodeRecord(storeKey.version, version, (r) => uint(r, "version"));
        if (v !== STORE_FORMAT_VERSION)
          throw new StoreError(
            "STORE_VERSION_MISMATCH",
            `store at ${dir} has format ${v}, expected ${STORE_FORMAT_VERSION}`,
          );
      }
      const headBytes = await getRaw(db, storeKey.head);
      const head = headBytes === undefined ? null : decodeRecord(storeKey.head, headBytes, headRecord);
      return new NodeStore(db, head, options.codecLimits);
    } catch (e) {
      await db.close();
      throw e;
    }
  }

  /** Waits for queued writes, then closes the database. */
  async close(): Promise<void> {
    await this.flushing;
    await this.commitChain.catch(() => {});
    await this.db.close();
  }

  // ── safety state ───────────────────────────────────────────────────────

  /**
   * Durably writes the safety state (fsync'd: it must be on disk before a vote
   * or timeout signed under it is sent). `state` is encoded at once, so the
   * caller may go on mutating it. Saves are ordered: when several are queued
   * only the newest is written, and each call resolves once its state or a
   * newer one is durable (an older state can never overwrite a newer one).
   */
  async saveSafetyState(state: SafetyState): Promise<void> {
    return this.groupWrite([{ type: "put", key: storeKey.safety, value: encodeSafetyState(state) }]);
  }

  async loadSafetyState(): Promise<SafetyState | null> {
    return this.read(storeKey.safety, decodeSafetyState);
  }

  /**
   * The quorum store's restart state, opaque here (the node encodes it): the
   * next own batch sequence, written before a sealed batch leaves the node, and
   * the commit watermarks. Fsync'd with the other small writes.
   */
  async saveDisseminationState(bytes: Uint8Array): Promise<void> {
    return this.groupWrite([{ type: "put", key: storeKey.dissemination, value: bytes }]);
  }

  async loadDisseminationState(): Promise<Uint8Array | null> {
    return this.read(storeKey.dissemination, (b) => b);
  }

  // ── committed blocks ───────────────────────────────────────────────────

  /**
   * Records committed blocks, in height order starting at `latest + 1` (an empty
   * store takes height 0, the genesis block, or 1, the first block after an
   * unstored genesis), in one synchronous batch: each block, its hash index, its
   * certifying QC, the latest finality certificate, the index of the final
   * transactions, and the removal of those transactions from the pending set. Checks that each block's hash is `hashHeader(header)`, its QC
   * certifies it, and it links to its predecessor; every `txIndex` height must be
   * among the blocks committed here.
   */
  commitBlocks(
    entries: readonly CommitEntry[],
    txIndex: readonly TxIndexEntry[] = [],
    /**
     * The dissemination state after these blocks (`saveDisseminationState`), in the same write: atomic with them.
     * Called when the write is queued, not when `commitBlocks` is, so a state computed earlier never lands later.
     */
    disseminationState?: () => Uint8Array,
  ): Promise<void> {
    const run = this.commitChain.then(() => this.commitNow(entries, txIndex, disseminationState));
    this.commitChain = run.catch(() => {});
    return run;
  }

  private async commitNow(
    entries: readonly CommitEntry[],
    txIndex: readonly TxIndexEntry[],
    disseminationState?: () => Uint8Array,
  ): Promise<void> {
    if (entries.length === 0) {
      if (txIndex.length > 0)
        throw new StoreError("STORE_INVALID_COMMIT", "transaction index entries without blocks to commit");
      return;
    }
    const ops: Op[] = [];
    let prev = this.head;
    for (const { block, blockHash, qc, finality } of entries) {
      const height = block.header.height;
      const expected = prev === null ? null : prev.height + 1;
      if (expected === null ? height !== 0 && height !== 1 : height !== expected)
        throw new StoreError(
          "STORE_NOT_CONTIGUOUS",
          `cannot commit height ${height}: the next height is ${expected ?? "0 or 1 (empty store)"}`,
        );
      if (!bytesEqual(hashHeader(block.header), blockHash))
        throw new StoreError("STORE_INVALID_COMMIT", `block hash at height ${height} is not the hash of its header`);
      if (prev !== null && !bytesEqual(block.header.parentHash, prev.blockHash))
        throw new StoreError("STORE_INVALID_COMMIT", `block at height ${height} does not extend the committed block`);
      if (!bytesEqual(qc.blockHash, blockHash))
        throw new StoreError("STORE_INVALID_COMMIT", `QC for height ${height} certifies another block`);
      ops.push(
        { type: "put", key: storeKey.block(height), value: encodeBlock(block) },
        { type: "put", key: storeKey.qc(height), value: encodeQuorumCertificate(qc) },
        { type: "put", key: storeKey.blockHash(blockHash), value: packr.pack(height) },
      );
      // The block a commit ends at is finalized directly by this certificate: keep it for that height.
      if (bytesEqual(finality.committedHash, blockHash))
        ops.push({ type: "put", key: storeKey.finalityAt(height), value: encodeQuorumCertificate(finality) });
      prev = { height, blockHash };
    }
    const first = (entries[0] as CommitEntry).block.header.height;
    const last = entries[entries.length - 1] as CommitEntry;
    for (const t of txIndex) {
      if (!Number.isSafeInteger(t.height) || t.height < first || t.height > (prev as { height: number }).height)
        throw new StoreError(
          "STORE_INVALID_COMMIT",
          `transaction index height ${t.height} is not among the committed blocks`,
        );
      checkNamespace(t.namespace);
      if (!Number.isSafeInteger(t.index) || t.index < 0)
        throw new StoreError("STORE_INVALID_ARGUMENT", `transaction index ${t.index} is not a non-negative integer`);
      // A stale `dropped` record needs no deletion: `transactionStatus` reads `final` first.
      ops.push({ type: "put", key: storeKey.tx(t.hash), value: packr.pack([t.height, t.index, t.namespace]) });
      if (t.pendingHere !== false) ops.push({ type: "del", key: storeKey.pending(t.hash) });
    }
    const head = prev as { height: number; blockHash: Uint8Array };
    ops.push(
      { type: "put", key: storeKey.finality, value: encodeQuorumCertificate(last.finality) },
      { type: "put", key: storeKey.head, value: packr.pack([head.height, head.blockHash]) },
    );
    if (disseminationState) ops.push({ type: "put", key: storeKey.dissemination, value: disseminationState() });
    // Through the group commit, not beside it: writes to one key (the dissemination state, a pending transaction)
    // land in the order they were queued. A save queued behind an in-flight group used to land after this batch.
    await this.groupWrite(ops);
    this.head = { height: head.height, blockHash: new Uint8Array(head.blockHash) };
  }

  async getBlock(height: number): Promise<Block | null> {
    if (!Number.isSafeInteger(height) || height < 0) return null;
    const key = storeKey.block(height);
    return this.read(key, (b) => decodeBlock(b, this.limits));
  }

  async getBlockByHash(hash: Uint8Array): Promise<{ height: number; block: Block } | null> {
    const key = storeKey.blockHash(hash);
    const height = await this.read(key, (b) => uint(unpack(b), "height"));
    if (height === null) return null;
    const block = await this.getBlock(height);
    if (block === null) throw new StoreCorruptError(key, new Error(`indexed height ${height} has no block`));
    return { height, block };
  }

  /** The QC certifying the block at `height`. */
  async getQc(height: number): Promise<QuorumCertificate | null> {
    if (!Number.isSafeInteger(height) || height < 0) return null;
    return this.read(storeKey.qc(height), (b) => decodeQuorumCertificate(b, this.limits));
  }

  /** Height of the latest committed block, or null before the first commit (no I/O). */
  get latestHeight(): number | null {
    return this.head?.height ?? null;
  }

  /** The latest committed block and its certifying QC (the consensus core's `RecoveredState.root`). */
  async latestCommitted(): Promise<CommittedHead | null> {
    const head = this.head;
    if (head === null) return null;
    const [block, qc] = await Promise.all([this.getBlock(head.height), this.getQc(head.height)]);
    if (block === null || qc === null)
      throw new StoreCorruptError(storeKey.head, new Error(`head height ${head.height} has no block or QC`));
    return { height: head.height, block, blockHash: new Uint8Array(head.blockHash), qc };
  }

  /**
   * The certificate that finalized the block at `height` directly (its
   * `committedHash` is that block), if a commit ended there. An epoch's last
   * block has one from its own epoch's committee, whatever the next epoch's
   * first QC says about it.
   */
  async getFinalityAt(height: number): Promise<QuorumCertificate | null> {
    if (!Number.isSafeInteger(height) || height < 0) return null;
    return this.read(storeKey.finalityAt(height), (b) => decodeQuorumCertificate(b, this.limits));
  }

  /** The finality certificate stored with the latest commit. */
  async getFinality(): Promise<QuorumCertificate | null> {
    return this.read(storeKey.finality, (b) => decodeQuorumCertificate(b, this.limits));
  }

  // ── batches (dissemination) ─────────────────────────────────────────────

  /** Stores a batch by digest; synchronous by default (acknowledging a batch promises to keep it). */
  async putBatch(digest: Uint8Array, bytes: Uint8Array, options: WriteOptions = {}): Promise<void> {
    const key = storeKey.batch(digest);
    // Synchronous batch writes join the group commit: under load many batches share one fsync.
    if (options.sync ?? true) await this.groupWrite([{ type: "put", key, value: bytes }]);
    else await this.db.put(key, bytes, { sync: false });
  }

  async getBatch(digest: Uint8Array): Promise<Uint8Array | null> {
    return this.read(storeKey.batch(digest), plain);
  }

  /** Stores a batch's certificate; synchronous by default. */
  async putBatchCertificate(digest: Uint8Array, certificate: Uint8Array, options: WriteOptions = {}): Promise<void> {
    await this.db.put(storeKey.batchCertificate(digest), certificate, { sync: options.sync ?? true });
  }

  async getBatchCertificate(digest: Uint8Array): Promise<Uint8Array | null> {
    return this.read(storeKey.batchCertificate(digest), plain);
  }

  /** Stores a DA record (synchronous: an attestation promises the shard is kept). */
  async putDaRecord(kind: DaRecordKind, id: number, bytes: Uint8Array): Promise<void> {
    await this.groupWrite([{ type: "put", key: storeKey.da(kind, id), value: bytes }]);
  }

  /** Stores several DA records of one kind in one synchronous write. */
  async putDaRecords(kind: DaRecordKind, records: readonly { id: number; bytes: Uint8Array }[]): Promise<void> {
    if (records.length === 0) return;
    await this.groupWrite(records.map((r) => ({ type: "put" as const, key: storeKey.da(kind, r.id), value: r.bytes })));
  }

  async getDaRecord(kind: DaRecordKind, id: number): Promise<Uint8Array | null> {
    return this.read(storeKey.da(kind, id), plain);
  }

  /** Deletes batches and their certificates (garbage collection: not synchronous by default). */
  async deleteBatches(digests: Iterable<Uint8Array>, options: WriteOptions = {}): Promise<void> {
    const ops: Op[] = [];
    for (const d of digests)
      ops.push({ type: "del", key: storeKey.batch(d) }, { type: "del", key: storeKey.batchCertificate(d) });
    if (ops.length > 0) await this.db.batch(ops, { sync: options.sync ?? false });
  }

  // ── persisted mempool ──────────────────────────────────────────────────

  /**
   * Durably records an accepted transaction (and clears an earlier `dropped`
   * record of it); answer `202` only after this resolves. Always synchronous.
   * Concurrent calls are group-committed: while one batch is being fsync'd the
   * next calls collect into the following batch, so throughput scales with load
   * without adding latency when idle.
   */
  async putPendingTransaction(tx: PendingTransaction): Promise<void> {
    return this.putPendingTransactions([tx]);
  }

  /** `putPendingTransaction` for several transactions, in one group (all or none). */
  async putPendingTransactions(txs: readonly PendingTransaction[]): Promise<void> {
    const ops: Op[] = [];
    for (const tx of txs) {
      checkNamespace(tx.namespace);
      if (!Number.isSafeInteger(tx.receivedAtMs))
        throw new StoreError("STORE_INVALID_ARGUMENT", `receivedAtMs ${tx.receivedAtMs} is not an integer`);
      ops.push(
        { type: "put", key: storeKey.pending(tx.hash), value: packr.pack([tx.namespace, tx.data, tx.receivedAtMs]) },
        { type: "del", key: storeKey.dropped(tx.hash) },
      );
    }
    return this.groupWrite(ops);
  }

  /** Removes transactions from the pending set (not synchronous by default: a stale pending record is harmless, see `loadPending`). */
  async deletePending(hashes: Iterable<Uint8Array>, options: WriteOptions = {}): Promise<void> {
    const ops: Op[] = [];
    for (const h of hashes) ops.push({ type: "del", key: storeKey.pending(h) });
    if (ops.length > 0) await this.db.batch(ops, { sync: options.sync ?? false });
  }

  /** Records that a transaction was dropped, and removes it from the pending set, in one synchronous batch. */
  markDropped(hash: Uint8Array, reason: string): Promise<void> {
    return this.markDroppedMany([{ hash, reason }]);
  }

  /** `markDropped` for several transactions in one synchronous batch (e.g. the result of `Mempool.expire`). */
  markDroppedMany(drops: Iterable<{ hash: Uint8Array; reason: string }>): Promise<void> {
    const ops: Op[] = [];
    for (const d of drops)
      ops.push(
        { type: "put", key: storeKey.dropped(d.hash), value: packr.pack(d.reason) },
        { type: "del", key: storeKey.pending(d.hash) },
      );
    return this.groupWrite(ops);
  }

  /**
   * Every pending transaction, in key (hash) order, `Mempool.restore` puts them
   * back in arrival order. Each record's hash is checked against its contents
   * (a mismatch is `STORE_CORRUPT`). A transaction that is already final (its
   * pending record outlived a commit through a race with a resubmission) is
   * skipped and its pending record deleted.
   */
  async *loadPending(): AsyncGenerator<PendingTransaction> {
    const stale: Uint8Array[] = [];
    let chunk: PendingTransaction[] = [];
    for await (const [key, value] of this.db.iterator({ gte: "pending:", lt: "pending;" })) {
      chunk.push(decodeRecord(key, value, (r) => pendingRecord(key, r)));
      if (chunk.length >= LOAD_CHUNK) {
        yield* await this.withoutFinal(chunk, stale);
        chunk = [];
      }
    }
    if (chunk.length > 0) yield* await this.withoutFinal(chunk, stale);
    if (stale.length > 0) await this.deletePending(stale);
  }

  /** The transactions of `txs` not yet final; the hashes of final ones go to `stale`. */
  private async withoutFinal(txs: PendingTransaction[], stale: Uint8Array[]): Promise<PendingTransaction[]> {
    const final = await this.db.getMany(txs.map((t) => storeKey.tx(t.hash)));
    return txs.filter((t, i) => {
      if (final[i] === undefined) return true;
      stale.push(t.hash);
      return false;
    });
  }

  /** Status of a transaction: final (with its place), pending, dropped (with the reason), or null if unknown here. */
  async transactionStatus(hash: Uint8Array): Promise<TransactionStatus | null> {
    const keys = [storeKey.tx(hash), storeKey.pending(hash), storeKey.dropped(hash)] as const;
    const [final, pending, dropped] = await this.db.getMany([...keys]);
    if (final !== undefined) {
      const [height, index, namespace] = decodeRecord(keys[0], final, (r) => {
        const f = tuple(r, 3, "tx index");
        return [uint(f[0], "height"), uint(f[1], "index"), namespaceField(f[2])] as const;
      });
      return { status: "final", height, index, namespace };
    }
    if (pending !== undefined) return { status: "pending" };
    if (dropped !== undefined) {
      const reason = decodeRecord(keys[2], dropped, (r) => {
        if (typeof r !== "string") throw new Error("reason is not a string");
        return r;
      });
      return { status: "dropped", reason };
    }
    return null;
  }

  // ── internals ──────────────────────────────────────────────────────────

  /** Queues `ops` (atomically, together) into the next synchronous group; resolves when that group is durable. */
  private groupWrite(ops: readonly Op[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.nextGroup ??= { ops: new Map(), waiters: [] };
      for (const op of ops) {
        this.nextGroup.ops.delete(op.key); // re-inserted last: Map order is write order
        this.nextGroup.ops.set(op.key, op);
      }
      this.nextGroup.waiters.push({ resolve, reject });
      this.flushing ??= this.flushGroups();
    });
  }

  private async flushGroups(): Promise<void> {
    // Let the calls of this tick join the first group.
    await Promise.resolve();
    for (let group = this.nextGroup; group !== null; group = this.nextGroup) {
      this.nextGroup = null;
      try {
        await this.db.batch([...group.ops.values()], { sync: true });
        for (const w of group.waiters) w.resolve();
      } catch (e) {
        for (const w of group.waiters) w.reject(e);
      }
    }
    this.flushing = null;
  }

  /** Reads and decodes `key`, turning any decoding failure into `StoreCorruptError`. */
  private async read<T>(key: string, decode: (bytes: Uint8Array) => T): Promise<T | null> {
    const bytes = await getRaw(this.db, key);
    if (bytes === undefined) return null;
    try {
      return decode(bytes);
    } catch (e) {
      if (e instanceof StoreCorruptError) throw e;
      throw new StoreCorruptError(key, e);
    }
  }
}

// ── records ──────────────────────────────────────────────────────────────

function encodeSafetyState(s: SafetyState): Uint8Array {
  for (const [name, v] of [
    ["epoch", s.epoch],
    ["lastVotedRound", s.lastVotedRound],
    ["oneChainRound", s.oneChainRound],
    ["preferredRound", s.preferredRound],
    ["lastProposedRound", s.lastProposedRound],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new StoreError("STORE_INVALID_ARGUMENT", `safety state ${name} ${v} is not a non-negative integer`);
  }
  const lv = s.lastVote;
  const lt = s.lastTimeout;
  // Version 2 adds the highest QC and TC signed over (version 1, still read, had neither).
  return packr.pack([
    2,
    s.epoch,
    s.lastVotedRound,
    s.oneChainRound,
    s.preferredRound,
    s.lastProposedRound,
    lv && [lv.round, lv.blockHash, lv.committedHash, lv.signature],
    lt && [lt.round, lt.highQcRound, lt.signature],
    s.highQc && encodeQuorumCertificate(s.highQc),
    s.highTc && encodeTimeoutCertificate(s.highTc),
  ]);
}

function decodeSafetyState(bytes: Uint8Array): SafetyState {
  const record = unpack(bytes);
  const version = Array.isArray(record) ? record[0] : undefined;
  if (version !== 1 && version !== 2) throw new Error(`unknown safety state version ${String(version)}`);
  const f = tuple(record, version === 1 ? 8 : 10, "safety state");
  const lv = f[6] === null ? null : tuple(f[6], 4, "lastVote");
  const lt = f[7] === null ? null : tuple(f[7], 3, "lastTimeout");
  const qc = version === 1 || f[8] === null ? null : decodeQuorumCertificate(bin(f[8], "highQc"));
  const tc = version === 1 || f[9] === null ? null : decodeTimeoutCertificate(bin(f[9], "highTc"));
  return {
    epoch: uint(f[1], "epoch"),
    lastVotedRound: uint(f[2], "lastVotedRound"),
    oneChainRound: uint(f[3], "oneChainRound"),
    highQc: qc,
    highTc: tc,
    preferredRound: uint(f[4], "preferredRound"),
    lastProposedRound: uint(f[5], "lastProposedRound"),
    lastVote: lv && {
      round: uint(lv[0], "lastVote.round"),
      blockHash: bin(lv[1], "lastVote.blockHash"),
      committedHash: bin(lv[2], "lastVote.committedHash"),
      signature: bin(lv[3], "lastVote.signature"),
    },
    lastTimeout: lt && {
      round: uint(lt[0], "lastTimeout.round"),
      highQcRound: uint(lt[1], "lastTimeout.highQcRound"),
      signature: bin(lt[2], "lastTimeout.signature"),
    },
  };
}

function headRecord(r: unknown): { height: number; blockHash: Uint8Array } {
  const f = tuple(r, 2, "head");
  return { height: uint(f[0], "height"), blockHash: bin(f[1], "blockHash") };
}

function pendingRecord(key: string, r: unknown): PendingTransaction {
  const f = tuple(r, 3, "pending transaction");
  const namespace = namespaceField(f[0]);
  const data = bin(f[1], "data");
  const receivedAtMs = f[2];
  if (typeof receivedAtMs !== "number" || !Number.isSafeInteger(receivedAtMs))
    throw new Error("receivedAtMs is not an integer");
  const hash = hashTransaction(namespace, data);
  if (`pending:${hex(hash)}` !== key) throw new Error("transaction data does not match its hash");
  return { hash, namespace, data, receivedAtMs };
}

/** Unpacks a msgpack record and shapes it; any failure is `StoreCorruptError`. */
function decodeRecord<T>(key: string, bytes: Uint8Array, shape: (r: unknown) => T): T {
  try {
    return shape(unpack(bytes));
  } catch (e) {
    throw new StoreCorruptError(key, e);
  }
}

function unpack(bytes: Uint8Array): unknown {
  if (bytes.length === 0) throw new Error("empty value");
  // A fresh plain view: msgpackr returns byte fields as views of what it reads (we copy them in `bin`).
  return unpackr.unpack(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

function tuple(v: unknown, n: number, what: string): unknown[] {
  if (!Array.isArray(v) || v.length !== n) throw new Error(`${what}: expected an array of ${n} fields`);
  return v;
}

function uint(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new Error(`${what}: expected a non-negative integer`);
  return v;
}

function namespaceField(v: unknown): NamespaceId {
  const ns = uint(v, "namespace");
  if (ns > MAX_NAMESPACE) throw new Error("namespace out of range");
  return ns;
}

function bin(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new Error(`${what}: expected bytes`);
  return new Uint8Array(v);
}

/** A plain `Uint8Array` view of what LevelDB returned (a `Buffer`). */
function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function checkNamespace(ns: number): void {
  if (!Number.isInteger(ns) || ns < 0 || ns > MAX_NAMESPACE)
    throw new StoreError("STORE_INVALID_ARGUMENT", `namespace ${ns} is not in 0..${MAX_NAMESPACE}`);
}

function heightId(height: number): string {
  if (!Number.isSafeInteger(height) || height < 0)
    throw new StoreError("STORE_INVALID_ARGUMENT", `height ${height} is not a non-negative safe integer`);
  return height.toString().padStart(16, "0");
}

function hex(bytes: Uint8Array): string {
  return toHex(bytes).slice(2);
}

/** `get` resolves `undefined` for a missing key (abstract-level 2+); the types say otherwise. */
async function getRaw(db: Db, key: string): Promise<Uint8Array | undefined> {
  return (await db.get(key)) as Uint8Array | undefined;
}

function hasCode(e: unknown, code: string): boolean {
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++)
    if ((c as { code?: unknown }).code === code) return true;
  return false;
}
