export {
  type NamespaceProofJson,
  type NeighbourProofJson,
  namespaceProofFromJson,
  namespaceProofToJson,
  toJson,
} from "./json.js";
export type { NamespaceBlockJson } from "./namespace-blocks.js";
export { STREAM_CLOSE, type StreamOptions } from "./namespace-stream.js";
export {
  API_BODY_LIMIT,
  ApiError,
  type ApiErrorCode,
  type ApiServerOptions,
  createApiServer,
  MAX_BATCH_TRANSACTIONS,
} from "./server.js";
