export { type MarketGenesis, ProverMarket, sealBid, slashAmount } from "./market/market.js";
export { type MarketView, ProverAgent, type ProverAgentOptions } from "./market/prover-agent.js";
export {
  type AccountId,
  type Bid,
  DEFAULT_MARKET_CONFIG,
  type Decentralization,
  type FinalizedBatch,
  type Job,
  type JobStatus,
  type MarketConfig,
  type MarketEvent,
  type MarketTransaction,
  type ProverAccount,
  type Rollup,
  type Slot,
} from "./market/types.js";
export { type Account, AccountTree } from "./rollup/account-tree.js";
export {
  applyTransfer,
  BATCH_SIZE,
  type BatchWitness,
  batchCommitment,
  buildWitnessInput,
  DEPTH,
  publicSignals,
  type TransferResult,
} from "./rollup/batch.js";
export {
  CIRCUITS,
  circuitByName,
  MULTI_PROOF_CIRCUIT,
  PROOF_SYSTEMS,
  type ProofSystem,
  REFERENCE_CIRCUIT,
  type RollupCircuit,
} from "./rollup/circuits.js";
export { FIELD, leafHash, poseidonHash } from "./rollup/poseidon.js";
export {
  ARTIFACTS_DIR,
  artifactPaths,
  type BatchProof,
  decodeProofBundle,
  encodeProofBundle,
  type Groth16Proof,
  loadVerificationKey,
  type PlonkProof,
  type ProofBundle,
  proveBatch,
  shutdownSnarkjs,
  verifyBatch,
  verifyingKeyHash,
} from "./rollup/proofs.js";
export { ProvingWorker } from "./rollup/proving-worker.js";
export {
  chunkBatches,
  decodeTransfer,
  encodeTransfer,
  normalizeTransfer,
  TRANSFER_BYTES,
  TRANSFER_TAG,
  type Transfer,
  transfersFromFinalized,
  U32_LIMIT,
  U64_LIMIT,
} from "./rollup/transfer.js";
export { type BlockTransaction, type ExecutorOptions, MarketExecutor } from "./system/market-executor.js";
export { RollupTracker, referenceRollupGenesis, type TrackedBatch } from "./system/rollup-tracker.js";
export {
  accountOf,
  decodeSystemTransaction,
  encodeSystemTransaction,
  generateSystemKey,
  MAX_PROOF_BYTES,
  SYSTEM_NAMESPACE,
  type SystemKey,
  type SystemTransaction,
  type SystemTransactionBody,
  signSystemTransaction,
  systemPublicKey,
  verifySystemTransaction,
} from "./system/system-transaction.js";
