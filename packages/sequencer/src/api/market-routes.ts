/** The prover market over HTTP: signed system transactions in, provers, jobs, rollups and accounts out. */
import { type BatchStatement, hashBatchStatement, merkleRoot, proofAttestationDigest, toHex } from "@ordo/core";
import { decodeProofBundle, decodeSystemTransaction, verifySystemTransaction } from "@ordo/prover";
import type { FastifyInstance } from "fastify";
import type { MarketService } from "../market/market-service.js";
import { toJson } from "./json.js";

const open = { type: "object", additionalProperties: true } as const;
const errors = { "4xx": open, "5xx": open } as const;
const witnessSchema = {
  summary: "The circuit input of a bound job's batch, as this validator computed it (for the assigned prover)",
  params: { type: "object", required: ["id"], properties: { id: { type: "string", pattern: "^[0-9]{1,12}$" } } },
  response: { 200: open, ...errors },
} as const;
const accountSchema = {
  summary: "An account's spendable balance and the nonce its next system transaction must carry",
  params: {
    type: "object",
    required: ["account"],
    properties: { account: { type: "string", pattern: "^0x[0-9a-f]{64}$" } },
  },
  response: { 200: open, ...errors },
} as const;

const rollupBatchesSchema = {
  summary: "A registered rollup's batches in finalized order, with their statements and the accepted proof bundles",
  params: { type: "object", required: ["ns"], properties: { ns: { type: "string", pattern: "^[0-9]{1,10}$" } } },
  querystring: {
    type: "object",
    additionalProperties: false,
    properties: {
      from: { type: "string", pattern: "^[0-9]{1,9}$" },
      limit: { type: "string", pattern: "^[0-9]{1,4}$" },
    },
  },
  response: { 200: open, ...errors },
} as const;

/** Most statements one attestation covers. */
export const MAX_ATTESTED_STATEMENTS = 1024;

const attestationSchema = {
  summary: "This validator's BLS signature attesting that it verified the proofs of the given rollup batches",
  description:
    "Signs `proofAttestationDigest(chainId, epoch, merkleRoot(hashBatchStatement(s) for each batch))` with the validator's consensus key, only if every batch is proven in this validator's own execution of the market. A relayer aggregates signatures from more than 2/3 of the stake for the L1 bridge's attested path.",
  body: {
    type: "object",
    required: ["batches"],
    additionalProperties: false,
    properties: {
      batches: {
        type: "array",
        minItems: 1,
        maxItems: MAX_ATTESTED_STATEMENTS,
        items: {
          type: "object",
          required: ["namespace", "height", "index"],
          additionalProperties: false,
          properties: {
            namespace: { type: "integer", minimum: 1, maximum: 4294967295 },
            height: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            index: { type: "integer", minimum: 0, maximum: 4294967295 },
          },
        },
      },
    },
  },
  response: { 200: open, ...errors },
} as const;

const fieldHex = (x: bigint) => `0x${x.toString(16).padStart(64, "0")}`;

export function registerMarketRoutes(
  app: FastifyInstance,
  o: {
    market: MarketService;
    chainId: number;
    /** Admits a checked system transaction; throws an `ApiError` when the mempool refuses it. */
    submitSystem: (data: Uint8Array) => Promise<Uint8Array>;
    invalid: (message: string) => Error;
    notFound: (message: string) => Error;
    /** Signs a digest with this validator's consensus key: enables `POST /v1/market/attestations`. */
    /** `epoch` is read at each request: the attestation names the epoch this validator is in. */
    /** `self` is this validator's index in the current committee, or null while it is in none. */
    attest?: { epoch: () => number; self: () => number | null; sign: (digest: Uint8Array) => Uint8Array };
  },
): void {
  const { market } = o;
  const m = () => market.executor.market;

  app.post(
    "/v1/system/transactions",
    {
      schema: {
        summary: "Submit a signed system transaction (prover market) — raw bytes, application/octet-stream",
        description:
          "The canonical MessagePack encoding of a SystemTransaction, signed with the sender's ed25519 key for this chain. The signature is checked before the transaction is accepted; the nonce and the market's rules are checked when its block is executed.",
        response: { 202: { type: "object", required: ["hash"], properties: { hash: { type: "string" } } }, ...errors },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (!Buffer.isBuffer(body)) throw o.invalid("body must be the transaction bytes (application/octet-stream)");
      const data = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
      let tx: ReturnType<typeof decodeSystemTransaction>;
      try {
        tx = decodeSystemTransaction(data);
      } catch (e) {
        throw o.invalid((e as Error).message);
      }
      if (!verifySystemTransaction(o.chainId, tx)) throw o.invalid("the signature is not the sender's for this chain");
      return reply.status(202).send({ hash: toHex(await o.submitSystem(data)) });
    },
  );

  app.get(
    "/v1/provers",
    {
      schema: {
        summary: "Provers, their bonds and shares, and how concentrated proving is",
        response: { 200: open, ...errors },
      },
    },
    async () => {
      const d = m().decentralization();
      return toJson({
        height: market.height,
        provers: m()
          .provers()
          .map((p) => ({
            account: p.id,
            bond: p.bond,
            locked: p.locked,
            jobsWon: p.jobsWon,
            proofsAccepted: p.proofsAccepted,
            slashes: p.slashes,
            slashedTotal: p.slashedTotal,
            share: m().shareOf(p.id),
          })),
        decentralization: {
          assignments: d.assignments,
          top3Share: d.top3Share,
          nakamotoCoefficient: d.nakamotoCoefficient,
          hhi: d.hhi,
        },
      });
    },
  );

  app.get(
    "/v1/market",
    { schema: { summary: "Open slots, jobs and registered rollups", response: { 200: open, ...errors } } },
    async () =>
      toJson({
        height: market.height,
        slots: m()
          .openSlots()
          .map((s) => ({
            id: s.id,
            namespace: s.namespace,
            openedAt: s.openedAt,
            commitEnd: s.commitEnd,
            revealEnd: s.revealEnd,
            bids: s.bids.length,
          })),
        jobs: m()
          .jobs()
          .map((j) => ({
            id: j.id,
            namespace: j.namespace,
            status: j.status,
            assignee: j.assignee?.prover ?? null,
            price: j.assignee?.price ?? null,
            batch: j.batch,
            deadline: j.deadline,
            backups: j.backups.length,
          })),
        counters: market.executor.counters,
        config: {
          jobCollateral: m().config.jobCollateral,
          commitWindow: m().config.commitWindow,
          revealWindow: m().config.revealWindow,
          slotInterval: m().config.slotInterval,
        },
        rollups: market.executor.rollupNamespaces().map((ns) => {
          const t = market.executor.rollup(ns);
          return {
            namespace: ns,
            circuit: t?.circuit.name ?? null,
            provenRoot: t ? `0x${t.provenRoot.toString(16)}` : null,
            latestRoot: t ? `0x${t.latestRoot.toString(16)}` : null,
            ...(t ? t.counts : {}),
          };
        }),
      }),
  );

  app.get<{ Params: { id: string } }>("/v1/market/jobs/:id/witness", { schema: witnessSchema }, async (request) => {
    const job = m().job(Number(request.params.id));
    const batch = job?.batch;
    const tracker = batch ? market.executor.rollup(batch.namespace) : undefined;
    const witness = batch ? tracker?.witness(batch.height, batch.index) : null;
    if (!job || !batch || !tracker || !witness)
      throw o.notFound(`job ${request.params.id} is not bound to a batch awaiting proof here`);
    // The circuit says which proofs the job needs: one per system.
    return {
      job: job.id,
      batch,
      circuit: tracker.circuit.name,
      systems: tracker.circuit.systems,
      input: witness.input,
    };
  });

  app.get<{ Params: { ns: string }; Querystring: { from?: string; limit?: string } }>(
    "/v1/market/rollups/:ns/batches",
    { schema: rollupBatchesSchema },
    async (request) => {
      const namespace = Number(request.params.ns);
      const tracker = market.executor.rollup(namespace);
      if (!tracker) throw o.notFound(`namespace ${namespace} is not a registered rollup here`);
      const from = Number(request.query.from ?? 0);
      const limit = Math.min(Number(request.query.limit ?? 256), 256);
      const batches = tracker.batchesFrom(from, limit).map((b, k) => ({
        position: from + k,
        height: b.height,
        index: b.index,
        oldRoot: fieldHex(b.oldRoot),
        newRoot: fieldHex(b.newRoot),
        commitment: fieldHex(b.commitment),
        proven: b.proven,
        proofs: b.proof ? decodeProofBundle(b.proof) : null,
      }));
      return { namespace, circuit: tracker.circuit.name, batchSize: tracker.circuit.batchSize, batches };
    },
  );

  const attest = o.attest;
  if (attest)
    app.post<{ Body: { batches: { namespace: number; height: number; index: number }[] } }>(
      "/v1/market/attestations",
      { schema: attestationSchema },
      async (request) => {
        const self = attest.self();
        if (self === null) throw o.notFound("this validator is not in the current committee: it attests nothing");
        const statements: BatchStatement[] = request.body.batches.map(({ namespace, height, index }) => {
          const b = market.executor.rollup(namespace)?.batch(height, index);
          if (!b?.proven)
            throw o.notFound(`batch ${index} of rollup ${namespace} at height ${height} is not proven here`);
          return { namespace, height, index, oldRoot: b.oldRoot, newRoot: b.newRoot, commitment: b.commitment };
        });
        const statementsRoot = merkleRoot(statements.map(hashBatchStatement));
        const epoch = attest.epoch();
        const digest = proofAttestationDigest(o.chainId, epoch, statementsRoot);
        return {
          chainId: o.chainId,
          epoch,
          validator: self,
          statements: statements.map((s) => ({
            ...s,
            oldRoot: fieldHex(s.oldRoot),
            newRoot: fieldHex(s.newRoot),
            commitment: fieldHex(s.commitment),
          })),
          statementsRoot: toHex(statementsRoot),
          digest: toHex(digest),
          signature: toHex(attest.sign(digest)),
        };
      },
    );

  app.get<{ Params: { account: string } }>(
    "/v1/market/accounts/:account",
    { schema: accountSchema },
    async (request) => {
      const account = request.params.account;
      return toJson({
        account,
        balance: m().balanceOf(account),
        nextNonce: market.executor.nextNonce(account),
        prover: m().prover(account) ?? null,
      });
    },
  );
}
