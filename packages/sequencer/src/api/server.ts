/**
 * The sequencer HTTP API (fastify 5). Every route has JSON schemas; every error
 * is `{error: {code, message}}` with a stable code:
 *
 * | status | code                         | when                                                  |
 * | ------ | ---------------------------- | ----------------------------------------------------- |
 * | 400    | `INVALID_INPUT`              | malformed path, body, content type, namespace 0       |
 * | 404    | `NOT_FOUND`                  | unknown route, transaction or height                  |
 * | 409    | `DUPLICATE`                  | the transaction is already pending here               |
 * | 413    | `TOO_LARGE`                  | body over 1 MiB or transaction over the mempool limit |
 * | 429    | `RATE_LIMITED`/`MEMPOOL_FULL` | namespace quota reached / mempool full               |
 * | 503    | `NOT_READY`                  | nothing committed yet, or data not (yet) available    |
 */
import "@ordo/core";
import websocket from "@fastify/websocket";
import {
  type BlockHeader,
  blstBackend,
  bytesEqual,
  decodeEpochChange,
  epochEndHeight,
  fromHex,
  hashHeader,
  MAX_NAMESPACE,
  proveTransaction,
  type QuorumCertificate,
  SYSTEM_NAMESPACE,
  type Transaction,
  toHex,
} from "@ordo/core";
import { epochChangeToJson, finalityToJson } from "@ordo/light-client";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from "fastify";
import type { DaService } from "../da/da-service.js";
import type { MarketService } from "../market/market-service.js";
import { groupByNamespace, type ValidatorNode } from "../node/validator-node.js";
import type { NodeStore } from "../storage/node-store.js";
import { daReport, namespaceBlockFromDa } from "./da-routes.js";
import { toJson } from "./json.js";
import { registerMarketRoutes } from "./market-routes.js";
import { createMetrics } from "./metrics.js";
import {
  blockTransactions,
  type NamespaceBlockJson,
  NamespaceBlockUnavailable,
  namespaceBlockBytes,
  readNamespaceBlock,
} from "./namespace-blocks.js";
import { registerNamespaceStream, type StreamOptions } from "./namespace-stream.js";
import { buildOpenApi, type RouteDoc } from "./openapi.js";
import * as S from "./schemas.js";
import { registerStakingRoutes } from "./staking-routes.js";

/** Largest request body accepted, in bytes. */
export const API_BODY_LIMIT = 1024 * 1024;

export type ApiErrorCode =
  | "INVALID_INPUT"
  | "NOT_FOUND"
  | "DUPLICATE"
  | "TOO_LARGE"
  | "RATE_LIMITED"
  | "MEMPOOL_FULL"
  | "NOT_READY"
  | "INTERNAL";

/** An error the API answers with `{error: {code, message}}` and `status`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;
  constructor(status: number, code: ApiErrorCode, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export interface ApiServerOptions {
  node: ValidatorNode;
  store: NodeStore;
  chainId: number;
  self: number;
  /** Passed to fastify (default: no logging). */
  logger?: FastifyServerOptions["logger"];
  /** Backpressure of `/v1/namespaces/:ns/stream`. */
  stream?: StreamOptions;
  /** The prover market this validator runs: enables `/v1/system/transactions`, `/v1/provers`, `/v1/market`. */
  market?: MarketService;
  /** Signs with this validator's consensus key: enables `POST /v1/market/attestations`. */
  sign?: (digest: Uint8Array) => Uint8Array;
  /** This validator's DA service: enables `GET /v1/blocks/:height/da` and rebuilding pruned blocks from DA. */
  da?: DaService;
}

/** Most transactions in one batch submission. */
export const MAX_BATCH_TRANSACTIONS = 4096;
/** Most blocks, and bytes of transactions, in one page of the ranged namespace query. */
const RANGE_MAX_BLOCKS = 256;
const RANGE_DEFAULT_BLOCKS = 32;
const RANGE_MAX_BYTES = 4 * 1024 * 1024;

const MEMPOOL_REJECTIONS: Record<string, { status: number; code: ApiErrorCode }> = {
  DUPLICATE: { status: 409, code: "DUPLICATE" },
  TOO_LARGE: { status: 413, code: "TOO_LARGE" },
  NAMESPACE_QUOTA: { status: 429, code: "RATE_LIMITED" },
  MEMPOOL_FULL: { status: 429, code: "MEMPOOL_FULL" },
  INVALID_NAMESPACE: { status: 400, code: "INVALID_INPUT" },
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function parseNamespace(raw: string): number {
  if (!/^[0-9]{1,10}$/.test(raw))
    throw new ApiError(400, "INVALID_INPUT", `namespace must be an integer in 1..${MAX_NAMESPACE}`);
  const ns = Number(raw);
  if (ns === 0) throw new ApiError(400, "INVALID_INPUT", "namespace 0 is reserved for system transactions");
  if (ns > MAX_NAMESPACE)
    throw new ApiError(400, "INVALID_INPUT", `namespace must be an integer in 1..${MAX_NAMESPACE}`);
  return ns;
}

function parseHeight(raw: string): number {
  const h = Number(raw);
  if (!/^[0-9]{1,16}$/.test(raw) || !Number.isSafeInteger(h))
    throw new ApiError(400, "INVALID_INPUT", "height must be a non-negative integer");
  return h;
}

function fromBase64(b64: unknown, what: string): Uint8Array {
  if (typeof b64 !== "string" || !BASE64.test(b64))
    throw new ApiError(400, "INVALID_INPUT", `${what} must be a standard (padded) base64 string`);
  return new Uint8Array(Buffer.from(b64, "base64"));
}

function bufferBytes(body: Buffer): Uint8Array {
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}

/** The transaction data of a request body: raw bytes (octet-stream) or `{data: base64}` (JSON). */
function transactionData(body: unknown): Uint8Array {
  let data: Uint8Array;
  if (Buffer.isBuffer(body)) data = bufferBytes(body);
  else if (typeof body === "object" && body !== null && !Array.isArray(body) && "data" in body)
    data = fromBase64((body as { data: unknown }).data, "data");
  else
    throw new ApiError(
      400,
      "INVALID_INPUT",
      'body must be raw bytes (application/octet-stream) or {"data": "<base64>"} (application/json)',
    );
  if (data.length === 0) throw new ApiError(400, "INVALID_INPUT", "transaction data is empty");
  return data;
}

/** The transactions of a batch body: `{transactions: [base64]}` (JSON) or u32-big-endian-length-prefixed bytes. */
function batchTransactionData(body: unknown): Uint8Array[] {
  if (Buffer.isBuffer(body)) {
    const out: Uint8Array[] = [];
    for (let at = 0; at < body.length; ) {
      if (body.length - at < 4) throw new ApiError(400, "INVALID_INPUT", `truncated length prefix at byte ${at}`);
      const len = body.readUInt32BE(at);
      at += 4;
      if (len === 0 || len > body.length - at)
        throw new ApiError(400, "INVALID_INPUT", `transaction ${out.length} has a bad length ${len} at byte ${at - 4}`);
      out.push(bufferBytes(body.subarray(at, at + len)));
      at += len;
      if (out.length > MAX_BATCH_TRANSACTIONS)
        throw new ApiError(400, "INVALID_INPUT", `at most ${MAX_BATCH_TRANSACTIONS} transactions per batch`);
    }
    if (out.length === 0) throw new ApiError(400, "INVALID_INPUT", "the batch is empty");
    return out;
  }
  if (typeof body !== "object" || body === null || !Array.isArray((body as { transactions?: unknown }).transactions))
    throw new ApiError(
      400,
      "INVALID_INPUT",
      'body must be {"transactions": ["<base64>", ...]} (application/json) or length-prefixed bytes (application/octet-stream)',
    );
  return (body as { transactions: unknown[] }).transactions.map((t, i) => {
    const data = fromBase64(t, `transactions[${i}]`);
    if (data.length === 0) throw new ApiError(400, "INVALID_INPUT", `transactions[${i}] is empty`);
    return data;
  });
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return RANGE_DEFAULT_BLOCKS;
  const n = Number(raw);
  if (!/^[0-9]{1,4}$/.test(raw) || n < 1 || n > RANGE_MAX_BLOCKS)
    throw new ApiError(400, "INVALID_INPUT", `limit must be an integer in 1..${RANGE_MAX_BLOCKS}`);
  return n;
}

function qcJson(qc: QuorumCertificate) {
  return toJson(qc);
}

/** Maps any error to `{status, code, message}`: bad input is never a 500. */
function classify(error: unknown): { status: number; code: ApiErrorCode; message: string } {
  if (error instanceof ApiError) return { status: error.status, code: error.code, message: error.message };
  const e = error as Partial<FastifyError> & { message?: string };
  const message = typeof e?.message === "string" ? e.message : String(error);
  if (e?.validation) return { status: 400, code: "INVALID_INPUT", message };
  const status = typeof e?.statusCode === "number" ? e.statusCode : 500;
  if (status === 413 || e?.code === "FST_ERR_CTP_BODY_TOO_LARGE")
    return { status: 413, code: "TOO_LARGE", message: `request body exceeds ${API_BODY_LIMIT} bytes` };
  if (status === 404) return { status: 404, code: "NOT_FOUND", message };
  if (status === 429) return { status: 429, code: "RATE_LIMITED", message };
  if (status === 503) return { status: 503, code: "NOT_READY", message };
  if (status >= 400 && status < 500) return { status: 400, code: "INVALID_INPUT", message };
  return { status: 500, code: "INTERNAL", message: "internal error" };
}

/** Builds (does not start) the API server for one validator. Call `listen` on the result, or `inject` in tests. */
export function createApiServer(o: ApiServerOptions): FastifyInstance {
  const { node, store } = o;
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: API_BODY_LIMIT,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  const routes: RouteDoc[] = [];
  app.addHook("onRoute", (r) => {
    if (r.method === "HEAD" || (Array.isArray(r.method) && r.method.includes("HEAD"))) return;
    routes.push({ method: String(r.method), url: r.url, schema: r.schema as RouteDoc["schema"] });
  });

  app.removeContentTypeParser("text/plain");
  app.addContentTypeParser("application/octet-stream", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  app.setErrorHandler((error, request, reply) => {
    const c = classify(error);
    if (c.status >= 500) request.log.error({ err: error }, "request failed");
    void reply.status(c.status).send({ error: { code: c.code, message: c.message } });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send({ error: { code: "NOT_FOUND", message: `no route ${request.method} ${request.url.split("?")[0]}` } });
  });

  const metrics = createMetrics({
    node,
    store,
    ...(o.market ? { market: o.market } : {}),
    ...(o.da?.poster ? { daPoster: o.da.poster } : {}),
  });

  // ── transactions ────────────────────────────────────────────────────────

  app.post<{ Params: { ns: string } }>(
    "/v1/namespaces/:ns/transactions",
    { schema: S.submitTransaction },
    async (request, reply) => {
      const namespace = parseNamespace(request.params.ns);
      const hash = await submit({ namespace, data: transactionData(request.body) }, request.log);
      return reply.status(202).send({ hash: toHex(hash) });
    },
  );

  /** Submits one transaction; a refusal is an `ApiError` with the mempool's reason. */
  async function submit(
    tx: Transaction,
    log: { warn(o: object, m: string): void },
    options: { system?: boolean } = {},
  ): Promise<Uint8Array> {
    let result: Awaited<ReturnType<ValidatorNode["submit"]>>;
    try {
      result = await node.submit(tx, options);
    } catch (e) {
      log.warn({ err: e }, "submit failed");
      throw new ApiError(503, "NOT_READY", "the node could not store the transaction; retry");
    }
    if (!result.ok) {
      const m = MEMPOOL_REJECTIONS[result.code] ?? { status: 400, code: "INVALID_INPUT" as const };
      throw new ApiError(m.status, m.code, result.message);
    }
    return result.hash;
  }

  app.post<{ Params: { ns: string } }>(
    "/v1/namespaces/:ns/transactions/batch",
    { schema: S.submitTransactionBatch },
    async (request, reply) => {
      const namespace = parseNamespace(request.params.ns);
      const datas = batchTransactionData(request.body);
      // All at once: the store groups their durable writes into one LevelDB batch.
      const results = await Promise.all(
        datas.map(async (data) => {
          try {
            return { hash: toHex(await submit({ namespace, data }, request.log)) };
          } catch (e) {
            const c = classify(e);
            return { error: { code: c.code, message: c.message } };
          }
        }),
      );
      const accepted = results.filter((r) => "hash" in r).length;
      return reply.status(202).send({ accepted, results });
    },
  );

  app.get<{ Params: { hash: string } }>("/v1/transactions/:hash", { schema: S.transactionStatus }, async (request) => {
    const hash = fromHex(request.params.hash);
    const status = await store.transactionStatus(hash);
    if (status && status.status !== "pending") return status;
    const soft = node.softPosition(hash);
    if (soft) return { status: "soft", ...soft };
    if (!status) throw new ApiError(404, "NOT_FOUND", `transaction ${request.params.hash} is not known here`);
    return status;
  });

  // ── blocks ──────────────────────────────────────────────────────────────

  /**
   * A committed block with its certifying QC. `finality` (the latest finality
   * certificate, which finalizes this block or a descendant of it) comes with
   * the latest block.
   */
  async function blockAt(height: number, latest = store.latestHeight === height) {
    const [block, qc] = await Promise.all([store.getBlock(height), store.getQc(height)]);
    if (!block || !qc) throw new ApiError(404, "NOT_FOUND", `no committed block at height ${height}`);
    const out: Record<string, unknown> = {
      height,
      hash: toHex(hashHeader(block.header)),
      header: toJson(block.header),
      qc: qcJson(qc),
    };
    if (latest) {
      const finality = await store.getFinality();
      if (finality) out.finality = qcJson(finality);
    }
    return out;
  }

  app.get("/v1/blocks/latest", { schema: S.latestBlock }, async () => {
    const h = store.latestHeight;
    if (h === null) throw new ApiError(503, "NOT_READY", "no block has been committed yet");
    return blockAt(h, true);
  });

  app.get<{ Params: { height: string } }>("/v1/blocks/:height", { schema: S.blockByHeight }, async (request) =>
    blockAt(parseHeight(request.params.height)),
  );

  /** How far ahead of a height the finality route looks for the commit that finalized it. */
  const FINALITY_SEARCH = 256;

  /**
   * The finality certificate of a committed height: the first height j ≥ it whose block a QC commits directly
   * (the QC certifying block j + 1, or the latest finality certificate, with `committedHash` = hash(j)), and the
   * headers from the height to j, which link by parent hashes. What an L1 light client takes.
   */
  app.get<{ Params: { height: string } }>(
    "/v1/blocks/:height/finality",
    { schema: S.blockFinality },
    async (request) => {
      const height = parseHeight(request.params.height);
      const latest = store.latestHeight;
      if (latest === null || height > latest)
        throw new ApiError(404, "NOT_FOUND", `no committed block at height ${height}`);
      const headers: BlockHeader[] = [];
      for (let j = height; j <= latest && j < height + FINALITY_SEARCH; j++) {
        const block = await store.getBlock(j);
        if (!block) throw new ApiError(404, "NOT_FOUND", `no committed block at height ${j}`);
        headers.push(block.header);
        const hash = hashHeader(block.header);
        // The certificate of j's own epoch first: at an epoch's last block, the next epoch's first QC says the same in
        // the next committee's name, which a client that has not moved to that epoch cannot check.
        const certificate =
          (await store.getFinalityAt(j)) ?? (j === latest ? await store.getFinality() : await store.getQc(j + 1));
        if (certificate && bytesEqual(certificate.committedHash, hash))
          return {
            height,
            certifiedHeight: j,
            headers: headers.map((h) => toJson(h)),
            certificate: qcJson(certificate),
          };
      }
      throw new ApiError(
        503,
        "NOT_READY",
        `no finality certificate within ${FINALITY_SEARCH} heights of ${height} yet`,
      );
    },
  );

  /**
   * `readNamespaceBlock` with its failures as API errors. A block whose data this validator no longer holds
   * (pruned, or never fetched) is rebuilt from the embedded DA layer when it has a certificate for it.
   */
  async function namespaceBlock(namespace: number, height: number): Promise<NamespaceBlockJson> {
    try {
      return await readNamespaceBlock(store, namespace, height);
    } catch (e) {
      if (!(e instanceof NamespaceBlockUnavailable)) throw e;
      if (e.reason === "not-committed") throw new ApiError(404, "NOT_FOUND", e.message);
      const rebuilt = o.da ? await namespaceBlockFromDa(store, o.da, namespace, height) : null;
      if (rebuilt) return rebuilt;
      throw new ApiError(503, "NOT_READY", e.message);
    }
  }

  app.get<{ Params: { height: string } }>("/v1/blocks/:height/da", { schema: S.blockDa }, async (request) => {
    const height = parseHeight(request.params.height);
    if (!o.da) throw new ApiError(404, "NOT_FOUND", "this validator runs no DA service");
    return daReport(o.da, height);
  });

  app.get<{ Params: { ns: string; height: string }; Querystring: { source?: "da" } }>(
    "/v1/namespaces/:ns/blocks/:height",
    { schema: S.namespaceBlock },
    async (request) => {
      const namespace = parseNamespace(request.params.ns);
      const height = parseHeight(request.params.height);
      if (request.query.source !== "da") return namespaceBlock(namespace, height);
      if (!o.da) throw new ApiError(404, "NOT_FOUND", "this validator runs no DA service");
      const rebuilt = await namespaceBlockFromDa(store, o.da, namespace, height);
      if (!rebuilt) throw new ApiError(503, "NOT_READY", `block ${height} cannot be rebuilt from the DA layer now`);
      return rebuilt;
    },
  );

  app.get<{ Params: { ns: string }; Querystring: { from: string; to?: string; limit?: string } }>(
    "/v1/namespaces/:ns/blocks",
    { schema: S.namespaceBlockRange },
    async (request) => {
      const namespace = parseNamespace(request.params.ns);
      const from = Math.max(1, parseHeight(request.query.from));
      const to = request.query.to === undefined ? Number.MAX_SAFE_INTEGER : parseHeight(request.query.to);
      if (to < from) throw new ApiError(400, "INVALID_INPUT", `to (${to}) is below from (${from})`);
      const limit = parseLimit(request.query.limit);
      const last = Math.min(to, store.latestHeight ?? 0, from + limit - 1);
      const blocks: NamespaceBlockJson[] = [];
      let bytes = 0;
      let height = from;
      for (; height <= last && (blocks.length === 0 || bytes < RANGE_MAX_BYTES); height++) {
        const b = await namespaceBlock(namespace, height);
        bytes += namespaceBlockBytes(b);
        blocks.push(b);
      }
      // More exists when the page stopped early, or when `to` lies beyond what is committed so far.
      const next = height <= Math.min(to, store.latestHeight ?? 0) ? height : null;
      return { namespace, blocks, next };
    },
  );

  if (o.market)
    registerMarketRoutes(app, {
      market: o.market,
      chainId: o.chainId,
      submitSystem: async (data) => submit({ namespace: 0, data }, app.log, { system: true }),
      invalid: (message) => new ApiError(400, "INVALID_INPUT", message),
      notFound: (message) => new ApiError(404, "NOT_FOUND", message),
      ...(o.sign
        ? { attest: { epoch: () => node.consensus.epoch, self: () => node.consensus.selfIndex, sign: o.sign } }
        : {}),
    });

  if (node.staking)
    registerStakingRoutes(app, {
      staking: node.staking,
      chainId: o.chainId,
      bls: blstBackend,
      submitSystem: async (data) => submit({ namespace: 0, data }, app.log, { system: true }),
      invalid: (message) => new ApiError(400, "INVALID_INPUT", message),
      notFound: (message) => new ApiError(404, "NOT_FOUND", message),
    });

  void app.register(websocket, { options: { maxPayload: 1024 } });
  void app.register(async (scope) =>
    registerNamespaceStream(scope, {
      node,
      store,
      schema: S.namespaceStream,
      parseNamespace,
      invalid: (message) => new ApiError(400, "INVALID_INPUT", message),
      ...o.stream,
    }),
  );

  // ── node ────────────────────────────────────────────────────────────────

  app.get("/v1/status", { schema: S.status }, async () => ({
    chainId: o.chainId,
    self: o.self,
    epoch: node.consensus.epoch,
    committedHeight: store.latestHeight ?? 0,
    currentRound: node.replica.currentRound,
    mempool: { transactions: node.mempool.size, bytes: node.mempool.bytes },
    counters: { ...node.counters },
  }));

  app.get<{ Querystring: { epoch?: string } }>("/v1/validators", { schema: S.validators }, async (request) => {
    const at = request.query.epoch === undefined ? node.consensus.epoch : parseHeight(request.query.epoch);
    // Known for every epoch up to the next one (which the current epoch's last block commits to).
    if (at > node.consensus.epoch + 1)
      throw new ApiError(404, "NOT_FOUND", `epoch ${at} is beyond the next epoch (${node.consensus.epoch + 1})`);
    const current = node.committee(at)?.validators;
    if (!current) throw new ApiError(404, "NOT_FOUND", `the committee of epoch ${at} is no longer kept here`);
    return {
      epoch: current.epoch,
      hash: toHex(current.hash),
      totalStake: current.totalStake.toString(),
      validators: current.validators.map((v, index) => ({
        index,
        publicKey: toHex(v.publicKey),
        stake: v.stake.toString(),
      })),
    };
  });

  app.get<{ Params: { epoch: string } }>("/v1/epochs/:epoch/change", { schema: S.epochChange }, async (request) => {
    const epoch = parseHeight(request.params.epoch);
    const height = epochEndHeight(node.schedule, epoch);
    const latest = store.latestHeight;
    if (latest === null || height > latest)
      throw new ApiError(404, "NOT_FOUND", `epoch ${epoch} ends at height ${height}, not committed here yet`);
    const [block, certificate] = await Promise.all([store.getBlock(height), store.getFinalityAt(height)]);
    if (!block || !certificate)
      throw new ApiError(503, "NOT_READY", `the finality of epoch ${epoch}'s last block is not stored here`);
    const payload = { groups: groupByNamespace(await blockTransactions(store, block)) };
    const system = payload.groups.find((g) => g.namespace === SYSTEM_NAMESPACE)?.transactions ?? [];
    const index = system.findIndex((t) => decodeEpochChange(t)?.nextEpoch === epoch + 1);
    if (index < 0) throw new ApiError(500, "INTERNAL", `block ${height} carries no epoch-change commitment`);
    const next = node.committee(epoch + 1)?.validators;
    if (!next) throw new ApiError(404, "NOT_FOUND", `the committee of epoch ${epoch + 1} is no longer kept here`);
    return {
      finality: finalityToJson({ height, certifiedHeight: height, headers: [block.header], certificate }),
      change: epochChangeToJson({
        height,
        newSet: { epoch: next.epoch, validators: [...next.validators] },
        proof: proveTransaction(payload, SYSTEM_NAMESPACE, index),
      }),
    };
  });

  app.get("/health", { schema: S.health }, async () => ({ ok: true }));

  app.get("/metrics", { schema: S.metrics }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  app.get("/openapi.json", { schema: S.openapi }, async () => buildOpenApi(routes));

  return app;
}
