/**
 * The relayer across epochs: validators change epoch every 5 blocks, and the relayer moves the real L1
 * light client (anvil) the way the chain did — each epoch's last block finalized by its own committee,
 * then `submitEpochChange` with the commitment's proof — before it posts a later epoch's certificate.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { epochEndHeight } from "@ordo/core";
import { ANVIL_DEV_PRIVATE_KEY, type Anvil, OrdoLightClientAbi, startAnvil } from "@ordo/l1-bridge";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, expect, it } from "vitest";
import { l1Clients } from "../src/cli/l1-commands.js";
import { deployOrdoL1 } from "../src/relayer/l1-deployment.js";
import { NodeClient } from "../src/relayer/node-client.js";
import { Relayer } from "../src/relayer/relayer.js";
import { type InProcessNetwork, startInProcessNetwork, waitFor } from "./fixtures/in-process-network.js";

let net: InProcessNetwork | undefined;
let anvil: Anvil | undefined;
let dir: string | undefined;
afterAll(async () => {
  await anvil?.stop();
  await net?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("moves the L1 light client through three committee changes, each proven by the chain, then finalizes epoch 3", async () => {
  net = await startInProcessNetwork(4, { withApi: true, epochLength: 5 });
  const app = net.apps[0] as FastifyInstance;
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (!address || typeof address === "string") throw new Error("the API is not on TCP");
  const node = new NodeClient(`http://127.0.0.1:${address.port}`);
  anvil = await startAnvil({ port: 28145 });
  const clients = await l1Clients(anvil.rpcUrl, ANVIL_DEV_PRIVATE_KEY);
  // Deployed at epoch 0, trusting the genesis committee.
  const deployment = await deployOrdoL1(clients, { node, rollups: [] });
  dir = await mkdtemp(join(tmpdir(), "ordo-relayer-epochs-"));
  const target = epochEndHeight({ length: 5 }, 2) + 2;
  await waitFor(async () => (await node.status()).committedHeight >= target, 60_000, `height ${target} (epoch 3)`);
  const relayer = new Relayer({
    nodes: [node],
    l1RpcUrl: anvil.rpcUrl,
    l1PrivateKey: ANVIL_DEV_PRIVATE_KEY,
    deployment,
    stateFile: join(dir, "state.json"),
    cadenceMs: 0,
    pollMs: 60_000,
    provenEvery: 2,
    maxBatchesPerCall: 16,
    log: pino({ level: "silent" }),
  });
  await relayer.resume();
  // The chain keeps going while the relayer works: it reaches the epoch it read, somewhere between these two.
  const epochBefore = (await node.status()).epoch;
  await relayer.round();
  const epochAfter = (await node.status()).epoch;
  const read = (functionName: "currentEpoch" | "latestHeight") =>
    clients.public.readContract({ address: deployment.lightClient, abi: OrdoLightClientAbi, functionName });
  const epoch = Number(await read("currentEpoch"));
  expect(epoch).toBeGreaterThanOrEqual(Math.max(3, epochBefore));
  expect(epoch).toBeLessThanOrEqual(epochAfter);
  expect(relayer.counters.epochChanges).toBe(epoch);
  expect(relayer.counters.failures).toBe(0);
  expect(Number(await read("latestHeight"))).toBeGreaterThanOrEqual(target);
  // Each change is an event, in order, at the epoch's last block.
  const changes = await clients.public.getContractEvents({
    address: deployment.lightClient,
    abi: OrdoLightClientAbi,
    eventName: "EpochChanged",
    fromBlock: 0n,
  });
  expect(changes.map((e) => Number(e.args.epoch))).toEqual(Array.from({ length: epoch }, (_, i) => i + 1));
  expect(changes.map((e) => Number(e.args.height))).toEqual(
    Array.from({ length: epoch }, (_, i) => epochEndHeight({ length: 5 }, i)),
  );
}, 120_000);
