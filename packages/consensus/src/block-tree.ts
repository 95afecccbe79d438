/**
 * The blocks a replica knows: a tree rooted at the last committed block, plus
 * a window of committed blocks kept to serve peers that sync.
 */
import { type Block, type QuorumCertificate, toHex } from "@ordo/core";

export interface StoredBlock {
  block: Block;
  hash: Uint8Array;
  key: string;
}

export class BlockTree {
  private readonly byHash = new Map<string, StoredBlock>();
  /** Blocks above the root, not yet committed. */
  private readonly uncommitted = new Map<string, StoredBlock>();
  /** Committed blocks by height, oldest first (a bounded window). */
  private readonly committedByHeight = new Map<number, StoredBlock>();
  private lowestRetained: number;
  root: StoredBlock;
  /** QC certifying the root, so descendants can be checked against it after a restart. */
  rootQc: QuorumCertificate;

  constructor(
    root: Block,
    rootHash: Uint8Array,
    rootQc: QuorumCertificate,
    private readonly retainCommitted: number,
  ) {
    this.root = { block: root, hash: rootHash, key: toHex(rootHash) };
    this.rootQc = rootQc;
    this.byHash.set(this.root.key, this.root);
    this.committedByHeight.set(root.header.height, this.root);
    this.lowestRetained = root.header.height;
  }

  get(hash: Uint8Array): StoredBlock | undefined {
    return this.byHash.get(toHex(hash));
  }

  getByKey(key: string): StoredBlock | undefined {
    return this.byHash.get(key);
  }

  has(hash: Uint8Array): boolean {
    return this.byHash.has(toHex(hash));
  }

  committedAt(height: number): StoredBlock | undefined {
    return this.committedByHeight.get(height);
  }

  /** Inserts a block whose parent is known. */
  insert(block: Block, hash: Uint8Array): StoredBlock {
    const key = toHex(hash);
    const existing = this.byHash.get(key);
    if (existing) return existing;
    const stored = { block, hash, key };
    this.byHash.set(key, stored);
    this.uncommitted.set(key, stored);
    return stored;
  }

  parentOf(b: StoredBlock): StoredBlock | undefined {
    return this.byHash.get(toHex(b.block.header.parentHash));
  }

  /**
   * Blocks from just above the root up to `target`, ascending. Undefined if
   * `target` does not descend from the root (it conflicts with what is committed).
   */
  pathFromRoot(target: StoredBlock): StoredBlock[] | undefined {
    const path: StoredBlock[] = [];
    let cur: StoredBlock | undefined = target;
    while (cur && cur.block.header.height > this.root.block.header.height) {
      path.push(cur);
      cur = this.parentOf(cur);
    }
    if (!cur || cur.key !== this.root.key) return undefined;
    return path.reverse();
  }

  /** Moves the root to a newly committed block and forgets branches that no longer matter. */
  commit(path: StoredBlock[], newRootQc: QuorumCertificate): void {
    for (const b of path) this.committedByHeight.set(b.block.header.height, b);
    const newRoot = path[path.length - 1];
    if (!newRoot) return;
    this.root = newRoot;
    this.rootQc = newRootQc;
    const rootHeight = newRoot.block.header.height;
    for (const b of path) this.uncommitted.delete(b.key);
    for (const [key, b] of this.uncommitted) {
      if (b.block.header.height <= rootHeight || !this.descendsFromRoot(b)) {
        this.uncommitted.delete(key);
        this.byHash.delete(key);
      }
    }
    while (rootHeight - this.lowestRetained >= this.retainCommitted) {
      const old = this.committedByHeight.get(this.lowestRetained);
      if (old) this.byHash.delete(old.key);
      this.committedByHeight.delete(this.lowestRetained);
      this.lowestRetained++;
    }
  }

  private descendsFromRoot(b: StoredBlock): boolean {
    let cur: StoredBlock | undefined = b;
    while (cur && cur.block.header.height > this.root.block.header.height) cur = this.parentOf(cur);
    return cur !== undefined && cur.key === this.root.key;
  }

  get size(): number {
    return this.byHash.size;
  }
}
