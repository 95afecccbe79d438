/**
 * Posts every finalized block's payload to the configured DA layers under a
 * policy (all of some required layers, or any k of n), in height order from a
 * persisted cursor (the first height some layer still owes).
 *
 * - Each layer runs on its own, over a window past the first height it still
 *   owes: a slow or failing layer (a blob waits for its L1 block) does not
 *   hold a fast one back, up to `maxAhead` heights past the cursor.
 * - A layer named in `bundled` gets every due block that fits one submission
 *   (a bundle, `block-bundle.ts`) instead of one block per submission: its
 *   cost per submission is shared, so it keeps up with the chain. Other
 *   layers (the embedded one, whose certificates name a height) get one
 *   block per submission.
 * - Each attempt is recorded before it is made, and its receipt after, in a
 *   `PostingStore`: a restart resumes where it stopped.
 * - After a timeout the earlier attempt may have landed: the layer's `find`
 *   (when it has one) is asked for exactly the same bytes before submitting
 *   again, so nothing is posted twice.
 * - `unavailable`, `timeout` and unclassified errors back the layer off
 *   exponentially; a k-of-n policy meanwhile gives its blocks to the next
 *   layer in order (fail-over).
 * - Oversized payloads are split into `maxBlobBytes` parts, each posted and
 *   receipted on its own.
 * - The poster reads blocks itself (`readPayload`), so how far it lags is
 *   bounded by storage, not memory, and it never blocks the caller that
 *   reports finality.
 */
import { sha256, toHex } from "@ordo/core";
import { type DaLayer, DaLayerError, type DaReceipt, type DaStatus } from "../layer.js";
import { BUNDLE_ENTRY_OVERHEAD_BYTES, BUNDLE_HEADER_BYTES, encodeBundle } from "./block-bundle.js";

export type PostingPolicy = { kind: "all"; layers: readonly string[] } | { kind: "k-of-n"; k: number };

/** Where one block stands on one layer. */
export interface LayerPosting {
  /** `skipped`: this block is not for this layer (`postTo` said so); it counts as done for the policy. */
  state: "pending" | "posted" | "failed" | "skipped";
  /** One receipt per part (the payload split at the layer's `maxBlobBytes`). */
  receipts: DaReceipt[];
  attempts: number;
  /** Epoch ms before which no new attempt is made (backoff). */
  retryAt: number;
  lastError?: { kind: DaLayerError["kind"] | "error"; message: string };
  /** Set when an attempt started and its outcome is unknown (a crash or a timeout): check before resubmitting. */
  inFlight?: boolean;
  /**
   * Set when the block went (or is going) to the layer in a bundle: the bundle holds the blocks of [first, last]
   * whose posting names the same bundle, and `receipts` is the bundle's one receipt.
   */
  bundle?: { first: number; last: number };
}

export interface BlockPosting {
  height: number;
  payloadHash: `0x${string}`;
  layers: Record<string, LayerPosting>;
  /** True once the policy is met. */
  satisfied: boolean;
}

/** Durable state of the poster (the node keeps it in LevelDB; tests may use a file). */
export interface PostingStore {
  getCursor(): Promise<number>;
  setCursor(height: number): Promise<void>;
  getPosting(height: number): Promise<BlockPosting | null>;
  putPosting(p: BlockPosting): Promise<void>;
  /** Several postings in one write (a bundle's blocks). */
  putPostings(ps: readonly BlockPosting[]): Promise<void>;
}

export interface DaPosterOptions {
  layers: readonly DaLayer[];
  policy: PostingPolicy;
  store: PostingStore;
  /** The committed payload bytes of a height (null while the height is not committed). */
  readPayload(height: number): Promise<Uint8Array | null>;
  /** Backoff: first delay and cap, ms. */
  backoffMs?: { initial: number; max: number };
  /** How far past the first height it still owes a layer posting block by block looks (default 16 heights). */
  window?: number;
  /** Layers whose submissions carry every due block that fits (a bundle); the rest get one block per submission. */
  bundled?: readonly string[];
  /** How far past the first height it still owes a bundled layer looks (default 1,024 heights). */
  bundleWindow?: number;
  /**
   * How far past the cursor any layer may go while another is behind (default 4,096 heights): it bounds the
   * postings kept in memory.
   */
  maxAhead?: number;
  /** The first height to post (default 0; a validator starts at 1: its genesis block has no data). */
  firstHeight?: number;
  /** Whether a block goes to a layer at all (default: every block to every layer). */
  postTo?: (layer: string, payload: Uint8Array) => boolean;
  now?: () => number;
  onEvent?: (e: PosterEvent) => void;
}

export type PosterEvent =
  | { type: "posted"; height: number; layer: string; parts: number }
  | { type: "bundle-posted"; layer: string; first: number; last: number; blocks: number; bytes: number }
  | { type: "failed"; height: number; layer: string; error: DaLayerError | Error; retryInMs: number }
  | { type: "recovered"; height: number; layer: string }
  | { type: "satisfied"; height: number; layers: string[] }
  /** The poster itself failed (its store or `readPayload` threw): the pass stopped, the next one retries. */
  | { type: "error"; error: Error };

/** What the poster did, per layer, since it started (for metrics). */
export interface PosterLayerStats {
  submissions: number;
  blocksPosted: number;
  bytesPosted: number;
  failures: number;
}

/** The payload split into parts of at most `max` bytes (one empty part for an empty payload). */
export function splitPayload(payload: Uint8Array, max: number): Uint8Array[] {
  if (!Number.isInteger(max) || max < 1) throw new RangeError("maxBlobBytes must be a positive integer");
  if (payload.length === 0) return [payload];
  const parts: Uint8Array[] = [];
  for (let i = 0; i < payload.length; i += max) parts.push(payload.subarray(i, Math.min(payload.length, i + max)));
  return parts;
}

export function policySatisfied(policy: PostingPolicy, posting: BlockPosting): boolean {
  const posted = Object.entries(posting.layers)
    .filter(([, l]) => l.state === "posted" || l.state === "skipped")
    .map(([name]) => name);
  return policy.kind === "all" ? policy.layers.every((l) => posted.includes(l)) : posted.length >= policy.k;
}

/** How many payload bytes the poster keeps in memory between the layers that read the same blocks. */
const RECENT_PAYLOAD_BYTES = 16 * 1024 * 1024;

/** A block due on one layer: its posting, the layer's entry in it, and its payload. */
interface DueBlock {
  posting: BlockPosting;
  l: LayerPosting;
  payload: Uint8Array;
}

/** One layer's loop: whether a pass runs, whether another is due after it, its backoff and its figures. */
interface LayerLoop {
  running: Promise<void> | null;
  again: boolean;
  /** The first height from the cursor on that this layer still owes (found again after a restart). */
  frontier: number;
  /** Failed submissions since the last success: the backoff's exponent. */
  consecutiveFailures: number;
  backoffUntil: number;
  stats: PosterLayerStats;
}

export class DaPoster {
  private readonly o: DaPosterOptions;
  private readonly layers: Map<string, DaLayer>;
  /** The layers posted to, in order (under an `all` policy only the required ones). */
  private readonly active: DaLayer[];
  private readonly bundled: ReadonlySet<string>;
  private readonly loops = new Map<string, LayerLoop>();
  /** Postings from the cursor on, shared by the layer loops; a promise each, so concurrent readers share a load. */
  private readonly postings = new Map<number, Promise<BlockPosting | null>>();
  private finalized = -1;
  private cursorAt: number | null = null;
  /**
   * Payloads read lately, oldest first, at most `RECENT_PAYLOAD_BYTES` in all: a new block's payload is read once
   * for its posting's hash and then wanted by every layer, close in time.
   */
  private readonly recentPayloads = new Map<number, Uint8Array>();
  private recentPayloadBytes = 0;
  private advancing: Promise<void> = Promise.resolve();
  private writes: Promise<void> = Promise.resolve();

  constructor(o: DaPosterOptions) {
    this.o = o;
    this.layers = new Map(o.layers.map((l) => [l.name, l]));
    if (o.policy.kind === "all")
      for (const l of o.policy.layers)
        if (!this.layers.has(l)) throw new Error(`the policy requires unknown layer ${l}`);
    if (o.policy.kind === "k-of-n" && (o.policy.k < 1 || o.policy.k > o.layers.length))
      throw new Error(`k-of-n needs 1 ≤ k ≤ ${o.layers.length}`);
    for (const l of o.bundled ?? []) if (!this.layers.has(l)) throw new Error(`bundled names unknown layer ${l}`);
    this.bundled = new Set(o.bundled);
    const policy = o.policy;
    this.active = policy.kind === "all" ? o.layers.filter((l) => policy.layers.includes(l.name)) : [...o.layers];
    for (const l of this.active)
      this.loops.set(l.name, {
        running: null,
        again: false,
        frontier: 0,
        consecutiveFailures: 0,
        backoffUntil: 0,
        stats: { submissions: 0, blocksPosted: 0, bytesPosted: 0, failures: 0 },
      });
  }

  private loopOf(layer: DaLayer): LayerLoop {
    return this.loops.get(layer.name) as LayerLoop;
  }

  /** Where posting stands: the last final height, the first height some layer still owes, and per layer figures. */
  progress(): { finalized: number; cursor: number; lag: number; layers: Record<string, PosterLayerStats> } {
    const cursor = this.cursorAt ?? this.o.firstHeight ?? 0;
    return {
      finalized: this.finalized,
      cursor,
      lag: Math.max(0, this.finalized + 1 - cursor),
      layers: Object.fromEntries([...this.loops].map(([name, loop]) => [name, { ...loop.stats }])),
    };
  }

  private get now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Tells the poster a height is final; returns at once (posting runs on its own). */
  finalizedUpTo(height: number): void {
    if (height > this.finalized) this.finalized = height;
    for (const l of this.active) void this.kickLayer(l);
  }

  /** Runs a posting pass of every layer now (and again if new heights arrive meanwhile); resolves when all are idle. */
  async kick(): Promise<void> {
    for (const l of this.active) void this.kickLayer(l);
    // A layer's failure kicks the others (fail-over): wait for those passes too.
    for (;;) {
      const running = [...this.loops.values()].flatMap((l) => (l.running ? [l.running] : []));
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  private kickLayer(layer: DaLayer): Promise<void> {
    const loop = this.loopOf(layer);
    if (loop.running) {
      loop.again = true;
      return loop.running;
    }
    loop.running = (async () => {
      do {
        loop.again = false;
        try {
          await this.layerPass(layer, loop);
          await this.advanceCursor();
        } catch (e) {
          this.o.onEvent?.({ type: "error", error: e instanceof Error ? e : new Error(String(e)) });
          return;
        }
      } while (loop.again);
    })().finally(() => {
      loop.running = null;
    });
    return loop.running;
  }

  private async cursor(): Promise<number> {
    this.cursorAt ??= Math.max(this.o.firstHeight ?? 0, await this.o.store.getCursor());
    return this.cursorAt;
  }

  /** Blocks finalized but not yet satisfied by the policy. */
  async lag(): Promise<number> {
    return Math.max(0, this.finalized + 1 - (await this.cursor()));
  }

  /** The committed payload of `height`, read once for all layers while it is recent. */
  private async payloadOf(height: number): Promise<Uint8Array | null> {
    const kept = this.recentPayloads.get(height);
    if (kept) return kept;
    const payload = await this.o.readPayload(height);
    if (!payload || payload.length > RECENT_PAYLOAD_BYTES) return payload;
    this.recentPayloads.set(height, payload);
    this.recentPayloadBytes += payload.length;
    for (const [h, p] of this.recentPayloads) {
      if (this.recentPayloadBytes <= RECENT_PAYLOAD_BYTES) break;
      this.recentPayloads.delete(h);
      this.recentPayloadBytes -= p.length;
    }
    return payload;
  }

  /** The posting of `height` (kept, or new from its payload); null while the height has no payload. */
  private posting(height: number): Promise<BlockPosting | null> {
    const kept = this.postings.get(height);
    if (kept) return kept;
    const loading = (async (): Promise<BlockPosting | null> => {
      const known = await this.o.store.getPosting(height);
      if (known) return known;
      const payload = await this.payloadOf(height);
      return payload ? { height, payloadHash: toHex(sha256(payload)), layers: {}, satisfied: false } : null;
    })();
    this.postings.set(height, loading);
    // A height without a payload yet (or whose read failed) is read again next time.
    const forget = () => {
      if (this.postings.get(height) === loading) this.postings.delete(height);
    };
    loading.then((p) => {
      if (!p) forget();
    }, forget);
    return loading;
  }

  /** Moves the cursor past satisfied blocks (one mover at a time: the layer loops finish passes concurrently). */
  private advanceCursor(): Promise<void> {
    const move = this.advancing.then(async () => {
      const start = await this.cursor();
      let cursor = start;
      while (cursor <= this.finalized && (await this.posting(cursor))?.satisfied) {
        this.postings.delete(cursor);
        cursor++;
      }
      if (cursor === start) return;
      await this.o.store.setCursor(cursor);
      this.cursorAt = cursor;
    });
    this.advancing = move.catch(() => undefined);
    return move;
  }

  /** Writes postings in order (a later state of a posting never lands before an earlier one). */
  private save(ps: readonly BlockPosting[]): Promise<void> {
    const write = this.writes.then(() =>
      ps.length === 1 ? this.o.store.putPosting(ps[0] as BlockPosting) : this.o.store.putPostings(ps),
    );
    this.writes = write.catch(() => undefined);
    return write;
  }

  /** Updates `satisfied`; tells once, when the policy is first met. */
  private settle(posting: BlockPosting): void {
    if (posting.satisfied) return;
    posting.satisfied = policySatisfied(this.o.policy, posting);
    if (posting.satisfied)
      this.o.onEvent?.({
        type: "satisfied",
        height: posting.height,
        layers: Object.keys(posting.layers).filter((k) => posting.layers[k]?.state === "posted"),
      });
  }

  private backingOff(layer: string): boolean {
    return (this.loops.get(layer)?.backoffUntil ?? 0) > this.now;
  }

  /**
   * Whether `layer` should post this block now. Under k-of-n the layers earlier in order come first: a later one
   * takes the block only while fewer than k earlier ones can still carry it (posted, or pending and not failing).
   */
  private due(layer: DaLayer, posting: BlockPosting, l: LayerPosting): boolean {
    if (l.state !== "pending" || l.retryAt > this.now) return false;
    if (this.o.policy.kind !== "k-of-n") return true;
    if (posting.satisfied) return false;
    let carrying = 0;
    for (const other of this.active) {
      if (other === layer) break;
      const state = posting.layers[other.name]?.state ?? "pending";
      if (state === "posted" || state === "skipped" || (state === "pending" && !this.backingOff(other.name)))
        carrying++;
    }
    return carrying < this.o.policy.k;
  }

  /** Whether `layer` is done with this block: posted, skipped or refused there, or (k-of-n) no longer needed. */
  private doneOn(layer: DaLayer, posting: BlockPosting): boolean {
    const state = posting.layers[layer.name]?.state ?? "pending";
    return state !== "pending" || (this.o.policy.kind === "k-of-n" && posting.satisfied);
  }

  /**
   * One pass of one layer over its window past the first height it still owes: block by block, or in bundles;
   * stops at the layer's first failure.
   */
  private async layerPass(layer: DaLayer, loop: LayerLoop): Promise<void> {
    if (loop.backoffUntil > this.now) return;
    const bundled = this.bundled.has(layer.name);
    const cursor = await this.cursor();
    const end = cursor + (this.o.maxAhead ?? 4096); // exclusive
    let from = Math.max(cursor, loop.frontier);
    while (from < end && from <= this.finalized) {
      const p = await this.posting(from);
      if (!p || !this.doneOn(layer, p)) break;
      from++;
    }
    loop.frontier = from;
    const window = bundled ? (this.o.bundleWindow ?? 1024) : (this.o.window ?? 16);
    const last = Math.min(this.finalized, from + window - 1, end - 1);
    let bundle: DueBlock[] = [];
    let bundleBytes = BUNDLE_HEADER_BYTES;
    const flush = async (): Promise<boolean> => {
      const members = bundle;
      bundle = [];
      bundleBytes = BUNDLE_HEADER_BYTES;
      return members.length === 0 || (await this.postBundle(layer, members, false));
    };
    for (let h = from; h <= last; h++) {
      const posting = await this.posting(h);
      if (!posting) continue;
      const l = posting.layers[layer.name] ?? { state: "pending", receipts: [], attempts: 0, retryAt: 0 };
      if (!this.due(layer, posting, l)) continue;
      if (bundled && l.inFlight && l.bundle) {
        // An earlier bundle whose outcome is unknown: exactly its bytes are looked for, or posted again.
        if (!(await flush())) return;
        const members = await this.bundleMembers(layer, l.bundle);
        if (members.length > 0 && !(await this.postBundle(layer, members, true))) return;
        h = Math.max(h, l.bundle.last);
        continue;
      }
      const payload = await this.payloadOf(h);
      if (!payload) continue;
      posting.layers[layer.name] = l;
      if (l.attempts === 0 && this.o.postTo && !this.o.postTo(layer.name, payload)) {
        l.state = "skipped";
        this.settle(posting);
        await this.save([posting]);
        continue;
      }
      const size = BUNDLE_ENTRY_OVERHEAD_BYTES + payload.length;
      if (!bundled || l.inFlight || BUNDLE_HEADER_BYTES + size > layer.maxBlobBytes) {
        // One block per submission (split into parts if it is larger than the layer takes; looked for first if an
        // earlier one-block attempt's outcome is unknown).
        if (!(await flush()) || !(await this.attempt(layer, l, payload, posting))) return;
        continue;
      }
      if (bundleBytes + size > layer.maxBlobBytes && !(await flush())) return;
      bundle.push({ posting, l, payload });
      bundleBytes += size;
    }
    await flush();
  }

  /** The blocks of an in-flight bundle, with their payloads, as they were when it was submitted. */
  private async bundleMembers(layer: DaLayer, of: { first: number; last: number }): Promise<DueBlock[]> {
    const members: DueBlock[] = [];
    for (let h = of.first; h <= of.last; h++) {
      const posting = await this.posting(h);
      const l = posting?.layers[layer.name];
      if (!posting || !l || l.bundle?.first !== of.first || !l.inFlight) continue;
      const payload = await this.payloadOf(h);
      if (payload) members.push({ posting, l, payload });
    }
    return members;
  }

  /** Posts blocks as one bundle (after a timeout, looks for exactly this bundle first); false on failure. */
  private async postBundle(layer: DaLayer, members: DueBlock[], recovering: boolean): Promise<boolean> {
    const first = (members[0] as DueBlock).posting.height;
    const last = (members[members.length - 1] as DueBlock).posting.height;
    const bytes = encodeBundle(members.map((m) => ({ height: m.posting.height, payload: m.payload })));
    const postings = members.map((m) => m.posting);
    try {
      let receipt = recovering && layer.find ? await layer.find(bytes) : null;
      if (receipt) this.o.onEvent?.({ type: "recovered", height: first, layer: layer.name });
      else {
        for (const m of members) {
          m.l.bundle = { first, last };
          m.l.inFlight = true;
          m.l.attempts++;
        }
        await this.save(postings);
        this.loopOf(layer).stats.submissions++;
        receipt = await layer.submit(bytes, { height: first });
      }
      for (const m of members) {
        m.l.receipts = [receipt];
        m.l.inFlight = false;
        m.l.state = "posted";
        delete m.l.lastError;
        this.settle(m.posting);
      }
      await this.save(postings);
      this.succeeded(layer, members.length, bytes.length);
      this.o.onEvent?.({
        type: "bundle-posted",
        layer: layer.name,
        first,
        last,
        blocks: members.length,
        bytes: bytes.length,
      });
      return true;
    } catch (e) {
      const error = this.failed(
        layer,
        e,
        members.map((m) => m.l),
      );
      await this.save(postings);
      this.o.onEvent?.({ type: "failed", height: first, layer: layer.name, error, retryInMs: this.retryIn(layer) });
      return false;
    }
  }

  /** Posts one block on its own, in parts if it is larger than the layer takes; false on failure. */
  private async attempt(layer: DaLayer, l: LayerPosting, payload: Uint8Array, posting: BlockPosting): Promise<boolean> {
    const parts = splitPayload(payload, layer.maxBlobBytes);
    try {
      // An attempt whose outcome is unknown may have landed: look before posting again.
      if (l.inFlight && layer.find) {
        for (let i = l.receipts.length; i < parts.length; i++) {
          const found = await layer.find(parts[i] as Uint8Array);
          if (!found) break;
          l.receipts.push(found);
          this.o.onEvent?.({ type: "recovered", height: posting.height, layer: layer.name });
        }
      }
      l.inFlight = true;
      l.attempts++;
      await this.save([posting]);
      for (let i = l.receipts.length; i < parts.length; i++) {
        this.loopOf(layer).stats.submissions++;
        l.receipts.push(await layer.submit(parts[i] as Uint8Array, { height: posting.height }));
        await this.save([posting]);
      }
      l.inFlight = false;
      l.state = "posted";
      delete l.lastError;
      this.settle(posting);
      await this.save([posting]);
      this.succeeded(layer, 1, payload.length);
      this.o.onEvent?.({ type: "posted", height: posting.height, layer: layer.name, parts: parts.length });
      return true;
    } catch (e) {
      const error = this.failed(layer, e, [l]);
      await this.save([posting]);
      this.o.onEvent?.({
        type: "failed",
        height: posting.height,
        layer: layer.name,
        error,
        retryInMs: this.retryIn(layer),
      });
      return false;
    }
  }

  /** After each successful submission: counts it, clears the layer's backoff, and moves the cursor on at once. */
  private succeeded(layer: DaLayer, blocks: number, bytes: number): void {
    void this.advanceCursor().catch(() => undefined); // a failed move is redone after the pass
    const loop = this.loopOf(layer);
    loop.consecutiveFailures = 0;
    loop.backoffUntil = 0;
    loop.stats.blocksPosted += blocks;
    loop.stats.bytesPosted += bytes;
  }

  /**
   * Records a failed submission on the blocks it carried. A refusal of this payload is final on that layer;
   * anything else backs the whole layer off, and the layers after it in order are asked to take over.
   */
  private failed(layer: DaLayer, e: unknown, entries: LayerPosting[]): Error {
    const error = e instanceof Error ? e : new Error(String(e));
    const kind = error instanceof DaLayerError ? error.kind : "error";
    const loop = this.loopOf(layer);
    loop.stats.failures++;
    if (kind !== "rejected") {
      loop.consecutiveFailures++;
      const { initial, max } = this.o.backoffMs ?? { initial: 500, max: 60_000 };
      loop.backoffUntil = this.now + Math.min(max, initial * 2 ** Math.min(20, loop.consecutiveFailures - 1));
    }
    for (const l of entries) {
      l.inFlight = kind === "timeout" || kind === "error";
      if (kind === "rejected") l.state = "failed";
      l.retryAt = Math.max(loop.backoffUntil, this.now);
      l.lastError = { kind, message: error.message };
    }
    // Fail-over: the next layers may now be the ones to carry these blocks.
    if (kind !== "rejected" && this.o.policy.kind === "k-of-n")
      for (const other of this.active) if (other !== layer) void this.kickLayer(other);
    return error;
  }

  private retryIn(layer: DaLayer): number {
    return Math.max(0, (this.loops.get(layer.name)?.backoffUntil ?? 0) - this.now);
  }

  /** Each layer's receipts and their current status on the layer (for the API). */
  async report(height: number): Promise<
    | (BlockPosting & {
        status: Record<string, DaStatus | "not-posted">;
      })
    | null
  > {
    const p = await this.o.store.getPosting(height);
    if (!p) return null;
    const status: Record<string, DaStatus | "not-posted"> = {};
    const names = new Set([...this.active.map((l) => l.name), ...Object.keys(p.layers)]);
    for (const name of names) {
      const layer = this.layers.get(name);
      const l = p.layers[name];
      if (!layer || l?.state !== "posted" || l.receipts.length === 0) {
        status[name] = "not-posted";
        continue;
      }
      try {
        const each = await Promise.all(l.receipts.map((r) => layer.status(r)));
        // A split payload is only as far along as its least advanced part.
        const rank: DaStatus[] = ["unknown", "pending", "included", "final"];
        status[name] = each.reduce((a, b) => (rank.indexOf(a) <= rank.indexOf(b) ? a : b));
      } catch {
        status[name] = "unknown";
      }
    }
    return { ...p, status };
  }
}
