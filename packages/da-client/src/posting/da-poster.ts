/**
 * Posts every finalized block's payload to the configured DA layers under a
 * policy (all of some required layers, or any k of n), block by block in
 * height order from a persisted cursor.
 *
 * - Each (height, layer) attempt is recorded before it is made, and its
 *   receipt after, in a `PostingStore`: a restart resumes where it stopped.
 * - After a timeout the earlier attempt may have landed: the layer's `find`
 *   (when it has one) is asked before submitting again, so nothing is posted
 *   twice.
 * - `unavailable` and `timeout` back off exponentially per layer; a k-of-n
 *   policy meanwhile takes the next layer (fail-over).
 * - Oversized payloads are split into `maxBlobBytes` parts, each posted and
 *   receipted on its own.
 * - The poster reads blocks itself (`readPayload`), so how far it lags is
 *   bounded by storage, not memory, and it never blocks the caller that
 *   reports finality.
 */
import { sha256, toHex } from "@ordo/core";
import { type DaLayer, DaLayerError, type DaReceipt, type DaStatus } from "../layer.js";

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
}

export interface DaPosterOptions {
  layers: readonly DaLayer[];
  policy: PostingPolicy;
  store: PostingStore;
  /** The committed payload bytes of a height (null while the height is not committed). */
  readPayload(height: number): Promise<Uint8Array | null>;
  /** Backoff: first delay and cap, ms. */
  backoffMs?: { initial: number; max: number };
  /** Blocks whose posting may be in progress at once (ahead of the cursor). */
  window?: number;
  /** The first height to post (default 0; a validator starts at 1: its genesis block has no data). */
  firstHeight?: number;
  /** Whether a block goes to a layer at all (default: every block to every layer). */
  postTo?: (layer: string, payload: Uint8Array) => boolean;
  now?: () => number;
  onEvent?: (e: PosterEvent) => void;
}

export type PosterEvent =
  | { type: "posted"; height: number; layer: string; parts: number }
  | { type: "failed"; height: number; layer: string; error: DaLayerError | Error; retryInMs: number }
  | { type: "recovered"; height: number; layer: string }
  | { type: "satisfied"; height: number; layers: string[] };

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

export class DaPoster {
  private readonly o: DaPosterOptions;
  private readonly layers: Map<string, DaLayer>;
  private finalized = -1;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(o: DaPosterOptions) {
    this.o = o;
    this.layers = new Map(o.layers.map((l) => [l.name, l]));
    if (o.policy.kind === "all")
      for (const l of o.policy.layers)
        if (!this.layers.has(l)) throw new Error(`the policy requires unknown layer ${l}`);
    if (o.policy.kind === "k-of-n" && (o.policy.k < 1 || o.policy.k > o.layers.length))
      throw new Error(`k-of-n needs 1 ≤ k ≤ ${o.layers.length}`);
  }

  private get now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Tells the poster a height is final; returns at once (posting runs on its own). */
  finalizedUpTo(height: number): void {
    if (height > this.finalized) this.finalized = height;
    this.kick();
  }

  /** Runs a posting pass now (and again if new heights arrive meanwhile); resolves when idle. */
  kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async cursor(): Promise<number> {
    return Math.max(this.o.firstHeight ?? 0, await this.o.store.getCursor());
  }

  /** Blocks finalized but not yet satisfied by the policy. */
  async lag(): Promise<number> {
    return Math.max(0, this.finalized + 1 - (await this.cursor()));
  }

  /** Posts what is due within the window ahead of the cursor, then advances the cursor past satisfied blocks. */
  private async pass(): Promise<void> {
    let cursor = await this.cursor();
    const window = this.o.window ?? 16;
    for (let h = cursor; h <= this.finalized && h < cursor + window; h++) await this.postBlock(h);
    for (;;) {
      const p = await this.o.store.getPosting(cursor);
      if (!p?.satisfied || cursor > this.finalized) break;
      cursor++;
      await this.o.store.setCursor(cursor);
    }
  }

  private async postBlock(height: number): Promise<void> {
    // A block already done costs one store read, not a rebuild of its payload.
    const known = await this.o.store.getPosting(height);
    if (known?.satisfied) return;
    const payload = await this.o.readPayload(height);
    if (!payload) return;
    const posting: BlockPosting = known ?? {
      height,
      payloadHash: toHex(sha256(payload)),
      layers: {},
      satisfied: false,
    };
    for (const layer of this.layersInOrder()) {
      if (posting.satisfied && this.o.policy.kind === "k-of-n") break;
      const l = posting.layers[layer.name] ?? { state: "pending", receipts: [], attempts: 0, retryAt: 0 };
      posting.layers[layer.name] = l;
      if (l.state === "pending" && l.attempts === 0 && this.o.postTo && !this.o.postTo(layer.name, payload))
        l.state = "skipped";
      if (l.state !== "pending" || l.retryAt > this.now) continue;
      await this.attempt(layer, l, payload, posting);
      posting.satisfied = policySatisfied(this.o.policy, posting);
    }
    posting.satisfied = policySatisfied(this.o.policy, posting);
    await this.o.store.putPosting(posting);
    if (posting.satisfied)
      this.o.onEvent?.({
        type: "satisfied",
        height,
        layers: Object.keys(posting.layers).filter((k) => posting.layers[k]?.state === "posted"),
      });
  }

  /** Layers in configured order, required ones first under an `all` policy. */
  private layersInOrder(): DaLayer[] {
    const all = [...this.layers.values()];
    if (this.o.policy.kind === "all") {
      const required = new Set(this.o.policy.layers);
      return all.filter((l) => required.has(l.name));
    }
    return all;
  }

  private async attempt(layer: DaLayer, l: LayerPosting, payload: Uint8Array, posting: BlockPosting): Promise<void> {
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
      await this.o.store.putPosting(posting);
      for (let i = l.receipts.length; i < parts.length; i++) {
        l.receipts.push(await layer.submit(parts[i] as Uint8Array, { height: posting.height }));
        await this.o.store.putPosting(posting);
      }
      l.inFlight = false;
      l.state = "posted";
      delete l.lastError;
      this.o.onEvent?.({ type: "posted", height: posting.height, layer: layer.name, parts: parts.length });
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      const kind = error instanceof DaLayerError ? error.kind : "error";
      // A refusal of this payload is final on that layer; anything else is retried after a backoff.
      l.inFlight = kind === "timeout" || kind === "error";
      if (kind === "rejected") l.state = "failed";
      const { initial, max } = this.o.backoffMs ?? { initial: 500, max: 60_000 };
      const delay = Math.min(max, initial * 2 ** Math.min(20, l.attempts - 1));
      l.retryAt = this.now + delay;
      l.lastError = { kind, message: error.message };
      this.o.onEvent?.({ type: "failed", height: posting.height, layer: layer.name, error, retryInMs: delay });
    }
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
    for (const [name, l] of Object.entries(p.layers)) {
      const layer = this.layers.get(name);
      if (!layer || l.state !== "posted" || l.receipts.length === 0) {
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
