/**
 * The raw-transport baseline: how fast the given transports move bytes among
 * themselves with no consensus on top. Every node broadcasts its share of
 * `bytes` to all the others in frames of `frameBytes` (as batch dissemination
 * does), and the figure is the unique payload delivered to every other node
 * per second — the number `bench:devnet` compares finalized MB/s against.
 */
import { randomBytes } from "node:crypto";
import { OrdoError } from "@ordo/core";
import type { Transport } from "./transport.js";

export interface RawThroughputOptions {
  nodes: readonly Transport[];
  /** Total unique payload to disseminate, split evenly between the senders. */
  bytes: number;
  /** Size of each frame (at least 16 bytes). */
  frameBytes: number;
  /** Bytes a sender may have queued per peer before it waits (default max(4 MiB, 2 frames)). */
  windowBytes?: number;
  /** Give up after this long (default 120 s). */
  timeoutMs?: number;
}

export interface RawThroughputResult {
  nodes: number;
  frameBytes: number;
  /** Unique frames sent (each delivered to nodes - 1 receivers). */
  frames: number;
  /** Unique payload bytes sent. */
  payloadBytes: number;
  /** Bytes delivered, summed over receivers (payloadBytes × (nodes - 1)). */
  deliveredBytes: number;
  seconds: number;
  /** Unique payload delivered to every other node, MB/s (10^6 bytes). */
  mbPerSecond: number;
  /** Bytes delivered summed over receivers, MB/s. */
  deliveredMbPerSecond: number;
}

const TAG_BYTES = 8;
const MIN_FRAME_BYTES = 16;
const CONNECT_TIMEOUT_MS = 15_000;

export async function measureRawThroughput(options: RawThroughputOptions): Promise<RawThroughputResult> {
  const { nodes, frameBytes } = options;
  const n = nodes.length;
  if (n < 2) throw new OrdoError("INVALID_ARGUMENT", "measureRawThroughput needs at least two transports");
  if (!Number.isSafeInteger(frameBytes) || frameBytes < MIN_FRAME_BYTES) {
    throw new OrdoError("INVALID_ARGUMENT", `frameBytes must be an integer ≥ ${MIN_FRAME_BYTES}, got ${frameBytes}`);
  }
  if (!(options.bytes > 0)) throw new OrdoError("INVALID_ARGUMENT", `bytes must be positive, got ${options.bytes}`);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const windowBytes = options.windowBytes ?? Math.max(4 * 1024 * 1024, 2 * frameBytes);
  const framesPerSender = Math.max(1, Math.ceil(options.bytes / frameBytes / n));
  const expectedPerReceiver = framesPerSender * (n - 1);

  await waitForMesh(nodes, Math.min(timeoutMs, CONNECT_TIMEOUT_MS));

  // Frames of this run start with a random tag, so unrelated traffic is not counted.
  const tag = new Uint8Array(randomBytes(TAG_BYTES));
  const stop = { requested: false };
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const runs = nodes.map((node) =>
    runRawPeer({ node, tag, frameBytes, frames: framesPerSender, expected: expectedPerReceiver, windowBytes, stop }),
  );
  let finishedAt = 0;
  try {
    const outcome = await Promise.race([Promise.all(runs.map((r) => r.done)), timeout]);
    if (outcome === "timeout") {
      throw new OrdoError("RAW_THROUGHPUT_TIMEOUT", `raw throughput run did not finish within ${timeoutMs} ms`, {
        details: `frames received per node: ${runs.map((r) => r.received()).join(", ")} of ${expectedPerReceiver}; ${nodes
          .map((node) => describe(node))
          .join("; ")}`,
        fix: "raise timeoutMs, or the peer limits (bytesPerSecond, messagesPerSecond, maxQueueBytes) if frames were dropped",
      });
    }
    finishedAt = Math.max(...outcome);
  } finally {
    stop.requested = true;
    if (timer !== undefined) clearTimeout(timer);
    for (const r of runs) r.unsubscribe();
  }

  const seconds = (finishedAt - started) / 1000;
  const payloadBytes = framesPerSender * n * frameBytes;
  const deliveredBytes = payloadBytes * (n - 1);
  return {
    nodes: n,
    frameBytes,
    frames: framesPerSender * n,
    payloadBytes,
    deliveredBytes,
    seconds,
    mbPerSecond: payloadBytes / 1e6 / seconds,
    deliveredMbPerSecond: deliveredBytes / 1e6 / seconds,
  };
}

export interface RawPeerRun {
  /** Resolves with `performance.now()` when the last expected frame arrived. */
  done: Promise<number>;
  received(): number;
  unsubscribe(): void;
}

/**
 * One node's part of a raw run: broadcasts `frames` frames of `frameBytes`
 * starting with `tag`, and counts tagged frames from the others until
 * `expected` have arrived. Used in-process by `measureRawThroughput` and in
 * separate processes by `bench:devnet`.
 */
export function runRawPeer(o: {
  node: Transport;
  tag: Uint8Array;
  frameBytes: number;
  frames: number;
  expected: number;
  windowBytes: number;
  stop: { requested: boolean };
}): RawPeerRun {
  let count = 0;
  let finish: (at: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const unsubscribe = o.node.onMessage((_from, bytes) => {
    if (bytes.byteLength !== o.frameBytes || !hasTag(bytes, o.tag)) return;
    count++;
    if (count === o.expected) finish(performance.now());
  });
  const frame = new Uint8Array(o.frameBytes);
  frame.set(o.tag, 0);
  frame.set(randomBytes(Math.min(o.frameBytes - TAG_BYTES, 1024)), TAG_BYTES);
  const peers = Math.max(1, o.node.connectedPeers().length);
  void sendAll(o.node, frame, o.frames, o.windowBytes * peers, () => o.stop.requested);
  return { done, received: () => count, unsubscribe };
}

async function sendAll(
  node: Transport,
  frame: Uint8Array,
  count: number,
  maxQueued: number,
  stop: () => boolean,
): Promise<void> {
  let sent = 0;
  while (sent < count && !stop()) {
    // Stay under the window so the bounded queues never drop a frame.
    while (sent < count && (node.queuedBytes() === 0 || node.queuedBytes() + frame.byteLength <= maxQueued)) {
      node.broadcast(frame);
      sent++;
    }
    if (sent < count) await sleep(1);
  }
}

export async function waitForMesh(nodes: readonly Transport[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const indices = nodes.map((node) => node.self);
  for (;;) {
    const missing = nodes.flatMap((node) => {
      const connected = new Set(node.connectedPeers());
      return indices.filter((i) => i !== node.self && !connected.has(i)).map((i) => `${node.self}→${i}`);
    });
    if (missing.length === 0) return;
    if (performance.now() > deadline) {
      throw new OrdoError("RAW_THROUGHPUT_NOT_CONNECTED", `transports are not connected: ${missing.join(", ")}`, {
        fix: "give every transport the others in its peer list, with reachable addresses",
      });
    }
    await sleep(20);
  }
}

function describe(node: Transport): string {
  const s = node.stats();
  const links = s.peers.map(
    (p) => `→${p.index} ${p.connected ? "up" : "down"} out ${p.framesOut} in ${p.framesIn} queued ${p.queuedBytes}`,
  );
  return `node ${s.self}: ${links.join(", ")}, dropped in ${JSON.stringify(s.droppedIn)} out ${JSON.stringify(s.droppedOut)}`;
}

function hasTag(bytes: Uint8Array, tag: Uint8Array): boolean {
  for (let i = 0; i < TAG_BYTES; i++) if (bytes[i] !== tag[i]) return false;
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
