/**
 * Committees decided by staking, in the simulator: every node runs its own
 * `StakingLedger` over the system transactions of the blocks it commits, and
 * consensus asks that ledger for each epoch's committee (as a validator node
 * does). Proposers put staking transactions in their blocks: joins by pool
 * nodes outside the committee, leaves by members, and the equivocation
 * evidence honest validators reported. The driver also checks that every
 * node's ledger gives the same committee for an epoch.
 */
import {
  type BlsBackend,
  type EpochSchedule,
  type Evidence,
  toHex,
  type ValidatorKey,
  ValidatorSet,
  type ValidatorSetData,
} from "@ordo/core";
import type { EpochCommittee } from "../epoch-manager.js";
import { LeaderSchedule } from "../leader-schedule.js";
import { type StakingConfig, StakingLedger } from "../staking/staking-ledger.js";
import { encodeStakingTransaction, signStakingTransaction } from "../staking/staking-transaction.js";
import type { Rng } from "./rng.js";

export type SimCommittee = EpochCommittee & { leaders: LeaderSchedule };

const BALANCE = 1_000n;

export class StakingDriver {
  readonly config: StakingConfig;
  private readonly byKey = new Map<string, number>();
  private readonly sets = new Map<string, SimCommittee>();
  /** Epoch → the committee hash the first node to ask computed. */
  private readonly canonical = new Map<number, SimCommittee>();
  private readonly pendingEvidence = new Map<string, Uint8Array>();
  readonly stats = { joins: 0, leaves: 0, evidence: 0, membershipChanges: 0 };

  constructor(
    private readonly bls: BlsBackend,
    chainId: number,
    schedule: EpochSchedule,
    private readonly keys: readonly ValidatorKey[],
    private readonly genesis: ValidatorSetData,
    private readonly byzantine: ReadonlySet<number>,
    private readonly rng: Rng,
    private readonly violation: (text: string) => void,
  ) {
    this.config = {
      chainId,
      schedule,
      minimumBond: 50n,
      maxValidators: 12,
      unbondingEpochs: 2,
      slashBasisPoints: 5000,
      evidenceEpochs: 2,
    };
    for (const [i, k] of keys.entries()) this.byKey.set(toHex(k.publicKey), i);
  }

  newLedger(): StakingLedger {
    const balances = new Map(this.keys.map((k) => [toHex(k.publicKey), BALANCE] as const));
    return new StakingLedger(this.config, { validators: this.genesis, balances }, this.bls);
  }

  /** A node's view of an epoch's committee, from its own ledger; checked against every other node's. */
  committee(ledger: StakingLedger, epoch: number): SimCommittee | undefined {
    const data = ledger.committee(epoch);
    if (!data) return undefined;
    const c = this.build(data);
    const first = this.canonical.get(epoch);
    if (!first) {
      this.canonical.set(epoch, c);
      const before = this.canonical.get(epoch - 1);
      if (before && before.members.join(",") !== c.members.join(",")) this.stats.membershipChanges++;
    } else if (first !== c) this.violation(`staking: two ledgers disagree on epoch ${epoch}'s committee`);
    return c;
  }

  /** The committee of an epoch as the nodes computed it (for the simulator's own checks). */
  canonicalCommittee(epoch: number): SimCommittee | undefined {
    return this.canonical.get(epoch);
  }

  private build(data: ValidatorSetData): SimCommittee {
    const set = ValidatorSet.create(data, this.bls);
    const key = toHex(set.hash);
    let c = this.sets.get(key);
    if (!c) {
      const members = data.validators.map((v) => this.byKey.get(toHex(v.publicKey)) as number);
      c = { validators: set, members, leaders: new LeaderSchedule(set) };
      this.sets.set(key, c);
    }
    return c;
  }

  /** An honest validator reported equivocation: any proposer may now include it. */
  reportEvidence(evidence: Evidence): void {
    const key = `${evidence.epoch}:${evidence.round}:${evidence.author}`;
    if (!this.pendingEvidence.has(key))
      this.pendingEvidence.set(key, encodeStakingTransaction({ kind: "evidence", evidence }));
  }

  /**
   * The staking transactions a proposer adds to its block, from what its own
   * ledger says: pending evidence, sometimes a join by a pool node outside the
   * latest committee, sometimes a leave by an honest member when the committee
   * stays at 5 or more and the Byzantine nodes below a third without it.
   */
  transactions(ledger: StakingLedger): Uint8Array[] {
    const out = [...this.pendingEvidence.values()].slice(0, 4);
    if (out.length > 0) this.stats.evidence++;
    const latest = this.latestCommittee(ledger);
    if (!latest) return out;
    const members = new Set(latest.validators.map((v) => this.byKey.get(toHex(v.publicKey)) as number));
    const r = this.rng;
    if (r.chance(0.15)) {
      const candidates = this.keys.map((_, i) => i).filter((i) => !members.has(i) && !this.byzantine.has(i));
      const who = candidates.length > 0 ? r.pick(candidates) : undefined;
      const account = who === undefined ? undefined : ledger.account(toHex((this.keys[who] as ValidatorKey).publicKey));
      if (who !== undefined && account && !account.jailed && account.bonded === 0n && account.balance >= 100n) {
        const key = this.keys[who] as ValidatorKey;
        const tx = signStakingTransaction(this.bls, key.secretKey, this.config.chainId, {
          kind: "join",
          publicKey: key.publicKey,
          proofOfPossession: key.proofOfPossession,
          bond: 50n + BigInt(r.int(51)),
          nonce: account.nonce,
        });
        out.push(encodeStakingTransaction(tx));
        this.stats.joins++;
      }
    } else if (r.chance(0.08) && latest.validators.length >= 5) {
      const honest = latest.validators.filter((v) => !this.byzantine.has(this.byKey.get(toHex(v.publicKey)) as number));
      const leaving = honest.length > 0 ? r.pick(honest) : undefined;
      if (leaving && this.byzantineBelowThird(latest, leaving.publicKey)) {
        const who = this.byKey.get(toHex(leaving.publicKey)) as number;
        const key = this.keys[who] as ValidatorKey;
        const account = ledger.account(toHex(key.publicKey));
        if (account && account.bonded > 0n) {
          const tx = signStakingTransaction(this.bls, key.secretKey, this.config.chainId, {
            kind: "leave",
            publicKey: key.publicKey,
            nonce: account.nonce,
          });
          out.push(encodeStakingTransaction(tx));
          this.stats.leaves++;
        }
      }
    }
    return out;
  }

  /** Removing `leaving` (and any member whose leave is already pending) keeps the Byzantine stake below a third. */
  private byzantineBelowThird(set: ValidatorSetData, leaving: Uint8Array): boolean {
    let total = 0n;
    let byz = 0n;
    for (const v of set.validators) {
      if (toHex(v.publicKey) === toHex(leaving)) continue;
      total += v.stake;
      if (this.byzantine.has(this.byKey.get(toHex(v.publicKey)) as number)) byz += v.stake;
    }
    // Stay well clear of a third: other leaves may already be on their way.
    return byz * 4n < total;
  }

  private latestCommittee(ledger: StakingLedger): ValidatorSetData | undefined {
    for (let e = ledger.epoch + 2; e >= 0 && e >= ledger.epoch - 1; e--) {
      const c = ledger.committee(e);
      if (c) return c;
    }
    return undefined;
  }
}
