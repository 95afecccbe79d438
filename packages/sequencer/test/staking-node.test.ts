/**
 * Committees chosen by staking on real validators: a validator's leave and another's top-up, submitted over
 * the API and executed by every validator, change the committee two epochs later; evidence of the leaver's
 * double vote slashes what it still has at stake; it keeps following as an observer; a light client that
 * trusts only genesis follows the change of members.
 */
import { encodeStakingTransaction, signStakingTransaction } from "@ordo/consensus";
import { blstBackend, epochEndHeight, epochOfHeight, toHex, voteDigest } from "@ordo/core";
import { LightClient, verifyFromNode } from "@ordo/light-client";
import type { FastifyInstance } from "fastify";
import { afterAll, expect, it } from "vitest";
import {
  CHAIN_ID,
  fetchVia,
  type InProcessNetwork,
  startInProcessNetwork,
  waitFor,
} from "./fixtures/in-process-network.js";

const LENGTH = 5;
let net: InProcessNetwork | undefined;
afterAll(async () => net?.stop());

it("a leave and a top-up change the committee two epochs later; double-vote evidence slashes the leaver; it observes; a light client follows", async () => {
  net = await startInProcessNetwork(4, { withApi: true, epochLength: LENGTH, stakingBalance: 1_000n });
  const { nodes, stores, apps, validators, secretKeys } = net;
  const api = apps[0] as FastifyInstance;
  await waitFor(async () => (stores[0]?.latestHeight ?? 0) >= 2, 30_000, "height 2");
  const post = async (tx: Parameters<typeof encodeStakingTransaction>[0]) =>
    api.inject({
      method: "POST",
      url: "/v1/staking/transactions",
      headers: { "content-type": "application/octet-stream" },
      payload: Buffer.from(encodeStakingTransaction(tx)),
    });
  const key = (i: number) => validators.validators[i]?.publicKey as Uint8Array;
  const leave = signStakingTransaction(blstBackend, secretKeys[3] as Uint8Array, CHAIN_ID, {
    kind: "leave",
    publicKey: key(3),
    nonce: 0,
  });
  const topUp = signStakingTransaction(blstBackend, secretKeys[0] as Uint8Array, CHAIN_ID, {
    kind: "join",
    publicKey: key(0),
    proofOfPossession: validators.validators[0]?.proofOfPossession as Uint8Array,
    bond: 200n,
    nonce: 0,
  });
  expect((await post(leave)).statusCode).toBe(202);
  expect((await post(topUp)).statusCode).toBe(202);
  // Validator 3 also signed two different votes for round 1 of epoch 0: the evidence goes into a block and every
  // ledger slashes half of what it still has at stake (its unbonding bond) and jails it.
  const vote = (blockHash: Uint8Array) => ({
    blockHash,
    committedHash: new Uint8Array(32),
    signature: blstBackend.sign(secretKeys[3] as Uint8Array, voteDigest(CHAIN_ID, 0, 1, blockHash, new Uint8Array(32))),
  });
  const evidence = {
    kind: "double-vote" as const,
    epoch: 0,
    round: 1,
    author: 3,
    first: vote(new Uint8Array(32).fill(1)),
    second: vote(new Uint8Array(32).fill(2)),
  };
  expect((await post({ kind: "evidence", evidence })).statusCode).toBe(202);
  // A join signed by another key is refused before it reaches a block.
  expect((await post({ ...topUp, signature: leave.signature })).statusCode).toBe(400);

  // Two epochs after the one the transactions landed in, the committee is validators 0..2, validator 0 with 300.
  await waitFor(
    async () => (await api.inject({ method: "GET", url: "/v1/validators" })).json().validators.length === 3,
    90_000,
    "the committee without validator 3",
  );
  const committee = (await api.inject({ method: "GET", url: "/v1/validators" })).json() as {
    epoch: number;
    validators: { publicKey: string; stake: string }[];
  };
  expect(committee.validators.map((v) => v.publicKey).sort()).toEqual([0, 1, 2].map((i) => toHex(key(i))).sort());
  expect(committee.validators.find((v) => v.publicKey === toHex(key(0)))?.stake).toBe("300");
  const account = (await api.inject({ method: "GET", url: `/v1/staking/accounts/${toHex(key(3))}` })).json();
  expect(account).toMatchObject({ bonded: "0", nonce: 1, jailed: true });
  expect(account.unbonding).toEqual([{ amount: "50", releaseEpoch: expect.any(Number) }]);

  // Validator 3 restarts: it rebuilds its staking ledger from its blocks, and must agree with the others.
  await net.restart(3);
  // The chain goes on under the new committee; validator 3 follows it without signing.
  const changedAt = epochEndHeight({ length: LENGTH }, committee.epoch - 1);
  const target = changedAt + 2 * LENGTH;
  await waitFor(async () => stores.every((s) => (s.latestHeight ?? 0) >= target), 90_000, `height ${target}`);
  expect(nodes[3]?.consensus.selfIndex).toBeNull();
  expect(nodes[0]?.consensus.selfIndex).not.toBeNull();
  const block = await stores[3]?.getBlock(target);
  expect(toHex(block?.header.validatorSetHash ?? new Uint8Array())).toBe(
    toHex(nodes[0]?.committee(epochOfHeight({ length: LENGTH }, target))?.validators.hash ?? new Uint8Array()),
  );
  // Every validator's ledger agrees.
  const hashes = new Set(nodes.map((n) => toHex(n.staking?.stateHash() ?? new Uint8Array())));
  expect(hashes.size).toBe(1);

  // A light client trusting the genesis committee verifies a block of the new committee, following each change.
  const client = new LightClient(
    { chainId: CHAIN_ID, validatorSet: { epoch: 0, validators: [...validators.validators] } },
    blstBackend,
  );
  const report = await verifyFromNode(client, "http://validator-1", target, undefined, { fetch: fetchVia(apps[1]!) });
  expect(report.epochChanges).toBe(epochOfHeight({ length: LENGTH }, target));
  expect(client.state().validators).toBe(3);
}, 240_000);
