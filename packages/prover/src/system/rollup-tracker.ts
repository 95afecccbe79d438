/**
 * A registered reference rollup as validators (and provers) follow it: its
 * finalized transfers, cut into proof batches in finalized order, with each
 * batch's public inputs computed by running the state transition in JS. A
 * proof is then checked against inputs nobody but the chain chose.
 */
import { AccountTree } from "../rollup/account-tree.js";
import { type BatchWitness, buildWitnessInput } from "../rollup/batch.js";
import { REFERENCE_CIRCUIT, type RollupCircuit } from "../rollup/circuits.js";
import { chunkBatches, transfersFromFinalized } from "../rollup/transfer.js";

export interface TrackedBatch {
  height: number;
  index: number;
  /** The state before the batch (kept until the batch is proven: a prover builds its witness from it). */
  pre: AccountTree | null;
  transfers: ReturnType<typeof transfersFromFinalized>;
  oldRoot: bigint;
  newRoot: bigint;
  commitment: bigint;
  proven: boolean;
  /** The proof bundle the market accepted (kept for relayers to post to the L1). */
  proof: Uint8Array | null;
}

/** The devnet genesis of every reference rollup: accounts 0–15 hold 1,000,000 each. */
export function referenceRollupGenesis(circuit: RollupCircuit = REFERENCE_CIRCUIT): AccountTree {
  return new AccountTree(
    circuit.depth,
    Array.from({ length: 16 }, (_, index) => ({ index, balance: 1_000_000n })),
  );
}

export class RollupTracker {
  readonly namespace: number;
  readonly circuit: RollupCircuit;
  private state: AccountTree;
  private readonly batches = new Map<string, TrackedBatch>();
  private readonly order: string[] = [];

  constructor(
    namespace: number,
    circuit: RollupCircuit = REFERENCE_CIRCUIT,
    genesis: AccountTree = referenceRollupGenesis(circuit),
  ) {
    if (genesis.depth !== circuit.depth)
      throw new RangeError(`genesis depth ${genesis.depth} is not the circuit's ${circuit.depth}`);
    this.namespace = namespace;
    this.circuit = circuit;
    this.state = genesis;
  }

  /** Takes the namespace's finalized transactions of the block at `height`; returns the proof batches they make. */
  finalize(height: number, blobs: readonly Uint8Array[]): TrackedBatch[] {
    const out: TrackedBatch[] = [];
    for (const [index, transfers] of chunkBatches(transfersFromFinalized(blobs), this.circuit.batchSize).entries()) {
      const w = buildWitnessInput(this.state, transfers, this.circuit.batchSize);
      const batch: TrackedBatch = {
        height,
        index,
        pre: this.state,
        transfers,
        oldRoot: w.oldRoot,
        newRoot: w.newRoot,
        commitment: w.commitment,
        proven: false,
        proof: null,
      };
      this.state = w.state;
      const key = `${height}/${index}`;
      this.batches.set(key, batch);
      this.order.push(key);
      out.push(batch);
    }
    return out;
  }

  batch(height: number, index: number): Readonly<TrackedBatch> | undefined {
    return this.batches.get(`${height}/${index}`);
  }

  /** The witness a prover needs for a batch (null once the batch is proven and its state dropped). */
  witness(height: number, index: number): BatchWitness | null {
    const b = this.batches.get(`${height}/${index}`);
    return b?.pre ? buildWitnessInput(b.pre, b.transfers, this.circuit.batchSize) : null;
  }

  markProven(height: number, index: number, proof: Uint8Array | null = null): void {
    const b = this.batches.get(`${height}/${index}`);
    if (!b) return;
    b.proven = true;
    b.pre = null;
    b.proof = proof;
  }

  /** Up to `limit` batches in finalized order, from the `from`-th (0-based): the rollup's history. */
  batchesFrom(from: number, limit: number): Readonly<TrackedBatch>[] {
    return this.order.slice(from, from + limit).map((k) => this.batches.get(k) as TrackedBatch);
  }

  /** The state root after the longest run of proven batches from genesis: what the rollup's proofs establish. */
  get provenRoot(): bigint {
    let root =
      this.order.length > 0 ? (this.batches.get(this.order[0] as string) as TrackedBatch).oldRoot : this.state.root;
    for (const key of this.order) {
      const b = this.batches.get(key) as TrackedBatch;
      if (!b.proven) break;
      root = b.newRoot;
    }
    return root;
  }

  get latestRoot(): bigint {
    return this.state.root;
  }

  get counts(): { batches: number; proven: number } {
    let proven = 0;
    for (const b of this.batches.values()) if (b.proven) proven++;
    return { batches: this.batches.size, proven };
  }
}
