// @ordo/core first: it installs the Node 20 polyfills every entry point relies on.
import "@ordo/core";

export { LightClientError, type LightClientErrorCode, type LightClientErrorOptions } from "./errors.js";
export {
  type BlockHeaderJson,
  certificateFromJson,
  certificateToJson,
  type EpochChangeJson,
  epochChangeFromJson,
  epochChangeToJson,
  type FinalityUpdate,
  type FinalityUpdateJson,
  finalityFromJson,
  finalityToJson,
  headerFromJson,
  headerToJson,
  type NamespaceBlock,
  type NamespaceBlockJson,
  type NamespaceProofJson,
  type NeighbourProofJson,
  type NodeStatus,
  type NodeValidators,
  namespaceBlockFromJson,
  namespaceProofFromJson,
  namespaceProofToJson,
  type QuorumCertificateJson,
  statusFromJson,
  validatorsFromJson,
} from "./json.js";
export { LightClient, type LightClientOptions } from "./light-client.js";
export {
  checkpointFromNode,
  followEpochs,
  type NodeOptions,
  type VerificationReport,
  verifyFromNode,
} from "./rpc.js";
export type {
  CertifiedHeader,
  Checkpoint,
  CheckpointValidator,
  CheckpointValidatorSet,
  EpochChange,
  ForkEvidence,
  LightClientState,
  NamespaceVerification,
  VerifiedHeader,
} from "./types.js";
