export {
  type NamespaceProofJson,
  type NeighbourProofJson,
  namespaceProofFromJson,
  namespaceProofToJson,
  toJson,
} from "./json.js";
export { API_BODY_LIMIT, ApiError, type ApiErrorCode, type ApiServerOptions, createApiServer } from "./server.js";
