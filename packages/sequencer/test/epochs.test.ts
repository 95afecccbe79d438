/**
 * Epochs on real validators (libp2p on loopback, LevelDB): every epoch's last
 * block carries the commitment to the next committee, validators switch
 * committees there (and a restarted one catches up across boundaries), the API
 * serves each epoch change, and a light client that trusts only the genesis
 * committee follows them to verify a block epochs later.
 */
import { blstBackend, decodeEpochChange, epochEndHeight, hashValidatorSet, SYSTEM_NAMESPACE, toHex } from "@ordo/core";
import { LightClient, verifyFromNode } from "@ordo/light-client";
import { afterAll, describe, expect, it } from "vitest";
import { blockTransactions } from "../src/api/namespace-blocks.js";
import { decodeBlockBatches } from "../src/dissemination/index.js";
import { fetchVia, type InProcessNetwork, startInProcessNetwork, waitFor } from "./fixtures/in-process-network.js";

const LENGTH = 5;
const schedule = { length: LENGTH };

let net: InProcessNetwork;
afterAll(async () => net?.stop());

describe("epochs on real validators", () => {
  it("switches committee every 5 blocks, each last block committing to the next; a light client follows from genesis", async () => {
    net = await startInProcessNetwork(4, { withApi: true, epochLength: LENGTH });
    const { nodes, stores, apps } = net;
    let sent = 0;
    const submitSome = async () => {
      for (let k = 0; k < 4; k++)
        await nodes[k]?.submit({ namespace: 1 + (k % 2), data: new TextEncoder().encode(`tx-${sent++}`) });
    };
    await submitSome();
    await waitFor(async () => (stores[3]?.latestHeight ?? 0) >= 8, 60_000, "validator 3 past the first boundary");
    // A crash across a boundary: validator 3 restarts from its data dir and must catch up through later epochs.
    await net.restart(3);
    const target = epochEndHeight(schedule, 3) + 2;
    await waitFor(
      async () => {
        await submitSome();
        return stores.every((s) => (s.latestHeight ?? 0) >= target);
      },
      90_000,
      `every validator past height ${target} (epoch 4)`,
    );

    for (let h = 1; h <= target; h++) {
      const blocks = await Promise.all(stores.map((s) => s.getBlock(h)));
      const hashes = new Set(blocks.map((b) => (b ? toHex(b.header.parentHash) + b.header.round : "missing")));
      expect(hashes.size, `height ${h}: every validator committed the same block`).toBe(1);
      const block = blocks[0];
      if (!block) throw new Error(`no block at ${h}`);
      const epoch = Math.floor((h - 1) / LENGTH);
      expect(block.header.epoch, `height ${h} is in epoch ${epoch}`).toBe(epoch);
      const committee = nodes[0]?.committee(epoch)?.validators;
      expect(toHex(block.header.validatorSetHash)).toBe(toHex(committee?.hash ?? new Uint8Array()));
      const own = decodeBlockBatches(block.payload).system;
      if (h === epochEndHeight(schedule, epoch)) {
        // The last block commits to the next epoch's set (keys and stakes) by its hash.
        const commitment = own.map(decodeEpochChange);
        const next = nodes[0]?.committee(epoch + 1)?.validators;
        expect(commitment).toHaveLength(1);
        expect(commitment[0]?.nextEpoch).toBe(epoch + 1);
        expect(toHex(commitment[0]?.validatorSetHash ?? new Uint8Array())).toBe(
          toHex(hashValidatorSet({ epoch: epoch + 1, validators: [...(next?.validators ?? [])] })),
        );
        const system = (await blockTransactions(stores[0]!, block)).filter((t) => t.namespace === SYSTEM_NAMESPACE);
        expect(system[0]?.data).toStrictEqual(own[0]);
      } else expect(own).toHaveLength(0);
    }
    expect(nodes.every((n) => n.consensus.epoch >= 4)).toBe(true);

    // GET /v1/status and /v1/validators name the current epoch; an epoch change is served once the epoch ended.
    const status = (await apps[1]!.inject({ method: "GET", url: "/v1/status" })).json();
    expect(status.epoch).toBeGreaterThanOrEqual(4);
    expect((await apps[1]!.inject({ method: "GET", url: "/v1/validators" })).json().epoch).toBe(status.epoch);
    expect((await apps[1]!.inject({ method: "GET", url: "/v1/epochs/999/change" })).statusCode).toBe(404);

    // A light client that trusts only the genesis committee verifies a block of epoch 3 from node 2's API,
    // following the three committee changes before it, each proven by the chain.
    const genesis = net.validators;
    const client = new LightClient(
      { chainId: 9, validatorSet: { epoch: 0, validators: [...genesis.validators] } },
      blstBackend,
    );
    const height = epochEndHeight(schedule, 2) + 2;
    const report = await verifyFromNode(client, "http://validator-2", height, 1, { fetch: fetchVia(apps[2]!) });
    expect(report).toMatchObject({ height, epoch: 3, epochChanges: 3 });
    expect(client.state().epoch).toBe(3);
  }, 180_000);
});
