/**
 * What every validator runs on each committed block, in height order: the
 * block's system transactions (namespace 0: decoded, signature and nonce
 * checked, proofs verified against public inputs the validator computed
 * itself, in every proof system the rollup's circuit requires) through the
 * prover market, then the block's batches of registered rollups as new jobs.
 * Deterministic: the same blocks give the same market on every validator.
 */
import { decodeEpochChange } from "@ordo/core";
import { ProverMarket } from "../market/market.js";
import type { FinalizedBatch, MarketConfig, MarketEvent, MarketTransaction } from "../market/types.js";
import { CIRCUITS, circuitByName, type ProofSystem, type RollupCircuit } from "../rollup/circuits.js";
import { decodeProofBundle, loadVerificationKey, verifyBatch, verifyingKeyHash } from "../rollup/proofs.js";
import { RollupTracker } from "./rollup-tracker.js";
import {
  accountOf,
  decodeSystemTransaction,
  SYSTEM_NAMESPACE,
  type SystemTransaction,
  verifySystemTransaction,
} from "./system-transaction.js";

export interface ExecutorOptions {
  chainId: number;
  /** Spendable balances at genesis (account = hex of the ed25519 public key). */
  balances: Record<string, bigint>;
  config?: Partial<MarketConfig>;
}

export interface BlockTransaction {
  namespace: number;
  data: Uint8Array;
}

export class MarketExecutor {
  readonly market: ProverMarket;
  readonly chainId: number;
  private readonly nonces = new Map<string, number>();
  private readonly trackers = new Map<number, RollupTracker>();
  /** Each known circuit's verification keys and their hash (what `register-rollup` must name with it). */
  private readonly keys = new Map<string, { hash: string; keys: Map<ProofSystem, object> }>(
    CIRCUITS.map((c) => [
      c.name,
      { hash: verifyingKeyHash(c), keys: new Map(c.systems.map((s) => [s, loadVerificationKey(c, s)])) },
    ]),
  );
  counters = { systemTransactions: 0, refused: 0, proofsVerified: 0, proofsInvalid: 0 };

  constructor(o: ExecutorOptions) {
    this.chainId = o.chainId;
    this.market = new ProverMarket({ balances: o.balances }, o.config);
  }

  /** The verifying-key hash a rollup must register with `circuit`. */
  verifyingKeyHashOf(circuit: RollupCircuit): string {
    const k = this.keys.get(circuit.name);
    if (!k) throw new RangeError(`unknown circuit ${circuit.name}`);
    return k.hash;
  }

  rollup(namespace: number): RollupTracker | undefined {
    return this.trackers.get(namespace);
  }

  /** Namespaces of the registered rollups this executor follows, ascending. */
  rollupNamespaces(): number[] {
    return [...this.trackers.keys()].sort((a, b) => a - b);
  }

  /** The next nonce the market expects from an account. */
  nextNonce(account: string): number {
    return this.nonces.get(account) ?? 0;
  }

  async executeBlock(height: number, transactions: readonly BlockTransaction[]): Promise<MarketEvent[]> {
    const events: MarketEvent[] = [];
    for (const t of transactions) {
      if (t.namespace !== SYSTEM_NAMESPACE) continue;
      // Consensus's own system transaction (the epoch's last block commits to the next committee): not the market's.
      if (decodeEpochChange(t.data)) continue;
      const tx = this.admit(t.data);
      if (!tx) continue;
      // A rollup nobody could prove would only turn into slashed jobs: refuse circuits this network cannot verify.
      if (tx.body.kind === "register-rollup" && this.keys.get(tx.body.circuit)?.hash !== tx.body.verifyingKeyHash) {
        this.counters.refused++;
        continue;
      }
      const from = accountOf(tx.from);
      const applied = this.market.apply(height, from, await this.toMarket(from, tx));
      for (const e of applied)
        if (e.type === "proof-accepted") {
          const b = this.market.job(e.job)?.batch;
          if (b)
            this.trackers
              .get(b.namespace)
              ?.markProven(b.height, b.index, tx.body.kind === "submit-proof" ? tx.body.proof : null);
        }
      events.push(...applied);
      if (
        tx.body.kind === "register-rollup" &&
        this.market.rollup(tx.body.namespace) &&
        !this.trackers.has(tx.body.namespace)
      )
        this.trackers.set(
          tx.body.namespace,
          new RollupTracker(tx.body.namespace, circuitByName(tx.body.circuit) as RollupCircuit),
        );
    }
    const batches: FinalizedBatch[] = [];
    const byNamespace = new Map<number, Uint8Array[]>();
    for (const t of transactions) {
      if (!this.trackers.has(t.namespace)) continue;
      const list = byNamespace.get(t.namespace) ?? [];
      list.push(t.data);
      byNamespace.set(t.namespace, list);
    }
    for (const [ns, blobs] of [...byNamespace.entries()].sort((a, b) => a[0] - b[0]))
      for (const b of (this.trackers.get(ns) as RollupTracker).finalize(height, blobs))
        batches.push({ namespace: ns, height, index: b.index, sizeClass: b.transfers.length });
    const closing = this.market.endBlock(height, batches);
    events.push(...closing);
    return events;
  }

  /** Decodes, checks the signature and the sender's nonce; null (and counted) if any fails. */
  private admit(bytes: Uint8Array): SystemTransaction | null {
    this.counters.systemTransactions++;
    let tx: SystemTransaction;
    try {
      tx = decodeSystemTransaction(bytes);
    } catch {
      this.counters.refused++;
      return null;
    }
    const from = accountOf(tx.from);
    if (tx.nonce !== this.nextNonce(from) || !verifySystemTransaction(this.chainId, tx)) {
      this.counters.refused++;
      return null;
    }
    this.nonces.set(from, tx.nonce + 1);
    return tx;
  }

  /** The market's form of a system transaction: a proof becomes the validators' verdict on it. */
  private async toMarket(from: string, tx: SystemTransaction): Promise<MarketTransaction> {
    const body = tx.body;
    if (body.kind !== "submit-proof") return body;
    const job = this.market.job(body.job);
    // Verify only what the market would accept from this sender; anything else it refuses on its own.
    if (!job?.batch || job.assignee?.prover !== from || job.status !== "assigned")
      return { kind: "submit-proof", job: body.job, verdict: "invalid" };
    const valid = await this.verifyProof(job.batch, body.proof);
    this.counters.proofsVerified++;
    if (!valid) this.counters.proofsInvalid++;
    return { kind: "submit-proof", job: body.job, verdict: valid ? "valid" : "invalid" };
  }

  /** Valid iff the bundle holds exactly one proof per system of the rollup's circuit, and each verifies. */
  private async verifyProof(batch: FinalizedBatch, proofBytes: Uint8Array): Promise<boolean> {
    const tracker = this.trackers.get(batch.namespace);
    const tracked = tracker?.batch(batch.height, batch.index);
    const keys = tracker && this.keys.get(tracker.circuit.name)?.keys;
    const bundle = decodeProofBundle(proofBytes);
    if (!tracker || !tracked || !keys || !bundle) return false;
    const systems = tracker.circuit.systems;
    if (Object.keys(bundle).length !== systems.length) return false;
    for (const system of systems) {
      const proof = bundle[system];
      if (!proof || !(await verifyBatch(keys.get(system) as object, tracked, proof, system))) return false;
    }
    return true;
  }
}
