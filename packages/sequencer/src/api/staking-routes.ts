/**
 * Staking over the API, when the node's committees come from staking: submit a
 * join, leave or evidence transaction (checked before it enters namespace 0),
 * and read an account.
 */
import { decodeStakingTransaction, type StakingLedger, stakingSigningDigest } from "@ordo/consensus";
import { type BlsBackend, DecodeError, fromHex, toHex } from "@ordo/core";
import type { FastifyInstance } from "fastify";

const open = { type: "object", additionalProperties: true } as const;
const errors = { "4xx": open, "5xx": open } as const;

const accountSchema = {
  summary: "A staking account: balance, bond, unbonding entries, next nonce, jailed",
  params: {
    type: "object",
    required: ["publicKey"],
    properties: { publicKey: { type: "string", pattern: "^0x[0-9a-fA-F]{96}$" } },
  },
  response: { 200: open, ...errors },
} as const;

export function registerStakingRoutes(
  app: FastifyInstance,
  o: {
    staking: StakingLedger;
    chainId: number;
    bls: BlsBackend;
    submitSystem: (data: Uint8Array) => Promise<Uint8Array>;
    invalid: (message: string) => Error;
    notFound: (message: string) => Error;
  },
): void {
  app.post(
    "/v1/staking/transactions",
    {
      schema: {
        summary: "Submit a staking transaction (join, leave, evidence) — raw bytes, application/octet-stream",
        description:
          "The canonical encoding of a StakingTransaction. A join or leave must be signed by its validator's BLS key for this chain (checked here); evidence carries its own signatures. Nonces, bonds and the evidence itself are checked when the block is executed; a change takes effect two epochs after the epoch its block is in.",
        response: { 202: { type: "object", required: ["hash"], properties: { hash: { type: "string" } } }, ...errors },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (!Buffer.isBuffer(body)) throw o.invalid("body must be the transaction bytes (application/octet-stream)");
      const data = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
      let tx: ReturnType<typeof decodeStakingTransaction>;
      try {
        tx = decodeStakingTransaction(data);
      } catch (e) {
        throw o.invalid(e instanceof DecodeError ? e.message : "not a staking transaction");
      }
      if (tx.kind !== "evidence" && !o.bls.verify(tx.publicKey, stakingSigningDigest(o.chainId, tx), tx.signature))
        throw o.invalid("the signature is not the validator's for this chain");
      return reply.status(202).send({ hash: toHex(await o.submitSystem(data)) });
    },
  );

  app.get<{ Params: { publicKey: string } }>(
    "/v1/staking/accounts/:publicKey",
    { schema: accountSchema },
    async (request) => {
      const account = o.staking.account(toHex(fromHex(request.params.publicKey)));
      if (!account) throw o.notFound(`no staking account for ${request.params.publicKey}`);
      return {
        balance: account.balance.toString(),
        bonded: account.bonded.toString(),
        unbonding: account.unbonding.map((u) => ({ amount: u.amount.toString(), releaseEpoch: u.releaseEpoch })),
        nonce: account.nonce,
        jailed: account.jailed,
        epoch: o.staking.epoch,
      };
    },
  );
}
