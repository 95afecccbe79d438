/**
 * The staking state machine: bonds, unbonding, slashing and the committee of
 * every epoch. Pure and deterministic (no I/O, no clocks, no randomness):
 * every validator feeds it the system transactions (namespace 0) of each
 * committed block in height order and reaches the same state, which
 * `stateHash()` summarises.
 *
 * Rules.
 *
 * - **Accounts** are keyed by the hex (`toHex`) of a BLS public key. They exist
 *   from genesis only: the genesis validators (bonded with their genesis stake,
 *   nonce 0, their genesis proof of possession) and the keys of
 *   `genesis.balances`. Balances change only by bonding, release and
 *   slashing; this ledger has no transfers.
 * - **Committees.** Epoch 0's is the genesis set as given; epoch 1's is
 *   selected at construction from the genesis state. At the end of epoch e (in
 *   `applyBlock` at `epochEndHeight(schedule, e)`, after that block's
 *   transactions) the ledger selects epoch e+2's from the bonds at that moment
 *   and emits a `committee` event. A change committed during epoch e therefore
 *   takes effect at the start of epoch e+2: consensus must know epoch e+1's
 *   committee when e+1 starts, and epoch e+1's last block commits to e+2's
 *   hash. Committees of the current epoch, the next one (and, between the last
 *   block of an epoch and the next block, the one after) and the
 *   `evidenceEpochs` past ones are kept.
 * - **Selection.** Accounts that are not jailed with `bonded ≥ minimumBond`;
 *   the `maxValidators` largest bonds (ties: smaller public key bytes first);
 *   then ordered by public key bytes ascending, `stake` = bond, proof of
 *   possession from the first join (or genesis). If no account is eligible the
 *   previous epoch's committee is carried over under the new epoch number (the
 *   chain is never left without a committee) and the `committee` event says
 *   `carriedOver: true`.
 * - **join** `(publicKey, proofOfPossession, bond, nonce)`, signed by the key:
 *   the account exists, `nonce` is its nonce (then +1), it is not jailed,
 *   `0 < bond ≤ balance`, the new bond stays below 2^96, the key is a valid BLS
 *   key, on the first join (no proof recorded yet) the proof of possession
 *   verifies (later joins are top-ups; their proof field is not used), and
 *   the signature verifies. `bond` moves from the balance to the bond.
 * - **leave** `(publicKey, nonce)`, signed: nonce as above, something bonded.
 *   The whole bond moves to unbonding with `releaseEpoch = current epoch + 2 +
 *   unbondingEpochs`; the validator may still serve in committees already
 *   selected, and stays slashable until the release. Leaving again later is
 *   possible after a new join.
 * - **Release.** At the end of epoch e, unbonding entries with `releaseEpoch ≤
 *   e + 1` return to the balance (`released` event), so the funds are free
 *   from the start of `releaseEpoch`.
 * - **evidence** (unsigned): checked against the committee of `evidence.epoch`,
 *   which must be kept; `author` indexes that committee. A double vote needs
 *   two different `(blockHash, committedHash)` pairs, both signed over
 *   `voteDigest(chainId, epoch, round, ...)`. A double proposal needs two
 *   headers of this chain, that epoch and round, `proposer = author`, with
 *   different `hashHeader`s, each signed over `proposalDigest(hashHeader(h))`.
 *   Each offence `(author key, epoch, round)` is punished at most once
 *   (whatever the kind of evidence). Punishment: `slashBasisPoints / 10000`
 *   (rounded down) of the bond and of each unbonding entry is burned, the
 *   account is jailed for good (never selected again, cannot join), and what
 *   remains of the bond moves to unbonding as in a leave. Committees already
 *   selected are not changed.
 * - Evidence is only accepted while its epoch's committee is kept, so
 *   `unbondingEpochs ≥ evidenceEpochs` keeps a departing validator's stake
 *   slashable for everything it could be accused of.
 * - A refused transaction (undecodable, or failing a check) changes nothing
 *   and yields a `refused` event with the reason. `applyBlock` never throws
 *   because of transaction bytes; bytes that are not staking transactions
 *   (`isStakingTransaction` false: market transactions, the epoch-change
 *   commitment) are skipped silently.
 */
import {
  type BlsBackend,
  type Bytes32,
  bytesEqual,
  compareBytes,
  type EpochSchedule,
  type Evidence,
  epochEndHeight,
  epochOfHeight,
  fromHex,
  hashHeader,
  hashValidatorSet,
  InvalidConfigError,
  isValidEpochSchedule,
  MAX_VALIDATORS,
  proofOfPossessionDigest,
  proposalDigest,
  sha256,
  toHex,
  type Validator,
  ValidatorSet,
  type ValidatorSetData,
  voteDigest,
} from "@ordo/core";
import {
  decodeStakingTransaction,
  isStakingTransaction,
  type JoinTransaction,
  type LeaveTransaction,
  MAX_BOND,
  type StakingTransaction,
  stakingSigningDigest,
} from "./staking-transaction.js";

export interface StakingConfig {
  chainId: number;
  schedule: EpochSchedule;
  /** A bond must be at least this (≥ 1) for its account to be selected. */
  minimumBond: bigint;
  /** Committee cap, 1..MAX_VALIDATORS: the largest bonds win, ties by public key bytes. */
  maxValidators: number;
  /** Epochs a left (or jailed) bond stays slashable after it stops serving. */
  unbondingEpochs: number;
  /** Share of bonded and unbonding stake burned per offence, 0..10000 (5000 = half). */
  slashBasisPoints: number;
  /** How many past epochs' committees are kept to check evidence. */
  evidenceEpochs: number;
}

export interface StakingGenesis {
  /** Epoch 0's committee; its members start bonded with their stakes. */
  validators: ValidatorSetData;
  /** Free balances by hex public key (`toHex`), validators' and anyone else's. */
  balances: ReadonlyMap<string, bigint>;
}

export interface UnbondingEntry {
  amount: bigint;
  /** The epoch from whose start the amount is back in the balance. */
  releaseEpoch: number;
}

export interface StakingAccount {
  balance: bigint;
  bonded: bigint;
  /** In increasing `releaseEpoch`, at most one entry per epoch. */
  unbonding: UnbondingEntry[];
  nonce: number;
  jailed: boolean;
}

/** Every event names the block height; transaction events also the transaction's index in the block's namespace-0 list. */
export type StakingEvent =
  | {
      type: "joined";
      height: number;
      index: number;
      publicKey: string;
      /** The amount bonded by this transaction. */
      bond: bigint;
      /** The account's bond afterwards. */
      bonded: bigint;
      /** False for a top-up. */
      firstJoin: boolean;
    }
  | { type: "left"; height: number; index: number; publicKey: string; amount: bigint; releaseEpoch: number }
  | {
      type: "slashed";
      height: number;
      index: number;
      /** The offender. */
      publicKey: string;
      evidence: Evidence["kind"];
      epoch: number;
      round: number;
      /** Removed from the bond and unbonding entries for good. */
      burned: bigint;
      /** What was left of the bond, now unbonding (0 if nothing was bonded). */
      unbonded: bigint;
      /** When `unbonded` is released; null when nothing moved. */
      releaseEpoch: number | null;
    }
  | { type: "released"; height: number; publicKey: string; amount: bigint }
  | {
      type: "refused";
      height: number;
      index: number;
      /** Null when the bytes did not decode. */
      kind: StakingTransaction["kind"] | null;
      reason: string;
    }
  | {
      type: "committee";
      height: number;
      epoch: number;
      validatorSetHash: Bytes32;
      size: number;
      totalStake: bigint;
      /** No account was eligible: the previous epoch's members serve again. */
      carriedOver: boolean;
    };

/** The whole state, JSON-safe: bigints as decimal strings, bytes as `0x` hex, everything in a canonical order. */
export interface StakingLedgerSnapshot {
  version: 1;
  height: number;
  /** By public key. */
  accounts: {
    publicKey: string;
    balance: string;
    bonded: string;
    unbonding: { amount: string; releaseEpoch: number }[];
    nonce: number;
    jailed: boolean;
    proofOfPossession: string | null;
  }[];
  /** By epoch. */
  committees: { epoch: number; validators: { publicKey: string; stake: string; proofOfPossession: string }[] }[];
  /** Offences already punished, by epoch, round, public key. */
  offences: { epoch: number; round: number; publicKey: string }[];
}

interface Account {
  publicKey: Uint8Array;
  balance: bigint;
  bonded: bigint;
  unbonding: UnbondingEntry[];
  nonce: number;
  jailed: boolean;
  /** Recorded at genesis or on the first successful join. */
  proofOfPossession: Uint8Array | null;
}

interface Offence {
  epoch: number;
  round: number;
  publicKey: string;
}

const BASIS_POINTS = 10_000n;
const RESTORE = Symbol("restore");
type Restore = { [RESTORE]: StakingLedgerSnapshot };

class Refusal {
  constructor(readonly reason: string) {}
}

function refuse(reason: string): never {
  throw new Refusal(reason);
}

function validateConfig(c: StakingConfig): void {
  const nat = (v: number, what: string, max = Number.MAX_SAFE_INTEGER): void => {
    if (!Number.isSafeInteger(v) || v < 0 || v > max)
      throw new InvalidConfigError(`staking ${what} must be an integer in [0, ${max}], got ${v}`);
  };
  nat(c.chainId, "chainId");
  if (!isValidEpochSchedule(c.schedule))
    throw new InvalidConfigError(`epoch length must be an integer ≥ 2, got ${c.schedule.length}`);
  if (typeof c.minimumBond !== "bigint" || c.minimumBond < 1n || c.minimumBond > MAX_BOND)
    throw new InvalidConfigError(`minimumBond must be in [1, 2^96), got ${c.minimumBond}`);
  nat(c.maxValidators, "maxValidators", MAX_VALIDATORS);
  if (c.maxValidators < 1) throw new InvalidConfigError("maxValidators must be at least 1");
  nat(c.unbondingEpochs, "unbondingEpochs", 1_000_000);
  nat(c.slashBasisPoints, "slashBasisPoints", Number(BASIS_POINTS));
  nat(c.evidenceEpochs, "evidenceEpochs", 1_000_000);
}

function freezeSet(data: ValidatorSetData): ValidatorSetData {
  return Object.freeze({
    epoch: data.epoch,
    validators: data.validators.map((v) =>
      Object.freeze({
        publicKey: new Uint8Array(v.publicKey),
        stake: v.stake,
        proofOfPossession: new Uint8Array(v.proofOfPossession),
      }),
    ),
  });
}

function copySet(data: ValidatorSetData): ValidatorSetData {
  return {
    epoch: data.epoch,
    validators: data.validators.map((v) => ({
      publicKey: new Uint8Array(v.publicKey),
      stake: v.stake,
      proofOfPossession: new Uint8Array(v.proofOfPossession),
    })),
  };
}

function offenceKey(o: Offence): string {
  return `${o.epoch}:${o.round}:${o.publicKey}`;
}

function normalizeKey(hex: string): string | undefined {
  try {
    return toHex(fromHex(hex));
  } catch {
    return undefined;
  }
}

export class StakingLedger {
  readonly config: Readonly<StakingConfig>;
  private readonly bls: BlsBackend;
  /** Created at genesis (or restore) only, in key order, so iteration is canonical. */
  private readonly accounts = new Map<string, Account>();
  private readonly committees = new Map<number, ValidatorSetData>();
  private readonly offences = new Map<string, Offence>();
  private currentHeight = 0;

  constructor(config: StakingConfig, genesis: StakingGenesis, bls: BlsBackend) {
    validateConfig(config);
    this.config = Object.freeze({ ...config, schedule: Object.freeze({ ...config.schedule }) });
    this.bls = bls;
    const restore = (genesis as unknown as Partial<Restore>)[RESTORE];
    if (restore !== undefined) {
      this.restore(restore);
      return;
    }
    if (genesis.validators.epoch !== 0)
      throw new InvalidConfigError(`the genesis committee must be epoch 0's, got ${genesis.validators.epoch}`);
    const set = ValidatorSet.create(genesis.validators, bls);
    const accounts: Account[] = [];
    const byKey = new Map<string, Account>();
    const funded = new Set<string>();
    for (const v of set.validators) {
      const a: Account = {
        publicKey: new Uint8Array(v.publicKey),
        balance: 0n,
        bonded: v.stake,
        unbonding: [],
        nonce: 0,
        jailed: false,
        proofOfPossession: new Uint8Array(v.proofOfPossession),
      };
      byKey.set(toHex(v.publicKey), a);
      accounts.push(a);
    }
    for (const [hex, balance] of genesis.balances) {
      const key = normalizeKey(hex);
      if (key === undefined || (key.length - 2) / 2 !== 48)
        throw new InvalidConfigError(`genesis balance key ${hex.slice(0, 20)} is not a 48-byte hex public key`);
      if (typeof balance !== "bigint" || balance < 0n)
        throw new InvalidConfigError(`genesis balance of ${key} must be a non-negative bigint`);
      if (funded.has(key)) throw new InvalidConfigError(`genesis balances repeat ${key}`);
      funded.add(key);
      const existing = byKey.get(key);
      if (existing) {
        existing.balance += balance;
        continue;
      }
      const a: Account = {
        publicKey: fromHex(key),
        balance,
        bonded: 0n,
        unbonding: [],
        nonce: 0,
        jailed: false,
        proofOfPossession: null,
      };
      byKey.set(key, a);
      accounts.push(a);
    }
    accounts.sort((a, b) => compareBytes(a.publicKey, b.publicKey));
    for (const a of accounts) this.accounts.set(toHex(a.publicKey), a);
    this.committees.set(0, freezeSet(set.toData()));
    this.committees.set(1, this.select(1).data);
  }

  /** The height of the last applied block (0 before any). */
  get height(): number {
    return this.currentHeight;
  }

  /** The epoch of the last applied block (epoch 0 at height 0). */
  get epoch(): number {
    return epochOfHeight(this.config.schedule, this.currentHeight);
  }

  /**
   * Applies the namespace-0 transactions of the committed block at `height`
   * (the previous height + 1; anything else is a caller bug and throws
   * `RangeError`). Never throws because of the bytes.
   */
  applyBlock(height: number, systemTransactions: readonly Uint8Array[]): StakingEvent[] {
    if (height !== this.currentHeight + 1)
      throw new RangeError(`expected block ${this.currentHeight + 1}, got ${height}`);
    const { schedule } = this.config;
    const epoch = epochOfHeight(schedule, height);
    const events: StakingEvent[] = [];
    for (let index = 0; index < systemTransactions.length; index++) {
      const bytes = systemTransactions[index] as Uint8Array;
      if (!isStakingTransaction(bytes)) continue;
      events.push(this.applyTransaction(bytes, height, index, epoch));
    }
    this.currentHeight = height;
    if (height === epochEndHeight(schedule, epoch)) this.endEpoch(epoch, height, events);
    return events;
  }

  /** The committee of `epoch` if kept (the current and next epochs, and `evidenceEpochs` past ones); a copy. */
  committee(epoch: number): ValidatorSetData | undefined {
    const c = this.committees.get(epoch);
    return c === undefined ? undefined : copySet(c);
  }

  /** An account by hex public key (`toHex`; case and the `0x` prefix do not matter); a copy. */
  account(publicKeyHex: string): StakingAccount | undefined {
    const key = normalizeKey(publicKeyHex);
    const a = key === undefined ? undefined : this.accounts.get(key);
    if (a === undefined) return undefined;
    return {
      balance: a.balance,
      bonded: a.bonded,
      unbonding: a.unbonding.map((u) => ({ ...u })),
      nonce: a.nonce,
      jailed: a.jailed,
    };
  }

  toJSON(): StakingLedgerSnapshot {
    return {
      version: 1,
      height: this.currentHeight,
      accounts: [...this.accounts.entries()].map(([publicKey, a]) => ({
        publicKey,
        balance: a.balance.toString(),
        bonded: a.bonded.toString(),
        unbonding: a.unbonding.map((u) => ({ amount: u.amount.toString(), releaseEpoch: u.releaseEpoch })),
        nonce: a.nonce,
        jailed: a.jailed,
        proofOfPossession: a.proofOfPossession === null ? null : toHex(a.proofOfPossession),
      })),
      committees: [...this.committees.values()]
        .sort((a, b) => a.epoch - b.epoch)
        .map((c) => ({
          epoch: c.epoch,
          validators: c.validators.map((v) => ({
            publicKey: toHex(v.publicKey),
            stake: v.stake.toString(),
            proofOfPossession: toHex(v.proofOfPossession),
          })),
        })),
      offences: [...this.offences.values()]
        .sort((a, b) => a.epoch - b.epoch || a.round - b.round || (a.publicKey < b.publicKey ? -1 : 1))
        .map((o) => ({ ...o })),
    };
  }

  /** Resumes from `toJSON()` output (shapes checked; signatures are not re-verified). Throws `InvalidConfigError`. */
  static fromJSON(config: StakingConfig, snapshot: StakingLedgerSnapshot, bls: BlsBackend): StakingLedger {
    return new StakingLedger(config, { [RESTORE]: snapshot } as unknown as StakingGenesis, bls);
  }

  /** sha256 of the canonical JSON snapshot: equal on every validator that applied the same blocks. */
  stateHash(): Bytes32 {
    return sha256(new TextEncoder().encode(JSON.stringify(this.toJSON())));
  }

  // ── transactions ──────────────────────────────────────────────────────

  private applyTransaction(bytes: Uint8Array, height: number, index: number, epoch: number): StakingEvent {
    let tx: StakingTransaction;
    try {
      tx = decodeStakingTransaction(bytes);
    } catch (e) {
      const reason = e instanceof Error ? e.message : "undecodable";
      return { type: "refused", height, index, kind: null, reason };
    }
    try {
      switch (tx.kind) {
        case "join":
          return this.join(tx, height, index);
        case "leave":
          return this.leave(tx, height, index, epoch);
        case "evidence":
          return this.evidence(tx.evidence, height, index, epoch);
      }
    } catch (e) {
      // Checks throw a Refusal before anything changes. Anything else would be a bug here; refusing keeps
      // applyBlock total, and a deterministic bug refuses alike on every validator.
      const reason = e instanceof Refusal ? e.reason : `internal error: ${e instanceof Error ? e.message : typeof e}`;
      return { type: "refused", height, index, kind: tx.kind, reason };
    }
  }

  private signer(tx: JoinTransaction | LeaveTransaction): Account {
    const account = this.accounts.get(toHex(tx.publicKey));
    if (account === undefined) refuse("unknown account (no genesis balance or bond)");
    if (tx.nonce !== account.nonce) refuse(`nonce ${tx.nonce} is not the account's nonce ${account.nonce}`);
    return account;
  }

  private verifySignature(tx: JoinTransaction | LeaveTransaction): void {
    if (!this.bls.verify(tx.publicKey, stakingSigningDigest(this.config.chainId, tx), tx.signature))
      refuse("invalid signature");
  }

  private join(tx: JoinTransaction, height: number, index: number): StakingEvent {
    const account = this.signer(tx);
    if (account.jailed) refuse("the account is jailed");
    if (tx.bond <= 0n) refuse("the bond must be positive");
    if (account.balance < tx.bond) refuse(`balance ${account.balance} is below the bond ${tx.bond}`);
    if (account.bonded + tx.bond > MAX_BOND) refuse("the bond would reach 2^96");
    if (!this.bls.isValidPublicKey(tx.publicKey)) refuse("invalid BLS public key");
    const firstJoin = account.proofOfPossession === null;
    if (firstJoin && !this.bls.verify(tx.publicKey, proofOfPossessionDigest(tx.publicKey), tx.proofOfPossession))
      refuse("invalid proof of possession");
    this.verifySignature(tx);
    // Checks done: change state.
    account.nonce += 1;
    account.balance -= tx.bond;
    account.bonded += tx.bond;
    if (firstJoin) account.proofOfPossession = new Uint8Array(tx.proofOfPossession);
    return {
      type: "joined",
      height,
      index,
      publicKey: toHex(tx.publicKey),
      bond: tx.bond,
      bonded: account.bonded,
      firstJoin,
    };
  }

  private leave(tx: LeaveTransaction, height: number, index: number, epoch: number): StakingEvent {
    const account = this.signer(tx);
    if (account.bonded === 0n) refuse("nothing is bonded");
    this.verifySignature(tx);
    const amount = account.bonded;
    const releaseEpoch = this.releaseEpoch(epoch);
    account.nonce += 1;
    account.bonded = 0n;
    addUnbonding(account, amount, releaseEpoch);
    return { type: "left", height, index, publicKey: toHex(tx.publicKey), amount, releaseEpoch };
  }

  private releaseEpoch(epoch: number): number {
    return epoch + 2 + this.config.unbondingEpochs;
  }

  private evidence(ev: Evidence, height: number, index: number, epoch: number): StakingEvent {
    const committee = this.committees.get(ev.epoch);
    if (committee === undefined) {
      const kept = [...this.committees.keys()];
      refuse(`epoch ${ev.epoch}'s committee is not kept (kept: ${Math.min(...kept)}..${Math.max(...kept)})`);
    }
    const member = committee.validators[ev.author];
    if (member === undefined)
      refuse(`author ${ev.author} is not in epoch ${ev.epoch}'s committee of ${committee.validators.length}`);
    const publicKey = toHex(member.publicKey);
    const offence: Offence = { epoch: ev.epoch, round: ev.round, publicKey };
    if (this.offences.has(offenceKey(offence)))
      refuse(`${publicKey} was already slashed for epoch ${ev.epoch} round ${ev.round}`);
    const { chainId } = this.config;
    if (ev.kind === "double-vote") {
      const { first, second } = ev;
      if (bytesEqual(first.blockHash, second.blockHash) && bytesEqual(first.committedHash, second.committedHash))
        refuse("the two votes are for the same block and commit");
      for (const [name, v] of [
        ["first", first],
        ["second", second],
      ] as const) {
        const digest = voteDigest(chainId, ev.epoch, ev.round, v.blockHash, v.committedHash);
        if (!this.bls.verify(member.publicKey, digest, v.signature)) refuse(`the ${name} vote's signature is invalid`);
      }
    } else {
      const hashes: Bytes32[] = [];
      for (const [name, p] of [
        ["first", ev.first],
        ["second", ev.second],
      ] as const) {
        const h = p.header;
        if (h.chainId !== chainId) refuse(`the ${name} header is for chain ${h.chainId}, not ${chainId}`);
        if (h.epoch !== ev.epoch || h.round !== ev.round)
          refuse(`the ${name} header is for epoch ${h.epoch} round ${h.round}, not ${ev.epoch} round ${ev.round}`);
        if (h.proposer !== ev.author) refuse(`the ${name} header's proposer ${h.proposer} is not ${ev.author}`);
        const hash = hashHeader(h);
        if (!this.bls.verify(member.publicKey, proposalDigest(hash), p.signature))
          refuse(`the ${name} proposal's signature is invalid`);
        hashes.push(hash);
      }
      if (bytesEqual(hashes[0] as Bytes32, hashes[1] as Bytes32)) refuse("the two proposals are the same block");
    }
    const account = this.accounts.get(publicKey);
    if (account === undefined) refuse(`no account for ${publicKey}`);
    // Checks done: punish.
    this.offences.set(offenceKey(offence), offence);
    const bp = BigInt(this.config.slashBasisPoints);
    let burned = 0n;
    const cut = (amount: bigint): bigint => {
      const c = (amount * bp) / BASIS_POINTS;
      burned += c;
      return amount - c;
    };
    const remaining = cut(account.bonded);
    account.unbonding = account.unbonding
      .map((u) => ({ amount: cut(u.amount), releaseEpoch: u.releaseEpoch }))
      .filter((u) => u.amount > 0n);
    account.bonded = 0n;
    account.jailed = true;
    let releaseEpoch: number | null = null;
    if (remaining > 0n) {
      releaseEpoch = this.releaseEpoch(epoch);
      addUnbonding(account, remaining, releaseEpoch);
    }
    return {
      type: "slashed",
      height,
      index,
      publicKey,
      evidence: ev.kind,
      epoch: ev.epoch,
      round: ev.round,
      burned,
      unbonded: remaining,
      releaseEpoch,
    };
  }

  // ── epochs ────────────────────────────────────────────────────────────

  /** After the last block of `epoch`: releases, then epoch + 2's committee, then pruning. */
  private endEpoch(epoch: number, height: number, events: StakingEvent[]): void {
    for (const [publicKey, a] of this.accounts) {
      let amount = 0n;
      while (a.unbonding.length > 0 && (a.unbonding[0] as UnbondingEntry).releaseEpoch <= epoch + 1)
        amount += (a.unbonding.shift() as UnbondingEntry).amount;
      if (amount > 0n) {
        a.balance += amount;
        events.push({ type: "released", height, publicKey, amount });
      }
    }
    const next = epoch + 2;
    const { data, carriedOver } = this.select(next);
    this.committees.set(next, data);
    events.push({
      type: "committee",
      height,
      epoch: next,
      validatorSetHash: hashValidatorSet(data),
      size: data.validators.length,
      totalStake: data.validators.reduce((s, v) => s + v.stake, 0n),
      carriedOver,
    });
    const oldest = epoch + 1 - this.config.evidenceEpochs;
    for (const e of [...this.committees.keys()]) if (e < oldest) this.committees.delete(e);
    for (const [k, o] of [...this.offences]) if (o.epoch < oldest) this.offences.delete(k);
  }

  /** `epoch`'s committee from the current bonds; the previous epoch's members if no account is eligible. */
  private select(epoch: number): { data: ValidatorSetData; carriedOver: boolean } {
    const { minimumBond, maxValidators } = this.config;
    const eligible = [...this.accounts.values()]
      .filter((a) => !a.jailed && a.bonded >= minimumBond && a.proofOfPossession !== null)
      .sort((a, b) => (a.bonded > b.bonded ? -1 : a.bonded < b.bonded ? 1 : compareBytes(a.publicKey, b.publicKey)))
      .slice(0, maxValidators)
      .sort((a, b) => compareBytes(a.publicKey, b.publicKey));
    if (eligible.length === 0) {
      const previous = this.committees.get(epoch - 1);
      if (previous === undefined) throw new Error(`no committee for epoch ${epoch - 1}`);
      return { data: freezeSet({ epoch, validators: [...previous.validators] }), carriedOver: true };
    }
    const validators: Validator[] = eligible.map((a) => ({
      publicKey: a.publicKey,
      stake: a.bonded,
      proofOfPossession: a.proofOfPossession as Uint8Array,
    }));
    return { data: freezeSet({ epoch, validators }), carriedOver: false };
  }

  // ── restore ───────────────────────────────────────────────────────────

  private restore(s: StakingLedgerSnapshot): void {
    const bad = (what: string): never => {
      throw new InvalidConfigError(`invalid staking snapshot: ${what}`);
    };
    const nat = (v: unknown, what: string): number =>
      typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : bad(`${what} is not a natural number`);
    const amount = (v: unknown, what: string): bigint =>
      typeof v === "string" && /^(0|[1-9][0-9]*)$/.test(v) ? BigInt(v) : bad(`${what} is not a decimal amount`);
    const hex = (v: unknown, length: number, what: string): Uint8Array => {
      if (typeof v !== "string" || !v.startsWith("0x")) bad(`${what} is not 0x hex`);
      let b: Uint8Array;
      try {
        b = fromHex(v as string);
      } catch {
        return bad(`${what} is not hex`);
      }
      if (b.length !== length || toHex(b) !== v) bad(`${what} is not ${length} bytes of lowercase hex`);
      return b;
    };
    if (typeof s !== "object" || s === null || s.version !== 1) bad("unknown version");
    this.currentHeight = nat(s.height, "height");
    if (!Array.isArray(s.accounts) || !Array.isArray(s.committees) || !Array.isArray(s.offences))
      bad("missing accounts, committees or offences");
    let previousKey = "";
    for (const [i, a] of s.accounts.entries()) {
      const publicKey = hex(a.publicKey, 48, `accounts[${i}].publicKey`);
      const key = toHex(publicKey);
      if (key <= previousKey) bad(`accounts[${i}] is not in increasing key order`);
      previousKey = key;
      if (!Array.isArray(a.unbonding)) bad(`accounts[${i}].unbonding is not an array`);
      let previousRelease = -1;
      const unbonding = a.unbonding.map((u, j) => {
        const releaseEpoch = nat(u.releaseEpoch, `accounts[${i}].unbonding[${j}].releaseEpoch`);
        if (releaseEpoch <= previousRelease) bad(`accounts[${i}].unbonding is not in increasing epoch order`);
        previousRelease = releaseEpoch;
        return { amount: amount(u.amount, `accounts[${i}].unbonding[${j}].amount`), releaseEpoch };
      });
      if (typeof a.jailed !== "boolean") bad(`accounts[${i}].jailed is not a boolean`);
      this.accounts.set(key, {
        publicKey,
        balance: amount(a.balance, `accounts[${i}].balance`),
        bonded: amount(a.bonded, `accounts[${i}].bonded`),
        unbonding,
        nonce: nat(a.nonce, `accounts[${i}].nonce`),
        jailed: a.jailed,
        proofOfPossession:
          a.proofOfPossession === null ? null : hex(a.proofOfPossession, 96, `accounts[${i}].proofOfPossession`),
      });
    }
    for (const [i, c] of s.committees.entries()) {
      const epoch = nat(c.epoch, `committees[${i}].epoch`);
      if (this.committees.has(epoch)) bad(`committees repeat epoch ${epoch}`);
      if (!Array.isArray(c.validators) || c.validators.length === 0 || c.validators.length > MAX_VALIDATORS)
        bad(`committees[${i}] has no validators or too many`);
      const validators = c.validators.map((v, j) => {
        const stake = amount(v.stake, `committees[${i}].validators[${j}].stake`);
        if (stake === 0n || stake > MAX_BOND) bad(`committees[${i}].validators[${j}].stake is out of range`);
        return {
          publicKey: hex(v.publicKey, 48, `committees[${i}].validators[${j}].publicKey`),
          stake,
          proofOfPossession: hex(v.proofOfPossession, 96, `committees[${i}].validators[${j}].proofOfPossession`),
        };
      });
      this.committees.set(epoch, freezeSet({ epoch, validators }));
    }
    const current = this.epoch;
    if (!this.committees.has(current) || !this.committees.has(current + 1))
      bad(`the committees of epochs ${current} and ${current + 1} are missing`);
    for (const [i, o] of s.offences.entries()) {
      const offence: Offence = {
        epoch: nat(o.epoch, `offences[${i}].epoch`),
        round: nat(o.round, `offences[${i}].round`),
        publicKey: toHex(hex(o.publicKey, 48, `offences[${i}].publicKey`)),
      };
      this.offences.set(offenceKey(offence), offence);
    }
  }
}

/** Adds to the unbonding list, merging with an entry of the same release epoch (entries stay in epoch order). */
function addUnbonding(account: Account, amount: bigint, releaseEpoch: number): void {
  const last = account.unbonding[account.unbonding.length - 1];
  if (last !== undefined && last.releaseEpoch === releaseEpoch) last.amount += amount;
  else account.unbonding.push({ amount, releaseEpoch });
}
