export { type MarketGenesis, ProverMarket, sealBid, slashAmount } from "./market/market.js";
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
