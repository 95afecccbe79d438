/**
 * What a proof of a batch says, computed in JS exactly as the circuit does:
 * the state transition of each transfer, the batch commitment, and the
 * circuit's input (the witness) for snarkjs.
 *
 * A transfer is applied iff `from` and `to` are below 2^depth, `nonce` is the
 * sender's, the sender holds `amount`, and the recipient's balance stays
 * below 2^64; any other transfer is a no-op that the proof shows to be one.
 */
import type { AccountTree } from "./account-tree.js";
import { poseidonHash } from "./poseidon.js";
import { normalizeTransfer, type Transfer, U64_LIMIT } from "./transfer.js";

/** Parameters of the reference circuit, `circuits/rollup_batch.circom` (the tests check them against its manifest). */
export const DEPTH = 6;
export const BATCH_SIZE = 2;

export type TransferResult =
  | { applied: true }
  | {
      applied: false;
      reason: "from-out-of-range" | "to-out-of-range" | "bad-nonce" | "insufficient-balance" | "recipient-overflow";
    };

/**
 * `Poseidon2(count, c_count)` with `c_0 = 0` and `c_{i+1} = Poseidon5(c_i, from, to, amount, nonce)`:
 * binds a proof to exactly these transfers, in this order. Validators recompute
 * it from the finalized bytes (`batchCommitment(transfersFromFinalized(blobs))`).
 */
export function batchCommitment(transfers: readonly Transfer[]): bigint {
  let c = 0n;
  for (const tx of transfers) {
    const t = normalizeTransfer(tx);
    c = poseidonHash([c, BigInt(t.from), BigInt(t.to), t.amount, t.nonce]);
  }
  return poseidonHash([BigInt(transfers.length), c]);
}

interface StepWitness {
  sender: { balance: bigint; nonce: bigint };
  senderSiblings: bigint[];
  recipient: { balance: bigint; nonce: bigint };
  recipientSiblings: bigint[];
}

/** Applies one transfer to `state` (mutating it) and returns what the circuit needs to check that step. */
function step(state: AccountTree, t: Transfer): { result: TransferResult; witness: StepWitness } {
  const fromIndex = t.from % state.size; // the circuit walks the low `depth` bits
  const toIndex = t.to % state.size;
  const sender = state.getAccount(fromIndex);
  const senderSiblings = state.siblings(fromIndex);
  let reason: Extract<TransferResult, { applied: false }>["reason"] | null = null;
  if (!state.inRange(t.from)) reason = "from-out-of-range";
  else if (!state.inRange(t.to)) reason = "to-out-of-range";
  else if (t.nonce !== sender.nonce) reason = "bad-nonce";
  else if (sender.balance < t.amount) reason = "insufficient-balance";
  const debited = reason === null;
  if (debited) state.setAccount(fromIndex, { balance: sender.balance - t.amount, nonce: sender.nonce + 1n });
  // The recipient is read after the debit, so a self-transfer only bumps the nonce.
  const recipient = state.getAccount(toIndex);
  const recipientSiblings = state.siblings(toIndex);
  if (debited && recipient.balance + t.amount >= U64_LIMIT) reason = "recipient-overflow";
  if (reason === null) state.setAccount(toIndex, { balance: recipient.balance + t.amount, nonce: recipient.nonce });
  else if (debited) state.setAccount(fromIndex, sender); // roll the debit back
  return {
    result: reason === null ? { applied: true } : { applied: false, reason },
    witness: { sender, senderSiblings, recipient, recipientSiblings },
  };
}

/** Applies a transfer to `state` (mutating it); an invalid one changes nothing and says why. */
export function applyTransfer(state: AccountTree, tx: Transfer): TransferResult {
  return step(state, normalizeTransfer(tx)).result;
}

export interface BatchWitness {
  /** The circuit input (decimal strings) for snarkjs's `fullProve`. */
  input: Record<string, string | string[] | string[][]>;
  oldRoot: bigint;
  newRoot: bigint;
  commitment: bigint;
  results: TransferResult[];
  /** The state after the batch (the input state is left as it was). */
  state: AccountTree;
}

/**
 * The witness of one batch of at most `batchSize` finalized transfers, valid or
 * not, in order, for a circuit of `batchSize` slots and `state.depth` levels.
 */
export function buildWitnessInput(
  state: AccountTree,
  transfers: readonly Transfer[],
  batchSize: number = BATCH_SIZE,
): BatchWitness {
  if (transfers.length > batchSize)
    throw new RangeError(`a batch holds at most ${batchSize} transfers, got ${transfers.length}`);
  const txs = transfers.map(normalizeTransfer);
  const post = state.clone();
  const str = (x: bigint | number) => x.toString();
  const commitment = batchCommitment(txs);
  const cols = {
    from: [] as string[],
    to: [] as string[],
    amount: [] as string[],
    nonce: [] as string[],
    senderBalance: [] as string[],
    senderNonce: [] as string[],
    senderSiblings: [] as string[][],
    recipientBalance: [] as string[],
    recipientNonce: [] as string[],
    recipientSiblings: [] as string[][],
  };
  const results: TransferResult[] = [];
  for (let i = 0; i < batchSize; i++) {
    const t = txs[i];
    if (t === undefined) {
      // A padding slot: all zero, disabled in the circuit (slot index ≥ count).
      for (const k of [
        "from",
        "to",
        "amount",
        "nonce",
        "senderBalance",
        "senderNonce",
        "recipientBalance",
        "recipientNonce",
      ] as const)
        cols[k].push("0");
      cols.senderSiblings.push(new Array<string>(state.depth).fill("0"));
      cols.recipientSiblings.push(new Array<string>(state.depth).fill("0"));
      continue;
    }
    const { result, witness: w } = step(post, t);
    results.push(result);
    cols.from.push(str(t.from));
    cols.to.push(str(t.to));
    cols.amount.push(str(t.amount));
    cols.nonce.push(str(t.nonce));
    cols.senderBalance.push(str(w.sender.balance));
    cols.senderNonce.push(str(w.sender.nonce));
    cols.senderSiblings.push(w.senderSiblings.map(str));
    cols.recipientBalance.push(str(w.recipient.balance));
    cols.recipientNonce.push(str(w.recipient.nonce));
    cols.recipientSiblings.push(w.recipientSiblings.map(str));
  }
  return {
    input: {
      oldRoot: str(state.root),
      newRoot: str(post.root),
      batchCommitment: str(commitment),
      count: str(txs.length),
      ...cols,
    },
    oldRoot: state.root,
    newRoot: post.root,
    commitment,
    results,
    state: post,
  };
}

/** The public signals in circuit order, as snarkjs reports them. */
export function publicSignals(p: { oldRoot: bigint; newRoot: bigint; commitment: bigint }): string[] {
  return [p.oldRoot.toString(), p.newRoot.toString(), p.commitment.toString()];
}
