/**
 * The deterministic simulator: N validators in one process on a virtual clock,
 * a lossy, reordering, partitionable network that carries encoded bytes, disks
 * that lose what was not yet written when a node crashes, and Byzantine nodes.
 * One seed fixes everything, so a failing seed is a reproducible bug report.
 */
import {
  type Block,
  type BlsBackend,
  blstBackend,
  type ConsensusMessage,
  DecodeError,
  decodeBlockPayload,
  decodeMessage,
  type EpochSchedule,
  type Evidence,
  encodeMessage,
  epochEndHeight,
  epochOfHeight,
  generateValidatorKey,
  hashHeader,
  type Proposal,
  proposalDigest,
  type QuorumCertificate,
  SYSTEM_NAMESPACE,
  sha256,
  toHex,
  type ValidatorKey,
  ValidatorSet,
  type Vote,
  voteDigest,
} from "@ordo/core";
import { CertificateVerifier } from "../certificates.js";
import { type EpochCommittee, EpochManager } from "../epoch-manager.js";
import type { ConsensusEffect, ConsensusEvent, PayloadContext } from "../events.js";
import { createGenesisBlock } from "../genesis.js";
import { LeaderSchedule } from "../leader-schedule.js";
import type { PacemakerTiming } from "../pacemaker.js";
import { SafetyViolationError } from "../replica.js";
import { SafetyRules, type SafetyState } from "../safety-rules.js";
import type { StakingLedger } from "../staking/staking-ledger.js";
import { EventQueue } from "./event-queue.js";
import { memoizeVerification } from "./memo-bls.js";
import { randomPayload, validateSimPayload } from "./payload.js";
import { Rng } from "./rng.js";
import {
  type ByzantineBehavior,
  type CommitteePlan,
  generateScenario,
  type Scenario,
  type ScenarioOptions,
} from "./scenario.js";
import { type SimCommittee, StakingDriver } from "./staking-driver.js";

/** Safety rules with one check removed, to prove the simulator notices. */
export const MUTATIONS = {
  "skip-last-voted-round": (state: SafetyState) =>
    new (class extends SafetyRules {
      override checkVoteRound(): boolean {
        return true;
      }
    })(state),
  "skip-2chain-vote-rule": (state: SafetyState) =>
    new (class extends SafetyRules {
      override safeToVote(): boolean {
        return true;
      }
    })(state),
} as const;
export type MutationName = keyof typeof MUTATIONS;

export interface SimulationOptions extends ScenarioOptions {
  seed: number;
  bls?: BlsBackend;
  /** Memoize signature checks across the in-process validators (pure; saves CPU). */
  shareVerification?: boolean;
  /** Liveness: after faults heal, every honest validator must commit within this many rounds. */
  livenessRounds: number;
  /** Liveness: and within this much virtual time. */
  livenessMs: number;
  /** Re-check every committed block's certificates and payload (on by default; benchmarks turn it off to time only the protocol). */
  checkCommits?: boolean;
  /** Benchmarks: stop once an honest validator has committed this many blocks. */
  stopAfterCommits?: number;
  maxTransactionsPerBlock: number;
  timing?: Partial<PacemakerTiming>;
  mutation?: MutationName;
  /**
   * Whenever an epoch's last block is first proposed, crash the validators
   * leading the next round and the next epoch's first round (restarting them
   * shortly after): leader changes exactly at the committee switch.
   */
  boundaryFaults?: boolean;
  /**
   * Committees from staking: each node's own staking ledger, fed the system
   * transactions it commits; proposers add joins, leaves and reported evidence
   * (needs `epochLength`).
   */
  staking?: boolean;
}

export interface SimulationResult {
  seed: number;
  violations: string[];
  rounds: number;
  minHeight: number;
  maxHeight: number;
  virtualMs: number;
  messages: number;
  dropped: number;
  decodeErrors: number;
  rejected: number;
  evidence: number;
  verifications: number;
  commits: number;
  /** Highest epoch an honest validator reached. */
  epochs: number;
  /** With `staking`: staking transactions proposed, validators slashed (jailed), epochs whose members differ from the previous epoch's. */
  staking?: { joins: number; leaves: number; evidence: number; slashed: number; membershipChanges: number };
  scenario: Scenario;
}

type SimEvent =
  | { kind: "deliver"; to: number; from: number; bytes: Uint8Array }
  | { kind: "timer"; node: number; incarnation: number; round: number; epoch: number | undefined }
  | { kind: "persisted"; node: number; incarnation: number; seq: number; state: SafetyState }
  | {
      kind: "payload";
      node: number;
      incarnation: number;
      round: number;
      epoch: number | undefined;
      payload: Uint8Array;
      root: Uint8Array;
    }
  | { kind: "crash"; validator: number }
  | { kind: "restart"; validator: number }
  | { kind: "partition"; side: number[] }
  | { kind: "heal-partition"; side: number[] }
  | { kind: "byzantine-tick"; node: number }
  | { kind: "heal-all" };

interface LedgerEntry {
  height: number;
  hash: Uint8Array;
  block: Block;
  qc: QuorumCertificate;
}

interface SimNode {
  /** Instance id: twins share a validator index but not an instance. */
  id: number;
  /** Pool node id: the validator's identity across epochs (its committee index may change). */
  index: number;
  key: ValidatorKey;
  honest: boolean;
  behaviors: Set<ByzantineBehavior>;
  replica: EpochManager | null;
  incarnation: number;
  /** What survives a crash (the staking ledger stands for the state a node would rebuild from its blocks). */
  disk: { safety: SafetyState | null; ledger: LedgerEntry[]; staking: StakingLedger | null };
  /** Messages a replaying Byzantine node has seen. */
  seen: Uint8Array[];
}

/** Validator keys depend only on the index, so repeated runs reuse them (keygen is not what we test). */
const keyCache = new Map<string, ValidatorKey>();
function validatorKey(bls: BlsBackend, index: number): ValidatorKey {
  const id = `${bls.name}:${index}`;
  let key = keyCache.get(id);
  if (!key) {
    key = generateValidatorKey(bls, sha256(new TextEncoder().encode(`ordo-sim-validator-${index}`)));
    keyCache.set(id, key);
  }
  return key;
}

export class Simulation {
  private readonly o: SimulationOptions;
  private readonly rng: Rng;
  private readonly netRng: Rng;
  private readonly payloadRng: Rng;
  private readonly byzRng: Rng;
  readonly scenario: Scenario;
  private readonly bls: BlsBackend;
  private readonly keys: ValidatorKey[];
  private readonly pool: number;
  private readonly schedule: EpochSchedule;
  private readonly committees = new Map<number, EpochCommittee & { leaders: LeaderSchedule }>();
  private readonly checkers = new Map<number, CertificateVerifier>();
  private readonly genesis: Block;
  /** Epochs whose last block was proposed (boundary faults fire once per epoch). */
  private readonly boundariesHit = new Set<number>();
  private readonly stakingDriver: StakingDriver | null;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes: SimNode[] = [];
  private readonly byIndex: SimNode[][] = [];
  private now = 0;
  private partitioned: number[][] = [];
  private faultsHealed = false;
  private readonly violations: string[] = [];
  /** Height → hash committed by any honest validator. */
  private readonly canonical = new Map<number, string>();
  /** Per honest validator: round → what it signed, across restarts. */
  private readonly signedVotes = new Map<number, Map<string, string>>();
  private readonly signedTimeouts = new Map<number, Map<string, number>>();
  private readonly signedProposals = new Map<number, Map<string, string>>();
  private readonly stats = { messages: 0, dropped: 0, decodeErrors: 0, rejected: 0, evidence: 0, commits: 0 };
  private readonly retiredVerifications = { count: 0 };

  constructor(options: SimulationOptions) {
    this.o = options;
    this.rng = new Rng(options.seed);
    this.netRng = this.rng.fork();
    this.payloadRng = this.rng.fork();
    this.byzRng = this.rng.fork();
    this.scenario = generateScenario(this.rng.fork(), options);
    const base = options.bls ?? blstBackend;
    this.bls = options.shareVerification === false ? base : memoizeVerification(base);
    this.pool = options.validators + (options.observers ?? 0);
    this.keys = Array.from({ length: this.pool }, (_, i) => validatorKey(base, i));
    // No epochs: one so long that it never ends.
    this.schedule = { length: options.epochLength || 2 ** 40 };
    const genesisSet = (this.plannedCommittee(0) as EpochCommittee).validators;
    this.genesis = createGenesisBlock({ chainId: 1, validators: genesisSet, timestampMs: 0 });
    this.stakingDriver = options.staking
      ? new StakingDriver(
          this.bls,
          1,
          this.schedule,
          this.keys,
          { epoch: 0, validators: [...genesisSet.validators] },
          new Set(this.scenario.byzantine.keys()),
          this.rng.fork(),
          (v) => this.violations.push(v),
        )
      : null;
    for (let i = 0; i < this.pool; i++) {
      const behaviors = this.scenario.byzantine.get(i);
      const copies = this.scenario.twin === i ? 2 : 1;
      this.byIndex[i] = [];
      for (let c = 0; c < copies; c++) {
        const node: SimNode = {
          id: this.nodes.length,
          index: i,
          key: this.keys[i] as ValidatorKey,
          honest: behaviors === undefined,
          behaviors: new Set(behaviors ?? []),
          replica: null,
          incarnation: 0,
          disk: { safety: null, ledger: [], staking: this.stakingDriver?.newLedger() ?? null },
          seen: [],
        };
        this.nodes.push(node);
        this.byIndex[i]?.push(node);
      }
    }
  }

  /** An epoch's committee: as the nodes' staking ledgers decided it, or as the scenario planned it. */
  committee(epoch: number): SimCommittee | undefined {
    if (this.stakingDriver) return this.stakingDriver.canonicalCommittee(epoch) ?? this.plannedCommittee(epoch, 0);
    return this.plannedCommittee(epoch);
  }

  /** The planned committee of an epoch (what staking would have decided), built once and shared by every node. */
  private plannedCommittee(epoch: number, upTo = Number.POSITIVE_INFINITY): SimCommittee | undefined {
    if (epoch > upTo) return undefined;
    let c = this.committees.get(epoch);
    if (c) return c;
    const plan = this.scenario.committees[Math.min(epoch, this.scenario.committees.length - 1)] as CommitteePlan;
    const validators = ValidatorSet.create(
      {
        epoch,
        validators: plan.members.map((m, i) => ({
          publicKey: (this.keys[m] as ValidatorKey).publicKey,
          stake: plan.stakes[i] as bigint,
          proofOfPossession: (this.keys[m] as ValidatorKey).proofOfPossession,
        })),
      },
      this.bls,
    );
    c = { validators, members: plan.members, leaders: new LeaderSchedule(validators) };
    this.committees.set(epoch, c);
    return c;
  }

  /** A validator's committee index in an epoch, or null if it is not in that committee. */
  private indexIn(epoch: number, node: number): number | null {
    const i = this.committee(epoch)?.members.indexOf(node) ?? -1;
    return i >= 0 ? i : null;
  }

  /** Checks certificates of one epoch the way its committee's validators do (rooted at the epoch's first block's parent). */
  private checker(epoch: number, epochRoot: Block): CertificateVerifier {
    let c = this.checkers.get(epoch);
    if (!c) {
      const committee = this.committee(epoch) as EpochCommittee;
      c = new CertificateVerifier(
        this.bls,
        1,
        committee.validators,
        hashHeader(epochRoot.header),
        epochRoot.header.round,
      );
      this.checkers.set(epoch, c);
    }
    return c;
  }

  private payloadContext(epoch: number, height: number): PayloadContext {
    if (height !== epochEndHeight(this.schedule, epoch)) return { epochChange: null };
    const next = this.committee(epoch + 1) as EpochCommittee;
    return { epochChange: { nextEpoch: epoch + 1, validatorSetHash: next.validators.hash } };
  }

  run(): SimulationResult {
    for (const node of this.nodes) this.boot(node);
    for (const c of this.scenario.crashes) {
      this.queue.push(c.at, { kind: "crash", validator: c.validator });
      this.queue.push(c.restartAt, { kind: "restart", validator: c.validator });
    }
    for (const p of this.scenario.partitions) {
      this.queue.push(p.at, { kind: "partition", side: p.side });
      this.queue.push(p.healAt, { kind: "heal-partition", side: p.side });
    }
    for (const node of this.nodes) {
      if (node.behaviors.has("garbage") || node.behaviors.has("replay") || node.behaviors.has("forge"))
        this.queue.push(this.byzRng.range(1, 100), { kind: "byzantine-tick", node: node.id });
    }
    const stopAt = this.o.faultFree ? Number.POSITIVE_INFINITY : this.o.faultMs;
    if (!this.o.faultFree) this.queue.push(stopAt, { kind: "heal-all" });

    let liveness: { height: number; round: number; at: number } | null = this.o.faultFree
      ? { height: 0, round: 0, at: 0 }
      : null;
    const honest = this.nodes.filter((n) => n.honest);
    let guard = 0;
    for (;;) {
      const next = this.queue.pop();
      if (!next) {
        this.violations.push("liveness: no events left (every node idle)");
        break;
      }
      this.now = next.at;
      this.dispatch(next.item);
      if (this.violations.length > 0) break;
      if (++guard % 64 !== 0 && next.item.kind !== "heal-all") continue;
      if (this.faultsHealed && liveness === null) {
        liveness = {
          height: Math.max(...honest.map((n) => n.disk.ledger.length)),
          round: Math.max(...honest.map((n) => n.replica?.currentRound ?? 0)),
          at: this.now,
        };
      }
      if (this.o.stopAfterCommits !== undefined) {
        if (Math.min(...honest.map((n) => n.disk.ledger.length)) >= this.o.stopAfterCommits) break;
        continue;
      }
      if (liveness) {
        const target = liveness.height + 3;
        if (honest.every((n) => n.disk.ledger.length >= target)) break;
        const round = Math.max(...honest.map((n) => n.replica?.currentRound ?? 0));
        if (round > liveness.round + this.o.livenessRounds || this.now > liveness.at + this.o.livenessMs) {
          const behind = honest.filter((n) => n.disk.ledger.length < target).map((n) => n.index);
          this.violations.push(
            `liveness: validators ${behind.join(",")} did not commit 3 new blocks within ${this.o.livenessRounds} rounds / ${this.o.livenessMs} ms after faults healed (heights ${honest.map((n) => n.disk.ledger.length).join(",")}, target ${target})`,
          );
          break;
        }
      }
    }
    this.finalChecks();
    const heights = honest.map((n) => n.disk.ledger.length);
    return {
      seed: this.o.seed,
      violations: this.violations,
      rounds: Math.max(0, ...this.nodes.map((n) => n.replica?.currentRound ?? 0)),
      minHeight: Math.min(...heights),
      maxHeight: Math.max(...heights),
      virtualMs: this.now,
      ...this.stats,
      verifications:
        this.retiredVerifications.count + this.nodes.reduce((s, n) => s + (n.replica?.verifications ?? 0), 0),
      epochs: Math.max(0, ...honest.map((n) => n.replica?.epoch ?? 0)),
      ...(this.stakingDriver ? { staking: this.stakingReport(honest) } : {}),
      scenario: this.scenario,
    };
  }

  // ── node lifecycle ─────────────────────────────────────────────────────

  private boot(node: SimNode): void {
    const ledger = node.disk.ledger;
    const last = ledger[ledger.length - 1];
    const mutation = this.o.mutation && node.honest ? MUTATIONS[this.o.mutation] : undefined;
    // The block the last committed block's epoch started from: genesis, or the previous epoch's last block.
    const epochRoot = (epoch: number) =>
      epoch === 0 ? this.genesis : (ledger[epochEndHeight(this.schedule, epoch - 1) - 1] as LedgerEntry).block;
    node.replica = new EpochManager(
      {
        chainId: 1,
        self: node.index,
        bls: this.bls,
        secretKey: node.key.secretKey,
        genesis: this.genesis,
        schedule: this.schedule,
        committee: (epoch) =>
          this.stakingDriver && node.disk.staking
            ? this.stakingDriver.committee(node.disk.staking, epoch)
            : this.committee(epoch),
        validatePayload: validateSimPayload,
        timing: { baseTimeoutMs: 400, maxBackoffExponent: 5, ...this.o.timing },
        ...(mutation ? { createSafetyRules: mutation } : {}),
      },
      // What survived: the safety state (if any write completed) and the committed ledger (which may exist without it).
      node.disk.safety || last
        ? {
            safety: node.disk.safety,
            root: last ? { block: last.block, qc: last.qc } : { block: this.genesis, qc: this.genesisQc() },
            epochRoot: epochRoot(last?.block.header.epoch ?? 0),
          }
        : undefined,
    );
    this.apply(node, node.replica.start(this.now));
  }

  private genesisQc(): QuorumCertificate {
    return {
      epoch: 0,
      round: 0,
      blockHash: hashHeader(this.genesis.header),
      committedHash: new Uint8Array(32),
      signers: new Uint8Array(0),
      signature: new Uint8Array(0),
    };
  }

  private crash(node: SimNode): void {
    if (!node.replica) return;
    this.retiredVerifications.count += node.replica.verifications;
    node.replica = null;
    node.incarnation++; // pending timers, disk writes and payloads of the old process are lost
  }

  // ── events ─────────────────────────────────────────────────────────────

  private dispatch(e: SimEvent): void {
    switch (e.kind) {
      case "deliver":
        return this.deliver(e.to, e.from, e.bytes);
      case "timer":
        return this.feed(e.node, e.incarnation, {
          type: "timer",
          round: e.round,
          ...(e.epoch === undefined ? {} : { epoch: e.epoch }),
        });
      case "persisted": {
        const node = this.nodes[e.node] as SimNode;
        if (node.incarnation !== e.incarnation) return;
        node.disk.safety = e.state;
        return this.feed(e.node, e.incarnation, { type: "persisted", seq: e.seq });
      }
      case "payload":
        return this.feed(e.node, e.incarnation, {
          type: "payload-ready",
          round: e.round,
          payload: e.payload,
          namespaceRoot: e.root,
          ...(e.epoch === undefined ? {} : { epoch: e.epoch }),
        });
      case "crash":
        for (const node of this.byIndex[e.validator] ?? []) this.crash(node);
        return;
      case "restart":
        for (const node of this.byIndex[e.validator] ?? []) if (!node.replica) this.boot(node);
        return;
      case "partition":
        this.partitioned.push(e.side);
        return;
      case "heal-partition":
        this.partitioned = this.partitioned.filter((s) => s !== e.side);
        return;
      case "heal-all":
        this.partitioned = [];
        this.faultsHealed = true;
        for (const node of this.nodes) if (!node.replica) this.boot(node);
        return;
      case "byzantine-tick":
        return this.byzantineTick(this.nodes[e.node] as SimNode);
    }
  }

  private feed(id: number, incarnation: number, event: ConsensusEvent): void {
    const node = this.nodes[id] as SimNode;
    if (!node.replica || node.incarnation !== incarnation) return;
    this.step(node, () => (node.replica as EpochManager).handle(event, this.now));
  }

  private step(node: SimNode, f: () => ConsensusEffect[]): void {
    let effects: ConsensusEffect[];
    try {
      effects = f();
    } catch (e) {
      if (e instanceof SafetyViolationError) this.violations.push(`agreement: ${e.message}`);
      else this.violations.push(`validator ${node.index} crashed on input: ${(e as Error).stack ?? e}`);
      return;
    }
    this.apply(node, effects);
  }

  private deliver(to: number, from: number, bytes: Uint8Array): void {
    const node = this.nodes[to] as SimNode;
    if (!node.replica) return;
    let message: ConsensusMessage;
    try {
      message = decodeMessage(bytes);
    } catch (e) {
      if (e instanceof DecodeError) {
        this.stats.decodeErrors++;
        return;
      }
      this.violations.push(`decoder threw ${(e as Error).name} instead of DecodeError: ${(e as Error).message}`);
      return;
    }
    if (!node.honest) {
      if (node.behaviors.has("replay") && node.seen.length < 256) node.seen.push(bytes);
      if (node.behaviors.has("vote-invalid") && message.kind === "proposal") this.voteBlindly(node, message);
    }
    this.step(node, () => (node.replica as EpochManager).handle({ type: "message", from, message }, this.now));
  }

  // ── effects ────────────────────────────────────────────────────────────

  private apply(node: SimNode, effects: ConsensusEffect[]): void {
    for (const e of effects) {
      switch (e.type) {
        case "send":
          this.outgoing(node, e.to, e.message);
          break;
        case "broadcast":
          for (let v = 0; v < this.pool; v++) if (v !== node.index) this.outgoing(node, v, e.message);
          break;
        case "request-sync":
          this.outgoing(node, e.to, e.request);
          break;
        case "persist":
          this.queue.push(this.now + this.scenario.diskLatencyMs, {
            kind: "persisted",
            node: node.id,
            incarnation: node.incarnation,
            seq: e.seq,
            state: e.state,
          });
          break;
        case "set-timer":
          this.queue.push(this.now + e.delayMs, {
            kind: "timer",
            node: node.id,
            incarnation: node.incarnation,
            round: e.round,
            epoch: e.epoch,
          });
          break;
        case "request-payload": {
          const { payload, namespaceRoot } = randomPayload(
            this.payloadRng,
            this.o.maxTransactionsPerBlock,
            e.epochChange ?? null,
            this.stakingDriver && node.disk.staking ? this.stakingDriver.transactions(node.disk.staking) : [],
          );
          this.queue.push(this.now, {
            kind: "payload",
            node: node.id,
            incarnation: node.incarnation,
            round: e.round,
            epoch: e.epoch,
            payload,
            root: namespaceRoot,
          });
          break;
        }
        case "commit":
          this.onCommit(node, e);
          break;
        case "report-evidence":
          this.onEvidence(node, e.evidence);
          break;
        case "rejected":
          this.stats.rejected++;
          break;
      }
    }
  }

  private onCommit(node: SimNode, e: Extract<ConsensusEffect, { type: "commit" }>): void {
    const ledger = node.disk.ledger;
    const height = e.block.header.height;
    const expected = ledger.length + 1;
    if (!node.honest) {
      if (height === expected) {
        ledger.push({ height, hash: e.blockHash, block: e.block, qc: e.qc });
        this.executeStaking(node, e.block);
      }
      return;
    }
    this.stats.commits++;
    if (height !== expected) {
      this.violations.push(`order: validator ${node.index} committed height ${height} after ${expected - 1}`);
      return;
    }
    const key = toHex(e.blockHash);
    const prev = ledger[ledger.length - 1];
    if (this.o.checkCommits !== false) this.checkCommitValidity(node, e, key, prev);
    const canonical = this.canonical.get(height);
    if (canonical === undefined) this.canonical.set(height, key);
    else if (canonical !== key)
      this.violations.push(
        `agreement: validator ${node.index} committed ${key} at height ${height}, others ${canonical}`,
      );
    ledger.push({ height, hash: e.blockHash, block: e.block, qc: e.qc });
    this.executeStaking(node, e.block);
  }

  private stakingReport(honest: SimNode[]): NonNullable<SimulationResult["staking"]> {
    const driver = this.stakingDriver as StakingDriver;
    const ledger = honest[0]?.disk.staking;
    const jailed = ledger ? this.keys.filter((k) => ledger.account(toHex(k.publicKey))?.jailed).length : 0;
    return { ...driver.stats, slashed: jailed };
  }

  /** What every validator does with a committed block's system transactions. */
  private executeStaking(node: SimNode, block: Block): void {
    const ledger = node.disk.staking;
    if (!ledger) return;
    const payload = decodeBlockPayload(block.payload);
    const system = payload.groups.find((g) => g.namespace === SYSTEM_NAMESPACE)?.transactions ?? [];
    ledger.applyBlock(block.header.height, system);
  }

  private checkCommitValidity(
    node: SimNode,
    e: Extract<ConsensusEffect, { type: "commit" }>,
    key: string,
    prev: LedgerEntry | undefined,
  ): void {
    const height = e.block.header.height;
    if (prev && toHex(e.block.header.parentHash) !== toHex(prev.hash))
      this.violations.push(
        `prefix: validator ${node.index}'s block at height ${height} does not extend its previous block`,
      );
    if (toHex(hashHeader(e.block.header)) !== key) this.violations.push(`validity: commit hash mismatch at ${height}`);
    const epoch = e.block.header.epoch;
    if (epoch !== epochOfHeight(this.schedule, height))
      this.violations.push(
        `epochs: block ${height} is in epoch ${epoch}, the schedule says ${epochOfHeight(this.schedule, height)}`,
      );
    const committee = this.committee(epoch) as EpochCommittee & { leaders: LeaderSchedule };
    if (toHex(e.block.header.validatorSetHash) !== toHex(committee.validators.hash))
      this.violations.push(`epochs: block ${height} names another committee than epoch ${epoch}'s`);
    const epochRoot =
      epoch === 0 ? this.genesis : node.disk.ledger[epochEndHeight(this.schedule, epoch - 1) - 1]?.block;
    if (!epochRoot) {
      this.violations.push(
        `epochs: validator ${node.index} committed ${height} without the previous epoch's last block`,
      );
      return;
    }
    const checker = this.checker(epoch, epochRoot);
    if (!checker.verifyQc(e.qc) || toHex(e.qc.blockHash) !== key)
      this.violations.push(`validity: validator ${node.index} committed height ${height} without a valid certificate`);
    if (!checker.verifyQc(e.finality)) this.violations.push(`validity: invalid finality certificate at ${height}`);
    const payloadError = validateSimPayload(e.block, prev?.block ?? this.genesis, this.payloadContext(epoch, height));
    if (payloadError)
      this.violations.push(`validity: committed block ${height} has an invalid payload (${payloadError})`);
    if (e.block.header.proposer !== committee.leaders.leader(e.block.header.round))
      this.violations.push(`validity: block ${height} proposed by a validator that did not lead its round`);
  }

  private onEvidence(node: SimNode, evidence: Evidence): void {
    this.stats.evidence++;
    if (node.honest) this.stakingDriver?.reportEvidence(evidence);
    const accusedNode = this.committee(evidence.epoch)?.members[evidence.author];
    const accused = accusedNode === undefined ? undefined : this.byIndex[accusedNode]?.[0];
    if (node.honest && accused?.honest)
      this.violations.push(
        `evidence: validator ${node.index} accused honest validator ${evidence.author} of ${evidence.kind}`,
      );
  }

  // ── network ────────────────────────────────────────────────────────────

  private outgoing(node: SimNode, to: number, message: ConsensusMessage): void {
    if (this.o.boundaryFaults && message.kind === "proposal") this.boundaryFault(message);
    if (node.honest) {
      this.recordSignature(node.index, message);
      this.send(node, to, encodeMessage(message));
      return;
    }
    for (const [target, m] of this.corrupt(node, to, message)) this.send(node, target, m);
  }

  private send(node: SimNode, to: number, bytes: Uint8Array): void {
    const targets = this.byIndex[to] ?? [];
    // A twin pair splits the network: each sender talks to one of the twins.
    const reach = targets.length > 1 ? [targets[(node.index + to) % targets.length] as SimNode] : targets;
    for (const target of reach) {
      this.stats.messages++;
      if (this.cut(node.index, to) || this.netRng.chance(this.faultsHealed ? 0 : this.scenario.dropRate)) {
        this.stats.dropped++;
        continue;
      }
      const base = this.scenario.latency[node.index]?.[to] ?? 0;
      const delay = base + this.netRng.float() * this.scenario.jitterMs;
      this.queue.push(this.now + delay, { kind: "deliver", to: target.id, from: node.index, bytes });
      if (!this.faultsHealed && this.netRng.chance(this.scenario.duplicateRate))
        this.queue.push(this.now + delay + this.netRng.range(0, 50), {
          kind: "deliver",
          to: target.id,
          from: node.index,
          bytes,
        });
    }
  }

  private cut(a: number, b: number): boolean {
    for (const side of this.partitioned) if (side.includes(a) !== side.includes(b)) return true;
    return false;
  }

  /** Crashes the leaders around an epoch's last block the first time it is proposed (`boundaryFaults`). */
  private boundaryFault(p: Proposal): void {
    const h = p.block.header;
    if (h.height !== epochEndHeight(this.schedule, h.epoch) || this.boundariesHit.has(h.epoch)) return;
    this.boundariesHit.add(h.epoch);
    const leaders = [
      this.committee(h.epoch)?.members[this.committee(h.epoch)?.leaders.leader(h.round + 1) ?? -1],
      this.committee(h.epoch + 1)?.members[this.committee(h.epoch + 1)?.leaders.leader(h.round + 1) ?? -1],
    ];
    for (const v of new Set(leaders)) {
      if (v === undefined) continue;
      this.queue.push(this.now, { kind: "crash", validator: v });
      this.queue.push(this.now + 300, { kind: "restart", validator: v });
    }
  }

  /** No honest validator ever signs two different statements of one kind for one round of an epoch, across restarts. */
  private recordSignature(node: number, m: ConsensusMessage): void {
    const check = <T>(book: Map<number, Map<string, T>>, epoch: number, round: number, value: T, what: string) => {
      let rounds = book.get(node);
      if (!rounds) {
        rounds = new Map();
        book.set(node, rounds);
      }
      const at = `${epoch}/${round}`;
      const prior = rounds.get(at);
      if (prior === undefined) rounds.set(at, value);
      else if (prior !== value)
        this.violations.push(
          `double-sign: honest validator ${node} signed two different ${what}s in round ${round} of epoch ${epoch}`,
        );
    };
    if (m.kind === "vote" && m.author === this.indexIn(m.epoch, node))
      check(this.signedVotes, m.epoch, m.round, `${toHex(m.blockHash)}${toHex(m.committedHash)}`, "vote");
    else if (m.kind === "timeout" && m.author === this.indexIn(m.epoch, node))
      check(this.signedTimeouts, m.epoch, m.round, m.highQc.round, "timeout");
    else if (m.kind === "proposal" && m.block.header.proposer === this.indexIn(m.block.header.epoch, node))
      check(
        this.signedProposals,
        m.block.header.epoch,
        m.block.header.round,
        toHex(hashHeader(m.block.header)),
        "proposal",
      );
  }

  // ── Byzantine behaviour ────────────────────────────────────────────────

  /** What a Byzantine node actually sends in place of an honest message. */
  private corrupt(node: SimNode, to: number, message: ConsensusMessage): [number, Uint8Array][] {
    const b = node.behaviors;
    const r = this.byzRng;
    const out: [number, Uint8Array][] = [];
    const send = (m: ConsensusMessage) => out.push([to, encodeMessage(m)]);
    if (
      message.kind === "proposal" &&
      message.block.header.proposer === this.indexIn(message.block.header.epoch, node.index)
    ) {
      let p = message;
      if (b.has("invalid-payload") && r.chance(0.5)) p = this.resign(node, p, r.bytes(r.int(64)), r.bytes(32));
      if (b.has("equivocate") && r.chance(0.7)) {
        const alt = randomPayload(r, 4);
        const other = this.resign(node, p, alt.payload, alt.namespaceRoot);
        // Either split the validators between two blocks, or show both blocks to everyone.
        if (r.chance(0.5)) send(to % 2 === 0 ? p : other);
        else {
          send(p);
          send(other);
        }
        return out;
      }
      send(p);
      return out;
    }
    if (message.kind === "vote") {
      if (b.has("withhold") && r.chance(0.7)) return out;
      send(b.has("forge") && r.chance(0.2) ? { ...message, signature: this.forgedSignature() } : message);
      if (b.has("double-vote") && r.chance(0.5)) {
        const blockHash = r.bytes(32);
        const committedHash = new Uint8Array(32);
        const signature = this.bls.sign(
          node.key.secretKey,
          voteDigest(1, message.epoch, message.round, blockHash, committedHash),
        );
        send({ ...message, blockHash, committedHash, signature });
      }
      return out;
    }
    if (message.kind === "timeout" && b.has("withhold") && r.chance(0.5)) return out;
    send(message);
    return out;
  }

  /** The same proposal with another payload, properly signed: a valid-looking conflicting block. */
  private resign(node: SimNode, p: Proposal, payload: Uint8Array, namespaceRoot: Uint8Array): Proposal {
    const header = { ...p.block.header, payloadHash: sha256(payload), namespaceRoot };
    const block = { ...p.block, header, payload };
    return { ...p, block, signature: this.bls.sign(node.key.secretKey, proposalDigest(hashHeader(header))) };
  }

  /** Votes for any proposal it sees, valid or not, ignoring every safety rule. */
  private voteBlindly(node: SimNode, p: Proposal): void {
    const h = p.block.header;
    const author = this.indexIn(h.epoch, node.index);
    const committee = this.committee(h.epoch);
    if (author === null || !committee) return;
    const blockHash = hashHeader(h);
    const committedHash = new Uint8Array(32);
    const vote: Vote = {
      kind: "vote",
      epoch: h.epoch,
      round: h.round,
      blockHash,
      committedHash,
      author,
      signature: this.bls.sign(node.key.secretKey, voteDigest(1, h.epoch, h.round, blockHash, committedHash)),
    };
    this.send(node, committee.members[committee.leaders.leader(h.round + 1)] as number, encodeMessage(vote));
  }

  private forgedSignature(): Uint8Array {
    const sig = this.byzRng.bytes(96);
    sig[0] = ((sig[0] as number) & 0x1f) | 0x80; // compressed-point flag, so it is not rejected by length alone
    return sig;
  }

  private byzantineTick(node: SimNode): void {
    if (!node.replica) {
      this.queue.push(this.now + 200, { kind: "byzantine-tick", node: node.id });
      return;
    }
    const r = this.byzRng;
    const to = r.int(this.pool);
    if (to !== node.index) {
      if (node.behaviors.has("garbage")) {
        const kind = r.int(3);
        if (kind === 0) this.send(node, to, r.bytes(r.int(300)));
        else {
          // A valid encoding with bytes flipped or cut short: the decoder's hardest inputs.
          const bytes = encodeMessage(this.forgedVote(node, to)).slice();
          if (kind === 1) for (let i = 0; i < 3; i++) bytes[r.int(bytes.length)] = r.u32() & 0xff;
          this.send(node, to, kind === 1 ? bytes : bytes.subarray(0, r.int(bytes.length)));
        }
      }
      if (node.behaviors.has("replay") && node.seen.length > 0) this.send(node, to, r.pick(node.seen));
      if (node.behaviors.has("forge")) this.send(node, to, encodeMessage(this.forgedVote(node, to)));
    }
    this.queue.push(this.now + r.range(5, 80), { kind: "byzantine-tick", node: node.id });
  }

  /** A vote in some honest validator's name with a signature that is not theirs. */
  private forgedVote(node: SimNode, to: number): Vote {
    const round = node.replica?.currentRound ?? 1;
    const epoch = node.replica?.epoch ?? 0;
    return {
      kind: "vote",
      epoch,
      round,
      blockHash: this.byzRng.bytes(32),
      committedHash: new Uint8Array(32),
      author: (to + 1) % (this.committee(epoch)?.members.length ?? 1),
      signature: this.forgedSignature(),
    };
  }

  // ── final checks ───────────────────────────────────────────────────────

  private finalChecks(): void {
    const honest = this.nodes.filter((n) => n.honest);
    for (let i = 0; i < honest.length; i++) {
      const a = honest[i] as SimNode;
      for (let j = i + 1; j < honest.length; j++) {
        const b = honest[j] as SimNode;
        const n = Math.min(a.disk.ledger.length, b.disk.ledger.length);
        for (let h = 0; h < n; h++) {
          if (toHex((a.disk.ledger[h] as LedgerEntry).hash) !== toHex((b.disk.ledger[h] as LedgerEntry).hash)) {
            this.violations.push(`prefix: validators ${a.index} and ${b.index} differ at height ${h + 1}`);
            return;
          }
        }
      }
    }
  }
}

export function runSimulation(options: SimulationOptions): SimulationResult {
  return new Simulation(options).run();
}

export const DEFAULT_SIMULATION: Omit<SimulationOptions, "seed"> = {
  validators: 7,
  byzantine: 2,
  crash: 1,
  twins: "auto",
  faultMs: 3000,
  faultFree: false,
  zeroLatency: false,
  livenessRounds: 60,
  livenessMs: 120_000,
  maxTransactionsPerBlock: 6,
};
