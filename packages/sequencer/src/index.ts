export * from "./api/index.js";
export * from "./dissemination/index.js";
export {
  DEFAULT_MEMPOOL_CONFIG,
  Mempool,
  type MempoolAddOptions,
  type MempoolAddResult,
  type MempoolConfig,
  type MempoolDrop,
  type MempoolDropReason,
  type MempoolEntry,
  type MempoolRejectCode,
  type NamespaceUsage,
} from "./mempool/mempool.js";
export {
  type CommittedBlockEvent,
  groupByNamespace,
  type SoftBlockEvent,
  type SoftPosition,
  ValidatorNode,
  type ValidatorNodeOptions,
} from "./node/validator-node.js";
export * from "./p2p/index.js";
export {
  type CommitEntry,
  type CommittedHead,
  NodeStore,
  type NodeStoreOptions,
  type PendingTransaction,
  STORE_FORMAT_VERSION,
  StoreCorruptError,
  StoreError,
  type StoreErrorCode,
  type TransactionStatus,
  type TxIndexEntry,
  type WriteOptions,
} from "./storage/node-store.js";
