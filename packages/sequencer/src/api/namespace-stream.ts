/**
 * `GET /v1/namespaces/:ns/stream` (WebSocket): a namespace's blocks as they are
 * sequenced. Final blocks are read from LevelDB one at a time, only while the
 * socket's send buffer is below a high-water mark, so catching up from an old
 * height and following the head are the same loop, and a client that does not
 * read costs the node one buffer, never an unbounded queue.
 */
import { toHex } from "@ordo/core";
import type { FastifyInstance } from "fastify";
import type { WebSocket } from "ws";
import type { SoftBlockEvent, ValidatorNode } from "../node/validator-node.js";
import type { NodeStore } from "../storage/node-store.js";
import { base64, NamespaceBlockUnavailable, readNamespaceBlock } from "./namespace-blocks.js";

/** Close codes (4000–4999 are the application's). */
export const STREAM_CLOSE = {
  /** The client did not read fast enough; the reason says `from=` to resume at. */
  SLOW_CONSUMER: 4008,
  /** The node is shutting down or cannot serve the data; resume elsewhere or later. */
  UNAVAILABLE: 4503,
} as const;

export interface StreamOptions {
  /** Bytes buffered for one client above which the server stops sending (default 4 MiB). */
  highWaterMark?: number;
  /** How long a client may stay above the high-water mark before it is closed (default 10 s). */
  slowConsumerMs?: number;
}

interface Subscription {
  namespace: number;
  level: "soft" | "final";
  /** The next final height to send. */
  next: number;
  /** The highest soft height sent. */
  softSent: number;
}

export function registerNamespaceStream(
  app: FastifyInstance,
  o: {
    node: ValidatorNode;
    store: NodeStore;
    schema: object;
    parseNamespace: (raw: string) => number;
    /** The API's 400 for a request that is not a WebSocket upgrade. */
    invalid: (message: string) => Error;
  } & StreamOptions,
): void {
  const highWaterMark = o.highWaterMark ?? 4 * 1024 * 1024;
  const slowConsumerMs = o.slowConsumerMs ?? 10_000;
  const { node, store } = o;

  // One wake-up for every subscriber per commit, instead of a listener each.
  let commitSignal = deferred();
  const softSubscribers = new Map<WebSocket, Subscription>();
  const offCommit = node.onCommit(() => {
    commitSignal.resolve();
    commitSignal = deferred();
  });
  const offSoft = node.onSoft((e) => {
    for (const [socket, sub] of softSubscribers) sendSoft(socket, sub, e);
  });
  const closing = deferred();
  app.addHook("onClose", async () => {
    offCommit();
    offSoft();
    closing.resolve();
  });

  function sendSoft(socket: WebSocket, sub: Subscription, e: SoftBlockEvent): void {
    if (e.height < sub.next || e.height <= sub.softSent) return;
    // Soft messages are hints ahead of the final stream: under pressure, skip them rather than queue.
    if (socket.readyState !== socket.OPEN || socket.bufferedAmount > highWaterMark) return;
    sub.softSent = e.height;
    const transactions = e.transactions.filter((t) => t.namespace === sub.namespace).map((t) => base64(t.data));
    socket.send(
      JSON.stringify({
        type: "block",
        level: "soft",
        height: e.height,
        blockHash: toHex(e.blockHash),
        transactions,
      }),
    );
  }

  /** Resolves true once the buffer drains below half the mark, false if it stays full for `slowConsumerMs`. */
  async function drained(socket: WebSocket): Promise<boolean> {
    const end = Date.now() + slowConsumerMs;
    while (socket.bufferedAmount > highWaterMark / 2) {
      if (socket.readyState !== socket.OPEN) return true; // the loop ends on its own
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  async function pump(socket: WebSocket, sub: Subscription, closed: Promise<void>): Promise<void> {
    while (socket.readyState === socket.OPEN) {
      const latest = store.latestHeight ?? 0;
      if (sub.next > latest) {
        await Promise.race([commitSignal.promise, closing.promise, closed]);
        continue;
      }
      if (socket.bufferedAmount > highWaterMark && !(await drained(socket))) {
        socket.close(STREAM_CLOSE.SLOW_CONSUMER, `slow consumer; resume with from=${sub.next}`);
        return;
      }
      let block: Awaited<ReturnType<typeof readNamespaceBlock>>;
      try {
        block = await readNamespaceBlock(store, sub.namespace, sub.next);
      } catch (e) {
        const why = e instanceof NamespaceBlockUnavailable ? e.message : "internal error";
        socket.close(STREAM_CLOSE.UNAVAILABLE, `${why}; resume with from=${sub.next}`.slice(0, 120));
        return;
      }
      if (socket.readyState !== socket.OPEN) return;
      socket.send(JSON.stringify({ type: "block", level: "final", ...block }));
      sub.next++;
    }
  }

  app.get<{ Params: { ns: string }; Querystring: { from?: string; level?: "soft" | "final" } }>(
    "/v1/namespaces/:ns/stream",
    {
      websocket: true,
      schema: o.schema,
      // Refuse a bad namespace with a 400 before the upgrade, not with a close code after it.
      preValidation: async (request) => {
        o.parseNamespace(request.params.ns);
        // A plain GET would otherwise get an empty 404 from the WebSocket plugin: say what the route is.
        if (request.headers.upgrade?.toLowerCase() !== "websocket")
          throw o.invalid("this route is a WebSocket: connect with `Upgrade: websocket`");
      },
    },
    (socket, request) => {
      const namespace = o.parseNamespace(request.params.ns);
      const from = request.query.from === undefined ? (store.latestHeight ?? 0) + 1 : Number(request.query.from);
      const sub: Subscription = {
        namespace,
        level: request.query.level ?? "final",
        next: Math.max(1, from),
        softSent: 0,
      };
      // Clients only listen; anything they send is ignored (ws caps its size, see `maxPayload`).
      socket.on("message", () => {});
      socket.on("error", () => socket.terminate());
      if (sub.level === "soft") {
        softSubscribers.set(socket, sub);
        socket.once("close", () => softSubscribers.delete(socket));
      }
      pump(socket, sub, onceClosed(socket)).catch((e: unknown) => {
        request.log.warn({ err: e }, "namespace stream failed");
        socket.terminate();
      });
    },
  );
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function onceClosed(socket: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.readyState === socket.CLOSED || socket.readyState === socket.CLOSING) resolve();
    else socket.once("close", () => resolve());
  });
}
