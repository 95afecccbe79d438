export { FrameQueue } from "./frame-queue.js";
export { DEFAULT_PEER_LIMITS, type PeerLimits } from "./limits.js";
export { type LoopbackOptions, startLoopbackTransports } from "./loopback.js";
export { generatePeerKey, loadOrCreatePeerKey, peerIdOf } from "./peer-key.js";
export { measureRawThroughput, type RawThroughputOptions, type RawThroughputResult } from "./raw-throughput.js";
export {
  CONSENSUS_PROTOCOL,
  createTransport,
  type GossipHandler,
  type InboundDrops,
  type MessageHandler,
  type OutboundDrops,
  type PeerInfo,
  type PeerStats,
  type ReconnectOptions,
  type SendOptions,
  type Transport,
  type TransportLogger,
  type TransportOptions,
  type TransportStats,
} from "./transport.js";
