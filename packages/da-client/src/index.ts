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
export {
  type BlockPosting,
  DaPoster,
  type DaPosterOptions,
  type LayerPosting,
  type PosterEvent,
  type PostingPolicy,
  type PostingStore,
  policySatisfied,
  splitPayload,
} from "./posting/da-poster.js";
export { FilePostingStore } from "./posting/file-posting-store.js";
