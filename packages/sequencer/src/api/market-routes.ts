/** The prover market over HTTP: signed system transactions in, provers, jobs, rollups and accounts out. */
import { toHex } from "@ordo/core";
import { decodeSystemTransaction, verifySystemTransaction } from "@ordo/prover";
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

export function registerMarketRoutes(
  app: FastifyInstance,
  o: {
    market: MarketService;
    chainId: number;
    /** Admits a checked system transaction; throws an `ApiError` when the mempool refuses it. */
    submitSystem: (data: Uint8Array) => Promise<Uint8Array>;
    invalid: (message: string) => Error;
    notFound: (message: string) => Error;
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
