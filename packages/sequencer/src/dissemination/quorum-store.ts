/**
 * The quorum store: batch dissemination separate from ordering (Narwhal,
 * Aptos Quorum Store), as a pure state machine. No I/O, no clock (every time
 * is an argument), no randomness; every method returns the effects the node
 * must carry out, in order.
 *
 * 1. The node feeds transactions taken from its mempool (`room()` says how
 *    many). They are sealed into a batch when a full batch is ready
 *    (`maxBatchBytes` of data or `maxBatchTransactions`) or when the oldest has
 *    waited `batchTimeoutMs` (`tick`). A sealed batch is persisted, then
 *    broadcast.
 * 2. A validator that receives a batch checks it, emits `persist-batch`, and
 *    only once the node reports `batchPersisted(digest)` signs an ack and sends
 *    it to the author (persist before you speak). The author acks its own
 *    batch the same way.
 * 3. The author aggregates acks optimistically (as consensus's VoteAggregator
 *    does): at a quorum of stake it aggregates and verifies once, and only if
 *    that fails checks acks one by one and drops the bad ones. The certificate
 *    is broadcast; every validator verifies it and holds it for proposal.
 * 4. Leaders propose certificates (`pullPayload`); validators check them
 *    (`validatePayload`), fetch batches they lack from the signers
 *    (`missingBatches`, `fetchMissing`), and build the block's transactions
 *    (`transactionsOf`). `onCommitted` retires committed batches for good.
 *
 * Sequence windows. Each author numbers its batches 0, 1, 2, ... in the epoch.
 * Every validator keeps, per author, a floor (all lower sequences are
 * committed) and the committed sequences above it, and accepts a batch only
 * with a sequence in `[floor, floor + maxPendingBatchesPerAuthor)` that is not
 * committed; one batch per sequence (a second, different batch is
 * equivocation). So a validator holds at most `maxPendingBatchesPerAuthor`
 * batches per author, a committed batch is never accepted, acknowledged or
 * proposed again, and at most one batch per (author, sequence) can be
 * certified (two quorums share an honest validator). An author stops sealing
 * while its own window is full and resends unacknowledged batches and
 * uncommitted certificates every `retryMs`, so its window drains.
 *
 * Restarts: the node persists every batch it is told to (`persist-batch`),
 * every certificate (`certified`) and the commit watermarks
 * (`watermarks()`), and hands them to `restore`.
 */
import {
  type BlsBackend,
  type Bytes32,
  bitmapIndices,
  bytesEqual,
  createBitmap,
  InvalidConfigError,
  MAX_NAMESPACE,
  type Transaction,
  toHex,
  type ValidatorIndex,
  type ValidatorSet,
} from "@ordo/core";
import { batchDigest, DEFAULT_DISSEMINATION_CODEC_LIMITS } from "./codec.js";
import { batchAckDigest } from "./hashing.js";
import type {
  Batch,
  BatchAck,
  BatchCertificate,
  BatchRequest,
  BatchResponse,
  BlockBatches,
  DisseminationMessage,
} from "./types.js";

export interface QuorumStoreLimits {
  /** Most transaction data bytes in one batch (also the largest transaction accepted). Default 1 MiB. */
  maxBatchBytes: number;
  /** Most transactions in one batch. Default 10,000. */
  maxBatchTransactions: number;
  /** A non-full batch is sealed once its oldest transaction has waited this long. Default 50 ms. */
  batchTimeoutMs: number;
  /** Width of each author's sequence window: uncommitted batches held per author. Default 32. */
  maxPendingBatchesPerAuthor: number;
  /** Unacknowledged batches, uncommitted own certificates and unanswered fetches are resent after this. Default 1 s. */
  retryMs: number;
  /** A batch created more than this far in the receiver's future is rejected. Default 30 s. */
  maxClockSkewMs: number;
  /** Most batch data bytes in one `BatchResponse`. Default 16 MiB. */
  maxResponseBytes: number;
}

export const DEFAULT_QUORUM_STORE_LIMITS: Readonly<QuorumStoreLimits> = Object.freeze({
  maxBatchBytes: 1024 * 1024,
  maxBatchTransactions: 10_000,
  batchTimeoutMs: 50,
  maxPendingBatchesPerAuthor: 32,
  retryMs: 1000,
  maxClockSkewMs: 30_000,
  maxResponseBytes: 16 * 1024 * 1024,
});

export interface QuorumStoreConfig {
  chainId: number;
  /** Must equal `validators.epoch`. */
  epoch: number;
  /** This validator's index in `validators`. */
  self: ValidatorIndex;
  validators: ValidatorSet;
  bls: BlsBackend;
  /** This validator's BLS secret key (must match `validators.publicKey(self)`). */
  secretKey: Uint8Array;
  limits?: Partial<QuorumStoreLimits>;
}

export type QuorumStoreEffect =
  /** Send to every other validator. */
  | { type: "broadcast"; message: DisseminationMessage }
  | { type: "send"; to: ValidatorIndex; message: DisseminationMessage }
  /** Write the batch durably, then call `batchPersisted(digest)`. */
  | { type: "persist-batch"; digest: Bytes32; batch: Batch }
  /** A certificate became available for proposal (formed here or received); persist it for `restore`. */
  | { type: "certified"; certificate: BatchCertificate }
  /** A peer sent something invalid (count it, lower the peer's score). */
  /**
   * A message refused. `blameless`: an honest peer sends such messages too (a late answer, or a window that moved
   * while this validator was down), so it is dropped without lowering the peer's score.
   */
  | { type: "rejected"; from: ValidatorIndex; reason: string; blameless?: true }
  /** The store no longer holds this batch (committed, or replaced by the certified batch of its sequence). */
  | { type: "discard-batch"; digest: Bytes32 }
  /** A transaction handed to `addTransactions` that can never be batched; record it as dropped. */
  | { type: "dropped-transaction"; transaction: Transaction; reason: string };

export interface PullPayloadOptions {
  /** Most batch data bytes (sum of certificates' `byteSize`). */
  maxBytes: number;
  maxBatches: number;
  /** `digestKey(digest)` of batches not to propose (those in uncommitted ancestors of the block). */
  exclude?: ReadonlySet<string>;
}

export interface ValidatePayloadOptions {
  /** `digestKey(digest)` of batches already in the block's uncommitted ancestors. */
  exclude?: ReadonlySet<string>;
  maxBytes?: number;
  maxBatches?: number;
}

/** One author's commit progress: sequences below `floor` and those in `committed` are committed. */
export interface AuthorWatermark {
  author: ValidatorIndex;
  floor: number;
  committed: number[];
}

export interface QuorumStoreSnapshot {
  /** The next sequence this validator may seal (above every sequence it ever used, committed or not). */
  nextSequence?: number;
  batches?: Iterable<Batch>;
  certificates?: Iterable<BatchCertificate>;
  watermarks?: Iterable<AuthorWatermark>;
}

/** The key batches are known by (`exclude` sets, logs): `toHex(digest)`. */
export function digestKey(digest: Bytes32): string {
  return toHex(digest);
}

interface Held {
  batch: Batch;
  digest: Bytes32;
  key: string;
  byteSize: number;
  origin: "own" | "received" | "fetched";
  persisted: boolean;
  /** This validator's ack, once signed (resent when the author retransmits). */
  ack: BatchAck | null;
}

interface Own {
  held: Held;
  acks: Map<ValidatorIndex, { signature: Uint8Array; verified: boolean }>;
  badSigners: Set<ValidatorIndex>;
  certificate: BatchCertificate | null;
  lastSentMs: number;
}

interface Certified {
  certificate: BatchCertificate;
  key: string;
  /** Local arrival order: "oldest first" in `pullPayload`, immune to authors' clocks. */
  arrival: number;
}

interface AuthorState {
  floor: number;
  committedAbove: Set<number>;
  /** Digest key of the batch held for each uncommitted sequence. */
  held: Map<number, string>;
  /** Digest key of the certificate known for each uncommitted sequence. */
  certified: Map<number, string>;
}

interface Fetch {
  certificate: BatchCertificate;
  attempts: number;
  lastRequestMs: number;
}

type Admission =
  | { ok: true; entry: Certified | null; effects: QuorumStoreEffect[] }
  | { ok: false; reason: string; stale: boolean };

const isUint = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** What the quorum store reads of a block's payload: its batch certificates (a block's own system transactions are the node's). */
export type CertifiedBatches = Pick<BlockBatches, "certificates">;

export class QuorumStore {
  readonly chainId: number;
  readonly epoch: number;
  readonly self: ValidatorIndex;
  readonly validators: ValidatorSet;
  readonly limits: Readonly<QuorumStoreLimits>;
  /** Counters for benchmarks and tests: BLS verifications, batches sealed, certificates formed here. */
  readonly stats = { verifications: 0, batchesSealed: 0, certificatesFormed: 0 };

  private readonly bls: BlsBackend;
  private readonly secretKey: Uint8Array;
  private readonly batches = new Map<string, Held>();
  private readonly own = new Map<string, Own>();
  private readonly certs = new Map<string, Certified>();
  private readonly authors: AuthorState[];
  private readonly verifiedCerts = new Set<string>();
  private readonly fetches = new Map<string, Fetch>();
  private pending: { tx: Transaction; atMs: number }[] = [];
  private pendingDataBytes = 0;
  private nextSequence = 0;
  /**
   * Own sequences below `nextSequence` with no batch after a restart: sealed, but not durable when the node
   * stopped, so never sent (a batch goes out only once persisted). Sealing fills them first; left empty, they
   * would hold this author's window floor back for good.
   */
  private reusable: number[] = [];
  private arrivals = 0;

  constructor(config: QuorumStoreConfig) {
    const limits = { ...DEFAULT_QUORUM_STORE_LIMITS, ...config.limits };
    for (const [name, value] of Object.entries(limits))
      if (!Number.isSafeInteger(value) || value < (name === "batchTimeoutMs" || name === "maxClockSkewMs" ? 0 : 1))
        throw new InvalidConfigError(`quorum store limit ${name} must be a safe integer, at least 1, got ${value}`);
    const { validators, self } = config;
    if (!validators.has(self)) throw new InvalidConfigError(`validator ${self} is not in the validator set`);
    if (config.epoch !== validators.epoch)
      throw new InvalidConfigError(`epoch ${config.epoch} differs from the validator set's epoch ${validators.epoch}`);
    if (!isUint(config.chainId)) throw new InvalidConfigError(`invalid chain id ${config.chainId}`);
    if (!bytesEqual(config.bls.publicKey(config.secretKey), validators.publicKey(self)))
      throw new InvalidConfigError(`the secret key is not validator ${self}'s`);
    this.chainId = config.chainId;
    this.epoch = config.epoch;
    this.self = self;
    this.validators = validators;
    this.bls = config.bls;
    this.secretKey = config.secretKey;
    this.limits = Object.freeze(limits);
    this.authors = validators.validators.map(() => ({
      floor: 0,
      committedAbove: new Set(),
      held: new Map(),
      certified: new Map(),
    }));
  }

  // -------------------------------------------------------------------------
  // Batching (author side)

  /** Transactions not yet sealed into a batch. */
  get pendingTransactions(): number {
    return this.pending.length;
  }

  /** Data bytes not yet sealed into a batch. */
  get pendingBytes(): number {
    return this.pendingDataBytes;
  }

  /**
   * How much the node should take from its mempool now: what fits the free
   * slots of this validator's own sequence window, less what is pending. Zero
   * while the window is full (back pressure: the mempool keeps the rest).
   */
  room(): { transactions: number; bytes: number } {
    const slots = Math.max(0, this.windowEnd(this.self) - this.nextSequence) + this.reusable.length;
    const L = this.limits;
    return {
      transactions: Math.max(0, slots * L.maxBatchTransactions - this.pending.length),
      bytes: Math.max(0, slots * L.maxBatchBytes - this.pendingDataBytes),
    };
  }

  /**
   * Queues transactions for batching (in order) and seals every batch that is
   * ready. A transaction that can never be batched (bad namespace, not bytes,
   * larger than `maxBatchBytes`) comes back as `dropped-transaction`.
   */
  addTransactions(transactions: readonly Transaction[], nowMs: number): QuorumStoreEffect[] {
    const effects: QuorumStoreEffect[] = [];
    for (const tx of transactions) {
      const problem = this.transactionProblem(tx);
      if (problem !== null) effects.push({ type: "dropped-transaction", transaction: tx, reason: problem });
      else {
        this.pending.push({ tx, atMs: nowMs });
        this.pendingDataBytes += tx.data.length;
      }
    }
    effects.push(...this.seal(nowMs));
    return effects;
  }

  /**
   * Timer: seals batches that are ready (full, or oldest transaction waited
   * `batchTimeoutMs`), resends unacknowledged batches and uncommitted own
   * certificates, and retries unanswered fetches, each every `retryMs`.
   */
  tick(nowMs: number): QuorumStoreEffect[] {
    const effects = this.seal(nowMs);
    const L = this.limits;
    for (const own of this.own.values()) {
      if (!own.held.persisted || own.lastSentMs + L.retryMs > nowMs) continue;
      own.lastSentMs = nowMs;
      if (own.certificate !== null) {
        effects.push({ type: "broadcast", message: { kind: "batch-certificate", certificate: own.certificate } });
        continue;
      }
      for (let v = 0; v < this.validators.size; v++)
        if (v !== this.self && !own.acks.has(v) && !own.badSigners.has(v))
          effects.push({ type: "send", to: v, message: { kind: "batch", batch: own.held.batch } });
    }
    const due = [...this.fetches.values()].filter((f) => f.lastRequestMs + L.retryMs <= nowMs);
    for (const f of due) {
      f.attempts++;
      f.lastRequestMs = nowMs;
    }
    effects.push(...this.requestFetches(due));
    return effects;
  }

  /** When `tick` next has work (sealing, a resend or a fetch retry), or null if none is scheduled. */
  nextDeadline(): number | null {
    let at = Number.POSITIVE_INFINITY;
    const first = this.pending[0];
    if (first && (this.reusable.length > 0 || this.nextSequence < this.windowEnd(this.self)))
      at = first.atMs + this.limits.batchTimeoutMs;
    for (const own of this.own.values()) at = Math.min(at, own.lastSentMs + this.limits.retryMs);
    for (const f of this.fetches.values()) at = Math.min(at, f.lastRequestMs + this.limits.retryMs);
    return Number.isFinite(at) ? at : null;
  }

  private seal(nowMs: number): QuorumStoreEffect[] {
    const effects: QuorumStoreEffect[] = [];
    const L = this.limits;
    while (this.pending.length > 0 && (this.reusable.length > 0 || this.nextSequence < this.windowEnd(this.self))) {
      let bytes = 0;
      let k = 0;
      while (k < this.pending.length && k < L.maxBatchTransactions) {
        const size = (this.pending[k] as { tx: Transaction }).tx.data.length;
        if (bytes + size > L.maxBatchBytes) break;
        bytes += size;
        k++;
      }
      const full = k < this.pending.length || k === L.maxBatchTransactions || bytes === L.maxBatchBytes;
      const expired = nowMs - (this.pending[0] as { atMs: number }).atMs >= L.batchTimeoutMs;
      if (!full && !expired) break;
      const taken = this.pending.splice(0, k);
      this.pendingDataBytes -= bytes;
      const batch: Batch = {
        author: this.self,
        sequence: this.reusable.shift() ?? this.nextSequence++,
        createdAtMs: nowMs,
        transactions: taken.map((p) => p.tx),
      };
      const digest = batchDigest(batch);
      const held: Held = {
        batch,
        digest,
        key: toHex(digest),
        byteSize: bytes,
        origin: "own",
        persisted: false,
        ack: null,
      };
      this.batches.set(held.key, held);
      this.authorState(this.self).held.set(batch.sequence, held.key);
      this.own.set(held.key, { held, acks: new Map(), badSigners: new Set(), certificate: null, lastSentMs: nowMs });
      this.stats.batchesSealed++;
      // Broadcast once durable (`batchPersisted`): a batch others hold but its author lost after a crash would
      // never be certified, and the author's window, which only moves past committed sequences, would stay stuck.
      effects.push({ type: "persist-batch", digest, batch });
    }
    return effects;
  }

  private transactionProblem(tx: Transaction): string | null {
    if (typeof tx !== "object" || tx === null) return "not a transaction";
    const ns = tx.namespace;
    if (typeof ns !== "number" || !Number.isInteger(ns) || ns < 0 || ns > MAX_NAMESPACE)
      return `invalid namespace ${String(ns)}`;
    if (!(tx.data instanceof Uint8Array)) return "transaction data is not bytes";
    if (tx.data.length > this.limits.maxBatchBytes)
      return `transaction of ${tx.data.length} bytes exceeds maxBatchBytes (${this.limits.maxBatchBytes})`;
    return null;
  }

  // -------------------------------------------------------------------------
  // Receiving batches and acknowledging them

  /** Dispatches a decoded message from validator `from`. */
  onMessage(from: ValidatorIndex, message: DisseminationMessage, nowMs: number): QuorumStoreEffect[] {
    switch (message.kind) {
      case "batch":
        return this.onBatch(from, message.batch, nowMs);
      case "batch-ack":
        return this.onAck(from, message.ack);
      case "batch-certificate":
        return this.onCertificate(from, message.certificate);
      case "batch-request":
        return this.onBatchRequest(from, message.request);
      case "batch-response":
        return this.onBatchResponse(from, message.response);
      default:
        return [{ type: "rejected", from, reason: "unknown message kind" }];
    }
  }

  /**
   * A batch from its author: checked (sender is the author; sequence in the
   * author's window, not committed, not a second batch for one sequence;
   * limits; namespaces), then `persist-batch`. The ack waits for
   * `batchPersisted`. A batch already persisted (the author resent it) is
   * acknowledged again at once.
   */
  onBatch(from: ValidatorIndex, batch: Batch, nowMs: number): QuorumStoreEffect[] {
    if (!this.validators.has(from)) return [{ type: "rejected", from, reason: `unknown validator ${from}` }];
    if (from === this.self) return [];
    const reject = (reason: string): QuorumStoreEffect[] => [{ type: "rejected", from, reason }];
    const blameless = (reason: string): QuorumStoreEffect[] => [{ type: "rejected", from, reason, blameless: true }];
    const shape = this.batchProblem(batch);
    if (typeof shape === "string") return reject(shape);
    if (batch.author !== from) return reject(`batch author ${batch.author} is not the sender ${from}`);
    const a = this.authorState(from);
    const seq = batch.sequence;
    // After a restart, peers resend what this validator committed or has not caught up to yet: not their fault.
    if (this.isCommitted(a, seq)) return blameless(`batch ${from}/${seq} is already committed (replayed)`);
    if (seq >= this.windowEnd(from))
      return blameless(`batch ${from}/${seq} is too far ahead (window ends at ${this.windowEnd(from)})`);
    if (batch.createdAtMs > nowMs + this.limits.maxClockSkewMs)
      return reject(`batch ${from}/${seq} was created ${batch.createdAtMs - nowMs} ms in the future`);
    const digest = batchDigest(batch);
    const key = toHex(digest);
    const heldKey = a.held.get(seq);
    if (heldKey !== undefined && heldKey !== key)
      return reject(`equivocation: a second batch for ${from}/${seq} (${key}, held ${heldKey})`);
    const certKey = a.certified.get(seq);
    if (certKey !== undefined && certKey !== key)
      return reject(`batch ${from}/${seq} is not the certified batch of its sequence`);
    const existing = this.batches.get(key);
    if (existing) {
      if (!existing.persisted) return [];
      return [{ type: "send", to: from, message: { kind: "batch-ack", ack: this.ackFor(existing) } }];
    }
    const held: Held = { batch, digest, key, byteSize: shape, origin: "received", persisted: false, ack: null };
    this.batches.set(key, held);
    a.held.set(seq, key);
    this.fetches.delete(key);
    return [{ type: "persist-batch", digest, batch }];
  }

  /**
   * The node wrote the batch durably. For a received batch: sign the ack and
   * send it to the author. For an own batch: add this validator's own ack.
   */
  batchPersisted(digest: Bytes32): QuorumStoreEffect[] {
    const held = this.batches.get(toHex(digest));
    if (!held || held.persisted) return [];
    held.persisted = true;
    if (held.origin === "received")
      return [{ type: "send", to: held.batch.author, message: { kind: "batch-ack", ack: this.ackFor(held) } }];
    if (held.origin === "own") {
      const own = this.own.get(held.key);
      if (!own || own.certificate !== null) return [];
      own.acks.set(this.self, { signature: this.ackFor(held).signature, verified: true });
      return [{ type: "broadcast", message: { kind: "batch", batch: held.batch } }, ...this.tryCertify(own)];
    }
    return [];
  }

  private ackFor(held: Held): BatchAck {
    if (held.ack === null) {
      const b = held.batch;
      held.ack = {
        digest: held.digest,
        author: b.author,
        sequence: b.sequence,
        signer: this.self,
        signature: this.bls.sign(this.secretKey, this.ackDigest(held)),
      };
    }
    return held.ack;
  }

  private ackDigest(held: Held): Bytes32 {
    const b = held.batch;
    return batchAckDigest(
      this.chainId,
      this.epoch,
      held.digest,
      b.author,
      b.sequence,
      b.transactions.length,
      held.byteSize,
    );
  }

  // -------------------------------------------------------------------------
  // Certifying own batches

  /**
   * An ack for one of this validator's batches. Not verified on arrival: once
   * acks hold a quorum of stake they are aggregated and the aggregate is
   * verified once; only if it fails is each ack checked and the bad ones
   * dropped (and their senders rejected for this batch).
   */
  onAck(from: ValidatorIndex, ack: BatchAck): QuorumStoreEffect[] {
    const reject = (reason: string): QuorumStoreEffect[] => [{ type: "rejected", from, reason }];
    if (!this.validators.has(from)) return reject(`unknown validator ${from}`);
    if (typeof ack !== "object" || ack === null || !(ack.digest instanceof Uint8Array))
      return reject("malformed batch ack");
    if (ack.signer !== from) return reject(`ack signer ${ack.signer} is not the sender ${from}`);
    if (ack.author !== this.self) return reject(`ack for a batch of validator ${ack.author} sent to ${this.self}`);
    if (!(ack.signature instanceof Uint8Array)) return reject("malformed ack signature");
    const own = this.own.get(toHex(ack.digest));
    // Unknown: late (already committed) or never ours; either way nothing to do.
    if (!own || own.certificate !== null) return [];
    if (ack.sequence !== own.held.batch.sequence)
      return reject(
        `ack names sequence ${ack.sequence} for batch ${own.held.key} of sequence ${own.held.batch.sequence}`,
      );
    if (own.badSigners.has(from)) return reject(`validator ${from} already sent a bad ack for this batch`);
    if (own.acks.has(from)) return [];
    own.acks.set(from, { signature: ack.signature, verified: false });
    return this.tryCertify(own);
  }

  private tryCertify(own: Own): QuorumStoreEffect[] {
    const validators = this.validators;
    let stake = 0n;
    for (const i of own.acks.keys()) stake += validators.stakeOf(i);
    if (!validators.isQuorum(stake)) return [];
    const digest = this.ackDigest(own.held);
    let signers = [...own.acks.keys()].sort((x, y) => x - y);
    const signatureOf = (i: ValidatorIndex): Uint8Array => (own.acks.get(i) as { signature: Uint8Array }).signature;
    let signature: Uint8Array = new Uint8Array(0);
    let ok = false;
    try {
      signature = this.bls.aggregateSignatures(signers.map(signatureOf));
      this.stats.verifications++;
      ok = this.bls.fastAggregateVerify(
        signers.map((i) => validators.publicKey(i)),
        digest,
        signature,
      );
    } catch {
      // A signature that is not even a curve point: check each ack below.
    }
    const effects: QuorumStoreEffect[] = [];
    if (!ok) {
      const good: ValidatorIndex[] = [];
      for (const i of signers) {
        const entry = own.acks.get(i) as { signature: Uint8Array; verified: boolean };
        if (!entry.verified) {
          this.stats.verifications++;
          entry.verified = this.bls.verify(validators.publicKey(i), digest, entry.signature);
        }
        if (entry.verified) good.push(i);
        else {
          own.acks.delete(i);
          own.badSigners.add(i);
          effects.push({ type: "rejected", from: i, reason: `bad ack signature for batch ${own.held.key}` });
        }
      }
      let goodStake = 0n;
      for (const i of good) goodStake += validators.stakeOf(i);
      if (!validators.isQuorum(goodStake)) return effects;
      signers = good;
      signature = this.bls.aggregateSignatures(signers.map(signatureOf));
    }
    const b = own.held.batch;
    const certificate: BatchCertificate = {
      digest: own.held.digest,
      author: b.author,
      sequence: b.sequence,
      transactionCount: b.transactions.length,
      byteSize: own.held.byteSize,
      signers: createBitmap(validators.size, signers),
      signature,
    };
    own.certificate = certificate;
    this.stats.certificatesFormed++;
    this.rememberVerified(certificate);
    const admitted = this.admit(certificate);
    if (admitted.ok) effects.push(...admitted.effects);
    effects.push(
      { type: "certified", certificate },
      { type: "broadcast", message: { kind: "batch-certificate", certificate } },
    );
    return effects;
  }

  // -------------------------------------------------------------------------
  // Certificates

  /**
   * A certificate from a peer: verified (limits, a quorum of stake, the
   * aggregate signature) and held for proposal (`certified`). Certificates of
   * committed batches and ones already known are ignored.
   */
  onCertificate(from: ValidatorIndex, certificate: BatchCertificate): QuorumStoreEffect[] {
    if (!this.validators.has(from)) return [{ type: "rejected", from, reason: `unknown validator ${from}` }];
    const r = this.admit(certificate);
    if (!r.ok) return r.stale ? [] : [{ type: "rejected", from, reason: r.reason }];
    if (r.entry === null) return [];
    return [...r.effects, { type: "certified", certificate: r.entry.certificate }];
  }

  /**
   * Null when the certificate is well formed, within limits, signed by a
   * quorum of stake, and its aggregate signature verifies; else why not.
   * Stateless apart from a cache of certificates already verified.
   */
  verifyCertificate(c: BatchCertificate): string | null {
    if (typeof c !== "object" || c === null) return "not a certificate";
    if (!(c.digest instanceof Uint8Array) || c.digest.length !== 32) return "malformed digest";
    if (!(c.signers instanceof Uint8Array) || !(c.signature instanceof Uint8Array)) return "malformed signature";
    if (!this.validators.has(c.author)) return `unknown author ${String(c.author)}`;
    if (!isUint(c.sequence)) return `invalid sequence ${String(c.sequence)}`;
    const L = this.limits;
    if (!isUint(c.transactionCount) || c.transactionCount < 1 || c.transactionCount > L.maxBatchTransactions)
      return `transaction count ${String(c.transactionCount)} outside 1..${L.maxBatchTransactions}`;
    if (!isUint(c.byteSize) || c.byteSize > L.maxBatchBytes)
      return `byte size ${String(c.byteSize)} exceeds maxBatchBytes (${L.maxBatchBytes})`;
    const id = this.certificateId(c);
    if (this.verifiedCerts.has(id)) return null;
    const stake = this.validators.signedStake(c.signers);
    if (stake < 0n) return "malformed signer bitmap";
    if (!this.validators.isQuorum(stake)) return "signers hold too little stake for a quorum";
    const keys = bitmapIndices(c.signers).map((i) => this.validators.publicKey(i));
    const digest = batchAckDigest(
      this.chainId,
      this.epoch,
      c.digest,
      c.author,
      c.sequence,
      c.transactionCount,
      c.byteSize,
    );
    this.stats.verifications++;
    if (!this.bls.fastAggregateVerify(keys, digest, c.signature)) return "invalid aggregate signature";
    this.rememberVerified(c);
    return null;
  }

  private certificateId(c: BatchCertificate): string {
    return `${toHex(c.digest)}:${c.author}:${c.sequence}:${c.transactionCount}:${c.byteSize}:${toHex(c.signers)}:${toHex(c.signature)}`;
  }

  private rememberVerified(c: BatchCertificate): void {
    if (this.verifiedCerts.size >= 8192) this.verifiedCerts.clear();
    this.verifiedCerts.add(this.certificateId(c));
  }

  /**
   * Why a certificate cannot be accepted now (null if it can): it does not
   * verify, its batch is committed (`stale`), another batch is certified for
   * its sequence, or it disagrees with the batch held under its digest.
   */
  private certificateProblem(c: BatchCertificate): { reason: string; stale: boolean } | null {
    const problem = this.verifyCertificate(c);
    if (problem !== null) return { reason: problem, stale: false };
    const a = this.authorState(c.author);
    if (this.isCommitted(a, c.sequence))
      return { reason: `batch ${c.author}/${c.sequence} is already committed`, stale: true };
    const key = toHex(c.digest);
    const known = a.certified.get(c.sequence);
    if (known !== undefined && known !== key)
      return { reason: `a different batch is certified for ${c.author}/${c.sequence}`, stale: false };
    const held = a.held.get(c.sequence) === key ? this.batches.get(key) : undefined;
    if (held && (held.batch.transactions.length !== c.transactionCount || held.byteSize !== c.byteSize))
      return { reason: "certificate disagrees with the batch it names", stale: false };
    return null;
  }

  /** Checks and, if new, records a certificate as available for proposal. */
  private admit(c: BatchCertificate): Admission {
    const problem = this.certificateProblem(c);
    if (problem !== null) return { ok: false, ...problem };
    const a = this.authorState(c.author);
    const key = toHex(c.digest);
    if (a.certified.get(c.sequence) === key) return { ok: true, entry: null, effects: [] };
    const effects: QuorumStoreEffect[] = [];
    const heldKey = a.held.get(c.sequence);
    if (heldKey !== undefined && heldKey !== key) {
      // The certified batch of this sequence wins over the one held (an equivocating author).
      effects.push(...this.forget(heldKey));
      a.held.delete(c.sequence);
    }
    const entry: Certified = { certificate: c, key, arrival: this.arrivals++ };
    this.certs.set(key, entry);
    a.certified.set(c.sequence, key);
    return { ok: true, entry, effects };
  }

  // -------------------------------------------------------------------------
  // Proposals

  /**
   * For the leader: certified batches not committed, not excluded, whose data
   * this validator holds (it needs it for the namespace tree). Fair across
   * authors: round-robin, one batch per author per turn, authors ordered by
   * when their oldest proposable certificate arrived here, each author's
   * batches in sequence order. An author whose next batch does not fit the
   * bytes left sits out the rest of the call.
   */
  pullPayload(options: PullPayloadOptions): BlockBatches {
    const exclude = options.exclude;
    const byAuthor = new Map<ValidatorIndex, Certified[]>();
    for (const entry of this.certs.values()) {
      const c = entry.certificate;
      if (exclude?.has(entry.key) || !this.batches.has(entry.key)) continue;
      if (this.isCommitted(this.authorState(c.author), c.sequence)) continue;
      const list = byAuthor.get(c.author);
      if (list) list.push(entry);
      else byAuthor.set(c.author, [entry]);
    }
    const queues = [...byAuthor.values()].map((list) =>
      list.sort((x, y) => x.certificate.sequence - y.certificate.sequence),
    );
    const oldest = (q: Certified[]): number => q.reduce((m, e) => Math.min(m, e.arrival), Number.POSITIVE_INFINITY);
    const certificates: BatchCertificate[] = [];
    let bytes = 0;
    let active = queues
      .map((q) => ({ q, at: 0, oldest: oldest(q) }))
      .sort(
        (x, y) =>
          x.oldest - y.oldest || (x.q[0] as Certified).certificate.author - (y.q[0] as Certified).certificate.author,
      );
    while (active.length > 0 && certificates.length < options.maxBatches) {
      const next: typeof active = [];
      for (const cursor of active) {
        if (certificates.length >= options.maxBatches) break;
        const c = (cursor.q[cursor.at] as Certified).certificate;
        if (bytes + c.byteSize > options.maxBytes) continue;
        certificates.push(c);
        bytes += c.byteSize;
        cursor.at++;
        if (cursor.at < cursor.q.length) next.push(cursor);
      }
      active = next;
    }
    return { certificates, system: [] };
  }

  /**
   * Null if a proposed payload is acceptable: within the given limits, no
   * digest or (author, sequence) twice, none excluded or already committed,
   * every certificate verifies. Else the reason. No state changes apart from
   * the cache of verified certificates (`fetchMissing` or `onCertificate`
   * records them).
   */
  validatePayload(payload: CertifiedBatches, options: ValidatePayloadOptions = {}): string | null {
    if (typeof payload !== "object" || payload === null || !Array.isArray(payload.certificates))
      return "malformed payload";
    const certs = payload.certificates;
    if (options.maxBatches !== undefined && certs.length > options.maxBatches)
      return `${certs.length} batches exceed the limit of ${options.maxBatches}`;
    const digests = new Set<string>();
    const slots = new Set<string>();
    let bytes = 0;
    for (let i = 0; i < certs.length; i++) {
      const c = certs[i] as BatchCertificate;
      const problem = this.certificateProblem(c);
      if (problem !== null) return `certificate ${i}: ${problem.reason}`;
      const key = toHex(c.digest);
      if (digests.has(key)) return `certificate ${i}: batch ${key} appears twice`;
      digests.add(key);
      const slot = `${c.author}/${c.sequence}`;
      if (slots.has(slot)) return `certificate ${i}: batch ${slot} appears twice`;
      slots.add(slot);
      if (options.exclude?.has(key)) return `certificate ${i}: batch ${key} is already in an ancestor block`;
      bytes += c.byteSize;
    }
    if (options.maxBytes !== undefined && bytes > options.maxBytes)
      return `${bytes} batch bytes exceed the limit of ${options.maxBytes}`;
    return null;
  }

  /** Digests of the payload's batches this validator does not hold (fetch them before voting). */
  missingBatches(payload: CertifiedBatches): Bytes32[] {
    const out: Bytes32[] = [];
    const seen = new Set<string>();
    for (const c of payload.certificates) {
      const key = toHex(c.digest);
      if (!this.batches.has(key) && !seen.has(key)) {
        seen.add(key);
        out.push(c.digest);
      }
    }
    return out;
  }

  /**
   * Requests the payload's missing batches (of valid, uncommitted
   * certificates) from their signers: the author first, then the other
   * signers in turn, moving on every `retryMs` (`tick`) until one answers.
   */
  fetchMissing(payload: CertifiedBatches, nowMs: number): QuorumStoreEffect[] {
    const started: Fetch[] = [];
    const effects: QuorumStoreEffect[] = [];
    for (const c of payload.certificates) {
      const key = toHex(c.digest);
      if (this.batches.has(key) || this.fetches.has(key)) continue;
      const r = this.admit(c);
      if (!r.ok) continue;
      effects.push(...r.effects);
      if (r.entry !== null) effects.push({ type: "certified", certificate: r.entry.certificate });
      const f: Fetch = { certificate: c, attempts: 0, lastRequestMs: nowMs };
      this.fetches.set(key, f);
      started.push(f);
    }
    effects.push(...this.requestFetches(started));
    return effects;
  }

  private requestFetches(fetches: readonly Fetch[]): QuorumStoreEffect[] {
    const byTarget = new Map<ValidatorIndex, Bytes32[]>();
    for (const f of fetches) {
      const c = f.certificate;
      const candidates = [c.author, ...bitmapIndices(c.signers).filter((i) => i !== c.author)].filter(
        (i) => i !== this.self,
      );
      const to = candidates[f.attempts % Math.max(1, candidates.length)];
      if (to === undefined) continue;
      const list = byTarget.get(to);
      if (list) list.push(c.digest);
      else byTarget.set(to, [c.digest]);
    }
    const effects: QuorumStoreEffect[] = [];
    const max = DEFAULT_DISSEMINATION_CODEC_LIMITS.maxDigestsPerRequest;
    for (const [to, digests] of byTarget)
      for (let i = 0; i < digests.length; i += max)
        effects.push({
          type: "send",
          to,
          message: { kind: "batch-request", request: { digests: digests.slice(i, i + max) } },
        });
    return effects;
  }

  /** Answers with the requested batches held here (up to `maxResponseBytes`; possibly none). */
  onBatchRequest(from: ValidatorIndex, request: BatchRequest): QuorumStoreEffect[] {
    if (!this.validators.has(from)) return [{ type: "rejected", from, reason: `unknown validator ${from}` }];
    const codec = DEFAULT_DISSEMINATION_CODEC_LIMITS;
    if (typeof request !== "object" || request === null || !Array.isArray(request.digests))
      return [{ type: "rejected", from, reason: "malformed batch request" }];
    if (request.digests.length > codec.maxDigestsPerRequest)
      return [{ type: "rejected", from, reason: `more than ${codec.maxDigestsPerRequest} digests requested` }];
    const batches: Batch[] = [];
    const seen = new Set<string>();
    let bytes = 0;
    for (const d of request.digests) {
      if (!(d instanceof Uint8Array) || batches.length >= codec.maxBatchesPerResponse) continue;
      const key = toHex(d);
      const held = this.batches.get(key);
      if (!held || seen.has(key) || bytes + held.byteSize > this.limits.maxResponseBytes) continue;
      seen.add(key);
      bytes += held.byteSize;
      batches.push(held.batch);
    }
    return [{ type: "send", to: from, message: { kind: "batch-response", response: { batches } } }];
  }

  /**
   * Batches this validator asked for: each must hash to a digest being
   * fetched and match its certificate; then it is held and persisted (no ack:
   * it is certified already). Anything else is rejected.
   */
  onBatchResponse(from: ValidatorIndex, response: BatchResponse): QuorumStoreEffect[] {
    const reject = (reason: string): QuorumStoreEffect => ({ type: "rejected", from, reason });
    if (!this.validators.has(from)) return [reject(`unknown validator ${from}`)];
    if (typeof response !== "object" || response === null || !Array.isArray(response.batches))
      return [reject("malformed batch response")];
    const effects: QuorumStoreEffect[] = [];
    for (const batch of response.batches) {
      const shape = this.batchProblem(batch);
      if (typeof shape === "string") {
        effects.push(reject(shape));
        continue;
      }
      const digest = batchDigest(batch);
      const key = toHex(digest);
      if (this.batches.has(key)) continue;
      const f = this.fetches.get(key);
      if (!f) {
        // A late answer to a fetch another peer already answered (or that timed out) is normal.
        effects.push({
          type: "rejected",
          from,
          reason: `batch ${key} was not requested (it hashes to no digest being fetched)`,
          blameless: true,
        });
        continue;
      }
      const c = f.certificate;
      if (
        batch.author !== c.author ||
        batch.sequence !== c.sequence ||
        batch.transactions.length !== c.transactionCount ||
        shape !== c.byteSize
      ) {
        effects.push(reject(`batch ${key} does not match its certificate`));
        continue;
      }
      this.fetches.delete(key);
      const a = this.authorState(c.author);
      if (this.isCommitted(a, c.sequence)) continue;
      const heldKey = a.held.get(c.sequence);
      if (heldKey !== undefined && heldKey !== key) effects.push(...this.forget(heldKey));
      this.batches.set(key, { batch, digest, key, byteSize: shape, origin: "fetched", persisted: false, ack: null });
      a.held.set(c.sequence, key);
      effects.push({ type: "persist-batch", digest, batch });
    }
    return effects;
  }

  /**
   * The block's transactions in canonical order: batches in certificate
   * order, each batch's transactions in order. Every batch must be held
   * (check `missingBatches` first); throws otherwise.
   */
  transactionsOf(payload: CertifiedBatches): Transaction[] {
    const out: Transaction[] = [];
    const missing: string[] = [];
    for (const c of payload.certificates) {
      const held = this.batches.get(toHex(c.digest));
      if (!held) missing.push(toHex(c.digest));
      else for (const tx of held.batch.transactions) out.push(tx);
    }
    if (missing.length > 0)
      throw new Error(`transactionsOf: ${missing.length} batches are not held (first ${missing[0]}); fetch them first`);
    return out;
  }

  /**
   * A block committed: its batches are marked committed (never accepted,
   * acknowledged or proposed again) and their data, certificates and pending
   * fetches are dropped (`discard-batch`). Call `transactionsOf` first.
   * Certificates already committed (a Byzantine leader's repeat) are skipped.
   * Sealing held back by a full window resumes at the next `tick`.
   */
  onCommitted(payload: CertifiedBatches): QuorumStoreEffect[] {
    const effects: QuorumStoreEffect[] = [];
    for (const c of payload.certificates) {
      if (!this.validators.has(c.author) || !isUint(c.sequence)) continue;
      const a = this.authorState(c.author);
      const seq = c.sequence;
      if (this.isCommitted(a, seq)) continue;
      if (seq === a.floor) {
        a.floor++;
        while (a.committedAbove.delete(a.floor)) a.floor++;
      } else a.committedAbove.add(seq);
      const keys = new Set([toHex(c.digest), a.held.get(seq), a.certified.get(seq)]);
      for (const key of keys) if (key !== undefined) effects.push(...this.forget(key));
      a.held.delete(seq);
      a.certified.delete(seq);
      if (c.author === this.self && seq >= this.nextSequence) this.nextSequence = seq + 1;
    }
    return effects;
  }

  /** Drops everything held under a digest key. */
  private forget(key: string): QuorumStoreEffect[] {
    this.certs.delete(key);
    this.own.delete(key);
    this.fetches.delete(key);
    const held = this.batches.get(key);
    if (!held) return [];
    this.batches.delete(key);
    return [{ type: "discard-batch", digest: held.digest }];
  }

  // -------------------------------------------------------------------------
  // Restart

  /** Commit progress per author, for the node to persist with each commit and hand back to `restore`. */
  watermarks(): AuthorWatermark[] {
    const out: AuthorWatermark[] = [];
    this.authors.forEach((a, author) => {
      if (a.floor > 0 || a.committedAbove.size > 0)
        out.push({ author, floor: a.floor, committed: [...a.committedAbove].sort((x, y) => x - y) });
    });
    return out;
  }

  /**
   * Reloads persisted state after a restart, into a fresh store: watermarks,
   * then certificates (verified again), then batches (all persisted; own
   * batches resume collecting acks and are resent at the next `tick`).
   * Invalid or stale entries are skipped.
   */
  restore(snapshot: QuorumStoreSnapshot): QuorumStoreEffect[] {
    for (const w of snapshot.watermarks ?? []) {
      if (!this.validators.has(w.author) || !isUint(w.floor)) continue;
      const a = this.authorState(w.author);
      a.floor = Math.max(a.floor, w.floor);
      for (const s of w.committed) if (isUint(s) && s >= a.floor) a.committedAbove.add(s);
      while (a.committedAbove.delete(a.floor)) a.floor++;
    }
    const effects: QuorumStoreEffect[] = [];
    for (const c of snapshot.certificates ?? []) {
      const r = this.admit(c);
      if (r.ok) effects.push(...r.effects);
    }
    const mine = this.authorState(this.self);
    this.nextSequence = Math.max(
      this.nextSequence,
      isUint(snapshot.nextSequence) ? snapshot.nextSequence : 0,
      mine.floor,
      ...[...mine.committedAbove].map((s) => s + 1),
    );
    for (const batch of snapshot.batches ?? []) {
      const shape = this.batchProblem(batch);
      if (typeof shape === "string") continue;
      const a = this.authorState(batch.author);
      if (this.isCommitted(a, batch.sequence)) continue;
      const digest = batchDigest(batch);
      const key = toHex(digest);
      const slot = a.held.get(batch.sequence);
      const certified = a.certified.get(batch.sequence);
      if (slot !== undefined || (certified !== undefined && certified !== key)) continue;
      const origin = batch.author === this.self ? "own" : "received";
      const held: Held = { batch, digest, key, byteSize: shape, origin, persisted: true, ack: null };
      this.batches.set(key, held);
      a.held.set(batch.sequence, key);
      if (origin === "own") {
        this.nextSequence = Math.max(this.nextSequence, batch.sequence + 1);
        const own: Own = {
          held,
          acks: new Map([[this.self, { signature: this.ackFor(held).signature, verified: true }]]),
          badSigners: new Set(),
          certificate: certified === key ? (this.certs.get(key) as Certified).certificate : null,
          lastSentMs: Number.NEGATIVE_INFINITY,
        };
        this.own.set(key, own);
        if (own.certificate === null) effects.push(...this.tryCertify(own));
      }
    }
    for (let seq = mine.floor; seq < this.nextSequence; seq++)
      if (!this.isCommitted(mine, seq) && !mine.held.has(seq) && !mine.certified.has(seq)) this.reusable.push(seq);
    return effects;
  }

  // -------------------------------------------------------------------------
  // Queries and helpers

  /** The batch held under this digest, if any. */
  getBatch(digest: Bytes32): Batch | undefined {
    return this.batches.get(toHex(digest))?.batch;
  }

  /** The verified, uncommitted certificate for this digest, if known. */
  getCertificate(digest: Bytes32): BatchCertificate | undefined {
    return this.certs.get(toHex(digest))?.certificate;
  }

  /**
   * This validator's own dissemination: its window's floor and next sequence, its batches not yet certified, and
   * transactions waiting to be sealed. A window that stays full (`nextSequence` at `floor` + the window size) with
   * uncertified batches means the others are not acknowledging this validator's batches.
   */
  /** Digests of this validator's own batches not yet committed: what a restart must `restore`. */
  ownBatchDigests(): Bytes32[] {
    return [...this.own.values()].map((o) => o.held.digest);
  }

  ownProgress(): { floor: number; nextSequence: number; uncertified: number; pendingTransactions: number } {
    let uncertified = 0;
    for (const own of this.own.values()) if (own.certificate === null) uncertified++;
    const floor = this.authorState(this.self).floor;
    return { floor, nextSequence: this.nextSequence, uncertified, pendingTransactions: this.pending.length };
  }

  /** Whether the batch `author/sequence` is committed. */
  isCommittedSequence(author: ValidatorIndex, sequence: number): boolean {
    const a = this.authors[author];
    return a !== undefined && this.isCommitted(a, sequence);
  }

  private authorState(author: ValidatorIndex): AuthorState {
    return this.authors[author] as AuthorState;
  }

  private isCommitted(a: AuthorState, sequence: number): boolean {
    return sequence < a.floor || a.committedAbove.has(sequence);
  }

  private windowEnd(author: ValidatorIndex): number {
    return this.authorState(author).floor + this.limits.maxPendingBatchesPerAuthor;
  }

  /** The batch's data bytes if it is well formed and within limits, else why not. */
  private batchProblem(batch: Batch): number | string {
    if (typeof batch !== "object" || batch === null) return "not a batch";
    if (!this.validators.has(batch.author)) return `unknown batch author ${String(batch.author)}`;
    if (!isUint(batch.sequence)) return `invalid batch sequence ${String(batch.sequence)}`;
    if (!isUint(batch.createdAtMs)) return `invalid batch time ${String(batch.createdAtMs)}`;
    const txs = batch.transactions;
    const L = this.limits;
    if (!Array.isArray(txs) || txs.length === 0 || txs.length > L.maxBatchTransactions)
      return `a batch needs 1 to ${L.maxBatchTransactions} transactions`;
    let bytes = 0;
    for (let i = 0; i < txs.length; i++) {
      const tx = txs[i] as Transaction;
      const ns = tx?.namespace;
      if (typeof ns !== "number" || !Number.isInteger(ns) || ns < 0 || ns > MAX_NAMESPACE)
        return `transaction ${i} has an invalid namespace`;
      if (!(tx.data instanceof Uint8Array)) return `transaction ${i} data is not bytes`;
      bytes += tx.data.length;
      if (bytes > L.maxBatchBytes) return `batch exceeds maxBatchBytes (${L.maxBatchBytes})`;
    }
    return bytes;
  }
}
