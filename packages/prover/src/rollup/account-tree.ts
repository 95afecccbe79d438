/** The reference rollup's state: 2^depth accounts (balance, nonce) as leaves of a binary Poseidon Merkle tree. */
import { FIELD, leafHash, poseidonHash } from "./poseidon.js";
import { U64_LIMIT } from "./transfer.js";

export interface Account {
  balance: bigint;
  nonce: bigint;
}

export class AccountTree {
  readonly depth: number;
  readonly size: number;
  private balances: bigint[];
  private nonces: bigint[];
  /** levels[0] are the leaves, levels[depth] = [root]. */
  private levels: bigint[][];

  constructor(depth: number, genesis: Iterable<{ index: number; balance: bigint; nonce?: bigint }> = []) {
    if (!Number.isInteger(depth) || depth < 1 || depth > 20) throw new RangeError("depth must be in 1..20");
    this.depth = depth;
    this.size = 2 ** depth;
    this.balances = new Array<bigint>(this.size).fill(0n);
    this.nonces = new Array<bigint>(this.size).fill(0n);
    this.levels = [new Array<bigint>(this.size).fill(leafHash(0n, 0n))];
    for (let l = 1; l <= depth; l++) {
      const below = (this.levels[l - 1] as bigint[])[0] as bigint;
      this.levels.push(new Array<bigint>(this.size >> l).fill(poseidonHash([below, below])));
    }
    for (const g of genesis) this.setAccount(g.index, { balance: g.balance, nonce: g.nonce ?? 0n });
  }

  get root(): bigint {
    return (this.levels[this.depth] as bigint[])[0] as bigint;
  }

  inRange(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.size;
  }

  getAccount(index: number): Account {
    if (!this.inRange(index)) throw new RangeError(`account index ${index} is out of range`);
    return { balance: this.balances[index] as bigint, nonce: this.nonces[index] as bigint };
  }

  setAccount(index: number, a: Account): void {
    if (!this.inRange(index)) throw new RangeError(`account index ${index} is out of range`);
    // The circuit's comparisons rely on balances below 2^64.
    if (a.balance < 0n || a.balance >= U64_LIMIT) throw new RangeError("balance is outside uint64");
    if (a.nonce < 0n || a.nonce >= FIELD) throw new RangeError("nonce is outside the field");
    this.writeLeaf(index, a.balance, a.nonce);
  }

  /** Writes a leaf without range checks: only for tests that build states the circuit must refuse. */
  writeLeafUnchecked(index: number, balance: bigint, nonce: bigint): void {
    this.writeLeaf(index, balance, nonce);
  }

  /** Sibling hashes from the leaf level up (the circuit's `siblings[]`). */
  siblings(index: number): bigint[] {
    if (!this.inRange(index)) throw new RangeError(`account index ${index} is out of range`);
    const out: bigint[] = [];
    for (let l = 0, i = index; l < this.depth; l++, i >>= 1) out.push((this.levels[l] as bigint[])[i ^ 1] as bigint);
    return out;
  }

  clone(): AccountTree {
    const t = Object.create(AccountTree.prototype) as AccountTree;
    Object.assign(t, {
      depth: this.depth,
      size: this.size,
      balances: this.balances.slice(),
      nonces: this.nonces.slice(),
      levels: this.levels.map((l) => l.slice()),
    });
    return t;
  }

  private writeLeaf(index: number, balance: bigint, nonce: bigint): void {
    this.balances[index] = balance;
    this.nonces[index] = nonce;
    let h = leafHash(balance, nonce);
    let i = index;
    (this.levels[0] as bigint[])[i] = h;
    for (let l = 1; l <= this.depth; l++) {
      const below = this.levels[l - 1] as bigint[];
      h = (i & 1) === 0 ? poseidonHash([h, below[i + 1] as bigint]) : poseidonHash([below[i - 1] as bigint, h]);
      i >>= 1;
      (this.levels[l] as bigint[])[i] = h;
    }
  }
}
