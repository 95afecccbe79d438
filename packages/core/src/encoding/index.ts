export {
  CODEC_VERSION,
  type CodecLimits,
  DEFAULT_CODEC_LIMITS,
  decodeBlock,
  decodeBlockPayload,
  decodeEvidence,
  decodeMessage,
  decodeQuorumCertificate,
  EVIDENCE_TAG,
  encodeBlock,
  encodeBlockPayload,
  encodeEvidence,
  encodeMessage,
  encodeQuorumCertificate,
  KIND_TAG,
} from "./codec.js";
export { packWire, type Wire } from "./wire-writer.js";
