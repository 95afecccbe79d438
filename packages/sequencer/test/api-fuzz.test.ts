/**
 * Hostile input against every HTTP route the API documents: random path parameters, query strings and bodies
 * (raw bytes, JSON of the wrong shape, text that is not JSON, oversized). A route answers a clear 4xx with
 * `{error: {code, message}}`, or 503 NOT_READY — never a 500 — and the validators keep finalizing.
 */
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type InProcessNetwork, startInProcessNetwork, waitFor } from "./fixtures/in-process-network.js";

let net: InProcessNetwork;
let app: FastifyInstance;

beforeAll(async () => {
  // Every optional part on, so every route is registered: market, DA, epochs and staking.
  net = await startInProcessNetwork(4, {
    withApi: true,
    market: { ["0x".padEnd(66, "1")]: 1_000n },
    da: { k: 2, m: 2, poster: 0 },
    epochLength: 5,
    stakingBalance: 1_000n,
  });
  app = net.apps[0] as FastifyInstance;
  await waitFor(async () => (net.stores[0]?.latestHeight ?? 0) >= 2, 30_000, "height 2");
}, 60_000);
afterAll(async () => net?.stop());

const hostileParam = fc.oneof(
  fc.constantFrom("0", "1", "2", "-1", "1.5", "1e3", "0x10", "99999999999999999999", "", "%00", "%2F..%2F", "..", " "),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.nat({ max: 2 ** 40 }).map(String),
  fc.uint8Array({ minLength: 0, maxLength: 70 }).map((b) => `0x${Buffer.from(b).toString("hex")}`),
);
const hostileBody = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((b) => ({ type: "application/octet-stream", payload: Buffer.from(b) })),
  fc.jsonValue({ maxDepth: 3 }).map((v) => ({ type: "application/json", payload: JSON.stringify(v) })),
  fc.string({ maxLength: 200 }).map((t) => ({ type: "application/json", payload: t })),
  fc.constant({ type: "application/json", payload: `{"data":"${"A".repeat(2_000_000)}"}` }),
  fc.constant({ type: "text/plain", payload: "hello" }),
);

it("every documented route answers hostile input with a 4xx or NOT_READY, never a 500, and the chain goes on", async () => {
  const spec = (await app.inject({ method: "GET", url: "/openapi.json" })).json() as {
    paths: Record<string, Record<string, unknown>>;
  };
  const routes = Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((m) => ({ path, m })),
  );
  expect(routes.length).toBeGreaterThanOrEqual(20);
  const failures: string[] = [];
  for (const { path, m } of routes) {
    await fc.assert(
      fc.asyncProperty(
        fc.array(hostileParam, { minLength: 4, maxLength: 4 }),
        fc.dictionary(fc.constantFrom("from", "to", "limit", "epoch", "level", "x"), hostileParam, { maxKeys: 3 }),
        hostileBody,
        async (params, query, body) => {
          let i = 0;
          const url = path.replace(/\{[^}]+\}/g, () => params[i++ % params.length] as string);
          const qs = new URLSearchParams(query).toString();
          const res = await app.inject({
            method: m.toUpperCase() as "GET" | "POST",
            url: qs ? `${url}?${qs}` : url,
            ...(m === "post" ? { headers: { "content-type": body.type }, payload: body.payload } : {}),
          });
          const notReady = res.statusCode === 503 && /NOT_READY/.test(res.body);
          if (res.statusCode >= 500 && !notReady)
            failures.push(`${m} ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
          if (res.statusCode >= 400 && res.statusCode < 500 && !/"code"\s*:\s*"[A-Z_]+"/.test(res.body))
            failures.push(`${m} ${url}: ${res.statusCode} without an error code: ${res.body.slice(0, 200)}`);
        },
      ),
      { numRuns: 25 },
    );
  }
  expect(failures.slice(0, 10)).toEqual([]);
  // The validators did not notice: they keep committing.
  const before = net.stores[1]?.latestHeight ?? 0;
  await waitFor(async () => (net.stores[1]?.latestHeight ?? 0) > before + 3, 30_000, "three more blocks");
}, 300_000);
