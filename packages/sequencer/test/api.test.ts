import {
  bitmapIndices,
  blstBackend,
  bytesEqual,
  fromHex,
  hashHeader,
  verifyNamespaceProof,
  voteDigest,
} from "@ordo/core";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  headerFromJson,
  type NamespaceProofJson,
  namespaceProofFromJson,
  quorumCertificateFromJson,
} from "../src/api/json.js";
import type { ValidatorNode } from "../src/node/validator-node.js";
import { CHAIN_ID, type InProcessNetwork, startInProcessNetwork, waitFor } from "./fixtures/in-process-network.js";

type Net = InProcessNetwork;

let net: Net;
beforeAll(async () => {
  net = await startInProcessNetwork(4, { withApi: true });
}, 30_000);
afterAll(async () => {
  await net?.stop();
});

const app = (i: number) => net.apps[i] as FastifyInstance;
const b64 = (s: string) => Buffer.from(s).toString("base64");

async function submitJson(i: number, ns: number | string, data: string) {
  return app(i).inject({ method: "POST", url: `/v1/namespaces/${ns}/transactions`, payload: { data: b64(data) } });
}

async function waitFinal(i: number, hash: string) {
  await waitFor(
    async () => {
      const r = await app(i).inject({ method: "GET", url: `/v1/transactions/${hash}` });
      return r.statusCode === 200 && r.json().status === "final";
    },
    30_000,
    `transaction ${hash} final`,
  );
}

function expectError(r: { statusCode: number; json: () => unknown }, status: number, code: string) {
  expect(r.statusCode).toBe(status);
  const body = r.json() as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
}

describe("sequencer API over a real 4-validator network", () => {
  it("accepts transactions at different validators (JSON and raw bytes) and reports them final", async () => {
    const hashes: string[] = [];
    for (let k = 0; k < 8; k++) {
      const r =
        k % 2 === 0
          ? await submitJson(k % 4, 1 + (k % 3), `api-tx-${k}`)
          : await app(k % 4).inject({
              method: "POST",
              url: `/v1/namespaces/${1 + (k % 3)}/transactions`,
              headers: { "content-type": "application/octet-stream" },
              payload: Buffer.from(`api-tx-${k}`),
            });
      expect(r.statusCode, r.body).toBe(202);
      const hash = r.json().hash as string;
      expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
      hashes.push(hash);
    }
    for (const h of hashes) for (const i of [0, 1, 2, 3]) await waitFinal(i, h);
    for (const h of hashes) {
      const statuses = await Promise.all(
        [0, 1, 2, 3].map(async (i) => (await app(i).inject({ method: "GET", url: `/v1/transactions/${h}` })).json()),
      );
      expect(statuses[0].status).toBe("final");
      expect(typeof statuses[0].height).toBe("number");
      expect(typeof statuses[0].index).toBe("number");
      expect(new Set(statuses.map((s) => JSON.stringify(s))).size).toBe(1);
    }
    // A resubmission while the first copy is pending is a duplicate.
    const a = await submitJson(2, 7, "dup-me");
    const b = await submitJson(2, 7, "dup-me");
    expect(a.statusCode).toBe(202);
    if (b.statusCode !== 202) expectError(b, 409, "DUPLICATE"); // unless the first was already batched
  }, 60_000);

  it("serves blocks with header and certificate, and namespace transactions with a verifying proof", async () => {
    const r = await submitJson(1, 42, "proof-me");
    expect(r.statusCode).toBe(202);
    const hash = r.json().hash as string;
    await waitFinal(3, hash);
    const st = (await app(3).inject({ method: "GET", url: `/v1/transactions/${hash}` })).json();
    expect(st.namespace).toBe(42);
    const height = st.height as number;

    const latest = await app(3).inject({ method: "GET", url: "/v1/blocks/latest" });
    expect(latest.statusCode).toBe(200);
    expect(latest.json().height).toBeGreaterThanOrEqual(height);
    expect(latest.json().finality.blockHash).toMatch(/^0x[0-9a-f]{64}$/);

    const blk = await app(3).inject({ method: "GET", url: `/v1/blocks/${height}` });
    expect(blk.statusCode).toBe(200);
    const block = blk.json();
    expect(block.height).toBe(height);
    expect(block.header.height).toBe(height);
    expect(block.qc.blockHash).toBe(block.hash);
    expect(block.header.namespaceRoot).toMatch(/^0x[0-9a-f]{64}$/);
    const root = fromHex(block.header.namespaceRoot);

    const inc = await app(3).inject({ method: "GET", url: `/v1/namespaces/42/blocks/${height}` });
    expect(inc.statusCode, inc.body).toBe(200);
    const incBody = inc.json() as { transactions: string[]; proof: NamespaceProofJson; namespace: number };
    expect(incBody.namespace).toBe(42);
    expect(incBody.proof.kind).toBe("inclusion");
    const txs = incBody.transactions.map((t) => new Uint8Array(Buffer.from(t, "base64")));
    expect(txs.map((t) => Buffer.from(t).toString())).toContain("proof-me");
    expect(verifyNamespaceProof(root, 42, txs, namespaceProofFromJson(incBody.proof))).toBe(true);
    // Tampering breaks it.
    expect(verifyNamespaceProof(root, 42, [...txs, new Uint8Array([1])], namespaceProofFromJson(incBody.proof))).toBe(
      false,
    );

    for (const ns of [41, 43, 4_000_000_000]) {
      const abs = await app(3).inject({ method: "GET", url: `/v1/namespaces/${ns}/blocks/${height}` });
      expect(abs.statusCode).toBe(200);
      const absBody = abs.json() as { transactions: string[]; proof: NamespaceProofJson };
      expect(absBody.transactions).toEqual([]);
      expect(absBody.proof.kind).toBe("absence");
      expect(verifyNamespaceProof(root, ns, [], namespaceProofFromJson(absBody.proof))).toBe(true);
    }
  }, 60_000);

  it("serves a finality certificate for every committed height that a light client can check", async () => {
    await waitFor(async () => (net.stores[2]?.latestHeight ?? 0) >= 4, 30_000, "height 4");
    const keys = (await app(2).inject({ method: "GET", url: "/v1/validators" }))
      .json()
      .validators.map((v: { publicKey: string }) => fromHex(v.publicKey)) as Uint8Array[];
    for (const height of [1, 2, 3]) {
      const r = await app(2).inject({ method: "GET", url: `/v1/blocks/${height}/finality` });
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json();
      const headers = (body.headers as unknown[]).map((h) => headerFromJson(h));
      const qc = quorumCertificateFromJson(body.certificate);
      expect(headers[0]?.height).toBe(height);
      expect(headers.at(-1)?.height).toBe(body.certifiedHeight);
      // Each header is the parent its successor names, and the certificate commits the last.
      for (let i = 1; i < headers.length; i++)
        expect(bytesEqual(headers[i]?.parentHash as Uint8Array, hashHeader(headers[i - 1] as never))).toBe(true);
      expect(bytesEqual(qc.committedHash, hashHeader(headers.at(-1) as never))).toBe(true);
      const signers = bitmapIndices(qc.signers);
      expect(signers.length).toBeGreaterThanOrEqual(3);
      const digest = voteDigest(CHAIN_ID, qc.epoch, qc.round, qc.blockHash, qc.committedHash);
      expect(
        blstBackend.fastAggregateVerify(
          signers.map((i) => keys[i] as Uint8Array),
          digest,
          qc.signature,
        ),
      ).toBe(true);
    }
    expectError(await app(2).inject({ method: "GET", url: "/v1/blocks/999999/finality" }), 404, "NOT_FOUND");
    expectError(await app(2).inject({ method: "GET", url: "/v1/blocks/x/finality" }), 400, "INVALID_INPUT");
  }, 60_000);

  it("answers every bad request with a stable error code, never a 5xx", async () => {
    const a = app(0);
    const post = (url: string, payload: string | Buffer | object, contentType?: string) =>
      a.inject({
        method: "POST",
        url,
        payload: payload as string,
        ...(contentType ? { headers: { "content-type": contentType } } : {}),
      });
    expectError(await post("/v1/namespaces/abc/transactions", { data: b64("x") }), 400, "INVALID_INPUT");
    expectError(await post("/v1/namespaces/-1/transactions", { data: b64("x") }), 400, "INVALID_INPUT");
    expectError(await post("/v1/namespaces/4294967296/transactions", { data: b64("x") }), 400, "INVALID_INPUT");
    expectError(await post("/v1/namespaces/0/transactions", { data: b64("x") }), 400, "INVALID_INPUT");
    expectError(await post("/v1/namespaces/1/transactions", { data: "not base64!" }), 400, "INVALID_INPUT");
    expectError(await post("/v1/namespaces/1/transactions", { data: "YQ" }), 400, "INVALID_INPUT"); // unpadded
    expectError(await post("/v1/namespaces/1/transactions", { data: 12 }), 400, "INVALID_INPUT");
    expectError(await post("/v1/namespaces/1/transactions", { data: b64("x"), extra: 1 }), 400, "INVALID_INPUT");
    expectError(await post("/v1/namespaces/1/transactions", "[1,2]", "application/json"), 400, "INVALID_INPUT");
    expectError(await post("/v1/namespaces/1/transactions", "{not json", "application/json"), 400, "INVALID_INPUT");
    expectError(await post("/v1/namespaces/1/transactions", "hello", "text/plain"), 400, "INVALID_INPUT");
    expectError(await post("/v1/namespaces/1/transactions", "hello", "image/png"), 400, "INVALID_INPUT");
    expectError(await post("/v1/namespaces/1/transactions", { data: "" }), 400, "INVALID_INPUT");
    expectError(
      await post("/v1/namespaces/1/transactions", Buffer.alloc(0), "application/octet-stream"),
      400,
      "INVALID_INPUT",
    );
    expectError(await post("/v1/namespaces/1/transactions", "", "application/json"), 400, "INVALID_INPUT");
    expectError(await a.inject({ method: "POST", url: "/v1/namespaces/1/transactions" }), 400, "INVALID_INPUT");
    expectError(
      await post("/v1/namespaces/1/transactions", Buffer.alloc(1024 * 1024 + 1, 1), "application/octet-stream"),
      413,
      "TOO_LARGE",
    );
    expectError(
      await post("/v1/namespaces/1/transactions", { data: Buffer.alloc(800 * 1024, 2).toString("base64") }),
      413,
      "TOO_LARGE",
    );
    expectError(await a.inject({ method: "GET", url: `/v1/transactions/0x${"ab".repeat(32)}` }), 404, "NOT_FOUND");
    expectError(await a.inject({ method: "GET", url: "/v1/transactions/0x1234" }), 400, "INVALID_INPUT");
    expectError(await a.inject({ method: "GET", url: `/v1/transactions/${"ab".repeat(32)}` }), 400, "INVALID_INPUT");
    expectError(await a.inject({ method: "GET", url: "/v1/blocks/999999999" }), 404, "NOT_FOUND");
    expectError(await a.inject({ method: "GET", url: "/v1/blocks/-3" }), 400, "INVALID_INPUT");
    expectError(await a.inject({ method: "GET", url: "/v1/blocks/99999999999999999999" }), 400, "INVALID_INPUT");
    expectError(await a.inject({ method: "GET", url: "/v1/namespaces/1/blocks/999999999" }), 404, "NOT_FOUND");
    expectError(await a.inject({ method: "GET", url: "/v1/namespaces/0/blocks/1" }), 400, "INVALID_INPUT");
    expectError(await a.inject({ method: "GET", url: "/v1/nope" }), 404, "NOT_FOUND");
    expectError(await a.inject({ method: "DELETE", url: "/v1/blocks/1" }), 404, "NOT_FOUND");
  });

  it("property: random bodies, content types and paths never yield a 5xx, and only 202s add to the mempool", async () => {
    const node = net.nodes[2] as ValidatorNode;
    const a = app(2);
    const realAdd = node.mempool.add.bind(node.mempool);
    let admitted = 0;
    let tried = 0;
    node.mempool.add = (...args: Parameters<typeof realAdd>) => {
      const r = realAdd(...args);
      if (r.ok) admitted++;
      return r;
    };
    const nsArb = fc.oneof(
      fc.integer({ min: 0, max: 2 ** 32 + 5 }).map(String),
      fc.integer({ min: 1, max: 1000 }).map(String),
      fc.constantFrom("", "-1", "1.5", "0x10", "01", "1e3", " 1", "%00", "%2F", "..", "abc", "99999999999"),
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
    );
    const ctArb = fc.option(
      fc.oneof(
        fc.constantFrom(
          "application/json",
          "application/json; charset=utf-8",
          "application/octet-stream",
          "text/plain",
          "multipart/form-data; boundary=x",
          "application/x-www-form-urlencoded",
          "application/JSON",
          "application/jsonx",
          ";;",
          "",
        ),
        fc.string({ maxLength: 30 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
      ),
      { nil: undefined },
    );
    const bodyArb = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      fc.string({ maxLength: 64 }),
      fc.json({ maxDepth: 2 }),
      fc.base64String({ maxLength: 40 }).map((s) => JSON.stringify({ data: s })),
      fc
        .uint8Array({ minLength: 1, maxLength: 32 })
        .map((b) => JSON.stringify({ data: Buffer.from(b).toString("base64") })),
      fc.record({ data: fc.oneof(fc.base64String({ maxLength: 40 }), fc.anything()) }).map((o) => JSON.stringify(o)),
    );
    await fc.assert(
      fc.asyncProperty(nsArb, ctArb, bodyArb, fc.boolean(), async (ns, ct, body, garbageSuffix) => {
        const before = admitted;
        tried++;
        const url = `/v1/namespaces/${ns}/transactions${garbageSuffix ? "?x=1" : ""}`;
        const r = await a.inject({
          method: "POST",
          url,
          payload: body,
          ...(ct !== undefined ? { headers: { "content-type": ct } } : {}),
        });
        expect(r.statusCode, `${url} ${ct} ${r.body}`).toBeLessThan(500);
        const parsed = r.json() as { hash?: string; error?: { code: string; message: string } };
        if (r.statusCode === 202) {
          expect(admitted).toBe(before + 1);
          expect(parsed.hash).toMatch(/^0x[0-9a-f]{64}$/);
        } else {
          expect(admitted).toBe(before);
          expect(typeof parsed.error?.code).toBe("string");
          expect(typeof parsed.error?.message).toBe("string");
        }
      }),
      { numRuns: 300 },
    );
    node.mempool.add = realAdd;
    expect(admitted).toBeGreaterThan(0); // the valid arms were exercised too
    expect(tried).toBe(300);
  }, 60_000);

  it("serves status, validators, health, metrics and the OpenAPI document", async () => {
    const a = app(1);
    const status = await a.inject({ method: "GET", url: "/v1/status" });
    expect(status.statusCode).toBe(200);
    const s = status.json();
    expect(s.chainId).toBe(CHAIN_ID);
    expect(s.self).toBe(1);
    expect(s.committedHeight).toBeGreaterThan(0);
    expect(typeof s.currentRound).toBe("number");
    expect(typeof s.mempool.transactions).toBe("number");
    expect(typeof s.counters.transactionsFinal).toBe("number");

    const vals = (await a.inject({ method: "GET", url: "/v1/validators" })).json();
    expect(vals.validators).toHaveLength(4);
    expect(vals.validators[0].publicKey).toMatch(/^0x[0-9a-f]{96}$/);
    expect(vals.validators[0].stake).toBe("100");

    const health = await a.inject({ method: "GET", url: "/health" });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ ok: true });

    const metrics = await a.inject({ method: "GET", url: "/metrics" });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers["content-type"]).toMatch(/^text\/plain/);
    for (const name of [
      "ordo_committed_height",
      "ordo_current_round",
      "ordo_mempool_transactions",
      "ordo_mempool_bytes",
      "ordo_decode_errors_total",
      "ordo_rejected_messages_total",
      "ordo_transactions_final_total",
      "ordo_equivocation_evidence_total",
      "ordo_soft_transactions",
    ])
      expect(metrics.body).toMatch(new RegExp(`^${name} \\d+`, "m"));

    const doc = await a.inject({ method: "GET", url: "/openapi.json" });
    expect(doc.statusCode).toBe(200);
    const spec = doc.json();
    expect(spec.openapi).toMatch(/^3\./);
    for (const [path, method] of [
      ["/v1/namespaces/{ns}/transactions", "post"],
      ["/v1/transactions/{hash}", "get"],
      ["/v1/blocks/{height}", "get"],
      ["/v1/blocks/latest", "get"],
      ["/v1/namespaces/{ns}/blocks/{height}", "get"],
      ["/v1/namespaces/{ns}/transactions/batch", "post"],
      ["/v1/namespaces/{ns}/blocks", "get"],
      ["/v1/namespaces/{ns}/stream", "get"],
      ["/v1/status", "get"],
      ["/v1/validators", "get"],
      ["/health", "get"],
      ["/metrics", "get"],
      ["/openapi.json", "get"],
    ] as const)
      expect(spec.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    expect(Object.keys(spec.paths["/v1/namespaces/{ns}/transactions"].post.requestBody.content)).toEqual([
      "application/json",
      "application/octet-stream",
    ]);
  });
});
