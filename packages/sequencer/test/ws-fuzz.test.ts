/**
 * Hostile clients of the namespace WebSocket stream (`GET /v1/namespaces/:ns/stream`), against a real 4-validator
 * network with its API on an ephemeral loopback port. Random and garbage query strings (`from`, `level`, unknown and
 * repeated keys, bad namespaces) are refused with the documented 400 `INVALID_INPUT` JSON before the upgrade, and
 * good ones upgrade; on open connections, random text and binary messages, pings and fragments are ignored (clients
 * only listen) while oversized messages (several MB), invalid UTF-8 and raw protocol garbage get the connection closed;
 * connections end abruptly. Throughout, the server never crashes, a well-behaved client connected at the same time
 * keeps receiving every block in order, and the validators keep committing.
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import "@fastify/websocket";
import { MAX_NAMESPACE } from "@ordo/core";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";
import type { NamespaceBlockJson } from "../src/api/namespace-blocks.js";
import { type InProcessNetwork, startInProcessNetwork, waitFor } from "./fixtures/in-process-network.js";

const SEED = 20_250_917;
/** The stream's cap on one client message (`maxPayload` in server.ts). */
const MAX_CLIENT_MESSAGE = 1024;
/** The namespace the well-behaved client follows and the test writes to. */
const WATCHED = 7;

let net: InProcessNetwork;
let app: FastifyInstance;
let port: number;

interface StreamMessage extends NamespaceBlockJson {
  type: "block";
  level: "soft" | "final";
}

/** A client that reads everything, as a rollup's node would. */
interface Follower {
  ws: WebSocket;
  finals: StreamMessage[];
  closed: { code: number; reason: string } | null;
  /** Messages that did not parse, or broke the order. */
  problems: string[];
}

function follow(namespace: number, query: string): Follower {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/namespaces/${namespace}/stream?${query}`);
  const f: Follower = { ws, finals: [], closed: null, problems: [] };
  ws.on("message", (data: Buffer) => {
    let m: StreamMessage;
    try {
      m = JSON.parse(data.toString()) as StreamMessage;
    } catch {
      f.problems.push(`not JSON: ${data.toString().slice(0, 80)}`);
      return;
    }
    if (m.level !== "final") return;
    const last = f.finals[f.finals.length - 1];
    if (last && m.height !== last.height + 1) f.problems.push(`height ${m.height} after ${last.height}`);
    f.finals.push(m);
  });
  ws.on("close", (code, reason) => {
    f.closed = { code, reason: reason.toString() };
  });
  ws.on("error", (e) => f.problems.push(`error: ${e.message}`));
  return f;
}

const followers: Follower[] = [];
const sent: string[] = [];
let writer: ReturnType<typeof setInterval> | undefined;

beforeAll(async () => {
  net = await startInProcessNetwork(4, { withApi: true });
  app = net.apps[0] as FastifyInstance;
  const url = new URL(await app.listen({ host: "127.0.0.1", port: 0 }));
  port = Number(url.port);
  await waitFor(async () => (net.stores[0]?.latestHeight ?? 0) >= 2, 30_000, "height 2");
  // Well-behaved clients, connected for the whole test: one from genesis, one following the head with soft hints.
  followers.push(follow(WATCHED, "from=1"), follow(WATCHED, "level=soft"));
  await waitFor(() => followers.every((f) => f.ws.readyState === WebSocket.OPEN), 10_000, "followers open");
  // Traffic in the watched namespace throughout, through another validator.
  let k = 0;
  writer = setInterval(() => {
    const text = `ws-fuzz-${k++}`;
    void (net.apps[1] as FastifyInstance)
      .inject({
        method: "POST",
        url: `/v1/namespaces/${WATCHED}/transactions`,
        payload: { data: Buffer.from(text).toString("base64") },
      })
      .then((r) => {
        if (r.statusCode === 202) sent.push(text);
      });
  }, 250);
}, 60_000);

afterAll(async () => {
  if (writer) clearInterval(writer);
  for (const f of followers) f.ws.terminate();
  await net?.stop();
});

// ── raw HTTP over TCP, to send any request target and any bytes ──────────

interface RawReply {
  status: number;
  headers: string;
  body: string;
  /** Bytes after the head of a 101 (the first WebSocket frames). */
  rest: Buffer;
  socket: Socket;
}

/** Sends a GET (an upgrade by default) for `target` and reads the reply's head, and its body when it is not a 101. */
function rawRequest(target: string, upgrade = true): Promise<RawReply> {
  return new Promise((resolveReply, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let buffer = Buffer.alloc(0);
    let head: { status: number; headers: string; length: number | null } | null = null;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply to GET ${target} within 10 s`));
    }, 10_000);
    const done = (r: RawReply) => {
      clearTimeout(timer);
      socket.removeAllListeners("data");
      // Whoever takes the socket reads the rest (and resumes it).
      socket.pause();
      resolveReply(r);
    };
    socket.once("connect", () => {
      const lines = [`GET ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
      if (upgrade)
        lines.push(
          "Upgrade: websocket",
          "Connection: Upgrade",
          `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
          "Sec-WebSocket-Version: 13",
        );
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    });
    socket.on("data", (d: Buffer) => {
      buffer = Buffer.concat([buffer, d]);
      if (!head) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        const text = buffer.subarray(0, end).toString("latin1");
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
        const length = /\r\ncontent-length: *(\d+)/i.exec(text)?.[1];
        head = { status, headers: text, length: length === undefined ? null : Number(length) };
        buffer = buffer.subarray(end + 4);
        if (status === 101) return done({ status, headers: text, body: "", rest: buffer, socket });
      }
      if (head.length !== null && buffer.length >= head.length)
        done({ ...head, body: buffer.subarray(0, head.length).toString(), rest: Buffer.alloc(0), socket });
    });
    socket.once("close", () => {
      if (head) done({ ...head, body: buffer.toString(), rest: Buffer.alloc(0), socket });
      else {
        clearTimeout(timer);
        reject(new Error(`connection closed without a reply to GET ${target}`));
      }
    });
    socket.once("error", () => {});
  });
}

/** Resolves true when the server closes `socket` within `ms`. */
function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve(true);
  return new Promise((r) => {
    const timer = setTimeout(() => r(false), ms);
    socket.once("close", () => {
      clearTimeout(timer);
      r(true);
    });
    socket.once("end", () => {
      clearTimeout(timer);
      r(true);
    });
  });
}

// ── queries ───────────────────────────────────────────────────────────────

const namespaceArb = fc.oneof(
  fc.constantFrom("1", "7", "0", "4294967295", "4294967296", "-1", "x", "", "01", "1.0", "1e3", "0x7", " 7", "%31"),
  fc.nat().map(String),
  fc.string({ maxLength: 8 }),
);
const valueArb = fc.oneof(
  fc.constantFrom("0", "1", "2", "soft", "final", "SOFT", "", "-1", "1e3", "0x1", "1.5", " 1", "9999999999999999"),
  fc.constantFrom("99999999999999999", "soft,final", "[]", "null", "%", "%zz", "\u0000", "1\r\n", "🚀"),
  fc.nat({ max: 2 ** 40 }).map(String),
  fc.string({ maxLength: 20, unit: "grapheme" }),
);
const keyArb = fc.constantFrom("from", "level", "from", "level", "to", "x", "from[]", "Level", "from ");
/** Mostly well-formed pairs (so the property reaches the upgrade), some hostile. */
const pairArb = fc.oneof(
  { weight: 2, arbitrary: fc.tuple(fc.constant("from"), fc.nat({ max: 40 }).map(String)) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("level"), fc.constantFrom("soft", "final")) },
  { weight: 2, arbitrary: fc.tuple(keyArb, valueArb) },
);
const queryArb = fc.record({
  namespace: fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom("1", "7", "4294967295") },
    { weight: 3, arbitrary: namespaceArb },
  ),
  pairs: fc.array(pairArb, { maxLength: 3 }),
  upgrade: fc.integer({ min: 0, max: 99 }).map((n) => n < 85),
  /** Raw, unencoded garbage appended to the query (still a valid request target). */
  garbage: fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("&", "&&", "=", "==1", "&from", "&level", "%", "%zz", "%00", ";", "?", "&=&"),
    },
  ),
});

type Query = typeof queryArb extends fc.Arbitrary<infer T> ? T : never;

/** What the route must answer: the upgrade, or its documented 400 (404 when the path names no namespace at all). */
function expectedStatus(q: Query): 101 | 400 | "400|404" {
  const n = q.namespace;
  if (n === "") return "400|404";
  if (!/^[0-9]{1,10}$/.test(n) || Number(n) < 1 || Number(n) > MAX_NAMESPACE) return 400;
  if (!q.upgrade) return 400;
  const keys = q.pairs.map(([k]) => k);
  if (new Set(keys).size !== keys.length) return 400;
  for (const [k, v] of q.pairs) {
    if (k === "from" && !/^[0-9]{1,16}$/.test(v)) return 400;
    else if (k === "level" && v !== "soft" && v !== "final") return 400;
    else if (k !== "from" && k !== "level") return 400;
  }
  return 101;
}

it("refuses every bad stream query with a 400 INVALID_INPUT before the upgrade, and upgrades every good one", async () => {
  const seen = { upgraded: 0, refused: 0, unpredicted: 0 };
  await fc.assert(
    fc.asyncProperty(queryArb, async (q) => {
      const query = q.pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
      const target = `/v1/namespaces/${encodeURIComponent(q.namespace)}/stream?${query}${q.garbage ?? ""}`;
      const reply = await rawRequest(target, q.upgrade);
      const expected = q.garbage === undefined ? expectedStatus(q) : "any";
      try {
        if (reply.status === 101) {
          seen.upgraded++;
          expect(expected === 101 || expected === "any", `${target} upgraded`).toBe(true);
          // A stream from a committed height starts sending at once: the first frame is a text frame (0x81).
          const from = q.pairs.find(([k]) => k === "from")?.[1];
          if (q.garbage === undefined && from !== undefined && Number(from) <= (net.stores[0]?.latestHeight ?? 0)) {
            if (reply.rest.length === 0)
              await new Promise<void>((r) => {
                reply.socket.once("data", (d: Buffer) => {
                  reply.rest = d;
                  r();
                });
                reply.socket.resume();
                setTimeout(r, 5_000);
              });
            expect(reply.rest[0], `${target}: first frame`).toBe(0x81);
          }
          return;
        }
        seen.refused++;
        if (expected === "any") seen.unpredicted++;
        else if (expected === "400|404") expect([400, 404], target).toContain(reply.status);
        else expect(reply.status, `${target}: ${reply.body}`).toBe(expected);
        // Whatever the garbage, a refusal is the API's JSON error, never a 5xx or an empty answer.
        expect(reply.status, target).toBeGreaterThanOrEqual(400);
        expect(reply.status, target).toBeLessThan(500);
        const error = (JSON.parse(reply.body) as { error: { code: string; message: string } }).error;
        expect(error.code, target).toBe(reply.status === 404 ? "NOT_FOUND" : "INVALID_INPUT");
        expect(error.message.length, target).toBeGreaterThan(0);
      } finally {
        // Abruptly: no close frame, no FIN handshake.
        reply.socket.destroy();
      }
    }),
    { seed: SEED, numRuns: 300 },
  );
  // The generators reached both sides.
  expect(seen.upgraded).toBeGreaterThan(20);
  expect(seen.refused).toBeGreaterThan(100);
}, 120_000);

// ── messages on open connections ──────────────────────────────────────────

type Action =
  | { kind: "text"; data: string }
  | { kind: "binary"; data: Uint8Array }
  | { kind: "ping"; data: Uint8Array }
  | { kind: "fragments"; parts: Uint8Array[]; binary: boolean }
  | { kind: "invalid-utf8" }
  | { kind: "huge"; bytes: number };

type Ending =
  | { kind: "terminate" }
  | { kind: "close"; code: number; reason: string }
  | { kind: "unfinished-fragment"; data: Uint8Array }
  | { kind: "raw-garbage"; data: Uint8Array }
  | { kind: "unmasked-frame" };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("text" as const), data: fc.string({ maxLength: 300, unit: "grapheme" }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("binary" as const), data: fc.uint8Array({ maxLength: 1400 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("ping" as const), data: fc.uint8Array({ maxLength: 125 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("fragments" as const),
      parts: fc.array(fc.uint8Array({ maxLength: 500 }), { minLength: 2, maxLength: 4 }),
      binary: fc.constant(true),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "invalid-utf8" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("huge" as const), bytes: fc.integer({ min: 2_000_000, max: 6_000_000 }) }),
  },
);
const endingArb: fc.Arbitrary<Ending> = fc.oneof(
  fc.constant({ kind: "terminate" as const }),
  fc.record({
    kind: fc.constant("close" as const),
    code: fc.oneof(fc.constant(1000), fc.constant(1001), fc.integer({ min: 3000, max: 4999 })),
    reason: fc.string({ maxLength: 30 }),
  }),
  fc.record({ kind: fc.constant("unfinished-fragment" as const), data: fc.uint8Array({ maxLength: 200 }) }),
  fc.record({ kind: fc.constant("raw-garbage" as const), data: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.constant({ kind: "unmasked-frame" as const }),
);
const connectionArb = fc.record({
  namespace: fc.constantFrom(WATCHED, 1, 8, MAX_NAMESPACE),
  /** A height to start from, as a share of the committed ones (so catching up is in flight while we send). */
  from: fc.double({ min: 0, max: 1, noNaN: true }),
  level: fc.constantFrom("final", "soft"),
  actions: fc.array(actionArb, { maxLength: 5 }),
  ending: endingArb,
});

type Connection = typeof connectionArb extends fc.Arbitrary<infer T> ? T : never;

/** Bytes of a client message as the server counts them against `maxPayload`. */
function messageBytes(a: Action): number {
  switch (a.kind) {
    case "text":
      return Buffer.byteLength(a.data);
    case "binary":
      return a.data.length;
    case "fragments":
      return a.parts.reduce((n, p) => n + p.length, 0);
    case "huge":
      return a.bytes;
    default:
      return 0;
  }
}

/** Whether the server must close a connection that sends `a`. */
function violates(a: Action): boolean {
  return a.kind === "invalid-utf8" || messageBytes(a) > MAX_CLIENT_MESSAGE;
}

/** One hostile connection: opens, sends its actions, checks what the server did, and ends as `ending` says. */
async function hostile(c: Connection): Promise<string[]> {
  const problems: string[] = [];
  const from = Math.max(1, Math.floor(c.from * (net.stores[0]?.latestHeight ?? 1)));
  const f = follow(c.namespace, `from=${from}&level=${c.level}`);
  f.problems.length = 0;
  f.ws.on("error", () => {}); // resets and EPIPEs are expected once the server closes on us
  const opened = await new Promise<boolean>((r) => {
    f.ws.once("open", () => r(true));
    f.ws.once("close", () => r(false));
  });
  if (!opened) return [`ns ${c.namespace} from=${from}: the upgrade failed`];
  const send = (data: Uint8Array | string, options: { binary?: boolean; fin?: boolean } = {}) =>
    new Promise<void>((r) => f.ws.send(data, options, () => r()));
  let violated = false;
  for (const a of c.actions) {
    if (f.ws.readyState !== WebSocket.OPEN) break;
    switch (a.kind) {
      case "text":
        await send(a.data);
        break;
      case "binary":
        await send(a.data, { binary: true });
        break;
      case "ping":
        f.ws.ping(Buffer.from(a.data));
        break;
      case "fragments":
        for (const [i, part] of a.parts.entries())
          await send(part, { binary: a.binary, fin: i === a.parts.length - 1 });
        break;
      case "invalid-utf8":
        await send(Buffer.from([0x7b, 0xff, 0xfe, 0xc0, 0x80]), { binary: false });
        break;
      case "huge":
        await send(Buffer.alloc(a.bytes, 0x61), { binary: true });
        break;
    }
    if (violates(a)) {
      violated = true;
      break;
    }
  }
  const what = `ns ${c.namespace} from=${from} ${c.actions.map((a) => `${a.kind}:${messageBytes(a)}`).join(",")}`;
  if (violated) {
    // The server ends the connection: 1009 (too big) or 1007 (not UTF-8), or it drops it (1006).
    await waitFor(() => f.closed !== null, 10_000, `the server to close ${what}`).catch(() =>
      problems.push(`${what}: still open after a message the server must refuse`),
    );
    if (f.closed && ![1006, 1007, 1009].includes(f.closed.code)) problems.push(`${what}: closed with ${f.closed.code}`);
  } else {
    // Ignored: the connection stays open and keeps streaming, in order from `from`.
    await new Promise((r) => setTimeout(r, 30));
    if (f.ws.readyState !== WebSocket.OPEN)
      problems.push(`${what}: closed (${f.closed?.code} ${f.closed?.reason}) after messages the server should ignore`);
    await waitFor(() => f.finals.length > 0, 10_000, "a block").catch(() => problems.push(`${what}: no block`));
    if (f.finals[0] && f.finals[0].height !== from) problems.push(`${what}: first block ${f.finals[0].height}`);
    problems.push(...f.problems.map((p) => `${what}: ${p}`));
    await end(f.ws, c.ending);
  }
  f.ws.terminate();
  return problems;
}

/** The frame header and mask of a client text frame with `payload`; masked unless told otherwise. */
function frame(payload: Buffer, masked = true): Buffer {
  const mask = masked ? randomBytes(4) : Buffer.alloc(0);
  const body = masked ? Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number))) : payload;
  return Buffer.concat([Buffer.from([0x81, (masked ? 0x80 : 0) | payload.length]), mask, body]);
}

/** Ends a connection the way a broken or hostile client would. */
async function end(ws: WebSocket, e: Ending): Promise<void> {
  switch (e.kind) {
    case "terminate":
      ws.terminate();
      return;
    case "close":
      ws.close(e.code, e.reason.slice(0, 30));
      return;
    case "unfinished-fragment":
      await new Promise<void>((r) => ws.send(e.data, { binary: true, fin: false }, () => r()));
      ws.terminate();
      return;
    default:
      // Raw bytes straight on the connection's socket, then gone.
      return;
  }
}

/** A raw upgraded connection that sends `e`'s bytes (garbage, or a frame without the mask every client must set). */
async function rawHostile(e: Ending & { kind: "raw-garbage" | "unmasked-frame" }): Promise<string[]> {
  const from = Math.max(1, (net.stores[0]?.latestHeight ?? 1) - 3);
  const reply = await rawRequest(`/v1/namespaces/${WATCHED}/stream?from=${from}`);
  if (reply.status !== 101) return [`raw upgrade answered ${reply.status}`];
  reply.socket.resume();
  const bytes = e.kind === "unmasked-frame" ? frame(Buffer.from("hello"), false) : Buffer.from(e.data);
  reply.socket.write(bytes);
  const closed = await closedWithin(reply.socket, e.kind === "unmasked-frame" ? 5_000 : 200);
  reply.socket.destroy();
  return e.kind === "unmasked-frame" && !closed ? ["an unmasked client frame did not get the connection closed"] : [];
}

it("ignores, or closes on, anything clients send, and never stops streaming to a well-behaved client", async () => {
  const startHeight = net.stores[0]?.latestHeight ?? 0;
  const problems: string[] = [];
  const seen = { ignored: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(fc.array(connectionArb, { minLength: 1, maxLength: 3 }), async (connections) => {
      const results = await Promise.all(
        connections.map(async (c) => {
          if (c.actions.some(violates)) seen.refused++;
          else seen.ignored++;
          const out = await hostile(c);
          if (c.ending.kind === "raw-garbage" || c.ending.kind === "unmasked-frame")
            out.push(...(await rawHostile(c.ending)));
          return out;
        }),
      );
      problems.push(...results.flat());
    }),
    { seed: SEED, numRuns: 100 },
  );
  expect(problems.slice(0, 10)).toEqual([]);
  expect(seen.ignored).toBeGreaterThan(40);
  expect(seen.refused).toBeGreaterThan(20);

  // The validators kept committing, and keep committing.
  const afterFuzz = net.stores[0]?.latestHeight ?? 0;
  expect(afterFuzz).toBeGreaterThan(startHeight);
  await waitFor(async () => (net.stores[0]?.latestHeight ?? 0) >= afterFuzz + 3, 30_000, "three more blocks");

  // The well-behaved clients are still connected and got every block in order: from 1 with no gap, up to the head.
  await waitFor(
    () => followers.every((f) => (f.finals[f.finals.length - 1]?.height ?? 0) >= afterFuzz + 3),
    30_000,
    "the followers to reach the head",
  );
  for (const f of followers) {
    expect(f.closed).toBeNull();
    expect(f.problems).toEqual([]);
  }
  const [fromGenesis, head] = followers as [Follower, Follower];
  expect(fromGenesis.finals.map((m) => m.height)).toEqual(
    Array.from({ length: fromGenesis.finals.length }, (_, i) => i + 1),
  );
  expect(head.finals[0]?.height).toBeLessThanOrEqual(startHeight + 1);
  // Every transaction written meanwhile (each accepted with a 202) reached the follower.
  const accepted = [...sent];
  expect(accepted.length).toBeGreaterThan(10);
  const streamed = () =>
    new Set(fromGenesis.finals.flatMap((m) => m.transactions.map((t) => Buffer.from(t, "base64").toString())));
  await waitFor(() => accepted.every((t) => streamed().has(t)), 30_000, "the sent transactions on the stream");

  // The server let go of every hostile connection: only the followers are left.
  await waitFor(() => app.websocketServer.clients.size === followers.length, 10_000, "hostile sockets released");
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  expect(health.status).toBe(200);
}, 300_000);
