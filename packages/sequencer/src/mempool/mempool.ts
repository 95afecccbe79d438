/**
 * The mempool: transactions accepted but not yet final, held in memory.
 *
 * Pure: no I/O, no clock (every time is an argument), no randomness. The node
 * persists each accepted transaction (`NodeStore.putPendingTransaction`) before
 * it answers `202`, and refills a fresh mempool from the store after a restart
 * with `restore`.
 *
 * - Each namespace has its own FIFO queue; `take` serves the queues round-robin,
 *   one transaction per namespace per turn, and the turn order rotates between
 *   calls, so one busy rollup cannot starve the others, within a batch or across
 *   batches.
 * - Bounded: a total byte and count cap, a per-namespace byte and count quota,
 *   and a maximum transaction size. Bytes are transaction data bytes.
 * - Deduplicated by transaction id (`hashTransaction(namespace, data)`).
 * - Entries older than `ttlMs` are removed by `expire(nowMs)`, which returns
 *   them so the node can record them as dropped; call it before `take`.
 *
 * Dedup covers what the mempool holds: a transaction already taken (in flight
 * in a batch or block) or final is not known here, so the node checks the
 * store's `transactionStatus` before `add`.
 */
import {
  hashTransaction,
  InvalidConfigError,
  MAX_NAMESPACE,
  type NamespaceId,
  SYSTEM_NAMESPACE,
  type Transaction,
  toHex,
} from "@ordo/core";

export interface MempoolConfig {
  /** Total transaction data bytes held. Default 256 MiB. */
  maxBytes: number;
  /** Total transactions held. Default 1,000,000. */
  maxTransactions: number;
  /** Largest transaction data accepted, in bytes. Default 1 MiB (the codec's `maxTransactionBytes`). */
  maxTransactionBytes: number;
  /** Data bytes one namespace may hold. Default 32 MiB. */
  namespaceMaxBytes: number;
  /** Transactions one namespace may hold. Default 100,000. */
  namespaceMaxTransactions: number;
  /** A transaction not taken within this long after it was received is expired. Default 10 minutes. */
  ttlMs: number;
}

export const DEFAULT_MEMPOOL_CONFIG: Readonly<MempoolConfig> = Object.freeze({
  maxBytes: 256 * 1024 * 1024,
  maxTransactions: 1_000_000,
  maxTransactionBytes: 1024 * 1024,
  namespaceMaxBytes: 32 * 1024 * 1024,
  namespaceMaxTransactions: 100_000,
  ttlMs: 10 * 60 * 1000,
});

/** A transaction held by the mempool (the shape `NodeStore` persists, too). */
export interface MempoolEntry {
  /** `hashTransaction(namespace, data)`. */
  hash: Uint8Array;
  namespace: NamespaceId;
  data: Uint8Array;
  receivedAtMs: number;
}

/** Stable rejection codes (the API maps them to HTTP statuses). */
export type MempoolRejectCode = "DUPLICATE" | "TOO_LARGE" | "NAMESPACE_QUOTA" | "MEMPOOL_FULL" | "INVALID_NAMESPACE";

export type MempoolAddResult =
  | { ok: true; hash: Uint8Array }
  /** `hash` is present when it was computed (every code except `INVALID_NAMESPACE` and `TOO_LARGE`). */
  | { ok: false; code: MempoolRejectCode; message: string; hash?: Uint8Array };

export interface MempoolAddOptions {
  /** Admit a transaction of the reserved system namespace 0 (node-internal use only; never set for API input). */
  system?: boolean;
}

/** Why the mempool let go of a transaction without it being taken: the `reason` the node records as `dropped`. */
export type MempoolDropReason = "EXPIRED" | Exclude<MempoolRejectCode, "DUPLICATE">;

export interface MempoolDrop {
  hash: Uint8Array;
  reason: MempoolDropReason;
}

export interface NamespaceUsage {
  namespace: NamespaceId;
  transactions: number;
  bytes: number;
}

interface Entry extends MempoolEntry {
  key: string;
  /** Insertion sequence: FIFO order within a namespace and the TTL tie-break. */
  seq: number;
  live: boolean;
}

/** One namespace's FIFO: an array with a head index; removed entries stay as tombstones until compaction. */
interface Queue {
  items: Entry[];
  head: number;
  transactions: number;
  bytes: number;
}

export class Mempool {
  readonly config: Readonly<MempoolConfig>;
  private readonly byKey = new Map<string, Entry>();
  private readonly queues = new Map<NamespaceId, Queue>();
  /** Non-empty namespaces in service order; `ring[start]` is served first by the next `take`. */
  private ring: NamespaceId[] = [];
  private start = 0;
  /** Min-heap on (receivedAtMs, seq) for expiry; holds tombstones until they reach the top or a rebuild. */
  private heap: Entry[] = [];
  private seq = 0;
  private totalBytes = 0;

  constructor(config: Partial<MempoolConfig> = {}) {
    const c = { ...DEFAULT_MEMPOOL_CONFIG, ...config };
    for (const [name, value] of Object.entries(c)) {
      if (!Number.isSafeInteger(value) || value < 0)
        throw new InvalidConfigError(`mempool ${name} must be a non-negative safe integer, got ${String(value)}`);
    }
    this.config = Object.freeze(c);
  }

  /** Transactions held. */
  get size(): number {
    return this.byKey.size;
  }

  /** Data bytes held. */
  get bytes(): number {
    return this.totalBytes;
  }

  has(hash: Uint8Array): boolean {
    return this.byKey.has(toHex(hash));
  }

  /** Usage per non-empty namespace, by increasing namespace. */
  namespaces(): NamespaceUsage[] {
    return [...this.queues.entries()]
      .map(([namespace, q]) => ({ namespace, transactions: q.transactions, bytes: q.bytes }))
      .sort((a, b) => a.namespace - b.namespace);
  }

  /** Admits `tx`, received at `nowMs`, or says why not (checks in this order: namespace, size, duplicate, quota, capacity). */
  add(tx: Transaction, nowMs: number, options: MempoolAddOptions = {}): MempoolAddResult {
    const ns = tx.namespace;
    if (!Number.isInteger(ns) || ns < 0 || ns > MAX_NAMESPACE)
      return { ok: false, code: "INVALID_NAMESPACE", message: `namespace must be an integer in 1..${MAX_NAMESPACE}` };
    if (ns === SYSTEM_NAMESPACE && !options.system)
      return { ok: false, code: "INVALID_NAMESPACE", message: "namespace 0 is reserved for system transactions" };
    const size = tx.data.length;
    if (size > this.config.maxTransactionBytes)
      return {
        ok: false,
        code: "TOO_LARGE",
        message: `transaction is ${size} bytes; the limit is ${this.config.maxTransactionBytes}`,
      };
    const hash = hashTransaction(ns, tx.data);
    const key = toHex(hash);
    if (this.byKey.has(key))
      return { ok: false, code: "DUPLICATE", message: `transaction ${key} is already pending`, hash };
    const refusal = this.capacityRefusal(ns, size);
    if (refusal) return { ok: false, code: refusal.code, message: refusal.message, hash };
    this.insert({ hash, namespace: ns, data: tx.data, receivedAtMs: nowMs }, key);
    return { ok: true, hash };
  }

  /**
   * Refills the mempool after a restart from persisted entries (in any order;
   * they are admitted oldest first, keeping `receivedAtMs` so TTLs run on).
   * Each entry's `hash` must be `hashTransaction(namespace, data)`
   * (`NodeStore.loadPending` checks it). Entries already held are skipped; the
   * system namespace is admitted (it was when first added). Returns the entries
   * that could not be restored (expired, or over a limit that has since been
   * lowered) so the node records them as dropped.
   */
  restore(entries: Iterable<MempoolEntry>, nowMs: number): MempoolDrop[] {
    const sorted = [...entries].sort((a, b) => a.receivedAtMs - b.receivedAtMs || compareHex(a.hash, b.hash));
    const dropped: MempoolDrop[] = [];
    for (const e of sorted) {
      const key = toHex(e.hash);
      if (this.byKey.has(key)) continue;
      let reason: MempoolDropReason | null = null;
      if (!Number.isInteger(e.namespace) || e.namespace < 0 || e.namespace > MAX_NAMESPACE)
        reason = "INVALID_NAMESPACE";
      else if (e.data.length > this.config.maxTransactionBytes) reason = "TOO_LARGE";
      else if (this.isExpired(e, nowMs)) reason = "EXPIRED";
      else reason = this.capacityRefusal(e.namespace, e.data.length)?.code ?? null;
      if (reason) dropped.push({ hash: e.hash, reason });
      else this.insert(e, key);
    }
    return dropped;
  }

  /**
   * Removes and returns up to `maxCount` transactions of at most `maxBytes`
   * data bytes in total, one per namespace per turn. A namespace whose next
   * transaction does not fit the bytes left sits out the rest of this call (its
   * order is kept: nothing is taken past it). The next call starts with the
   * namespace after the last one served.
   */
  take(limits: { maxBytes: number; maxCount: number }): MempoolEntry[] {
    const out: MempoolEntry[] = [];
    const k = this.ring.length;
    if (k === 0 || limits.maxCount <= 0) return out;
    const order = [...this.ring.slice(this.start), ...this.ring.slice(0, this.start)];
    const done = new Array<boolean>(k).fill(false);
    let bytesLeft = limits.maxBytes;
    let lastServed = -1;
    let served = true;
    while (served && out.length < limits.maxCount) {
      served = false;
      for (let p = 0; p < k && out.length < limits.maxCount; p++) {
        if (done[p]) continue;
        const q = this.queues.get(order[p] as NamespaceId);
        const e = q && peek(q);
        if (!q || !e || e.data.length > bytesLeft) {
          done[p] = true;
          continue;
        }
        q.head++;
        this.unlink(e, q);
        bytesLeft -= e.data.length;
        out.push({ hash: e.hash, namespace: e.namespace, data: e.data, receivedAtMs: e.receivedAtMs });
        lastServed = p;
        served = true;
      }
    }
    // Keep the cyclic order, drop emptied namespaces, and start next time after the last one served.
    const ring: NamespaceId[] = [];
    let next = 0;
    order.forEach((ns, p) => {
      if (!this.queues.has(ns)) return;
      ring.push(ns);
      if (p <= lastServed) next = ring.length;
    });
    this.ring = ring;
    this.start = ring.length === 0 ? 0 : next % ring.length;
    this.compactHeap();
    return out;
  }

  /** Removes the given transactions if held (e.g. included in a block another validator proposed). Returns how many were. */
  remove(hashes: Iterable<Uint8Array>): number {
    let n = 0;
    for (const h of hashes) {
      const e = this.byKey.get(toHex(h));
      if (!e) continue;
      this.unlinkAnywhere(e);
      n++;
    }
    this.compactHeap();
    return n;
  }

  /** Removes and returns every transaction received `ttlMs` or more before `nowMs`, oldest first. */
  expire(nowMs: number): MempoolDrop[] {
    const dropped: MempoolDrop[] = [];
    for (let top = this.heap[0]; top && (!top.live || this.isExpired(top, nowMs)); top = this.heap[0]) {
      heapPop(this.heap);
      if (!top.live) continue;
      this.unlinkAnywhere(top);
      dropped.push({ hash: top.hash, reason: "EXPIRED" });
    }
    return dropped;
  }

  // ── internals ──────────────────────────────────────────────────────────

  private isExpired(e: MempoolEntry, nowMs: number): boolean {
    return nowMs - e.receivedAtMs >= this.config.ttlMs;
  }

  private capacityRefusal(
    ns: NamespaceId,
    size: number,
  ): { code: "NAMESPACE_QUOTA" | "MEMPOOL_FULL"; message: string } | null {
    const c = this.config;
    const q = this.queues.get(ns);
    if ((q?.transactions ?? 0) + 1 > c.namespaceMaxTransactions)
      return {
        code: "NAMESPACE_QUOTA",
        message: `namespace ${ns} holds its quota of ${c.namespaceMaxTransactions} transactions`,
      };
    if ((q?.bytes ?? 0) + size > c.namespaceMaxBytes)
      return {
        code: "NAMESPACE_QUOTA",
        message: `namespace ${ns} would exceed its quota of ${c.namespaceMaxBytes} bytes`,
      };
    if (this.byKey.size + 1 > c.maxTransactions)
      return { code: "MEMPOOL_FULL", message: `the mempool holds its limit of ${c.maxTransactions} transactions` };
    if (this.totalBytes + size > c.maxBytes)
      return { code: "MEMPOOL_FULL", message: `the mempool would exceed its limit of ${c.maxBytes} bytes` };
    return null;
  }

  private insert(tx: MempoolEntry, key: string): void {
    const e: Entry = { ...tx, key, seq: this.seq++, live: true };
    this.byKey.set(key, e);
    let q = this.queues.get(e.namespace);
    if (!q) {
      q = { items: [], head: 0, transactions: 0, bytes: 0 };
      this.queues.set(e.namespace, q);
      // A newcomer joins the back of the line: served last in the current turn order.
      this.ring.splice(this.start, 0, e.namespace);
      if (this.ring.length > 1) this.start++;
    }
    q.items.push(e);
    q.transactions++;
    q.bytes += e.data.length;
    this.totalBytes += e.data.length;
    heapPush(this.heap, e);
  }

  /** Forgets `e` (already off the head of `q`, or to be left as a tombstone in it). */
  private unlink(e: Entry, q: Queue): void {
    e.live = false;
    this.byKey.delete(e.key);
    q.transactions--;
    q.bytes -= e.data.length;
    this.totalBytes -= e.data.length;
    if (q.transactions === 0) {
      this.queues.delete(e.namespace);
    } else if (q.items.length - q.head > 2 * q.transactions + 32) {
      q.items = q.items.slice(q.head).filter((x) => x.live);
      q.head = 0;
    } else if (q.head > 1024 && q.head * 2 > q.items.length) {
      q.items = q.items.slice(q.head);
      q.head = 0;
    }
  }

  /** Removes `e` from wherever it sits, including the ring if its namespace empties. */
  private unlinkAnywhere(e: Entry): void {
    const q = this.queues.get(e.namespace) as Queue;
    this.unlink(e, q);
    if (q.transactions === 0) {
      const i = this.ring.indexOf(e.namespace);
      this.ring.splice(i, 1);
      if (i < this.start) this.start--;
      if (this.start >= this.ring.length) this.start = 0;
    }
  }

  /** The heap keeps tombstones of taken or removed entries; rebuild it when they dominate. */
  private compactHeap(): void {
    if (this.heap.length <= 2 * this.byKey.size + 1024) return;
    this.heap = [];
    for (const e of this.byKey.values()) heapPush(this.heap, e);
  }
}

function peek(q: Queue): Entry | undefined {
  while (q.head < q.items.length) {
    const e = q.items[q.head] as Entry;
    if (e.live) return e;
    q.head++;
  }
  return undefined;
}

function compareHex(a: Uint8Array, b: Uint8Array): number {
  const x = toHex(a);
  const y = toHex(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function before(a: Entry, b: Entry): boolean {
  return a.receivedAtMs < b.receivedAtMs || (a.receivedAtMs === b.receivedAtMs && a.seq < b.seq);
}

function heapPush(h: Entry[], e: Entry): void {
  h.push(e);
  let i = h.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(h[i] as Entry, h[parent] as Entry)) break;
    [h[i], h[parent]] = [h[parent] as Entry, h[i] as Entry];
    i = parent;
  }
}

function heapPop(h: Entry[]): Entry | undefined {
  const top = h[0];
  const last = h.pop();
  if (h.length === 0 || last === undefined) return top;
  h[0] = last;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < h.length && before(h[l] as Entry, h[m] as Entry)) m = l;
    if (r < h.length && before(h[r] as Entry, h[m] as Entry)) m = r;
    if (m === i) break;
    [h[i], h[m]] = [h[m] as Entry, h[i] as Entry];
    i = m;
  }
  return top;
}
