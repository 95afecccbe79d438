/**
 * Runs the prover market (`MarketExecutor`) on every committed block, in
 * height order. The market is derived state: at start it is rebuilt by
 * replaying the committed blocks in LevelDB, then it follows new commits.
 */
import { isStakingTransaction } from "@ordo/consensus";
import { type ExecutorOptions, MarketExecutor } from "@ordo/prover";
import { blockTransactions } from "../api/namespace-blocks.js";
import type { ValidatorNode } from "../node/validator-node.js";
import type { NodeStore } from "../storage/node-store.js";

export class MarketService {
  readonly executor: MarketExecutor;
  private executed = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly log: { warn(fields: object, msg?: string): void };

  constructor(options: ExecutorOptions, log: { warn(fields: object, msg?: string): void } = { warn() {} }) {
    this.executor = new MarketExecutor(options);
    this.log = log;
  }

  /** Height of the last block the market has executed. */
  get height(): number {
    return this.executed;
  }

  /** Replays the committed chain, then follows the node's commits. */
  async start(node: ValidatorNode, store: NodeStore): Promise<void> {
    const buffered: { height: number; run: () => Promise<void> }[] = [];
    let replaying = true;
    node.onCommit((e) => {
      const run = () => this.execute(e.height, e.transactions);
      if (replaying) buffered.push({ height: e.height, run });
      else this.enqueue(run);
    });
    const latest = store.latestHeight ?? 0;
    for (let h = 1; h <= latest; h++) {
      const block = await store.getBlock(h);
      if (!block) break;
      await this.execute(h, await blockTransactions(store, block));
    }
    replaying = false;
    for (const b of buffered) if (b.height > this.executed) this.enqueue(b.run);
  }

  /** Resolves when every commit seen so far has been executed. */
  idle(): Promise<void> {
    return this.chain;
  }

  private enqueue(run: () => Promise<void>): void {
    this.chain = this.chain.then(run).catch((e: unknown) => this.log.warn({ err: String(e) }, "market step failed"));
  }

  private async execute(height: number, transactions: { namespace: number; data: Uint8Array }[]): Promise<void> {
    if (height !== this.executed + 1) return; // already executed (replay overlap) or out of order
    // Staking transactions share namespace 0 with the market's: they are the staking ledger's, not refused here.
    const ours = transactions.filter((t) => t.namespace !== 0 || !isStakingTransaction(t.data));
    await this.executor.executeBlock(height, ours);
    this.executed = height;
  }
}
