/**
 * The validator's network layer on libp2p 3 (TCP, noise, yamux, identify, ping).
 *
 * Consensus messages and payload batches travel as length-prefixed frames over
 * ONE long-lived direct stream per peer and direction (`/ordo/consensus/1`,
 * opened with `dialProtocol` and framed with `lpStream`): per sender they arrive
 * in order. `send` never blocks: frames wait in per-peer queues bounded in
 * bytes (drop-oldest) while the stream drains or while the peer is away; a
 * broken stream is redialled with exponential backoff, and queued frames follow
 * once it is back. Frames already handed to a stream that then breaks may be
 * lost (delivery is at most once, in order, never duplicated): consensus
 * recovers through timeouts and sync. Urgent frames (votes, proposals) have
 * their own lane that is written before bulk frames (batches). Gossipsub
 * (`@libp2p/gossipsub`) carries small announcements only.
 *
 * Every inbound frame is attributed to the validator whose noise-authenticated
 * peer id sent it; connections and streams from peer ids outside the peer list
 * are refused. Oversize frames are skipped without being buffered, over-rate
 * frames dropped, invalid framing closes the stream (not the connection), and
 * the node lowers a peer's score with `penalize` for frames that fail to decode
 * or validate; a peer at or below the threshold is disconnected for a cooldown.
 * Everything dropped is counted in `stats()`. Nothing a peer sends can throw
 * out of the transport.
 */
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { type GossipSub, gossipsub, type Message } from "@libp2p/gossipsub";
import { type Identify, identify } from "@libp2p/identify";
import type { Libp2p, PeerId, PrivateKey, Stream } from "@libp2p/interface";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { type Ping, ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { byteStream, type LengthPrefixedStream, type LengthPrefixedStreamOpts, lpStream } from "@libp2p/utils";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import { InvalidConfigError, OrdoError } from "@ordo/core";
import { createLibp2p } from "libp2p";
import { FrameQueue } from "./frame-queue.js";
import { DEFAULT_PENALTY, type PeerLimits, PeerScore, resolveLimits, TokenBucket } from "./limits.js";

/** The direct-stream protocol for consensus messages and payload batches. */
export const CONSENSUS_PROTOCOL = "/ordo/consensus/1";

/** A validator in the peer list: its index, libp2p peer id and dialable multiaddrs. */
export interface PeerInfo {
  index: number;
  peerId: string;
  addrs: string[];
}

/** The pino subset the transport logs through (`(fields, message)`). */
export interface TransportLogger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  debug(fields: object, message?: string): void;
}

export interface ReconnectOptions {
  /** First redial delay after a failure (jittered ±20%). Default 100 ms. */
  initialDelayMs: number;
  /** Ceiling of the doubling redial delay. Default 5 s. */
  maxDelayMs: number;
  /** Abandon one dial attempt after this long. Default 5 s. */
  dialTimeoutMs: number;
  /**
   * A write that makes no progress for this long (the peer stopped reading, or
   * the connection is dead but not yet closed) breaks the stream, which is then
   * redialled. Default 30 s.
   */
  stallTimeoutMs: number;
}

export interface TransportOptions {
  privateKey: PrivateKey;
  /** The multiaddr to listen on, e.g. `/ip4/127.0.0.1/tcp/0`. */
  listen: string;
  /** This validator's index. An entry for it in `peers` is checked against `privateKey` and skipped. */
  self: number;
  peers: readonly PeerInfo[];
  limits?: Partial<PeerLimits>;
  reconnect?: Partial<ReconnectOptions>;
  logger?: TransportLogger;
}

export interface SendOptions {
  /**
   * Urgent frames (votes, proposals, timeouts) overtake queued bulk frames
   * (payload batches) to the same peer. Order per sender holds within each lane,
   * not across lanes. Default false.
   */
  urgent?: boolean;
}

export type MessageHandler = (from: number, bytes: Uint8Array) => void;
export type GossipHandler = (from: number, bytes: Uint8Array) => void;

export interface InboundDrops {
  /** Larger than `maxFrameBytes`: skipped unread, the stream survives. */
  oversize: number;
  /** Over the peer's message or byte rate. */
  rate: number;
  /** Invalid length prefix: the stream was closed (the peer may reconnect). */
  malformed: number;
  /** No `onMessage` handler was registered. */
  noHandler: number;
}

export interface OutboundDrops {
  /** Larger than `maxFrameBytes`: never queued. */
  oversize: number;
  /** Pushed out of a full queue (oldest first), or larger than the whole queue. */
  queueFull: number;
}

export interface PeerStats {
  index: number;
  peerId: string;
  /** An outbound stream to the peer is open. */
  connected: boolean;
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  queuedFrames: number;
  queuedBytes: number;
  /** Outbound streams re-established after the first. */
  reconnects: number;
  dialFailures: number;
  /** 0 is clean; penalties lower it, time raises it back to 0. */
  score: number;
  /** Epoch ms until which the peer is disconnected for a low score, or null. */
  disconnectedUntil: number | null;
  /** Times the peer fell below the score threshold. */
  disconnects: number;
  penalties: Record<string, number>;
  droppedIn: InboundDrops;
  droppedOut: OutboundDrops;
}

export interface TransportStats {
  self: number;
  peerId: string;
  peers: PeerStats[];
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  droppedIn: InboundDrops;
  droppedOut: OutboundDrops & { unknownPeer: number; stopped: number };
  /** Connections or streams refused because the peer id is not in the peer list. */
  refusedUnknownPeer: number;
  /** Connections or streams refused because the peer is in its low-score cooldown. */
  refusedDisconnected: number;
  handlerErrors: number;
  gossip: {
    published: number;
    delivered: number;
    dropped: { oversize: number; unknownPeer: number; publishFailed: number };
  };
}

export interface Transport {
  /** This node's libp2p peer id. */
  readonly peerId: string;
  readonly self: number;
  /** Addresses this node listens on, with its `/p2p/` peer id. */
  multiaddrs(): string[];
  /** Queues a frame for one validator; never blocks or throws. `bytes` must not be mutated afterwards. */
  send(to: number, bytes: Uint8Array, options?: SendOptions): void;
  /** Queues a frame for every other validator. */
  broadcast(bytes: Uint8Array, options?: SendOptions): void;
  /**
   * Registers a handler for inbound frames (`from` is the sender's validator index,
   * authenticated by noise; a frame sent to `self` is delivered locally). Frames are
   * raw bytes: decoding and validating them is the node's job, and it calls
   * `penalize` for those that fail. A handler that throws is counted, not fatal.
   * Returns a function that removes the handler.
   */
  onMessage(handler: MessageHandler): () => void;
  /** Publishes a small announcement; resolves to the number of peers it was sent to (0 on failure, counted). */
  publish(topic: string, bytes: Uint8Array): Promise<number>;
  /** Subscribes to announcements on a topic; returns a function that unsubscribes. */
  subscribe(topic: string, handler: GossipHandler): () => void;
  /** Lowers a peer's score (default 10 points); at or below the threshold the peer is disconnected for a cooldown. */
  penalize(peer: number, reason: string, points?: number): void;
  /** Validators to which an outbound stream is open. */
  connectedPeers(): number[];
  /** Bytes waiting in the outbound queue of one peer, or of all peers. */
  queuedBytes(to?: number): number;
  /** Replaces a peer's dialable addresses and dials it now. */
  setPeerAddrs(index: number, addrs: string[]): Promise<void>;
  stats(): TransportStats;
  stop(): Promise<void>;
}

/** Bytes handed to the stream in one write (bounds how long an urgent frame waits for a bulk write). */
const WRITE_BATCH_BYTES = 256 * 1024;
const WRITE_BATCH_FRAMES = 4096;
/** Oversize frames are read past in pieces of this size. */
const SKIP_CHUNK_BYTES = 1024 * 1024;
/** Longest length prefix accepted: 7 varint bytes (< 2^49). */
const MAX_LENGTH_PREFIX_BYTES = 7;
/** A peer's newer inbound stream replaces older ones beyond this many. */
const MAX_INBOUND_STREAMS_PER_PEER = 2;
/** Reader slack above one max-size frame. */
const READ_SLACK_BYTES = 8 * 1024 * 1024;
/**
 * Yamux receive window per stream (libp2p's default is 16 MiB). It bounds the
 * bytes in flight ahead of anything else on the connection — a vote behind a
 * batch, the connection monitor's ping — without limiting loopback throughput.
 */
const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
/**
 * The connection monitor pings every 10 s and aborts a connection whose ping
 * does not return in time. libp2p's 5 s floor trips on a healthy connection
 * that is saturated by batches on a loaded machine, losing the frames in flight.
 */
const PING_MIN_TIMEOUT_MS = 15_000;
const PING_MAX_TIMEOUT_MS = 60_000;
/** Largest gossipsub RPC read, above the largest announcement. */
const GOSSIP_RPC_SLACK_BYTES = 1024 * 1024;

const DEFAULT_RECONNECT: ReconnectOptions = {
  initialDelayMs: 100,
  maxDelayMs: 5_000,
  dialTimeoutMs: 5_000,
  stallTimeoutMs: 30_000,
};

const SILENT_LOGGER: TransportLogger = { info() {}, warn() {}, debug() {} };

type Services = { identify: Identify; ping: Ping; pubsub: GossipSub };

class MalformedLengthError extends Error {
  override name = "MalformedLengthError";
}

/** Starts a libp2p node listening on `options.listen` and dials every peer in the list. */
export async function createTransport(options: TransportOptions): Promise<Transport> {
  const limits = resolveLimitsOrThrow(options.limits);
  const reconnect = { ...DEFAULT_RECONNECT, ...options.reconnect };
  const ownPeerId = peerIdFromPrivateKey(options.privateKey);
  const peers = validatePeers(options, ownPeerId.toString());
  const listen = parseMultiaddr(options.listen, "listen");
  const transport = new Libp2pTransport(options.self, ownPeerId, peers, limits, reconnect, options.logger);
  await transport.start(options.privateKey, listen);
  return transport;
}

interface ValidPeer {
  index: number;
  peerId: PeerId;
  addrs: Multiaddr[];
}

class PeerLink {
  readonly peerIdString: string;
  /** Bulk lane. */
  readonly queue: FrameQueue;
  /** Urgent lane, written first. */
  readonly urgent: FrameQueue;
  readonly score: PeerScore;
  readonly messages: TokenBucket;
  readonly bytes: TokenBucket;
  readonly inbound = new Set<Stream>();
  readonly penalties: Record<string, number> = {};
  readonly droppedIn: InboundDrops = { oversize: 0, rate: 0, malformed: 0, noHandler: 0 };
  readonly droppedOut: OutboundDrops = { oversize: 0, queueFull: 0 };
  stream: Stream | undefined;
  lp: LengthPrefixedStream<Stream> | undefined;
  connecting = false;
  writing = false;
  pumpScheduled = false;
  everConnected = false;
  timer: ReturnType<typeof setTimeout> | undefined;
  delayMs: number;
  disconnectedUntil = 0;
  framesIn = 0;
  bytesIn = 0;
  framesOut = 0;
  bytesOut = 0;
  reconnects = 0;
  dialFailures = 0;
  disconnects = 0;

  constructor(
    readonly index: number,
    readonly peerId: PeerId,
    limits: PeerLimits,
    initialDelayMs: number,
    now: number,
  ) {
    this.peerIdString = peerId.toString();
    this.queue = new FrameQueue(limits.maxQueueBytes);
    this.urgent = new FrameQueue(limits.maxQueueBytes);
    this.score = new PeerScore(limits.scoreRecoveryPerSecond, now);
    this.messages = new TokenBucket(limits.messagesPerSecond, limits.messagesPerSecond, now);
    this.bytes = new TokenBucket(limits.bytesPerSecond, Math.max(limits.bytesPerSecond, limits.maxFrameBytes), now);
    this.delayMs = initialDelayMs;
  }
}

class Libp2pTransport implements Transport {
  readonly peerId: string;
  private node: Libp2p<Services> | undefined;
  private readonly links = new Map<number, PeerLink>();
  private readonly byPeerId = new Map<string, PeerLink>();
  private readonly handlers = new Set<MessageHandler>();
  private readonly topics = new Map<string, Set<GossipHandler>>();
  private readonly log: TransportLogger;
  private readonly readBufferBytes: number;
  private stopped = false;
  private readonly totals = {
    droppedOutUnknownPeer: 0,
    droppedOutStopped: 0,
    refusedUnknownPeer: 0,
    refusedDisconnected: 0,
    handlerErrors: 0,
    gossipPublished: 0,
    gossipDelivered: 0,
    gossipOversize: 0,
    gossipUnknownPeer: 0,
    gossipPublishFailed: 0,
  };

  constructor(
    readonly self: number,
    ownPeerId: PeerId,
    private readonly peers: ValidPeer[],
    private readonly limits: PeerLimits,
    private readonly reconnect: ReconnectOptions,
    logger: TransportLogger | undefined,
  ) {
    this.peerId = ownPeerId.toString();
    this.log = logger ?? SILENT_LOGGER;
    this.readBufferBytes = limits.maxFrameBytes + READ_SLACK_BYTES;
    const now = performance.now();
    for (const peer of peers) {
      const link = new PeerLink(peer.index, peer.peerId, limits, reconnect.initialDelayMs, now);
      this.links.set(peer.index, link);
      this.byPeerId.set(link.peerIdString, link);
    }
  }

  async start(privateKey: PrivateKey, listen: Multiaddr): Promise<void> {
    const isRefused = (peerId: PeerId): boolean => {
      const link = this.byPeerId.get(peerId.toString());
      if (link === undefined) {
        this.totals.refusedUnknownPeer++;
        this.log.debug({ peer: peerId.toString() }, "p2p: refused connection from unknown peer id");
        return true;
      }
      if (this.isDisconnected(link)) {
        this.totals.refusedDisconnected++;
        return true;
      }
      return false;
    };
    try {
      this.node = await createLibp2p({
        privateKey,
        addresses: { listen: [listen.toString()] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [
          yamux({
            streamOptions: { maxReadBufferLength: this.readBufferBytes, maxStreamWindowSize: STREAM_WINDOW_BYTES },
          }),
        ],
        connectionMonitor: { pingTimeout: { minTimeout: PING_MIN_TIMEOUT_MS, maxTimeout: PING_MAX_TIMEOUT_MS } },
        connectionGater: {
          denyDialPeer: (peerId) => {
            const link = this.byPeerId.get(peerId.toString());
            return link === undefined || this.isDisconnected(link);
          },
          denyInboundEncryptedConnection: isRefused,
          denyOutboundEncryptedConnection: isRefused,
        },
        services: {
          identify: identify(),
          ping: ping(),
          pubsub: gossipsub({
            allowPublishToZeroTopicPeers: true,
            ignoreDuplicatePublishError: true,
            emitSelf: false,
            doPX: false,
            fallbackToFloodsub: false,
            maxInboundDataLength: this.limits.maxGossipBytes + GOSSIP_RPC_SLACK_BYTES,
          }),
        },
      });
    } catch (err) {
      throw new OrdoError("P2P_START_FAILED", `cannot start the P2P node on ${listen.toString()}`, {
        details: err instanceof Error ? err.message : String(err),
        fix: "check that the listen multiaddr is valid and that its port is free",
        cause: err,
      });
    }
    const node = this.node;
    try {
      await node.handle(
        CONSENSUS_PROTOCOL,
        (stream, connection) => this.onInboundStream(stream, connection.remotePeer),
        {
          maxInboundStreams: MAX_INBOUND_STREAMS_PER_PEER * 2,
          maxOutboundStreams: MAX_INBOUND_STREAMS_PER_PEER * 2,
        },
      );
      node.services.pubsub.addEventListener("message", (evt) => this.onGossip(evt.detail));
      node.addEventListener("peer:connect", (evt) => {
        const link = this.byPeerId.get(evt.detail.toString());
        // The peer is (back) up: dial now instead of waiting out the backoff.
        if (link !== undefined && link.lp === undefined) this.connectNow(link);
      });
      for (const peer of this.peers) {
        if (peer.addrs.length > 0) await node.peerStore.merge(peer.peerId, { multiaddrs: peer.addrs });
      }
    } catch (err) {
      await Promise.resolve(node.stop()).catch(() => {});
      throw err;
    }
    this.log.info({ peerId: this.peerId, addrs: this.multiaddrs(), peers: this.peers.length }, "p2p: listening");
    for (const link of this.links.values()) this.connectNow(link);
  }

  multiaddrs(): string[] {
    return this.node === undefined ? [] : this.node.getMultiaddrs().map((ma) => ma.toString());
  }

  // ---- outbound -----------------------------------------------------------

  send(to: number, bytes: Uint8Array, options?: SendOptions): void {
    if (this.stopped) {
      this.totals.droppedOutStopped++;
      return;
    }
    if (to === this.self) {
      queueMicrotask(() => this.deliverLocal(bytes));
      return;
    }
    const link = this.links.get(to);
    if (link === undefined) {
      this.totals.droppedOutUnknownPeer++;
      this.log.warn({ to }, "p2p: send to a validator index that is not in the peer list");
      return;
    }
    this.enqueue(link, bytes, options?.urgent === true);
  }

  broadcast(bytes: Uint8Array, options?: SendOptions): void {
    if (this.stopped) {
      this.totals.droppedOutStopped++;
      return;
    }
    const urgent = options?.urgent === true;
    for (const link of this.links.values()) this.enqueue(link, bytes, urgent);
  }

  private enqueue(link: PeerLink, bytes: Uint8Array, urgent: boolean): void {
    if (bytes.byteLength > this.limits.maxFrameBytes) {
      link.droppedOut.oversize++;
      this.log.warn({ to: link.index, bytes: bytes.byteLength }, "p2p: dropped an outbound frame above maxFrameBytes");
      return;
    }
    const dropped = (urgent ? link.urgent : link.queue).push(bytes);
    if (dropped > 0) link.droppedOut.queueFull += dropped;
    if (link.lp !== undefined) this.schedulePump(link);
    else if (!link.connecting && link.timer === undefined && !this.isDisconnected(link)) this.connectNow(link);
  }

  private schedulePump(link: PeerLink): void {
    if (link.pumpScheduled || link.writing) return;
    link.pumpScheduled = true;
    // A microtask: every send() of the current tick goes into one write.
    queueMicrotask(() => {
      link.pumpScheduled = false;
      void this.pump(link);
    });
  }

  private async pump(link: PeerLink): Promise<void> {
    if (link.writing) return;
    link.writing = true;
    try {
      while (!this.stopped && link.urgent.length + link.queue.length > 0) {
        const stream = link.stream;
        const lp = link.lp;
        if (stream === undefined || lp === undefined) return;
        if (stream.status !== "open" || stream.writeStatus !== "writable") {
          // Keep the queue: the frames go out on the next stream.
          this.onOutboundBroken(link, stream, "stream no longer writable");
          return;
        }
        const lane = link.urgent.length > 0 ? link.urgent : link.queue;
        const batch = lane.takeBatch(WRITE_BATCH_BYTES, WRITE_BATCH_FRAMES);
        let bytes = 0;
        for (const frame of batch) bytes += frame.byteLength;
        link.framesOut += batch.length;
        link.bytesOut += bytes;
        try {
          await lp.writeV(batch, { signal: AbortSignal.timeout(this.reconnect.stallTimeoutMs) });
        } catch (err) {
          // Frames handed to a stream that breaks may be lost (at most once, in order).
          this.onOutboundBroken(link, stream, err instanceof Error ? err.message : String(err));
          return;
        }
      }
    } finally {
      link.writing = false;
      // Frames queued meanwhile for a stream opened while this write was failing.
      if (!this.stopped && link.lp !== undefined && link.urgent.length + link.queue.length > 0) this.schedulePump(link);
    }
  }

  private connectNow(link: PeerLink): void {
    if (link.timer !== undefined) {
      clearTimeout(link.timer);
      link.timer = undefined;
    }
    link.delayMs = this.reconnect.initialDelayMs;
    void this.connect(link);
  }

  private async connect(link: PeerLink): Promise<void> {
    const node = this.node;
    if (this.stopped || node === undefined || link.connecting || link.lp !== undefined) return;
    if (this.isDisconnected(link)) return;
    link.connecting = true;
    let stream: Stream | undefined;
    try {
      stream = await node.dialProtocol(link.peerId, CONSENSUS_PROTOCOL, {
        signal: AbortSignal.timeout(this.reconnect.dialTimeoutMs),
      });
      if (this.stopped || this.isDisconnected(link)) {
        stream.abort(new Error("transport stopped or peer disconnected"));
        return;
      }
      const lp = lpStream(stream, { maxDataLength: this.limits.maxFrameBytes });
      const opened = stream;
      link.stream = opened;
      link.lp = lp;
      link.delayMs = this.reconnect.initialDelayMs;
      if (link.everConnected) link.reconnects++;
      link.everConnected = true;
      opened.addEventListener("close", () => this.onOutboundBroken(link, opened, "stream closed"), { once: true });
      this.log.debug({ peer: link.index, reconnects: link.reconnects }, "p2p: stream open");
      this.schedulePump(link);
    } catch (err) {
      link.dialFailures++;
      if (stream !== undefined && stream.status === "open") stream.abort(new Error("stream setup failed"));
      this.log.debug(
        { peer: link.index, error: err instanceof Error ? err.message : String(err) },
        "p2p: dial failed, retrying",
      );
      this.scheduleReconnect(link);
    } finally {
      link.connecting = false;
    }
  }

  private onOutboundBroken(link: PeerLink, stream: Stream, reason: string): void {
    if (link.stream !== stream) return;
    link.stream = undefined;
    link.lp = undefined;
    if (stream.status === "open") stream.abort(new Error(reason));
    if (this.stopped) return;
    this.log.debug({ peer: link.index, reason }, "p2p: stream to peer lost, reconnecting");
    this.scheduleReconnect(link);
  }

  private scheduleReconnect(link: PeerLink): void {
    if (this.stopped || link.timer !== undefined || link.lp !== undefined || this.isDisconnected(link)) return;
    const jitter = 0.8 + Math.random() * 0.4;
    const delay = Math.round(link.delayMs * jitter);
    link.delayMs = Math.min(link.delayMs * 2, this.reconnect.maxDelayMs);
    link.timer = setTimeout(() => {
      link.timer = undefined;
      void this.connect(link);
    }, delay);
    link.timer.unref?.();
  }

  // ---- inbound ------------------------------------------------------------

  private onInboundStream(stream: Stream, remote: PeerId): void {
    const link = this.byPeerId.get(remote.toString());
    if (link === undefined) {
      this.totals.refusedUnknownPeer++;
      stream.abort(new Error("unknown peer id"));
      return;
    }
    if (this.stopped || this.isDisconnected(link)) {
      this.totals.refusedDisconnected++;
      stream.abort(new Error("peer is disconnected"));
      return;
    }
    link.inbound.add(stream);
    if (link.inbound.size > MAX_INBOUND_STREAMS_PER_PEER) {
      // A peer redials when its stream broke: the oldest one is stale.
      const oldest = link.inbound.values().next().value;
      if (oldest !== undefined) {
        link.inbound.delete(oldest);
        oldest.abort(new Error("replaced by a newer stream"));
      }
    }
    stream.addEventListener("close", () => link.inbound.delete(stream), { once: true });
    // The reader must attach now, synchronously, so nothing piles up unread.
    this.readLoop(stream, link).catch((err: unknown) => {
      this.log.warn({ peer: link.index, error: String(err) }, "p2p: inbound stream reader failed");
      if (stream.status === "open") stream.abort(err instanceof Error ? err : new Error(String(err)));
    });
  }

  private async readLoop(stream: Stream, link: PeerLink): Promise<void> {
    let lastLength = -1;
    const options: Partial<LengthPrefixedStreamOpts> = {
      maxDataLength: this.limits.maxFrameBytes,
      maxLengthLength: MAX_LENGTH_PREFIX_BYTES + 1,
      maxBufferSize: this.readBufferBytes,
      lengthDecoder: (data) => {
        lastLength = decodeLengthPrefix(data);
        return lastLength;
      },
    };
    let lp = lpStream(stream, options);
    try {
      while (!this.stopped && stream.status === "open") {
        let frame: Uint8Array;
        try {
          frame = compact((await lp.read()).subarray());
        } catch (err) {
          const name = err instanceof Error ? err.name : "";
          if (name === "InvalidDataLengthError") {
            link.droppedIn.oversize++;
            this.log.warn({ peer: link.index, bytes: lastLength }, "p2p: skipped an inbound frame above maxFrameBytes");
            this.penalize(link.index, "oversize");
            if (!(await this.skip(lp, lastLength))) return;
            lp = lpStream(stream, options);
            continue;
          }
          if (
            name === "MalformedLengthError" ||
            name === "InvalidMessageLengthError" ||
            name === "InvalidDataLengthLengthError"
          ) {
            link.droppedIn.malformed++;
            this.log.warn({ peer: link.index }, "p2p: invalid frame length prefix, closing the stream");
            this.penalize(link.index, "malformed-frame");
            if (stream.status === "open") stream.abort(new Error("invalid frame length prefix"));
            return;
          }
          // The stream ended, was reset, or its connection closed.
          return;
        }
        this.deliver(link, frame);
      }
    } finally {
      // Nothing reads this stream any more: do not let it buffer.
      if (stream.status === "open") stream.abort(new Error("reader stopped"));
    }
  }

  /**
   * Reads past the `length` bytes of a frame whose prefix `lp` just read, without
   * holding them; false if the stream ended meanwhile.
   */
  private async skip(lp: LengthPrefixedStream<Stream>, length: number): Promise<boolean> {
    let remaining = length;
    try {
      const bytes = byteStream(lp.unwrap(), { maxBufferSize: this.readBufferBytes });
      while (remaining > 0) {
        const n = Math.min(remaining, SKIP_CHUNK_BYTES);
        await bytes.read({ bytes: n });
        remaining -= n;
      }
      bytes.unwrap();
      return true;
    } catch {
      return false;
    }
  }

  private deliver(link: PeerLink, frame: Uint8Array): void {
    const now = performance.now();
    if (!link.messages.take(1, now) || !link.bytes.take(frame.byteLength, now)) {
      link.droppedIn.rate++;
      return;
    }
    if (this.handlers.size === 0) {
      link.droppedIn.noHandler++;
      return;
    }
    link.framesIn++;
    link.bytesIn += frame.byteLength;
    for (const handler of this.handlers) {
      try {
        handler(link.index, frame);
      } catch (err) {
        this.totals.handlerErrors++;
        this.log.warn({ peer: link.index, error: String(err) }, "p2p: message handler threw");
      }
    }
  }

  private deliverLocal(bytes: Uint8Array): void {
    for (const handler of this.handlers) {
      try {
        handler(this.self, bytes);
      } catch (err) {
        this.totals.handlerErrors++;
        this.log.warn({ peer: this.self, error: String(err) }, "p2p: message handler threw");
      }
    }
  }

  onMessage(handler: MessageHandler): () => void {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  // ---- gossip -------------------------------------------------------------

  async publish(topic: string, bytes: Uint8Array): Promise<number> {
    const node = this.node;
    if (this.stopped || node === undefined) return 0;
    if (bytes.byteLength > this.limits.maxGossipBytes) {
      this.totals.gossipOversize++;
      this.log.warn({ topic, bytes: bytes.byteLength }, "p2p: announcement above maxGossipBytes not published");
      return 0;
    }
    try {
      const result = await node.services.pubsub.publish(topic, bytes);
      this.totals.gossipPublished++;
      return result.recipients.length;
    } catch (err) {
      this.totals.gossipPublishFailed++;
      this.log.debug({ topic, error: err instanceof Error ? err.message : String(err) }, "p2p: publish failed");
      return 0;
    }
  }

  subscribe(topic: string, handler: GossipHandler): () => void {
    let handlers = this.topics.get(topic);
    if (handlers === undefined) {
      handlers = new Set();
      this.topics.set(topic, handlers);
      if (!this.stopped) this.node?.services.pubsub.subscribe(topic);
    }
    handlers.add(handler);
    const set = handlers;
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.topics.get(topic) === set) {
        this.topics.delete(topic);
        if (!this.stopped) this.node?.services.pubsub.unsubscribe(topic);
      }
    };
  }

  private onGossip(message: Message): void {
    const handlers = this.topics.get(message.topic);
    if (handlers === undefined) return;
    const link = message.type === "signed" ? this.byPeerId.get(message.from.toString()) : undefined;
    if (link === undefined) {
      this.totals.gossipUnknownPeer++;
      return;
    }
    if (message.data.byteLength > this.limits.maxGossipBytes) {
      this.totals.gossipOversize++;
      return;
    }
    this.totals.gossipDelivered++;
    for (const handler of handlers) {
      try {
        handler(link.index, message.data);
      } catch (err) {
        this.totals.handlerErrors++;
        this.log.warn({ topic: message.topic, error: String(err) }, "p2p: gossip handler threw");
      }
    }
  }

  // ---- scoring ------------------------------------------------------------

  penalize(peer: number, reason: string, points: number = DEFAULT_PENALTY): void {
    const link = this.links.get(peer);
    if (link === undefined || this.stopped) return;
    link.penalties[reason] = (link.penalties[reason] ?? 0) + 1;
    if (this.isDisconnected(link)) return;
    const score = link.score.penalize(points, performance.now());
    if (score <= this.limits.scoreThreshold) this.disconnectFor(link, reason, score);
  }

  private isDisconnected(link: PeerLink): boolean {
    return link.disconnectedUntil > Date.now();
  }

  private disconnectFor(link: PeerLink, reason: string, score: number): void {
    link.disconnects++;
    link.disconnectedUntil = Date.now() + this.limits.cooldownMs;
    this.log.warn(
      { peer: link.index, reason, score, cooldownMs: this.limits.cooldownMs },
      "p2p: peer score below threshold, disconnecting for a cooldown",
    );
    if (link.timer !== undefined) clearTimeout(link.timer);
    link.timer = undefined;
    const stream = link.stream;
    if (stream !== undefined) this.onOutboundBroken(link, stream, "peer score below threshold");
    for (const inbound of link.inbound) inbound.abort(new Error("peer score below threshold"));
    link.inbound.clear();
    void this.node?.hangUp(link.peerId).catch(() => {});
    link.timer = setTimeout(() => {
      link.timer = undefined;
      link.disconnectedUntil = 0;
      link.score.reset(performance.now());
      this.connectNow(link);
    }, this.limits.cooldownMs);
    link.timer.unref?.();
  }

  // ---- introspection and lifecycle ------------------------------------------

  connectedPeers(): number[] {
    const out: number[] = [];
    for (const link of this.links.values()) if (link.lp !== undefined) out.push(link.index);
    return out;
  }

  queuedBytes(to?: number): number {
    if (to !== undefined) {
      const link = this.links.get(to);
      return link === undefined ? 0 : link.urgent.bytes + link.queue.bytes;
    }
    let total = 0;
    for (const link of this.links.values()) total += link.urgent.bytes + link.queue.bytes;
    return total;
  }

  async setPeerAddrs(index: number, addrs: string[]): Promise<void> {
    const link = this.links.get(index);
    if (link === undefined) {
      throw new InvalidConfigError(`validator ${index} is not in the peer list`, {
        fix: "pass the index of a validator given in `peers` when the transport was created",
      });
    }
    const parsed = addrs.map((a) => parseMultiaddr(a, `addrs of validator ${index}`));
    if (this.stopped || this.node === undefined) return;
    await this.node.peerStore.patch(link.peerId, { multiaddrs: parsed });
    if (link.lp === undefined && !this.isDisconnected(link)) this.connectNow(link);
  }

  stats(): TransportStats {
    const now = performance.now();
    const droppedIn: InboundDrops = { oversize: 0, rate: 0, malformed: 0, noHandler: 0 };
    const droppedOut = {
      oversize: 0,
      queueFull: 0,
      unknownPeer: this.totals.droppedOutUnknownPeer,
      stopped: this.totals.droppedOutStopped,
    };
    let framesIn = 0;
    let bytesIn = 0;
    let framesOut = 0;
    let bytesOut = 0;
    const peers: PeerStats[] = [];
    for (const link of this.links.values()) {
      framesIn += link.framesIn;
      bytesIn += link.bytesIn;
      framesOut += link.framesOut;
      bytesOut += link.bytesOut;
      for (const key of Object.keys(droppedIn) as (keyof InboundDrops)[]) droppedIn[key] += link.droppedIn[key];
      droppedOut.oversize += link.droppedOut.oversize;
      droppedOut.queueFull += link.droppedOut.queueFull;
      peers.push({
        index: link.index,
        peerId: link.peerIdString,
        connected: link.lp !== undefined,
        framesIn: link.framesIn,
        bytesIn: link.bytesIn,
        framesOut: link.framesOut,
        bytesOut: link.bytesOut,
        queuedFrames: link.urgent.length + link.queue.length,
        queuedBytes: link.urgent.bytes + link.queue.bytes,
        reconnects: link.reconnects,
        dialFailures: link.dialFailures,
        score: link.score.current(now),
        disconnectedUntil: this.isDisconnected(link) ? link.disconnectedUntil : null,
        disconnects: link.disconnects,
        penalties: { ...link.penalties },
        droppedIn: { ...link.droppedIn },
        droppedOut: { ...link.droppedOut },
      });
    }
    return {
      self: this.self,
      peerId: this.peerId,
      peers,
      framesIn,
      bytesIn,
      framesOut,
      bytesOut,
      droppedIn,
      droppedOut,
      refusedUnknownPeer: this.totals.refusedUnknownPeer,
      refusedDisconnected: this.totals.refusedDisconnected,
      handlerErrors: this.totals.handlerErrors,
      gossip: {
        published: this.totals.gossipPublished,
        delivered: this.totals.gossipDelivered,
        dropped: {
          oversize: this.totals.gossipOversize,
          unknownPeer: this.totals.gossipUnknownPeer,
          publishFailed: this.totals.gossipPublishFailed,
        },
      },
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const link of this.links.values()) {
      if (link.timer !== undefined) clearTimeout(link.timer);
      link.timer = undefined;
      link.queue.clear();
      link.urgent.clear();
      link.stream = undefined;
      link.lp = undefined;
      link.inbound.clear();
    }
    this.handlers.clear();
    this.topics.clear();
    await this.node?.stop();
    this.log.info({ peerId: this.peerId }, "p2p: stopped");
  }
}

/**
 * A frame that fits in one received chunk is a view into that chunk: copy it when
 * it is much smaller, so whatever the node keeps does not pin the whole chunk.
 */
function compact(frame: Uint8Array): Uint8Array {
  return frame.byteLength * 2 < frame.buffer.byteLength ? frame.slice() : frame;
}

/** Unsigned LEB128 (the varint `lpStream` writes); RangeError asks `lpStream` for another byte. */
function decodeLengthPrefix(data: Parameters<LengthPrefixedStreamOpts["lengthDecoder"]>[0]): number {
  let value = 0;
  let factor = 1;
  for (let i = 0; i < data.byteLength; i++) {
    if (i >= MAX_LENGTH_PREFIX_BYTES) throw new MalformedLengthError("frame length prefix longer than 7 bytes");
    const byte = data.get(i);
    value += (byte & 0x7f) * factor;
    if ((byte & 0x80) === 0) return value;
    factor *= 128;
  }
  throw new RangeError("incomplete length prefix");
}

function resolveLimitsOrThrow(limits: Partial<PeerLimits> | undefined): PeerLimits {
  try {
    return resolveLimits(limits);
  } catch (err) {
    throw new InvalidConfigError("invalid P2P peer limits", {
      details: err instanceof Error ? err.message : String(err),
      fix: "give non-negative numbers (and a negative scoreThreshold)",
    });
  }
}

function parseMultiaddr(text: string, what: string): Multiaddr {
  try {
    return multiaddr(text);
  } catch (err) {
    throw new InvalidConfigError(`invalid multiaddr in ${what}: ${JSON.stringify(text)}`, {
      details: err instanceof Error ? err.message : String(err),
      fix: "write it like /ip4/127.0.0.1/tcp/9000",
    });
  }
}

function validatePeers(options: TransportOptions, ownPeerId: string): ValidPeer[] {
  if (!Number.isSafeInteger(options.self) || options.self < 0) {
    throw new InvalidConfigError(`invalid validator index ${options.self}`, { fix: "give self as an integer ≥ 0" });
  }
  const out: ValidPeer[] = [];
  const indices = new Set<number>();
  const ids = new Set<string>();
  for (const peer of options.peers) {
    if (!Number.isSafeInteger(peer.index) || peer.index < 0) {
      throw new InvalidConfigError(`invalid validator index ${peer.index} in the peer list`, {
        fix: "give every peer an integer index ≥ 0",
      });
    }
    if (indices.has(peer.index)) {
      throw new InvalidConfigError(`validator ${peer.index} appears twice in the peer list`, {
        fix: "list each validator once",
      });
    }
    indices.add(peer.index);
    let peerId: PeerId;
    try {
      peerId = peerIdFromString(peer.peerId);
    } catch (err) {
      throw new InvalidConfigError(`invalid peer id for validator ${peer.index}: ${JSON.stringify(peer.peerId)}`, {
        details: err instanceof Error ? err.message : String(err),
        fix: "use the peer id printed by `ordo keys generate` (12D3KooW…)",
      });
    }
    const id = peerId.toString();
    if (peer.index === options.self) {
      if (id !== ownPeerId) {
        throw new InvalidConfigError(
          `the peer list gives validator ${peer.index} the peer id ${id}, but this node's key is ${ownPeerId}`,
          { fix: `start validator ${peer.index} with its own key file, or correct the peer list` },
        );
      }
      continue;
    }
    if (id === ownPeerId) {
      throw new InvalidConfigError(
        `this node's peer id ${ownPeerId} is listed as validator ${peer.index}, but the node runs as validator ${options.self}`,
        { fix: "check the node's validator index and key file against the peer list" },
      );
    }
    if (ids.has(id)) {
      throw new InvalidConfigError(`peer id ${id} appears twice in the peer list`, {
        fix: "give each validator its own key",
      });
    }
    ids.add(id);
    const addrs = peer.addrs.map((a) => parseMultiaddr(a, `addrs of validator ${peer.index}`));
    out.push({ index: peer.index, peerId, addrs });
  }
  return out;
}
