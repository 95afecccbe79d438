/**
 * A Byzantine validator for the chaos harness:
 *
 *   node --conditions=source --import tsx test/chaos/byzantine.ts --config DIR/validator-K/node.json --seconds S
 *        [--garbage-per-second R] [--garbage-after T] [--seed N]
 *
 * It runs validator K's identity (its BLS key and libp2p peer key, loaded as `ordo node start` loads them) on the
 * real libp2p transport, at K's listen address, while the real validator K is stopped. It:
 *
 * - equivocates with valid signatures: for every round it learns of (from a proposal, a vote, or a QC in a
 *   proposal or timeout) it signs two conflicting votes for that (epoch, round), the real block hash to one half of
 *   the peers and a random one to the other half, and both (the real one first) to the leader of the next round, the
 *   only validator that aggregates them and so the one that turns them into double-vote evidence;
 * - when it leads a round (it aggregates the votes the others send it into a QC for the previous round), proposes
 *   two different valid empty blocks signed by K, each half of the peers getting them in the opposite order, so
 *   every honest validator sees a double proposal;
 * - after `--garbage-after` seconds (default 40% of `--seconds`) floods the peers it is connected to with
 *   `--garbage-per-second` frames (default 50): random bytes (some with a plausible protocol header), truncated
 *   and byte-flipped copies of real frames it received or sent, and (first, then one in 250) a frame above the
 *   transport's frame limit. The flood comes second because honest validators disconnect a peer whose frames keep failing to
 *   decode (10 score points each, threshold -100, 30 s cooldown): ten or so garbage frames cut K off from a peer,
 *   and with it the equivocation.
 *
 * Every 2 s it prints one JSON line of counters to stdout, and a last one (`"final": true`) when it stops: after
 * `--seconds`, or on SIGTERM/SIGINT, closing the transport first; the exit code is then 0. Nothing a peer sends can
 * make it throw. Its choices (vote split, random hashes, garbage) come from a PRNG seeded by `--seed` (default 1).
 */
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { CertificateVerifier, createGenesisBlock, LeaderSchedule, VoteAggregator } from "@ordo/consensus";
import {
  type BlockHeader,
  blstBackend,
  type ConsensusMessage,
  decodeMessage,
  encodeMessage,
  hashHeader,
  namespaceRoot,
  type Proposal,
  proposalDigest,
  type QuorumCertificate,
  sha256,
  toHex,
  type ValidatorSet,
  type Vote,
  voteDigest,
  ZERO_HASH,
} from "@ordo/core";
import {
  createTransport,
  DEFAULT_PEER_LIMITS,
  encodeBlockBatches,
  loadOrCreatePeerKey,
  type Transport,
  type TransportLogger,
} from "@ordo/sequencer";
import { readBlsKeyFile, readGenesis, readNodeConfig } from "../../packages/sequencer/src/cli/files.js";

const HELP = `Usage: node --conditions=source --import tsx test/chaos/byzantine.ts --config DIR/validator-K/node.json
         --seconds S [--garbage-per-second R] [--garbage-after T] [--seed N]

Runs validator K's keys as a Byzantine validator (the real validator K must be stopped): double votes and double
proposals with valid signatures, then a flood of garbage frames. Prints a JSON line of counters every 2 s and a
final one; exits 0 after S seconds or on SIGTERM.

  --config FILE            validator K's node.json (genesis, keys and listen address are read from it)
  --seconds S              how long to run
  --garbage-per-second R   garbage frames per second once the flood starts (default 50; 0 for none)
  --garbage-after T        seconds of equivocation only before the flood starts (default 40% of S)
  --seed N                 seed of every random choice (default 1)
`;

const URGENT = { urgent: true } as const;
const STATUS_INTERVAL_MS = 2_000;
const GARBAGE_TICK_MS = 20;
/** One garbage frame in this many is larger than the honest transport's frame limit. */
const OVERSIZE_ONE_IN = 250;
/** Received or sent frames kept to be truncated and flipped, and the largest one kept. */
const MAX_SAMPLES = 64;
const MAX_SAMPLE_BYTES = 256 * 1024;
/** Bounds of the per-round and per-block memory. */
const MAX_ROUNDS_REMEMBERED = 4096;
const MAX_BLOCKS_REMEMBERED = 1024;
const MAX_AGGREGATORS = 64;
/** First bytes of real encodings: a fixarray, codec version 1, then a consensus (1–10), dissemination (16–21) or DA (32–36) tag. */
const PROTOCOL_TAGS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 17, 18, 19, 20, 21, 32, 33, 34, 35, 36];

/** mulberry32: small, fast, good enough to make a chaos run replayable. */
class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const word = Math.floor(this.next() * 4_294_967_296);
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return out;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
}

interface Options {
  config: string;
  seconds: number;
  garbagePerSecond: number;
  garbageAfterSeconds: number;
  seed: number;
}

function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: "string" },
      seconds: { type: "string" },
      "garbage-per-second": { type: "string" },
      "garbage-after": { type: "string" },
      seed: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return null;
  }
  const number = (name: string, text: string | undefined, fallback: number | undefined): number => {
    if (text === undefined) {
      if (fallback === undefined) throw new Error(`--${name} is required\n\n${HELP}`);
      return fallback;
    }
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${text}`);
    return n;
  };
  if (values.config === undefined) throw new Error(`--config FILE is required\n\n${HELP}`);
  const seconds = number("seconds", values.seconds, undefined);
  return {
    config: values.config,
    seconds,
    garbagePerSecond: number("garbage-per-second", values["garbage-per-second"], 50),
    garbageAfterSeconds: number("garbage-after", values["garbage-after"], Math.round(seconds * 4) / 10),
    seed: Math.floor(number("seed", values.seed, 1)),
  };
}

/** Transport warnings go to stderr as JSON lines; the rest is silent. */
const stderrLogger: TransportLogger = {
  info() {},
  debug() {},
  warn(fields, message) {
    process.stderr.write(`${JSON.stringify({ level: "warn", msg: message, ...fields })}\n`);
  },
};

/** Remembers up to `max` keys, forgetting the oldest first. */
class BoundedMap<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next().value;
      if (oldest === undefined) break;
      this.map.delete(oldest);
    }
  }

  delete(key: string): void {
    this.map.delete(key);
  }
}

interface KnownBlock {
  header: BlockHeader;
  hash: Uint8Array;
}

class Byzantine {
  readonly counters = {
    /** Rounds in which two conflicting, validly signed votes were sent. */
    votesEquivocated: 0,
    /** Rounds in which two different, validly signed proposals were sent. */
    proposalsEquivocated: 0,
    /** Garbage frames handed to an open stream. */
    garbageFrames: 0,
    /** Frames received from the peers. */
    received: 0,
    /** Received frames that are not consensus messages (dissemination, DA) or do not decode. */
    receivedUndecoded: 0,
    votesReceived: 0,
    proposalsReceived: 0,
    qcsFormed: 0,
    /** Rounds led whose parent block was never seen, or that end an epoch (a block this program cannot build). */
    proposalsSkipped: 0,
    garbageRandom: 0,
    garbageTruncated: 0,
    garbageFlipped: 0,
    garbageOversize: 0,
    /** Errors caught anywhere (frame handling, timers); the program keeps running. */
    errors: 0,
  };
  private readonly others: number[];
  private readonly schedule: LeaderSchedule;
  private readonly equivocatedRounds = new BoundedMap<true>(MAX_ROUNDS_REMEMBERED);
  private readonly proposedRounds = new BoundedMap<true>(MAX_ROUNDS_REMEMBERED);
  private readonly blocks = new BoundedMap<KnownBlock>(MAX_BLOCKS_REMEMBERED);
  /** QCs this node formed whose block it has not seen yet, by block hash. */
  private readonly pendingQcs = new BoundedMap<QuorumCertificate>(64);
  private readonly aggregators = new BoundedMap<VoteAggregator>(MAX_AGGREGATORS);
  private readonly verifiers = new Map<number, CertificateVerifier>();
  private readonly samples: Uint8Array[] = [];
  private nextSample = 0;
  private readonly voteRng: Prng;
  private readonly garbageRng: Prng;
  private oversize: Uint8Array | undefined;
  /** The flood opens with one frame above the limit, so every run has one (the peers cut K off soon after). */
  private oversizeSent = false;
  private readonly emptyPayload = encodeBlockBatches({ certificates: [], system: [] });
  private readonly emptyRoot = namespaceRoot({ groups: [] });

  constructor(
    private readonly transport: Transport,
    private readonly self: number,
    private readonly chainId: number,
    private readonly validators: ValidatorSet,
    private readonly genesisHash: Uint8Array,
    private readonly secretKey: Uint8Array,
    private readonly epochLength: number | undefined,
    seed: number,
  ) {
    this.others = [...Array(validators.size).keys()].filter((i) => i !== self);
    this.schedule = new LeaderSchedule(validators);
    this.voteRng = new Prng(seed);
    this.garbageRng = new Prng(seed ^ 0x5bd1e995);
  }

  // ── inbound ────────────────────────────────────────────────────────────

  onFrame(from: number, bytes: Uint8Array): void {
    this.counters.received++;
    if (bytes.byteLength <= MAX_SAMPLE_BYTES) this.addSample(bytes.slice());
    let message: ConsensusMessage;
    try {
      message = decodeMessage(bytes);
    } catch {
      this.counters.receivedUndecoded++;
      return;
    }
    switch (message.kind) {
      case "proposal":
        this.counters.proposalsReceived++;
        this.onProposal(message);
        return;
      case "vote":
        this.counters.votesReceived++;
        this.onVote(message, from);
        return;
      case "timeout":
        this.onQc(message.highQc);
        return;
      case "epoch-proof":
        this.onQc(message.qc);
        return;
      default:
        return;
    }
  }

  private onProposal(p: Proposal): void {
    const header = p.block.header;
    const hash = hashHeader(header);
    const key = toHex(hash);
    this.blocks.set(key, { header, hash });
    this.onQc(p.block.justify);
    const waiting = this.pendingQcs.get(key);
    if (waiting !== undefined) {
      this.pendingQcs.delete(key);
      this.propose(waiting);
    }
    this.equivocateVote(header.epoch, header.round, hash, this.committedHash(header, p.block.justify));
  }

  /** A certified round: equivocate in it too (the next leader may still be collecting its votes). */
  private onQc(qc: QuorumCertificate): void {
    if (qc.round === 0 || qc.signature.length === 0) return;
    this.equivocateVote(qc.epoch, qc.round, qc.blockHash, qc.committedHash);
  }

  private onVote(v: Vote, from: number): void {
    this.equivocateVote(v.epoch, v.round, v.blockHash, v.committedHash);
    if (this.schedule.leader(v.round + 1) !== this.self || v.author !== from) return;
    this.aggregate(v);
  }

  /** Votes sent to K as the next leader: a quorum of them is the QC K proposes on. */
  private aggregate(v: Vote): void {
    const key = `${v.epoch}:${v.round}`;
    let agg = this.aggregators.get(key);
    if (agg === undefined) {
      agg = new VoteAggregator(this.verifier(v.epoch), v.round);
      this.aggregators.set(key, agg);
    }
    const outcome = agg.add(v);
    if (outcome.kind !== "qc") return;
    this.counters.qcsFormed++;
    this.propose(outcome.qc);
  }

  private verifier(epoch: number): CertificateVerifier {
    let v = this.verifiers.get(epoch);
    if (v === undefined) {
      // A fixed committee: the genesis validators under each epoch's number (as the node runs without staking).
      v = new CertificateVerifier(blstBackend, this.chainId, this.validators.withEpoch(epoch), this.genesisHash);
      this.verifiers.set(epoch, v);
    }
    return v;
  }

  // ── equivocation ───────────────────────────────────────────────────────

  /** What an honest vote on this block says it commits (see `Replica.vote` and `commitTarget`). */
  private committedHash(header: BlockHeader, justify: QuorumCertificate): Uint8Array {
    if (justify.round + 1 !== header.round) return ZERO_HASH;
    const end = this.epochEnd(header.epoch);
    let target = this.blocks.get(toHex(header.parentHash));
    // In an epoch's suffix the 2-chain rule commits the epoch's last block.
    while (target !== undefined && end !== undefined && target.header.height > end)
      target = this.blocks.get(toHex(target.header.parentHash));
    return target?.hash ?? header.parentHash;
  }

  private epochEnd(epoch: number): number | undefined {
    return this.epochLength === undefined ? undefined : (epoch + 1) * this.epochLength;
  }

  private signVote(epoch: number, round: number, blockHash: Uint8Array, committedHash: Uint8Array): Vote {
    return {
      kind: "vote",
      epoch,
      round,
      blockHash,
      committedHash,
      author: this.self,
      signature: blstBackend.sign(this.secretKey, voteDigest(this.chainId, epoch, round, blockHash, committedHash)),
    };
  }

  /**
   * Two votes for one (epoch, round) with different digests: the real one to half of the peers, the conflicting
   * one to the other half, and both (real first) to the next round's leader, which turns them into evidence.
   */
  private equivocateVote(
    epoch: number,
    round: number,
    blockHash: Uint8Array,
    committedHash: Uint8Array,
    conflicting?: Uint8Array,
  ): void {
    if (round < 1) return;
    const key = `${epoch}:${round}`;
    if (this.equivocatedRounds.has(key)) return;
    this.equivocatedRounds.set(key, true);
    let other = conflicting ?? this.voteRng.bytes(32);
    if (toHex(other) === toHex(blockHash)) other = sha256(other);
    const real = this.signVote(epoch, round, blockHash, committedHash);
    const fake = this.signVote(epoch, round, other, committedHash);
    const realBytes = encodeMessage(real);
    const fakeBytes = encodeMessage(fake);
    const leader = this.schedule.leader(round + 1);
    const peers = this.voteRng.shuffle(this.others);
    const half = Math.ceil(peers.length / 2);
    for (const [i, peer] of peers.entries())
      if (peer !== leader) this.transport.send(peer, i < half ? realBytes : fakeBytes, URGENT);
    if (leader === this.self) this.aggregate(real);
    else {
      this.transport.send(leader, realBytes, URGENT);
      this.transport.send(leader, fakeBytes, URGENT);
    }
    this.counters.votesEquivocated++;
    this.addSample(realBytes);
    this.addSample(fakeBytes);
  }

  /** Leading the round after `qc`: two different valid blocks on it, in opposite orders to the two halves. */
  private propose(qc: QuorumCertificate): void {
    const round = qc.round + 1;
    if (this.schedule.leader(round) !== this.self) return;
    const key = `${qc.epoch}:${round}`;
    if (this.proposedRounds.has(key)) return;
    const parent = this.blocks.get(toHex(qc.blockHash));
    if (parent === undefined) {
      this.pendingQcs.set(toHex(qc.blockHash), qc);
      return;
    }
    this.proposedRounds.set(key, true);
    const height = parent.header.height + 1;
    const end = this.epochEnd(qc.epoch);
    // The epoch's last block must carry the epoch-change commitment: not built here.
    if (end !== undefined && height === end) {
      this.counters.proposalsSkipped++;
      return;
    }
    const suffix = end !== undefined && height > end;
    const payload = suffix ? new Uint8Array(0) : this.emptyPayload;
    const header: BlockHeader = {
      chainId: this.chainId,
      epoch: qc.epoch,
      round,
      height,
      parentHash: qc.blockHash,
      namespaceRoot: suffix ? ZERO_HASH : this.emptyRoot,
      payloadHash: sha256(payload),
      validatorSetHash: parent.header.validatorSetHash,
      proposer: this.self,
      timestampMs: Math.max(Date.now(), parent.header.timestampMs),
    };
    const headers = [header, { ...header, timestampMs: header.timestampMs + 1 }];
    const encoded = headers.map((h) => {
      const hash = hashHeader(h);
      this.blocks.set(toHex(hash), { header: h, hash });
      const proposal: Proposal = {
        kind: "proposal",
        block: { header: h, justify: qc, payload },
        timeoutCertificate: null,
        signature: blstBackend.sign(this.secretKey, proposalDigest(hash)),
      };
      return { hash, bytes: encodeMessage(proposal) };
    });
    const [a, b] = encoded as [{ hash: Uint8Array; bytes: Uint8Array }, { hash: Uint8Array; bytes: Uint8Array }];
    const peers = this.voteRng.shuffle(this.others);
    const half = Math.ceil(peers.length / 2);
    for (const [i, peer] of peers.entries()) {
      const [first, second] = i < half ? [a, b] : [b, a];
      this.transport.send(peer, first.bytes, URGENT);
      this.transport.send(peer, second.bytes, URGENT);
    }
    this.counters.proposalsEquivocated++;
    this.addSample(a.bytes);
    this.addSample(b.bytes);
    this.equivocateVote(qc.epoch, round, a.hash, this.committedHash(header, qc), b.hash);
  }

  // ── garbage ────────────────────────────────────────────────────────────

  private addSample(bytes: Uint8Array): void {
    if (this.samples.length < MAX_SAMPLES) this.samples.push(bytes);
    else this.samples[this.nextSample] = bytes;
    this.nextSample = (this.nextSample + 1) % MAX_SAMPLES;
  }

  /** Sends one garbage frame to a random connected peer; false if no peer is connected. */
  sendGarbage(): boolean {
    const connected = this.transport.connectedPeers();
    if (connected.length === 0) return false;
    const rng = this.garbageRng;
    const to = connected[rng.int(connected.length)] as number;
    this.transport.send(to, this.garbageFrame());
    this.counters.garbageFrames++;
    return true;
  }

  private garbageFrame(): Uint8Array {
    const rng = this.garbageRng;
    if (rng.int(OVERSIZE_ONE_IN) === 0 || !this.oversizeSent) {
      this.oversizeSent = true;
      this.counters.garbageOversize++;
      // One buffer, never mutated once sent; frames are views of different lengths above the limit.
      this.oversize ??= rng.bytes(DEFAULT_PEER_LIMITS.maxFrameBytes + 4096);
      return this.oversize.subarray(0, DEFAULT_PEER_LIMITS.maxFrameBytes + 1 + rng.int(4096));
    }
    const sample = this.samples.length > 0 ? this.samples[rng.int(this.samples.length)] : undefined;
    const kind = sample === undefined ? 0 : rng.int(3);
    if (kind === 1 && sample !== undefined) {
      this.counters.garbageTruncated++;
      return sample.slice(0, rng.int(sample.length));
    }
    if (kind === 2 && sample !== undefined && sample.length > 0) {
      this.counters.garbageFlipped++;
      const out = sample.slice();
      for (let k = 1 + rng.int(4); k > 0; k--) {
        const at = rng.int(out.length);
        out[at] = (out[at] as number) ^ (1 + rng.int(255));
      }
      return out;
    }
    this.counters.garbageRandom++;
    const out = rng.bytes(rng.int(2049));
    // Half of them start like a real encoding, to get past the first byte of every decoder.
    if (out.length >= 3 && rng.int(2) === 0) {
      out[0] = 0x90 | (1 + rng.int(15));
      out[1] = 1;
      out[2] = PROTOCOL_TAGS[rng.int(PROTOCOL_TAGS.length)] as number;
    }
    return out;
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options === null) return;
  const configPath = resolve(options.config);
  const at = (p: string) => resolve(dirname(configPath), p);
  const config = await readNodeConfig(configPath);
  const { file: genesisFile, validators } = await readGenesis(at(config.genesis));
  if (config.self >= validators.size)
    throw new Error(`"self" is ${config.self} but genesis has ${validators.size} validators`);
  const key = await readBlsKeyFile(at(config.blsKeyFile));
  if (Buffer.compare(Buffer.from(key.publicKey), Buffer.from(validators.publicKey(config.self))) !== 0)
    throw new Error(`the BLS key in ${config.blsKeyFile} is not validator ${config.self}'s key in the genesis file`);
  const peerKey = await loadOrCreatePeerKey(at(config.peerKeyFile));
  const genesis = createGenesisBlock({
    chainId: genesisFile.chainId,
    validators,
    timestampMs: genesisFile.timestampMs,
  });
  const transport = await createTransport({
    privateKey: peerKey,
    listen: config.listen,
    self: config.self,
    peers: genesisFile.validators.map((v, index) => ({ index, peerId: v.peerId, addrs: v.addrs })),
    logger: stderrLogger,
    // Ours only: lets this node send frames above the honest validators' limit (theirs stays the default).
    limits: { maxFrameBytes: DEFAULT_PEER_LIMITS.maxFrameBytes + 64 * 1024 },
  });
  const byz = new Byzantine(
    transport,
    config.self,
    genesisFile.chainId,
    validators,
    hashHeader(genesis.header),
    key.secretKey,
    genesisFile.epochLength,
    options.seed,
  );
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const status = (final: boolean) => {
    const line = {
      validator: config.self,
      t: Math.round(elapsed() * 10) / 10,
      phase: elapsed() >= options.garbageAfterSeconds && options.garbagePerSecond > 0 ? "flood" : "equivocate",
      ...byz.counters,
      connected: transport.connectedPeers(),
      ...(final ? { final: true } : {}),
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  process.stdout.write(
    `${JSON.stringify({ validator: config.self, peerId: transport.peerId, listen: transport.multiaddrs(), ...options })}\n`,
  );

  transport.onMessage((from, bytes) => {
    try {
      byz.onFrame(from, bytes);
    } catch (err) {
      byz.counters.errors++;
      process.stderr.write(
        `${JSON.stringify({ level: "warn", msg: "frame handling failed", from, err: String(err) })}\n`,
      );
    }
  });

  let budget = 0;
  let last = performance.now();
  const garbageTimer = setInterval(() => {
    const now = performance.now();
    const dt = (now - last) / 1000;
    last = now;
    if (elapsed() < options.garbageAfterSeconds || options.garbagePerSecond <= 0) return;
    budget = Math.min(budget + dt * options.garbagePerSecond, options.garbagePerSecond);
    try {
      while (budget >= 1) {
        if (!byz.sendGarbage()) {
          budget = 0; // nobody to send to: do not save the frames up for a burst
          break;
        }
        budget--;
      }
    } catch (err) {
      byz.counters.errors++;
      process.stderr.write(`${JSON.stringify({ level: "warn", msg: "garbage failed", err: String(err) })}\n`);
    }
  }, GARBAGE_TICK_MS);
  const statusTimer = setInterval(() => status(false), STATUS_INTERVAL_MS);

  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(garbageTimer);
    clearInterval(statusTimer);
    clearTimeout(endTimer);
    status(true);
    process.stderr.write(`${JSON.stringify({ level: "info", msg: "stopping", reason })}\n`);
    await Promise.race([
      transport.stop().catch((err: unknown) => {
        process.stderr.write(`${JSON.stringify({ level: "warn", msg: "transport stop failed", err: String(err) })}\n`);
      }),
      new Promise((r) => setTimeout(r, 5_000).unref()),
    ]);
    process.exit(0);
  };
  const endTimer = setTimeout(() => void stop("time"), options.seconds * 1000);
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
  // A chaos tool outlives its own bugs: count them, keep going.
  process.on("uncaughtException", (err) => {
    byz.counters.errors++;
    process.stderr.write(`${JSON.stringify({ level: "error", msg: "uncaught exception", err: String(err) })}\n`);
  });
  process.on("unhandledRejection", (err) => {
    byz.counters.errors++;
    process.stderr.write(`${JSON.stringify({ level: "error", msg: "unhandled rejection", err: String(err) })}\n`);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`byzantine: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
