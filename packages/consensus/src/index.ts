export { Replica, type RecoveredState, type ReplicaConfig, SafetyViolationError } from "./replica.js";
export type { ConsensusEffect, ConsensusEvent, PayloadValidator } from "./events.js";
export { cloneSafetyState, initialSafetyState, maxRound, type SafetyDecision, SafetyRules, type SafetyState } from "./safety-rules.js";
export { CertificateVerifier, genesisQc, TimeoutAggregator, type VerificationCounter, VoteAggregator } from "./certificates.js";
export { buildLeaderCycle, LeaderSchedule } from "./leader-schedule.js";
export { DEFAULT_PACEMAKER_TIMING, type PacemakerTiming, roundTimeoutMs } from "./pacemaker.js";
export { BlockTree, type StoredBlock } from "./block-tree.js";
export { createGenesisBlock, type GenesisConfig } from "./genesis.js";
