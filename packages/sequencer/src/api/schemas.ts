/** JSON schemas of the API routes: fastify validates requests and serializes replies with them; `/openapi.json` is built from them. */

const hex = { type: "string", pattern: "^0x[0-9a-f]*$" } as const;
const hash32 = { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } as const;
const uint = { type: "integer", minimum: 0 } as const;

export const errorBody = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: {
          type: "string",
          enum: [
            "INVALID_INPUT",
            "NOT_FOUND",
            "DUPLICATE",
            "TOO_LARGE",
            "RATE_LIMITED",
            "MEMPOOL_FULL",
            "NOT_READY",
            "INTERNAL",
          ],
        },
        message: { type: "string" },
      },
    },
  },
} as const;

const errors = { "4xx": errorBody, "5xx": errorBody } as const;

const nsParam = {
  type: "string",
  pattern: "^[0-9]{1,10}$",
  description: "namespace (rollup) id, 1..2^32-1 (0 is reserved)",
} as const;
const heightParam = { type: "string", pattern: "^[0-9]{1,16}$", description: "block height" } as const;

const qc = {
  type: "object",
  required: ["epoch", "round", "blockHash", "committedHash", "signers", "signature"],
  properties: {
    epoch: uint,
    round: uint,
    blockHash: hex,
    committedHash: hex,
    signers: hex,
    signature: hex,
  },
} as const;

const header = {
  type: "object",
  properties: {
    chainId: uint,
    epoch: uint,
    round: uint,
    height: uint,
    parentHash: hex,
    namespaceRoot: hex,
    payloadHash: hex,
    validatorSetHash: hex,
    proposer: uint,
    timestampMs: uint,
  },
} as const;

const block = {
  type: "object",
  required: ["height", "hash", "header", "qc"],
  properties: { height: uint, hash: hex, header, qc, finality: qc },
} as const;

export const submitTransaction = {
  summary: "Submit a transaction to a namespace",
  description:
    'Body: the raw transaction bytes (application/octet-stream) or {"data": "<base64>"} (application/json), at most 1 MiB. 202 means the transaction is durably stored: it will become final or be reported dropped.',
  params: { type: "object", required: ["ns"], properties: { ns: nsParam } },
  body: {
    content: {
      "application/json": {
        schema: {
          type: "object",
          required: ["data"],
          additionalProperties: false,
          properties: { data: { type: "string", description: "standard padded base64" } },
        },
      },
      "application/octet-stream": { schema: { description: "raw transaction bytes" } },
    },
  },
  response: {
    202: { type: "object", required: ["hash"], properties: { hash: hex } },
    ...errors,
  },
} as const;

export const transactionStatus = {
  summary: "Status of a transaction",
  params: { type: "object", required: ["hash"], properties: { hash: hash32 } },
  response: {
    200: {
      type: "object",
      required: ["status"],
      properties: {
        status: { type: "string", enum: ["pending", "final", "dropped"] },
        height: uint,
        index: uint,
        namespace: uint,
        reason: { type: "string" },
      },
    },
    ...errors,
  },
} as const;

export const latestBlock = {
  summary: "The latest committed block with its certificate",
  response: { 200: block, ...errors },
} as const;

export const blockByHeight = {
  summary: "A committed block with its certificate",
  params: { type: "object", required: ["height"], properties: { height: heightParam } },
  response: { 200: block, ...errors },
} as const;

export const namespaceBlock = {
  summary: "A namespace's transactions in a block, with the namespace proof (inclusion or absence)",
  params: { type: "object", required: ["ns", "height"], properties: { ns: nsParam, height: heightParam } },
  response: {
    200: {
      type: "object",
      required: ["height", "namespace", "namespaceRoot", "transactions", "proof"],
      properties: {
        height: uint,
        namespace: uint,
        namespaceRoot: hex,
        transactions: { type: "array", items: { type: "string", description: "base64" } },
        proof: {
          type: "object",
          description: "NamespaceProof with byte fields as 0x-hex",
          required: ["kind", "namespace", "leafCount"],
          additionalProperties: true,
          properties: { kind: { type: "string", enum: ["inclusion", "absence"] }, namespace: uint, leafCount: uint },
        },
      },
    },
    ...errors,
  },
} as const;

export const status = {
  summary: "Node status",
  response: {
    200: {
      type: "object",
      properties: {
        chainId: uint,
        self: uint,
        epoch: uint,
        committedHeight: uint,
        currentRound: uint,
        mempool: { type: "object", properties: { transactions: uint, bytes: uint } },
        counters: {
          type: "object",
          properties: { decodeErrors: uint, rejected: uint, commits: uint, transactionsFinal: uint },
        },
      },
    },
    ...errors,
  },
} as const;

export const validators = {
  summary: "The validator set",
  response: {
    200: {
      type: "object",
      properties: {
        epoch: uint,
        hash: hex,
        totalStake: { type: "string" },
        validators: {
          type: "array",
          items: {
            type: "object",
            properties: { index: uint, publicKey: hex, stake: { type: "string", description: "decimal" } },
          },
        },
      },
    },
    ...errors,
  },
} as const;

export const health = {
  summary: "Liveness",
  response: { 200: { type: "object", required: ["ok"], properties: { ok: { type: "boolean" } } } },
} as const;

export const metrics = {
  summary: "Prometheus metrics (text exposition format)",
  response: { 200: { type: "string", description: "text/plain; version=0.0.4" } },
} as const;

export const openapi = {
  summary: "This document",
  response: { 200: { type: "object", additionalProperties: true } },
} as const;
