export * from "./bytes.js";
export {
  BLS_DST,
  type BlsBackend,
  type BlsBackendName,
  BlsError,
  keyGen,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  SIGNATURE_BYTES,
} from "./crypto/bls.js";
export { blstBackend } from "./crypto/blst-backend.js";
export { generateValidatorKey, type ValidatorKey } from "./crypto/keys.js";
export { nobleBackend } from "./crypto/noble-backend.js";
export { sha256, sha256Concat } from "./crypto/sha256.js";
export * from "./encoding/index.js";
export * from "./epoch.js";
export * from "./errors.js";
export * from "./hashing.js";
export * from "./polyfill.js";
export * from "./tree/index.js";
export * from "./types.js";
export * from "./validator-set.js";
