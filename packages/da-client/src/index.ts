export {
  commitShards,
  type DaCertificate,
  type ShardCommitment,
  shardLeaf,
  shardPath,
  shardsOf,
  verifyDaCertificate,
  verifyShard,
} from "./embedded/shard-commitment.js";
export {
  encodeShards,
  LENGTH_PREFIX_BYTES,
  MAX_SHARDS,
  rebuildPayload,
  SHARD_ALIGNMENT,
  shardSize,
} from "./erasure/reed-solomon.js";
export { type DaLayer, DaLayerError, type DaReceipt, type DaStatus } from "./layer.js";
export { AVAIL_MAX_APP_DATA_BYTES, AvailLayer, type AvailOptions, blake2b, blake2b256 } from "./layers/avail.js";
export {
  CELESTIA_MAX_BLOB_BYTES_CIP28,
  CelestiaLayer,
  type CelestiaOptions,
  type CelestiaTxConfig,
  celestiaNamespace,
  checkNamespace,
} from "./layers/celestia.js";
export { EIGENDA_MAX_PAYLOAD_BYTES_16MIB, EigenDaLayer, type EigenDaOptions } from "./layers/eigenda.js";
export {
  BLOB_PAYLOAD_BYTES,
  type BlobSource,
  EthereumBlobsLayer,
  type EthereumBlobsOptions,
  kzgFromWasm,
  loadSharedKzg,
  MAX_BLOBS_PER_TX,
} from "./layers/ethereum-blobs.js";
export {
  BUNDLE_ENTRY_OVERHEAD_BYTES,
  BUNDLE_HEADER_BYTES,
  type BundledPayload,
  bundleSize,
  decodeBundle,
  encodeBundle,
} from "./posting/block-bundle.js";
export {
  type BlockPosting,
  DaPoster,
  type DaPosterOptions,
  type LayerPosting,
  type PosterEvent,
  type PosterLayerStats,
  type PostingPolicy,
  type PostingStore,
  policySatisfied,
  splitPayload,
} from "./posting/da-poster.js";
export { FilePostingStore } from "./posting/file-posting-store.js";
export { retrievePostedPayload } from "./posting/retrieve-posted.js";
