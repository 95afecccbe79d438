export { BlockTree, type StoredBlock } from "./block-tree.js";
export {
  CertificateVerifier,
  genesisQc,
  rootQc,
  TimeoutAggregator,
  type VerificationCounter,
  VoteAggregator,
} from "./certificates.js";
export {
  type EpochCommittee,
  EpochManager,
  type EpochManagerConfig,
  type NodeId,
  type RecoveredEpochState,
} from "./epoch-manager.js";
export type { ConsensusEffect, ConsensusEvent, PayloadContext, PayloadValidator } from "./events.js";
export { createGenesisBlock, type GenesisConfig } from "./genesis.js";
export { buildLeaderCycle, LeaderSchedule } from "./leader-schedule.js";
export { DEFAULT_PACEMAKER_TIMING, type PacemakerTiming, roundTimeoutMs } from "./pacemaker.js";
export { type RecoveredState, Replica, type ReplicaConfig, SafetyViolationError } from "./replica.js";
export {
  cloneSafetyState,
  initialSafetyState,
  maxRound,
  type SafetyDecision,
  SafetyRules,
  type SafetyState,
} from "./safety-rules.js";
export {
  type StakingAccount,
  type StakingConfig,
  type StakingEvent,
  type StakingGenesis,
  StakingLedger,
  type StakingLedgerSnapshot,
  type UnbondingEntry,
} from "./staking/staking-ledger.js";
export {
  decodeStakingTransaction,
  type EvidenceTransaction,
  encodeStakingTransaction,
  isStakingTransaction,
  type JoinTransaction,
  type LeaveTransaction,
  MAX_STAKING_TRANSACTION_BYTES,
  type StakingTransaction,
  signStakingTransaction,
  stakingSigningDigest,
  type UnsignedStakingTransaction,
} from "./staking/staking-transaction.js";
