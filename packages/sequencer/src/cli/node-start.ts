/** `ordo node start --config FILE`: one validator process. */
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createGenesisBlock } from "@ordo/consensus";
import { blstBackend } from "@ordo/core";
import { pino } from "pino";
import { createApiServer } from "../api/server.js";
import { startDaService } from "../da/da-service.js";
import { MarketService } from "../market/market-service.js";
import { DEFAULT_STAKING_CONFIG, ValidatorNode } from "../node/validator-node.js";
import { loadOrCreatePeerKey } from "../p2p/peer-key.js";
import { createTransport } from "../p2p/transport.js";
import { NodeStore } from "../storage/node-store.js";
import { externalDaLayers } from "./da-layers.js";
import { marketBalances, marketConfig, readBlsKeyFile, readGenesis, readNodeConfig, stakingBalances } from "./files.js";

/** `ORDO_MUTATION=ack-before-durable`: the deliberate bug the chaos harness must catch (test runs only). */
function mutationFromEnv(log: { warn(o: object, m: string): void }): { mutation?: "ack-before-durable" } {
  const m = process.env.ORDO_MUTATION;
  if (m === undefined || m === "") return {};
  if (m !== "ack-before-durable") throw new Error(`ORDO_MUTATION=${m} is not a known mutation (ack-before-durable)`);
  log.warn({ mutation: m }, "running with a deliberate bug: transactions are acknowledged before they are durable");
  return { mutation: m };
}

export async function nodeStart(args: string[], help: string): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: "string" }, help: { type: "boolean" } } });
  if (values.help) return void process.stdout.write(help);
  if (!values.config) throw new Error("--config FILE is required");
  const configPath = resolve(values.config);
  const base = dirname(configPath);
  const config = await readNodeConfig(configPath);
  const at = (p: string) => resolve(base, p);
  const { file: genesisFile, validators } = await readGenesis(at(config.genesis));
  if (config.self >= validators.size)
    throw new Error(`"self" is ${config.self} but genesis has ${validators.size} validators`);
  const log = pino({ level: logLevel(process.env.ORDO_LOG_LEVEL), base: { validator: config.self } });
  const key = await readBlsKeyFile(at(config.blsKeyFile));
  if (Buffer.compare(Buffer.from(key.publicKey), Buffer.from(validators.publicKey(config.self))) !== 0)
    throw new Error(`the BLS key in ${config.blsKeyFile} is not validator ${config.self}'s key in the genesis file`);
  const peerKey = await loadOrCreatePeerKey(at(config.peerKeyFile));
  await mkdir(at(config.dataDir), { recursive: true, mode: 0o700 });
  const store = await NodeStore.open(at(config.dataDir));
  const transport = await createTransport({
    privateKey: peerKey,
    listen: config.listen,
    self: config.self,
    peers: genesisFile.validators.map((v, index) => ({ index, peerId: v.peerId, addrs: v.addrs })),
    logger: log,
  });
  const genesis = createGenesisBlock({
    chainId: genesisFile.chainId,
    validators,
    timestampMs: genesisFile.timestampMs,
  });
  const staking = stakingBalances(genesisFile);
  const node = await ValidatorNode.start({
    chainId: genesisFile.chainId,
    self: config.self,
    validators,
    genesis,
    secretKey: key.secretKey,
    store,
    transport,
    logger: log,
    ...(config.baseTimeoutMs ? { baseTimeoutMs: config.baseTimeoutMs } : {}),
    ...(genesisFile.epochLength ? { epochLength: genesisFile.epochLength } : {}),
    ...(staking ? { staking: { config: DEFAULT_STAKING_CONFIG, balances: staking } } : {}),
    ...mutationFromEnv(log),
  });
  node.onCommit((e) => log.debug({ height: e.height, transactions: e.transactions.length }, "committed"));
  const market = new MarketService(
    { chainId: genesisFile.chainId, balances: marketBalances(genesisFile), config: marketConfig(genesisFile) },
    log,
  );
  await market.start(node, store);
  const da = config.da
    ? startDaService({
        node,
        store,
        transport,
        validators,
        chainId: genesisFile.chainId,
        self: config.self,
        bls: blstBackend,
        secretKey: key.secretKey,
        k: config.da.k,
        m: config.da.m,
        log,
        ...(config.da.poster
          ? {
              poster: {
                policy: config.da.poster.policy,
                layers: await externalDaLayers(config.da.poster.layers, at),
                onEvent: (e) =>
                  e.type === "failed"
                    ? log.warn(
                        { height: e.height, layer: e.layer, err: e.error.message, retryInMs: e.retryInMs },
                        "DA post failed",
                      )
                    : e.type === "error"
                      ? log.error({ err: e.error.message }, "DA poster pass failed; the next one retries")
                      : log.debug(e, "DA"),
              },
            }
          : {}),
      })
    : undefined;
  const api = createApiServer({
    node,
    store,
    chainId: genesisFile.chainId,
    self: config.self,
    market,
    // Attestations of verified proofs (for the L1 bridge's attested path), under their own domain tag.
    sign: (digest) => blstBackend.sign(key.secretKey, digest),
    ...(da ? { da } : {}),
  });
  await api.listen({ host: config.api.host, port: config.api.port });
  log.info({ p2p: transport.multiaddrs(), api: `http://${config.api.host}:${config.api.port}` }, "validator started");
  const shutdown = async (signal: string) => {
    log.info({ signal }, "shutting down");
    await api.close();
    await node.stop();
    await transport.stop();
    await store.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** `ORDO_LOG_LEVEL` (default info); `debug` adds each message consensus refuses and each round that times out. */
function logLevel(value: string | undefined): (typeof LOG_LEVELS)[number] {
  if (value === undefined || value === "") return "info";
  const level = LOG_LEVELS.find((l) => l === value);
  if (!level) throw new Error(`ORDO_LOG_LEVEL is "${value}"; use one of ${LOG_LEVELS.join(", ")}`);
  return level;
}
