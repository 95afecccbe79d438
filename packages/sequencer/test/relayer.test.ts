/**
 * The relayer against a real 4-validator network and a real anvil: it carries finality to the L1 light
 * client, never posts a certificate the light client already has, and after a crash between sending a
 * transaction and seeing it mined, settles that transaction instead of sending it again.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ANVIL_DEV_PRIVATE_KEY, type Anvil, OrdoLightClientAbi, startAnvil } from "@ordo/l1-bridge";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { l1Clients } from "../src/cli/l1-commands.js";
import { deployOrdoL1, type L1Deployment } from "../src/relayer/l1-deployment.js";
import { NodeClient } from "../src/relayer/node-client.js";
import { Relayer } from "../src/relayer/relayer.js";
import { type InProcessNetwork, startInProcessNetwork, waitFor } from "./fixtures/in-process-network.js";

let net: InProcessNetwork;
let anvil: Anvil;
let dir: string;
let node: NodeClient;
let deployment: L1Deployment;
let clients: Awaited<ReturnType<typeof l1Clients>>;

beforeAll(async () => {
  net = await startInProcessNetwork(4, { withApi: true });
  const app = net.apps[0] as FastifyInstance;
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (!address || typeof address === "string") throw new Error("the API is not on TCP");
  node = new NodeClient(`http://127.0.0.1:${address.port}`);
  anvil = await startAnvil({ port: 27845 });
  clients = await l1Clients(anvil.rpcUrl, ANVIL_DEV_PRIVATE_KEY);
  deployment = await deployOrdoL1(clients, { node, rollups: [] });
  dir = await mkdtemp(join(tmpdir(), "ordo-relayer-"));
}, 60_000);
afterAll(async () => {
  await anvil?.stop();
  await net?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const relayer = () =>
  new Relayer({
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

const latestOnL1 = () =>
  clients.public.readContract({
    address: deployment.lightClient,
    abi: OrdoLightClientAbi,
    functionName: "latestHeight",
  });
const sent = () => clients.public.getTransactionCount({ address: clients.wallet.account?.address as `0x${string}` });

describe("relayer", () => {
  it("posts finality certificates that the light client accepts, each height once", async () => {
    await waitFor(async () => ((await node.status()).committedHeight ?? 0) >= 3, 30_000, "height 3");
    const r = relayer();
    await r.resume();
    await r.round();
    const first = await latestOnL1();
    expect(first).toBeGreaterThanOrEqual(3n);
    expect(r.counters.certificatesPosted).toBe(1);
    await waitFor(async () => BigInt((await node.status()).committedHeight) > first, 30_000, "a newer height");
    await r.round();
    expect(await latestOnL1()).toBeGreaterThan(first);
    expect(r.counters).toMatchObject({ certificatesPosted: 2, failures: 0 });
    // Every height the light client holds was posted once: a second post would have reverted in simulation.
    const events = await clients.public.getContractEvents({
      address: deployment.lightClient,
      abi: OrdoLightClientAbi,
      eventName: "HeaderFinalized",
      fromBlock: 0n,
    });
    const heights = events.map((e) => e.args.height);
    expect(new Set(heights).size).toBe(heights.length);
  }, 90_000);

  it("after a crash with a transaction in flight, settles it instead of sending it again", async () => {
    const before = await sent();
    // What a relayer killed right after sending leaves behind: the state file names the transaction.
    const hash = await clients.wallet.sendTransaction({
      account: clients.wallet.account ?? null,
      chain: clients.wallet.chain,
      to: clients.wallet.account?.address,
      value: 0n,
    } as never);
    const file = join(dir, "state.json");
    const state = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...state, pending: { hash, what: "a transfer sent before the crash" } }));
    const r = relayer();
    await r.resume();
    expect(await sent()).toBe(before + 1); // nothing resent
    expect((JSON.parse(await readFile(file, "utf8")) as { pending: unknown }).pending).toBeNull();
    // And it goes on from where the L1 is.
    await waitFor(async () => BigInt((await node.status()).committedHeight) > (await latestOnL1()), 30_000, "newer");
    await r.round();
    expect(r.counters.certificatesPosted).toBe(1);
    expect(await sent()).toBe(before + 2);
  }, 90_000);
});
