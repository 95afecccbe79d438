/**
 * The validator node: the thin shell around the consensus core and the quorum
 * store. It turns their effects into libp2p frames, LevelDB writes and timers,
 * and feeds back events. Every call into a core runs on one serial queue, so
 * the cores see one event at a time, in order, as in the simulator.
 */
import { blockTransactions } from "../api/namespace-blocks.js";
import { isDaFrame } from "../da/da-codec.js";
import "@ordo/core";
import {
  type ConsensusEffect,
  type EpochCommittee,
  EpochManager,
  encodeStakingTransaction,
  genesisQc,
  type PayloadContext,
  type Replica,
  type SafetyState,
  type StakingConfig,
  StakingLedger,
} from "@ordo/consensus";
import {
  type Block,
  type BlsBackend,
  blstBackend,
  type ConsensusMessage,
  DecodeError,
  decodeMessage,
  type EpochChangeCommitment,
  type EpochSchedule,
  encodeEpochChange,
  encodeMessage,
  epochEndHeight,
  hashHeader,
  hashTransaction,
  type NamespaceGroup,
  namespaceRoot,
  SYSTEM_NAMESPACE,
  type Transaction,
  toHex,
  ValidatorSet,
} from "@ordo/core";
import { pack, unpack } from "msgpackr";
import {
  type Batch,
  type BatchCertificate,
  type BlockBatches,
  batchDigest,
  type DisseminationMessage,
  decodeBatch,
  decodeBatchCertificate,
  decodeBlockBatches,
  decodeDisseminationMessage,
  encodeBatch,
  encodeBatchCertificate,
  encodeBlockBatches,
  encodeDisseminationMessage,
  QuorumStore,
  type QuorumStoreEffect,
} from "../dissemination/index.js";
import type { AuthorWatermark } from "../dissemination/quorum-store.js";
import { Mempool, type MempoolConfig } from "../mempool/mempool.js";
import type { Transport } from "../p2p/transport.js";
import type { NodeStore, TxIndexEntry } from "../storage/node-store.js";

export interface ValidatorNodeOptions {
  chainId: number;
  self: number;
  validators: ValidatorSet;
  genesis: Block;
  /**
   * Blocks per epoch (genesis `epochLength`); absent: one endless epoch. Each
   * epoch's last block commits to the next epoch's set, which light clients
   * and the L1 follow. Dissemination and DA custody stay with all the genesis
   * validators (their indexes are the peer list's) whatever the committee.
   */
  epochLength?: number;
  /**
   * Committees chosen by staking (needs `epochLength`): the node runs the staking ledger over every committed
   * block's system transactions, and each epoch's committee is the one the ledger selected. Members are
   * genesis validators only (their peers are the ones this node knows), so `balances` holds only their keys.
   */
  staking?: { config: Omit<StakingConfig, "chainId" | "schedule">; balances: ReadonlyMap<string, bigint> };
  secretKey: Uint8Array;
  store: NodeStore;
  transport: Transport;
  bls?: BlsBackend;
  baseTimeoutMs?: number;
  mempool?: Partial<MempoolConfig>;
  /** Largest payload a leader proposes, in transaction bytes. */
  maxBlockBytes?: number;
  /**
   * Proposal pacing. A leader proposes no sooner than this long after it saw
   * the parent block (default 50 ms) when there is payload to carry or to
   * finalize, and waits up to `emptyBlockIntervalMs` (default 250 ms) for
   * payload when there is none: an idle chain then costs a few blocks a
   * second instead of as many as the network can turn out.
   */
  minBlockIntervalMs?: number;
  emptyBlockIntervalMs?: number;
  now?: () => number;
  /** Structured log lines; `debug` (optional) gets each message consensus refuses and each round that times out. */
  logger?: {
    info(fields: object, msg?: string): void;
    warn(fields: object, msg?: string): void;
    debug?(fields: object, msg?: string): void;
  };
  /**
   * A deliberate bug, for proving that the chaos harness catches one (never set it otherwise):
   * `ack-before-durable` acknowledges a transaction at once and writes it to LevelDB a second later.
   */
  mutation?: "ack-before-durable";
}

/** What the quorum store needs after a restart (see `QuorumStore.restore`). */
interface DisseminationState {
  nextSequence: number;
  watermarks: AuthorWatermark[];
  /** Own batches not yet committed: restored (with their certificates) and sent again after a restart. */
  ownBatches?: Uint8Array[];
}

export interface CommittedBlockEvent {
  height: number;
  block: Block;
  blockHash: Uint8Array;
  transactions: Transaction[];
}

/**
 * A block that a quorum has certified but that is not committed yet: its
 * transactions are *soft*-confirmed. In 2-chain HotStuff a certified block
 * commits once a child of it is certified; until then another block may still
 * take its height (rarely, after a leader failure), so soft is a strong hint,
 * not finality.
 */
export type SoftBlockEvent = CommittedBlockEvent;

/** Where a soft-confirmed transaction sits: the same fields `final` reports. */
export interface SoftPosition {
  height: number;
  index: number;
  namespace: number;
  blockHash: string;
}

const SILENT = { info() {}, warn() {} };
const URGENT = { urgent: true } as const;

/** Groups a block's transactions by namespace, in order: the payload the namespace tree commits to. */
export function groupByNamespace(transactions: readonly Transaction[]): NamespaceGroup[] {
  const groups = new Map<number, Uint8Array[]>();
  for (const tx of transactions) {
    const list = groups.get(tx.namespace);
    if (list) list.push(tx.data);
    else groups.set(tx.namespace, [tx.data]);
  }
  return [...groups.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([namespace, txs]) => ({ namespace, transactions: txs }));
}

/** The transaction index of a block: each transaction's hash and its position among its namespace's. */
function indexTransactions(transactions: readonly Transaction[], height: number): TxIndexEntry[] {
  const out: TxIndexEntry[] = [];
  for (const g of groupByNamespace(transactions))
    for (const [index, data] of g.transactions.entries())
      out.push({ hash: hashTransaction(g.namespace, data), namespace: g.namespace, height, index });
  return out;
}

/** Staking rules of a network that does not set its own (`genesis.staking.config`). */
export const DEFAULT_STAKING_CONFIG: Omit<StakingConfig, "chainId" | "schedule"> = {
  minimumBond: 50n,
  maxValidators: 100,
  unbondingEpochs: 2,
  slashBasisPoints: 5_000,
  evidenceEpochs: 2,
};

function systemTransactionsOf(transactions: readonly Transaction[]): Uint8Array[] {
  return transactions.filter((t) => t.namespace === SYSTEM_NAMESPACE).map((t) => t.data);
}

/** The staking ledger as of the last committed block: genesis, then every committed block's system transactions. */
async function replayStaking(
  o: ValidatorNodeOptions,
  staking: NonNullable<ValidatorNodeOptions["staking"]>,
): Promise<StakingLedger> {
  const ledger = new StakingLedger(
    { ...staking.config, chainId: o.chainId, schedule: { length: o.epochLength as number } },
    { validators: { epoch: 0, validators: [...o.validators.validators] }, balances: staking.balances },
    o.bls ?? blstBackend,
  );
  const latest = o.store.latestHeight ?? 0;
  for (let h = 1; h <= latest; h++) {
    const block = await o.store.getBlock(h);
    if (!block) throw new Error(`the store lacks committed block ${h}`);
    ledger.applyBlock(h, systemTransactionsOf(await blockTransactions(o.store, block)));
  }
  return ledger;
}

/**
 * Consensus tags are 1–8, dissemination tags 16–21, the embedded DA layer's 32–36; all encode as `[1, tag, ...]`
 * (fixarray, version, tag).
 */
function isDisseminationFrame(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && ((bytes[0] as number) & 0xf0) === 0x90 && bytes[1] === 1 && (bytes[2] as number) >= 16;
}

export class ValidatorNode {
  readonly consensus: EpochManager;
  /** The staking ledger, when committees come from staking (`ValidatorNodeOptions.staking`). */
  readonly staking: StakingLedger | null;
  readonly schedule: EpochSchedule;
  private readonly committees = new Map<number, EpochCommittee>();
  readonly quorumStore: QuorumStore;
  readonly mempool: Mempool;
  private readonly o: ValidatorNodeOptions;
  private readonly now: () => number;
  private readonly log: NonNullable<ValidatorNodeOptions["logger"]>;
  private queue: Promise<void> = Promise.resolve();
  private readonly timers = new Set<NodeJS.Timeout>();
  private tickTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Blocks handed to consensus and not yet committed, with their decoded payloads, by block hash. */
  private readonly uncommitted = new Map<string, { block: Block; batches: BlockBatches; seenAt: number }>();
  /** Soft-confirmed blocks (certified, not committed) by block hash, with their transaction index (reused at commit). */
  private readonly softBlocks = new Map<string, { height: number; index: TxIndexEntry[] }>();
  private readonly softTransactions = new Map<string, SoftPosition>();
  private lastCertified = "";
  private readonly softListeners = new Set<(e: SoftBlockEvent) => void>();
  /** Proposals (or sync responses) waiting for batch data, with the digests they wait for. */
  private waiting: { from: number; message: ConsensusMessage; missing: Set<string> }[] = [];
  private readonly listeners = new Set<(e: CommittedBlockEvent) => void>();
  readonly counters = { decodeErrors: 0, rejected: 0, commits: 0, transactionsFinal: 0, evidence: 0 };
  /** Hashes (hex) of the transactions this node accepted and holds as pending in its store. */
  private readonly pendingHere = new Set<string>();
  /** Above every batch sequence this validator ever sealed: reusing one after a restart would be equivocation. */
  private ownNextSequence = 0;

  private constructor(
    o: ValidatorNodeOptions,
    safety: SafetyState | null,
    root: { block: Block; qc: Block["justify"] } | null,
    epochRoot: Block,
    staking: StakingLedger | null,
  ) {
    this.o = o;
    this.now = o.now ?? Date.now;
    this.log = o.logger ?? SILENT;
    const bls = o.bls ?? blstBackend;
    this.mempool = new Mempool(o.mempool);
    this.quorumStore = new QuorumStore({
      chainId: o.chainId,
      epoch: o.validators.epoch,
      self: o.self,
      validators: o.validators,
      bls,
      secretKey: o.secretKey,
    });
    // No epochs: one so long that it never ends.
    this.schedule = { length: o.epochLength ?? 2 ** 40 };
    this.staking = staking;
    this.consensus = new EpochManager(
      {
        chainId: o.chainId,
        self: o.self,
        bls,
        secretKey: o.secretKey,
        genesis: o.genesis,
        schedule: this.schedule,
        committee: (epoch) => this.committee(epoch),
        validatePayload: this.validatePayload,
        timing: { baseTimeoutMs: o.baseTimeoutMs ?? 1000 },
      },
      // A node may have committed blocks before it ever signed anything: recover from whichever survived.
      safety || root
        ? {
            safety,
            root: root ?? { block: o.genesis, qc: genesisQc(hashHeader(o.genesis.header)) },
            epochRoot,
          }
        : undefined,
    );
  }

  /** The consensus replica of the current epoch. */
  get replica(): Replica {
    return this.consensus.replica;
  }

  /**
   * Epoch `epoch`'s committee, with each member's node id (its index in the genesis set, which is its peer):
   * the one the staking ledger selected, or without staking the genesis validators under that epoch's number
   * (so each epoch has its own set hash). Undefined for an epoch the ledger does not know (any more).
   */
  committee(epoch: number): EpochCommittee | undefined {
    let c = this.committees.get(epoch);
    if (!c) {
      const v = this.o.validators;
      const bls = this.o.bls ?? blstBackend;
      let validators: ValidatorSet;
      if (this.staking) {
        const data = this.staking.committee(epoch);
        if (!data) return undefined;
        validators = ValidatorSet.create(data, bls);
      } else validators = v.withEpoch(epoch);
      // Committee members are genesis validators: their index in the genesis set is their peer (node id).
      const members = validators.validators.map((m) => {
        const i = v.validators.findIndex((g) => toHex(g.publicKey) === toHex(m.publicKey));
        if (i < 0) throw new Error(`epoch ${epoch}'s committee names ${toHex(m.publicKey)}, not a known peer`);
        return i;
      });
      c = { validators, members };
      // Kept for the epochs a node is asked about (the current ones, and recent epoch changes).
      if (this.committees.size > 64) this.committees.delete(this.committees.keys().next().value as number);
      this.committees.set(epoch, c);
    }
    return c;
  }

  /** Restores from the store, restores accepted transactions into the mempool, joins the network. */
  static async start(o: ValidatorNodeOptions): Promise<ValidatorNode> {
    const safety = await o.store.loadSafetyState();
    const head = await o.store.latestCommitted();
    // The block the head's epoch started from: genesis, or the previous epoch's last block.
    const epoch = head && head.height > 0 ? head.block.header.epoch : 0;
    const epochRoot =
      epoch === 0 ? o.genesis : await o.store.getBlock(epochEndHeight({ length: o.epochLength ?? 2 ** 40 }, epoch - 1));
    if (!epochRoot) throw new Error(`the store lacks the last block of epoch ${epoch - 1}`);
    const staking = o.staking && o.epochLength ? await replayStaking(o, o.staking) : null;
    const node = new ValidatorNode(
      o,
      safety,
      head && head.height > 0 ? { block: head.block, qc: head.qc } : null,
      epochRoot,
      staking,
    );
    const saved = await o.store.loadDisseminationState();
    const state = saved ? (unpack(saved) as DisseminationState) : null;
    // Own batches still uncommitted go out again (else their sequences would hold the window back forever); their
    // transactions are in them, so not back in the mempool too.
    const batches: Batch[] = [];
    const certificates: BatchCertificate[] = [];
    const inOwnBatches = new Set<string>();
    for (const digest of state?.ownBatches ?? []) {
      const [b, c] = await Promise.all([o.store.getBatch(digest), o.store.getBatchCertificate(digest)]);
      if (!b) continue; // sealed but never written, so never sent: its sequence is sealed again
      const batch = decodeBatch(b);
      batches.push(batch);
      if (c) certificates.push(decodeBatchCertificate(c));
      for (const t of batch.transactions) inOwnBatches.add(toHex(hashTransaction(t.namespace, t.data)));
    }
    const pending = [];
    for await (const tx of o.store.loadPending()) pending.push(tx);
    for (const tx of pending) node.pendingHere.add(toHex(tx.hash));
    node.mempool.restore(
      pending.filter((tx) => !inOwnBatches.has(toHex(tx.hash))),
      node.now(),
    );
    if (state) {
      node.ownNextSequence = state.nextSequence;
      node.serial(() => node.applyDissemination(node.quorumStore.restore({ ...state, batches, certificates })));
    }
    o.transport.onMessage((from, bytes) => node.onFrame(from, bytes));
    node.serial(() => node.applyConsensus(node.consensus.start(node.now())));
    node.scheduleTick(20);
    return node;
  }

  /** Accepts a transaction durably: resolves only after it is in LevelDB (a 202 means it cannot be lost). */
  async submit(
    tx: Transaction,
    options: { system?: boolean } = {},
  ): Promise<{ ok: true; hash: Uint8Array } | { ok: false; code: string; message: string }> {
    const result = this.mempool.add(tx, this.now(), options);
    if (!result.ok) return { ok: false, code: result.code, message: result.message };
    this.pendingHere.add(toHex(result.hash));
    const durable = () =>
      this.o.store.putPendingTransaction({
        hash: result.hash,
        namespace: tx.namespace,
        data: tx.data,
        receivedAtMs: this.now(),
      });
    if (this.o.mutation === "ack-before-durable") setTimeout(() => void durable().catch(() => {}), 1_000);
    else await durable();
    return { ok: true, hash: result.hash };
  }

  onCommit(listener: (e: CommittedBlockEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called for each newly certified, not yet committed block, in height order along the certified chain. */
  onSoft(listener: (e: SoftBlockEvent) => void): () => void {
    this.softListeners.add(listener);
    return () => this.softListeners.delete(listener);
  }

  /** Transactions in certified, not yet committed blocks. */
  get softCount(): number {
    return this.softTransactions.size;
  }

  /** The position of a transaction in a certified, not yet committed block, if it is in one. */
  softPosition(hash: Uint8Array): SoftPosition | undefined {
    return this.softTransactions.get(toHex(hash));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    if (this.tickTimer) clearTimeout(this.tickTimer);
    await this.queue.catch(() => {});
  }

  // ── the serial queue ───────────────────────────────────────────────────

  private serial(f: () => Promise<void> | void): void {
    this.queue = this.queue
      .then(async () => {
        if (this.stopped) return;
        await f();
        this.observeCertified();
      })
      .catch((e: unknown) => this.log.warn({ err: (e as Error).stack ?? String(e) }, "node step failed"));
  }

  // ── inbound ────────────────────────────────────────────────────────────

  /** Routes the embedded DA layer's frames (tags 32–36) to `handler`; without one they are dropped. */
  onDaFrame(handler: (from: number, bytes: Uint8Array) => void): void {
    this.daHandler = handler;
  }

  private daHandler: ((from: number, bytes: Uint8Array) => void) | null = null;

  private onFrame(from: number, bytes: Uint8Array): void {
    if (isDaFrame(bytes)) {
      this.daHandler?.(from, bytes);
      return;
    }
    if (isDisseminationFrame(bytes)) {
      let message: DisseminationMessage;
      try {
        message = decodeDisseminationMessage(bytes);
      } catch (e) {
        this.badFrame(from, e);
        return;
      }
      if (message.kind === "batch-request") {
        const digests = message.request.digests;
        this.serial(() => this.answerBatchRequest(from, digests));
        return;
      }
      this.serial(() => this.applyDissemination(this.quorumStore.onMessage(from, message, this.now())));
      return;
    }
    let message: ConsensusMessage;
    try {
      message = decodeMessage(bytes);
    } catch (e) {
      this.badFrame(from, e);
      return;
    }
    this.serial(() => this.deliverConsensus(from, message));
  }

  /**
   * Batches still in the quorum store come from memory; committed ones (which
   * it has let go) from LevelDB, so a validator that fell behind can still
   * fetch the data of the blocks it syncs.
   */
  private async answerBatchRequest(from: number, digests: Uint8Array[]): Promise<void> {
    const effects = this.quorumStore.onBatchRequest(from, { digests });
    const reply = effects.find((e) => e.type === "send" && e.message.kind === "batch-response");
    if (reply?.type !== "send" || reply.message.kind !== "batch-response") {
      await this.applyDissemination(effects);
      return;
    }
    const batches = reply.message.response.batches;
    const served = new Set(batches.map((b) => toHex(batchDigest(b))));
    for (const d of digests.slice(0, 64)) {
      if (served.has(toHex(d))) continue;
      const bytes = await this.o.store.getBatch(d);
      if (bytes) batches.push(decodeBatch(bytes));
    }
    await this.applyDissemination(effects);
  }

  private badFrame(from: number, e: unknown): void {
    if (!(e instanceof DecodeError)) throw e;
    this.counters.decodeErrors++;
    this.o.transport.penalize(from, "undecodable frame");
  }

  /** Blocks reach consensus only once their batches are here, so payload validation can stay synchronous. */
  private async deliverConsensus(from: number, message: ConsensusMessage): Promise<void> {
    const blocks =
      message.kind === "proposal" ? [message.block] : message.kind === "sync-response" ? message.blocks : [];
    const missing = new Set<string>();
    for (const b of blocks) {
      this.track(b);
      let payload: BlockBatches;
      try {
        payload = decodeBlockBatches(b.payload);
      } catch {
        continue; // consensus rejects it through the payload validator
      }
      const lacking = this.quorumStore.missingBatches(payload);
      if (lacking.length > 0) {
        for (const d of lacking) missing.add(toHex(d));
        await this.applyDissemination(this.quorumStore.fetchMissing(payload, this.now()));
      }
    }
    if (missing.size > 0) {
      if (this.waiting.length > 64) this.waiting.shift();
      this.waiting.push({ from, message, missing });
      return;
    }
    await this.applyConsensus(this.consensus.handle({ type: "message", from, message }, this.now()));
  }

  private async releaseWaiting(digest: string): Promise<void> {
    const ready = [];
    for (const w of this.waiting) {
      w.missing.delete(digest);
      if (w.missing.size === 0) ready.push(w);
    }
    if (ready.length === 0) return;
    this.waiting = this.waiting.filter((w) => w.missing.size > 0);
    for (const w of ready)
      await this.applyConsensus(
        this.consensus.handle({ type: "message", from: w.from, message: w.message }, this.now()),
      );
  }

  // ── payloads ───────────────────────────────────────────────────────────

  /** Digests proposed in uncommitted ancestors of `parentHash`: never propose or accept them twice. */
  private ancestorDigests(parentHash: Uint8Array): Set<string> {
    const out = new Set<string>();
    let key: string = toHex(parentHash);
    for (let guard = 0; guard < 1024; guard++) {
      const p = this.uncommitted.get(key);
      if (!p) break;
      for (const c of p.batches.certificates) out.add(toHex(c.digest));
      key = toHex(p.block.header.parentHash);
    }
    return out;
  }

  private readonly validatePayload = (block: Block, _parent: Block, context?: PayloadContext): string | null => {
    let payload: BlockBatches;
    try {
      payload = decodeBlockBatches(block.payload);
    } catch (e) {
      return `payload does not decode: ${(e as Error).message}`;
    }
    // A block's own system transactions: the epoch-change commitment, exactly where consensus requires it.
    const expected = context?.epochChange ? [encodeEpochChange(context.epochChange)] : [];
    if (
      payload.system.length !== expected.length ||
      payload.system.some((t, i) => toHex(t) !== toHex(expected[i] as Uint8Array))
    )
      return context?.epochChange
        ? "the epoch's last block must carry exactly the epoch-change commitment to the next committee"
        : "a block carries its own system transactions only at an epoch's end";
    const exclude = this.ancestorDigests(block.header.parentHash);
    const reason = this.quorumStore.validatePayload(payload, { exclude });
    if (reason) return reason;
    if (this.quorumStore.missingBatches(payload).length > 0) return "batch data missing";
    const root = namespaceRoot({ groups: groupByNamespace(this.transactionsOf(payload)) });
    if (toHex(root) !== toHex(block.header.namespaceRoot)) return "namespace root does not match the batches";
    return null;
  };

  /** A block's transactions: its own system transactions first, then its batches' (what the namespace root covers). */
  private transactionsOf(payload: BlockBatches): Transaction[] {
    const own = payload.system.map((data) => ({ namespace: SYSTEM_NAMESPACE, data }));
    return own.length === 0
      ? this.quorumStore.transactionsOf(payload)
      : [...own, ...this.quorumStore.transactionsOf(payload)];
  }

  /** Hands consensus its payload once the pacing allows (see `minBlockIntervalMs`); re-checks every 10 ms. */
  private async proposeWhenDue(
    round: number,
    parentHash: Uint8Array,
    epochChange: EpochChangeCommitment | undefined,
    epoch: number | undefined,
  ): Promise<void> {
    if (this.replica.currentRound !== round) return; // the round ended while we waited
    const now = this.now();
    const parent = this.uncommitted.get(toHex(parentHash));
    const exclude = this.ancestorDigests(parentHash);
    if (parent !== undefined) {
      const carrying =
        exclude.size > 0 ||
        this.quorumStore.pullPayload({ maxBytes: Number.MAX_SAFE_INTEGER, maxBatches: 1, exclude }).certificates
          .length > 0;
      const interval = carrying ? (this.o.minBlockIntervalMs ?? 50) : (this.o.emptyBlockIntervalMs ?? 250);
      const due = parent.seenAt + interval;
      if (now < due) {
        const t = setTimeout(
          () => {
            this.timers.delete(t);
            this.serial(() => this.proposeWhenDue(round, parentHash, epochChange, epoch));
          },
          Math.min(10, due - now),
        );
        this.timers.add(t);
        return;
      }
    }
    const built = this.buildPayload(exclude, epochChange);
    await this.applyConsensus(
      this.consensus.handle(
        {
          type: "payload-ready",
          round,
          payload: built.payload,
          namespaceRoot: built.namespaceRoot,
          ...(epoch === undefined ? {} : { epoch }),
        },
        this.now(),
      ),
    );
  }

  /** The payload of a new block: certified batches not already in its uncommitted ancestors (`exclude`). */
  private buildPayload(
    exclude: Set<string>,
    epochChange: EpochChangeCommitment | undefined,
  ): { payload: Uint8Array; namespaceRoot: Uint8Array } {
    const batches = this.quorumStore.pullPayload({
      maxBytes: this.o.maxBlockBytes ?? 8 * 1024 * 1024,
      maxBatches: 256,
      exclude,
    });
    if (epochChange) batches.system = [encodeEpochChange(epochChange)];
    const transactions = this.transactionsOf(batches);
    return {
      payload: encodeBlockBatches(batches),
      namespaceRoot: namespaceRoot({ groups: groupByNamespace(transactions) }),
    };
  }

  // ── effects ────────────────────────────────────────────────────────────

  private async applyConsensus(effects: ConsensusEffect[]): Promise<void> {
    for (const e of effects) {
      switch (e.type) {
        case "send":
          // Consensus frames take the urgent lane: votes never wait behind megabytes of batches.
          this.o.transport.send(e.to, encodeMessage(e.message), URGENT);
          break;
        case "broadcast":
          this.o.transport.broadcast(encodeMessage(e.message), URGENT);
          if (e.message.kind === "proposal") this.track(e.message.block);
          break;
        case "request-sync":
          this.o.transport.send(e.to, encodeMessage(e.request), URGENT);
          break;
        case "persist": {
          // The replica holds the messages that need this state until `persisted`; meanwhile the
          // queue goes on (the write joins the store's group commit).
          const seq = e.seq;
          this.o.store.saveSafetyState(e.state).then(
            () => this.serial(() => this.applyConsensus(this.consensus.handle({ type: "persisted", seq }, this.now()))),
            (err: unknown) => this.log.warn({ err: String(err) }, "could not persist the safety state; staying silent"),
          );
          break;
        }
        case "set-timer": {
          const timer = {
            type: "timer" as const,
            round: e.round,
            ...(e.epoch === undefined ? {} : { epoch: e.epoch }),
          };
          const t = setTimeout(() => {
            this.timers.delete(t);
            if (e.round === this.replica.currentRound)
              this.log.debug?.({ round: e.round, afterMs: e.delayMs }, "round timed out");
            this.serial(() => this.applyConsensus(this.consensus.handle(timer, this.now())));
          }, e.delayMs);
          this.timers.add(t);
          break;
        }
        case "request-payload":
          await this.proposeWhenDue(e.round, e.parentHash, e.epochChange, e.epoch);
          break;
        case "commit":
          await this.commit(e.block, e.blockHash, e.qc, e.finality);
          break;
        case "report-evidence": {
          this.counters.evidence++;
          this.log.warn(
            { evidence: e.evidence.kind, author: e.evidence.author, round: e.evidence.round },
            "equivocation",
          );
          // Into a block, where every ledger slashes the offender (a duplicate is refused by the mempool or the ledger).
          if (this.staking) {
            const data = encodeStakingTransaction({ kind: "evidence", evidence: e.evidence });
            const r = await this.submit({ namespace: SYSTEM_NAMESPACE, data }, { system: true });
            if (!r.ok && r.code !== "DUPLICATE") this.log.warn({ code: r.code }, "could not submit the evidence");
          }
          break;
        }
        case "rejected":
          this.counters.rejected++;
          this.log.debug?.({ from: e.from, reason: e.reason, round: this.replica.currentRound }, "consensus refused");
          if (e.from !== null && e.from !== this.o.self) this.o.transport.penalize(e.from, e.reason, 1);
          break;
      }
    }
  }

  /** Every block consensus sees arrives in a proposal or a sync response; keep its payload until commit. */
  private track(block: Block): void {
    try {
      if (block.header.height <= this.replica.committedHeight) return;
      const key = toHex(hashHeader(block.header));
      if (this.uncommitted.has(key)) return;
      this.uncommitted.set(key, { block, batches: decodeBlockBatches(block.payload), seenAt: this.now() });
    } catch {
      // not ours to judge: the core rejects invalid payloads
    }
  }

  private async commit(
    block: Block,
    blockHash: Uint8Array,
    qc: Block["justify"],
    finality: Block["justify"],
  ): Promise<void> {
    const payload = decodeBlockBatches(block.payload);
    const transactions = this.transactionsOf(payload);
    const height = block.header.height;
    const txIndex = this.softBlocks.get(toHex(blockHash))?.index ?? indexTransactions(transactions, height);
    for (const t of txIndex) t.pendingHere = this.pendingHere.delete(toHex(t.hash));
    // Batch data is already on disk (every batch passes through `persist-batch`) and the certificates are inside
    // the block's payload. The quorum store's commit watermarks go in the block's own write: a restart never sees
    // a block committed but its batches not (their sequences would look open forever).
    const retired = this.quorumStore.onCommitted(payload);
    await this.o.store.commitBlocks([{ block, blockHash, qc, finality }], txIndex, () => this.disseminationState());
    this.mempool.remove(txIndex.map((t) => t.hash));
    await this.applyDissemination(retired);
    this.forgetUpTo(height);
    this.staking?.applyBlock(height, systemTransactionsOf(transactions));
    this.counters.commits++;
    this.counters.transactionsFinal += transactions.length;
    for (const l of this.listeners) l({ height, block, blockHash, transactions });
  }

  /** Drops what is kept of blocks at or below a committed height: they are final or will never be. */
  private forgetUpTo(height: number): void {
    for (const [key, u] of this.uncommitted) if (u.block.header.height <= height) this.uncommitted.delete(key);
    for (const [key, soft] of this.softBlocks) {
      if (soft.height > height) continue;
      for (const t of soft.index) {
        const h = toHex(t.hash);
        if (this.softTransactions.get(h)?.blockHash === key) this.softTransactions.delete(h);
      }
      this.softBlocks.delete(key);
    }
  }

  /**
   * After each step: if consensus now holds a certificate for a block it has
   * not committed, that block and its certified ancestors become soft.
   */
  private observeCertified(): void {
    const certified = toHex(this.replica.highestQc.blockHash);
    if (certified === this.lastCertified) return;
    this.lastCertified = certified;
    const chain: { key: string; block: Block; batches: BlockBatches }[] = [];
    for (let key = certified, guard = 0; guard < 1024 && !this.softBlocks.has(key); guard++) {
      const u = this.uncommitted.get(key);
      if (!u || u.block.header.height <= this.replica.committedHeight) break;
      chain.push({ key, ...u });
      key = toHex(u.block.header.parentHash);
    }
    for (const { key, block, batches } of chain.reverse()) {
      let transactions: Transaction[];
      try {
        transactions = this.transactionsOf(batches);
      } catch {
        return; // batch data not here (cannot happen for a block consensus accepted); soft is only a hint
      }
      const height = block.header.height;
      const index = indexTransactions(transactions, height);
      for (const t of index)
        this.softTransactions.set(toHex(t.hash), { height, index: t.index, namespace: t.namespace, blockHash: key });
      this.softBlocks.set(key, { height, index });
      const event = { height, block, blockHash: hashHeader(block.header), transactions };
      for (const l of this.softListeners) l(event);
    }
  }

  private async applyDissemination(effects: QuorumStoreEffect[]): Promise<void> {
    for (const e of effects) {
      switch (e.type) {
        case "broadcast":
          this.o.transport.broadcast(encodeDisseminationMessage(e.message));
          break;
        case "send":
          this.o.transport.send(e.to, encodeDisseminationMessage(e.message));
          break;
        case "persist-batch": {
          // Durable before it is acknowledged or broadcast (`batchPersisted` releases that), but the
          // queue does not wait for the fsync: writes of many batches share one group commit.
          let written = this.o.store.putBatch(e.digest, encodeBatch(e.batch));
          if (e.batch.author === this.o.self && e.batch.sequence >= this.ownNextSequence) {
            this.ownNextSequence = e.batch.sequence + 1;
            // A restart must never reuse a sequence it sent. The batch first, and it is sent only once written:
            // a saved sequence whose batch is not on disk was never sent, and `restore` seals it again.
            written = written.then(() => this.saveDisseminationState());
          }
          const digest = e.digest;
          written.then(
            () =>
              this.serial(async () => {
                await this.applyDissemination(this.quorumStore.batchPersisted(digest));
                await this.releaseWaiting(toHex(digest));
              }),
            (err: unknown) => this.log.warn({ err: String(err) }, "could not persist a batch; not acknowledging it"),
          );
          break;
        }
        case "certified":
          await this.o.store.putBatchCertificate(e.certificate.digest, encodeBatchCertificate(e.certificate), {
            sync: false,
          });
          break;
        case "rejected":
          this.counters.rejected++;
          if (e.from !== this.o.self && !e.blameless) this.o.transport.penalize(e.from, e.reason, 1);
          break;
        case "discard-batch":
          break;
        case "dropped-transaction":
          this.pendingHere.delete(toHex(hashTransaction(e.transaction.namespace, e.transaction.data)));
          await this.o.store.markDropped(hashTransaction(e.transaction.namespace, e.transaction.data), e.reason);
          break;
      }
    }
  }

  private disseminationState(): Uint8Array {
    const state: DisseminationState = {
      nextSequence: this.ownNextSequence,
      watermarks: this.quorumStore.watermarks(),
      ownBatches: this.quorumStore.ownBatchDigests(),
    };
    return pack(state);
  }

  private async saveDisseminationState(): Promise<void> {
    await this.o.store.saveDisseminationState(this.disseminationState());
  }

  /** Moves transactions from the mempool into batches and drives the quorum store's timers. */
  private scheduleTick(delayMs: number): void {
    if (this.stopped) return;
    this.tickTimer = setTimeout(() => {
      this.serial(async () => {
        const room = this.quorumStore.room();
        if (room.transactions > 0 && room.bytes > 0) {
          const taken = this.mempool.take({ maxBytes: room.bytes, maxCount: room.transactions });
          if (taken.length > 0)
            await this.applyDissemination(
              this.quorumStore.addTransactions(
                taken.map((t) => ({ namespace: t.namespace, data: t.data })),
                this.now(),
              ),
            );
        }
        await this.applyDissemination(this.quorumStore.tick(this.now()));
        const expired = this.mempool.expire(this.now());
        for (const d of expired) this.pendingHere.delete(toHex(d.hash));
        if (expired.length > 0)
          await this.o.store.markDroppedMany(expired.map((d) => ({ hash: d.hash, reason: d.reason })));
      });
      this.scheduleTick(10);
    }, delayMs);
  }
}
