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
const nsParams = { type: "object", required: ["ns"], properties: { ns: nsParam } } as const;
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
  params: nsParams,
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
        status: {
          type: "string",
          enum: ["pending", "soft", "final", "dropped"],
          description:
            "pending: accepted, not yet in a block; soft: in a block a quorum certified, not yet committed; final: committed; dropped: will never be sequenced (see reason)",
        },
        height: uint,
        index: { ...uint, description: "position among the namespace's transactions in the block" },
        namespace: uint,
        blockHash: { ...hex, description: "soft only: the certified block (another may still take its height)" },
        reason: {
          type: "string",
          description: "dropped only: expired (TTL reached before a batch took it) or a mempool eviction reason",
        },
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

export const blockDa = {
  summary: "Where a block's DA payload is: per-layer receipts and status, the embedded layer's certificate and shards",
  description:
    "On the validator that posts DA: the posting (per layer: receipts, status pending/included/final, attempts, last error, and on an external layer the bundle `{ first, last }` of heights the block was posted in, one receipt for all of them) and whether the policy is met. On every validator: the embedded layer's certificate (if it has one) and the shard indexes it holds. Retention: the embedded layer keeps shards as long as the validator keeps its data dir; each external layer's retention is its own.",
  params: { type: "object", required: ["height"], properties: { height: heightParam } },
  response: { 200: { type: "object", additionalProperties: true }, ...errors },
} as const;

export const blockFinality = {
  summary: "The finality certificate of a committed height, for light clients",
  description:
    "Consensus certifies only the block each commit ends at: `certificate` is the QC whose `committedHash` is the hash of the last of `headers` (height `certifiedHeight`), and `headers` run from the requested height to it, each the parent its successor names. 503 NOT_READY while the commit that finalized the height has no certificate yet.",
  params: { type: "object", required: ["height"], properties: { height: heightParam } },
  response: {
    200: {
      type: "object",
      required: ["height", "certifiedHeight", "headers", "certificate"],
      properties: { height: uint, certifiedHeight: uint, headers: { type: "array", items: header }, certificate: qc },
    },
    ...errors,
  },
} as const;

export const epochChange = {
  summary: "How an epoch ended: its last block's finality and the committee change it commits to, for light clients",
  description:
    "`finality` is the finality update of epoch `epoch`'s last block, certified by that epoch's committee; `change` is the next epoch's committee (keys, stakes, proofs of possession) and the transaction proof that the block carries the commitment to its `hashValidatorSet`. A light client verifies the first, then applies the second (`applyEpochChange`). 404 while the epoch has not ended here.",
  params: { type: "object", required: ["epoch"], properties: { epoch: heightParam } },
  response: {
    200: {
      type: "object",
      required: ["finality", "change"],
      properties: {
        finality: blockFinality.response[200],
        change: {
          type: "object",
          required: ["height", "newSet", "proof"],
          properties: {
            height: uint,
            newSet: {
              type: "object",
              properties: {
                epoch: uint,
                validators: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: { publicKey: hex, stake: { type: "string" }, proofOfPossession: hex },
                  },
                },
              },
            },
            proof: {
              type: "object",
              properties: {
                leaf: { type: "object", properties: { namespace: uint, count: uint, txRoot: hex } },
                leafIndex: uint,
                leafCount: uint,
                leafPath: { type: "array", items: hex },
                txIndex: uint,
                txPath: { type: "array", items: hex },
              },
            },
          },
        },
      },
    },
    ...errors,
  },
} as const;

const namespaceBlockBody = {
  type: "object",
  required: ["height", "namespace", "namespaceRoot", "transactions", "proof"],
  properties: {
    height: uint,
    namespace: uint,
    blockHash: hex,
    namespaceRoot: hex,
    transactions: { type: "array", items: { type: "string", description: "base64" } },
    source: {
      type: "string",
      enum: ["da"],
      description:
        "present when this validator no longer held the block's data and rebuilt it from the embedded DA layer",
    },
    proof: {
      type: "object",
      description: "NamespaceProof with byte fields as 0x-hex",
      required: ["kind", "namespace", "leafCount"],
      additionalProperties: true,
      properties: { kind: { type: "string", enum: ["inclusion", "absence"] }, namespace: uint, leafCount: uint },
    },
  },
} as const;

export const namespaceBlock = {
  summary: "A namespace's transactions in a block, with the namespace proof (inclusion or absence)",
  description:
    "With `source=da`, the transactions are rebuilt from the embedded DA layer's shards, fetched from the validators and checked against the header, never read from this node's store: a check that the block is retrievable from DA.",
  params: { type: "object", required: ["ns", "height"], properties: { ns: nsParam, height: heightParam } },
  querystring: {
    type: "object",
    additionalProperties: false,
    properties: { source: { type: "string", enum: ["da"] } },
  },
  response: { 200: namespaceBlockBody, ...errors },
} as const;

export const namespaceBlockRange = {
  summary: "A namespace's transactions in a range of committed blocks, each with its namespace proof",
  description:
    "Returns heights from..to (inclusive), at most `limit` blocks and about 4 MiB of transactions per page; `next` is the height to ask for next, or null when the range (or the chain so far) is exhausted.",
  params: nsParams,
  querystring: {
    type: "object",
    required: ["from"],
    additionalProperties: false,
    properties: { from: heightParam, to: heightParam, limit: { type: "string", pattern: "^[0-9]{1,4}$" } },
  },
  response: {
    200: {
      type: "object",
      required: ["namespace", "blocks", "next"],
      properties: {
        namespace: uint,
        blocks: { type: "array", items: namespaceBlockBody },
        next: { anyOf: [uint, { type: "null" }] },
      },
    },
    ...errors,
  },
} as const;

export const namespaceStream = {
  summary: "WebSocket: a namespace's blocks as they are sequenced (resumable, ordered, no gaps)",
  description:
    'Upgrade to a WebSocket. Sends one JSON text message per block: {"type": "block", "level": "final", height, blockHash, namespaceRoot, transactions, proof} for every committed height from `from` on (default: the next one), in order, with no gaps (blocks without the namespace\'s transactions carry an absence proof); with level=soft also {"type": "block", "level": "soft", height, blockHash, transactions} as soon as a block is certified, before it is final. Resume after a disconnect with from = last final height + 1. A client that does not read is closed with code 4008 and a reason that says where to resume; the server never buffers more than about 4 MiB for it.',
  params: nsParams,
  querystring: {
    type: "object",
    additionalProperties: false,
    properties: { from: heightParam, level: { type: "string", enum: ["soft", "final"] } },
  },
} as const;

export const submitTransactionBatch = {
  summary: "Submit several transactions to a namespace in one request",
  description:
    'Body: {"transactions": ["<base64>", ...]} (application/json, at most 4096 items) or, as application/octet-stream, transactions each preceded by its length as a 4-byte big-endian integer. Each transaction is accepted or refused on its own: 202 with one result per transaction, in order, each {hash} (durably stored) or {error: {code, message}}.',
  params: nsParams,
  body: {
    content: {
      "application/json": {
        schema: {
          type: "object",
          required: ["transactions"],
          additionalProperties: false,
          properties: {
            transactions: {
              type: "array",
              minItems: 1,
              maxItems: 4096,
              items: { type: "string", description: "standard padded base64" },
            },
          },
        },
      },
      "application/octet-stream": { schema: { description: "length-prefixed (u32 big-endian) transactions" } },
    },
  },
  response: {
    202: {
      type: "object",
      required: ["accepted", "results"],
      properties: {
        accepted: uint,
        results: {
          type: "array",
          items: {
            type: "object",
            properties: {
              hash: hex,
              error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" } } },
            },
          },
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
          properties: { decodeErrors: uint, rejected: uint, commits: uint, transactionsFinal: uint, evidence: uint },
        },
      },
    },
    ...errors,
  },
} as const;

export const validators = {
  summary: "The validator set of the current epoch, or of `?epoch=N` (any epoch up to the next)",
  querystring: { type: "object", properties: { epoch: heightParam } },
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
