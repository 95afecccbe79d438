import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import type { Libp2p, PrivateKey } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { OrdoError } from "@ordo/core";
import { createLibp2p } from "libp2p";
import { afterEach, describe, expect, it } from "vitest";
import {
  CONSENSUS_PROTOCOL,
  createTransport,
  generatePeerKey,
  loadOrCreatePeerKey,
  measureRawThroughput,
  type PeerLimits,
  peerIdOf,
  startLoopbackTransports,
  type Transport,
} from "../src/p2p/index.js";

const TIMEOUT = 30_000;
const LOOPBACK = "/ip4/127.0.0.1/tcp/0";

const running: Transport[] = [];
const rawNodes: Libp2p[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  await Promise.allSettled([...running.splice(0).map((t) => t.stop()), ...rawNodes.splice(0).map((n) => n.stop())]);
  await Promise.allSettled(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ordo-p2p-"));
  tempDirs.push(dir);
  return dir;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Starts transports on loopback with per-node limits, introduces them to each other, and tracks them for cleanup. */
async function startNodes(keys: PrivateKey[], limits: (index: number) => Partial<PeerLimits> = () => ({})) {
  const peers = keys.map((key, index) => ({ index, peerId: peerIdOf(key), addrs: [] as string[] }));
  const nodes: Transport[] = [];
  for (const [index, privateKey] of keys.entries()) {
    const t = await createTransport({ privateKey, listen: LOOPBACK, self: index, peers, limits: limits(index) });
    running.push(t);
    nodes.push(t);
  }
  for (const a of nodes) for (const b of nodes) if (a !== b) await a.setPeerAddrs(b.self, b.multiaddrs());
  return nodes;
}

async function newKeys(n: number): Promise<PrivateKey[]> {
  return Promise.all(Array.from({ length: n }, () => generatePeerKey()));
}

function fullyConnected(nodes: Transport[]): boolean {
  return nodes.every((n) => n.connectedPeers().length === nodes.length - 1);
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (s: string) => enc.encode(s);

function collect(node: Transport): { from: number; text: string }[] {
  const got: { from: number; text: string }[] = [];
  node.onMessage((from, bytes) => got.push({ from, text: dec.decode(bytes) }));
  return got;
}

describe("p2p transport", () => {
  it(
    "delivers point-to-point and broadcast frames between 4 validators, in order per sender",
    async () => {
      const nodes = await startLoopbackTransports({ count: 4 });
      running.push(...nodes);
      const inboxes = nodes.map(collect);
      const N = 200;
      // Sent before the mesh is up: frames wait in the queues and follow once connected.
      for (let seq = 0; seq < N; seq++) {
        for (const node of nodes) {
          node.send((node.self + 1) % 4, text(`p ${node.self} ${seq}`));
          node.broadcast(text(`b ${node.self} ${seq}`));
        }
      }
      const expected = N * 3 + N;
      await waitFor(() => inboxes.every((inbox) => inbox.length === expected), "all frames");
      for (const [j, inbox] of inboxes.entries()) {
        for (let sender = 0; sender < 4; sender++) {
          if (sender === j) continue;
          const fromSender = inbox.filter((m) => m.from === sender).map((m) => m.text);
          const broadcasts = fromSender.filter((t) => t.startsWith("b "));
          expect(broadcasts).toEqual(Array.from({ length: N }, (_, seq) => `b ${sender} ${seq}`));
          const direct = fromSender.filter((t) => t.startsWith("p "));
          const expectDirect =
            (sender + 1) % 4 === j ? Array.from({ length: N }, (_, seq) => `p ${sender} ${seq}`) : [];
          expect(direct).toEqual(expectDirect);
        }
      }
      const stats = nodes[0]!.stats();
      expect(stats.framesOut).toBe(N * 3 + N);
      expect(stats.framesIn).toBe(expected);
      expect(stats.droppedOut.queueFull).toBe(0);
    },
    TIMEOUT,
  );

  it(
    "sends urgent frames ahead of queued bulk frames, in order within each lane",
    async () => {
      const keys = await newKeys(2);
      const peers = keys.map((key, index) => ({ index, peerId: peerIdOf(key), addrs: [] as string[] }));
      // No addresses yet: frames wait in the queues until a learns where b is.
      const a = await createTransport({ privateKey: keys[0]!, listen: LOOPBACK, self: 0, peers });
      running.push(a);
      const b = await createTransport({ privateKey: keys[1]!, listen: LOOPBACK, self: 1, peers });
      running.push(b);
      const got = collect(b);
      for (let i = 0; i < 3; i++) a.send(1, text(`batch ${i}`));
      a.send(1, text("vote 0"), { urgent: true });
      a.broadcast(text("vote 1"), { urgent: true });
      expect(a.stats().peers[0]!.queuedFrames).toBe(5);
      await a.setPeerAddrs(1, b.multiaddrs());
      await waitFor(() => got.length === 5, "frames");
      expect(got.map((m) => m.text)).toEqual(["vote 0", "vote 1", "batch 0", "batch 1", "batch 2"]);
    },
    TIMEOUT,
  );

  it(
    "delivers a frame sent to itself locally",
    async () => {
      const [a] = await startNodes(await newKeys(2));
      const got = collect(a!);
      a!.send(0, text("to self"));
      await waitFor(() => got.length === 1, "local frame");
      expect(got[0]).toEqual({ from: 0, text: "to self" });
    },
    TIMEOUT,
  );

  it(
    "reconnects to a peer that restarts with the same key file and port, and sends it queued and later frames",
    async () => {
      const dir = await tempDir();
      const keys = await Promise.all([0, 1, 2].map((i) => loadOrCreatePeerKey(join(dir, `peer-${i}.key`))));
      const nodes = await startNodes(keys);
      await waitFor(() => fullyConnected(nodes), "mesh");
      const [a, b, c] = nodes as [Transport, Transport, Transport];
      const port = /\/tcp\/(\d+)/.exec(c.multiaddrs()[0]!)?.[1];
      expect(port).toBeDefined();

      await c.stop();
      await waitFor(() => !a.connectedPeers().includes(2) && !b.connectedPeers().includes(2), "peers to notice");
      for (let i = 0; i < 5; i++) a.send(2, text(`queued ${i}`));
      expect(a.queuedBytes(2)).toBeGreaterThan(0);

      const key = await loadOrCreatePeerKey(join(dir, "peer-2.key"));
      expect(peerIdOf(key)).toBe(c.peerId);
      const restarted = await createTransport({
        privateKey: key,
        listen: `/ip4/127.0.0.1/tcp/${port}`,
        self: 2,
        peers: [a, b].map((t) => ({ index: t.self, peerId: t.peerId, addrs: t.multiaddrs() })),
      });
      running.push(restarted);
      const got = collect(restarted);
      await waitFor(() => a.connectedPeers().includes(2), "reconnect");
      a.send(2, text("later"));
      b.send(2, text("from b"));
      await waitFor(() => got.length === 7, "frames after restart");
      expect(got.filter((m) => m.from === 0).map((m) => m.text)).toEqual([
        "queued 0",
        "queued 1",
        "queued 2",
        "queued 3",
        "queued 4",
        "later",
      ]);
      expect(got.filter((m) => m.from === 1).map((m) => m.text)).toEqual(["from b"]);
      expect(a.stats().peers.find((p) => p.index === 2)!.reconnects).toBeGreaterThanOrEqual(1);
    },
    TIMEOUT,
  );

  it(
    "drops and counts an oversize frame, and keeps the connection for the frames after it",
    async () => {
      const keys = await newKeys(2);
      const [a, b] = (await startNodes(keys, (i) => (i === 1 ? { maxFrameBytes: 64 * 1024 } : {}))) as [
        Transport,
        Transport,
      ];
      const got = collect(b);
      await waitFor(() => fullyConnected([a, b]), "mesh");
      a.send(1, text("before"));
      a.send(1, new Uint8Array(1024 * 1024).fill(7));
      a.send(1, text("after"));
      await waitFor(() => got.length === 2, "frames around the oversize one");
      expect(got.map((m) => m.text)).toEqual(["before", "after"]);
      const fromA = b.stats().peers.find((p) => p.index === 0)!;
      expect(fromA.droppedIn.oversize).toBe(1);
      expect(fromA.penalties.oversize).toBe(1);
      const toB = a.stats().peers.find((p) => p.index === 1)!;
      expect(toB.connected).toBe(true);
      expect(toB.reconnects).toBe(0);

      // The sender refuses frames above its own limit without queueing them.
      b.send(0, new Uint8Array(65 * 1024));
      expect(b.stats().droppedOut.oversize).toBe(1);
      expect(b.queuedBytes(0)).toBe(0);
    },
    TIMEOUT,
  );

  it(
    "drops frames above the peer's message rate and counts them",
    async () => {
      const [a, b] = (await startNodes(await newKeys(2), (i) => (i === 1 ? { messagesPerSecond: 10 } : {}))) as [
        Transport,
        Transport,
      ];
      const got = collect(b);
      await waitFor(() => fullyConnected([a, b]), "mesh");
      for (let i = 0; i < 100; i++) a.send(1, text(`m ${i}`));
      await waitFor(() => got.length + b.stats().droppedIn.rate === 100, "all frames handled");
      expect(got.length).toBeGreaterThanOrEqual(10);
      expect(got.length).toBeLessThan(20);
      expect(b.stats().peers[0]!.droppedIn.rate).toBe(100 - got.length);
    },
    TIMEOUT,
  );

  it(
    "refuses connections from a peer id that is not in the peer list",
    async () => {
      const [a] = (await startNodes(await newKeys(2))) as [Transport, Transport];
      const got = collect(a);
      const outsider = await createTransport({
        privateKey: await generatePeerKey(),
        listen: LOOPBACK,
        self: 7,
        peers: [{ index: 0, peerId: a.peerId, addrs: a.multiaddrs() }],
      });
      running.push(outsider);
      outsider.send(0, text("let me in"));
      await waitFor(() => a.stats().refusedUnknownPeer >= 1, "refusal");
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(got).toEqual([]);
      expect(outsider.connectedPeers()).toEqual([]);
      expect(outsider.stats().peers[0]!.dialFailures).toBeGreaterThanOrEqual(1);

      // A raw libp2p node with an unknown key cannot open the consensus stream either.
      const raw = await rawNode(await generatePeerKey());
      await expect(raw.dialProtocol(multiaddr(a.multiaddrs()[0]!), CONSENSUS_PROTOCOL)).rejects.toThrow();
      expect(got).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    "delivers a gossip announcement to subscribers",
    async () => {
      const nodes = await startNodes(await newKeys(3));
      const [a, b, c] = nodes as [Transport, Transport, Transport];
      const atB: { from: number; text: string }[] = [];
      const atC: { from: number; text: string }[] = [];
      b.subscribe("ordo/announce", (from, bytes) => atB.push({ from, text: dec.decode(bytes) }));
      const unsubscribeC = c.subscribe("ordo/announce", (from, bytes) => atC.push({ from, text: dec.decode(bytes) }));
      await waitFor(() => fullyConnected(nodes), "mesh");
      // Subscriptions travel after the connections open: publish until both have heard.
      await waitFor(() => {
        if (atB.length === 0 || atC.length === 0) void a.publish("ordo/announce", text("batch 42 certified"));
        return atB.length > 0 && atC.length > 0;
      }, "announcement");
      expect(atB[0]).toEqual({ from: 0, text: "batch 42 certified" });
      expect(atC[0]).toEqual({ from: 0, text: "batch 42 certified" });
      expect(b.stats().gossip.delivered).toBeGreaterThanOrEqual(1);
      unsubscribeC();

      // Announcements are small: above maxGossipBytes nothing is published.
      expect(await a.publish("ordo/announce", new Uint8Array(65 * 1024))).toBe(0);
      expect(a.stats().gossip.dropped.oversize).toBe(1);
    },
    TIMEOUT,
  );

  it(
    "delivers garbage frames as bytes, survives throwing handlers, and closes only the stream on a broken length prefix",
    async () => {
      const keys = await newKeys(3);
      // Validators 0 and 2 run transports; validator 1's key drives a raw libp2p node that writes garbage.
      const peers = keys.map((key, index) => ({ index, peerId: peerIdOf(key), addrs: [] as string[] }));
      const a = await createTransport({ privateKey: keys[0]!, listen: LOOPBACK, self: 0, peers });
      running.push(a);
      const c = await createTransport({ privateKey: keys[2]!, listen: LOOPBACK, self: 2, peers });
      running.push(c);
      await a.setPeerAddrs(2, c.multiaddrs());
      await c.setPeerAddrs(0, a.multiaddrs());

      const frames: Uint8Array[] = [];
      a.onMessage((from, bytes) => {
        if (from === 2) frames.push(bytes);
      });
      let calls = 0;
      a.onMessage(() => {
        calls++;
        if (calls % 3 === 0) throw new Error("node failed to decode");
      });
      const sent = Array.from(
        { length: 50 },
        (_, i) => new Uint8Array(randomBytes(i === 0 ? 0 : 1 + ((i * 97) % 4096))),
      );
      for (const frame of sent) c.send(0, frame);
      await waitFor(() => frames.length === sent.length, "garbage frames");
      expect(frames.map((f) => Buffer.from(f).toString("hex"))).toEqual(
        sent.map((f) => Buffer.from(f).toString("hex")),
      );
      expect(a.stats().handlerErrors).toBe(Math.floor(sent.length / 3));

      const raw = await rawNode(keys[1]!);
      const stream = await raw.dialProtocol(multiaddr(a.multiaddrs()[0]!), CONSENSUS_PROTOCOL);
      stream.send(new Uint8Array([0x02, 0x41, 0x42])); // one valid frame, "AB"
      stream.send(new Uint8Array(16).fill(0xff)); // a length prefix that never ends
      await waitFor(() => a.stats().peers.find((p) => p.index === 1)!.droppedIn.malformed === 1, "malformed count");
      const fromRaw = a.stats().peers.find((p) => p.index === 1)!;
      expect(fromRaw.framesIn).toBe(1);
      expect(fromRaw.penalties["malformed-frame"]).toBe(1);

      // The transport keeps working for everyone else.
      c.send(0, text("still here"));
      await waitFor(() => frames.length === sent.length + 1, "frame after garbage");
      expect(dec.decode(frames.at(-1))).toBe("still here");
    },
    TIMEOUT,
  );

  it(
    "disconnects a peer whose score falls below the threshold for a cooldown, then takes it back",
    async () => {
      const [a, b] = (await startNodes(await newKeys(2), () => ({ cooldownMs: 1_500 }))) as [Transport, Transport];
      const got = collect(a);
      await waitFor(() => fullyConnected([a, b]), "mesh");
      for (let i = 0; i < 9; i++) a.penalize(1, "invalid-signature");
      expect(a.stats().peers[0]!.disconnectedUntil).toBeNull();
      a.penalize(1, "invalid-signature", 20);
      const peer = a.stats().peers[0]!;
      expect(peer.disconnectedUntil).not.toBeNull();
      expect(peer.penalties["invalid-signature"]).toBe(10);
      expect(peer.disconnects).toBe(1);
      await waitFor(() => !b.connectedPeers().includes(0), "b to lose its stream");
      b.send(0, text("during cooldown"));
      await waitFor(() => a.connectedPeers().includes(1) && b.connectedPeers().includes(0), "reconnect after cooldown");
      expect(a.stats().peers[0]!.score).toBe(0);
      b.send(0, text("after cooldown"));
      await waitFor(() => got.some((m) => m.text === "after cooldown"), "frame after cooldown");
      expect(got.every((m) => m.from === 1)).toBe(true);
    },
    TIMEOUT,
  );

  it(
    "refuses a peer list that contradicts the key, and a listen port that is taken",
    async () => {
      const [mine, other] = await newKeys(2);
      const wrongSelf = createTransport({
        privateKey: mine!,
        listen: LOOPBACK,
        self: 0,
        peers: [{ index: 0, peerId: peerIdOf(other!), addrs: [] }],
      });
      await expect(wrongSelf).rejects.toMatchObject({ code: "INVALID_CONFIG" });
      const badAddr = createTransport({
        privateKey: mine!,
        listen: LOOPBACK,
        self: 0,
        peers: [{ index: 1, peerId: peerIdOf(other!), addrs: ["not a multiaddr"] }],
      });
      await expect(badAddr).rejects.toMatchObject({ code: "INVALID_CONFIG" });

      const [a] = await startNodes([mine!]);
      const taken = a!.multiaddrs()[0]!.replace(/\/p2p\/.*$/, "");
      const clash = createTransport({ privateKey: other!, listen: taken, self: 1, peers: [] });
      await expect(clash).rejects.toMatchObject({ code: "P2P_START_FAILED" });
    },
    TIMEOUT,
  );

  it(
    "measures raw throughput between transports",
    async () => {
      const nodes = await startLoopbackTransports({ count: 3 });
      running.push(...nodes);
      const result = await measureRawThroughput({ nodes, bytes: 3 * 1024 * 1024, frameBytes: 64 * 1024 });
      expect(result.frames).toBe(48);
      expect(result.payloadBytes).toBe(3 * 1024 * 1024);
      expect(result.deliveredBytes).toBe(6 * 1024 * 1024);
      expect(result.mbPerSecond).toBeGreaterThan(0);
    },
    TIMEOUT,
  );
});

describe("peer key file", () => {
  it("is created with mode 0600 and loads back as the same identity", async () => {
    const dir = await tempDir();
    const path = join(dir, "nested", "peer.key");
    const key = await loadOrCreatePeerKey(path);
    expect(key.type).toBe("Ed25519");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const again = await loadOrCreatePeerKey(path);
    expect(peerIdOf(again)).toBe(peerIdOf(key));
  });

  it("is refused when group or others can read it", async () => {
    const dir = await tempDir();
    const path = join(dir, "peer.key");
    await loadOrCreatePeerKey(path);
    await chmod(path, 0o644);
    const error = await loadOrCreatePeerKey(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrdoError);
    expect((error as OrdoError).code).toBe("PEER_KEY_INSECURE_PERMISSIONS");
    expect((error as OrdoError).fix).toBe(`chmod 600 ${path}`);
  });

  it("is refused when it does not hold a libp2p private key", async () => {
    const dir = await tempDir();
    const path = join(dir, "peer.key");
    await writeFile(path, "not a key\n", { mode: 0o600 });
    const error = await loadOrCreatePeerKey(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrdoError);
    expect((error as OrdoError).code).toBe("PEER_KEY_INVALID");
    expect((error as OrdoError).fix).toBeDefined();
  });
});

async function rawNode(privateKey: PrivateKey): Promise<Libp2p> {
  const node = await createLibp2p({
    privateKey,
    addresses: { listen: [LOOPBACK] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
  rawNodes.push(node);
  return node;
}
