export {
  ANVIL_DEV_PRIVATE_KEY,
  ANVIL_DEV_PRIVATE_KEY_2,
  type Anvil,
  type AnvilOptions,
  anvilBinary,
  startAnvil,
} from "./anvil.js";
export { type BridgeClients, deployContract, evmClients } from "./deploy.js";
export { OrdoLightClientAbi } from "./generated/OrdoLightClient.js";
export { OrdoRollupBridgeAbi, OrdoRollupBridgeBytecode } from "./generated/OrdoRollupBridge.js";
export { RollupBatchVerifierAbi, RollupBatchVerifierBytecode } from "./generated/RollupBatchVerifier.js";
export {
  BN254_BASE_FIELD,
  BN254_SCALAR_FIELD,
  type Groth16ProofCalldata,
  type PublicInputsCalldata,
  proofToCalldata,
  publicInputsToCalldata,
} from "./groth16-calldata.js";
export {
  type CommitteeArgs,
  committeeArgs,
  deployLightClient,
  epochChangeArgs,
  finalityCertificateArgs,
  g1ToEip2537,
  g2ToEip2537,
  type HeaderArgs,
  headerArgs,
  type TransactionProofArgs,
  transactionProofArgs,
} from "./light-client.js";
export {
  attestedBatchArgs,
  BridgePath,
  deployPoseidons,
  deployRollupBridge,
  type ProvenBatchArgs,
  provenBatchArgs,
  type RollupBridgeDeployment,
  type StatementArgs,
  statementsRoot,
} from "./rollup-bridge.js";
