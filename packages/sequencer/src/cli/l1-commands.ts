/** `ordo l1 deploy` and `ordo relayer start`. */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { type BridgeClients, evmClients } from "@ordo/l1-bridge";
import { circuitByName, type RollupCircuit } from "@ordo/prover";
import { pino } from "pino";
import { createPublicClient, type Hex, http } from "viem";
import { deployOrdoL1, readDeployment, writeDeployment } from "../relayer/l1-deployment.js";
import { NodeClient } from "../relayer/node-client.js";
import { Relayer } from "../relayer/relayer.js";
import { assertKeyFilePrivate } from "./key-file-mode.js";
import { int, UsageError } from "./usage.js";

export { L1_DEPLOY_HELP, RELAYER_START_HELP } from "./l1-help.js";

/** The L1 private key from `--l1-key FILE` (refused if group or others may access it) or `ORDO_L1_KEY`. */
export async function l1Key(file: string | undefined): Promise<Hex> {
  if (file) await assertKeyFilePrivate(resolve(file), "L1 private key file");
  const raw = file ? (await readFile(resolve(file), "utf8")).trim() : process.env.ORDO_L1_KEY;
  if (!raw) throw new UsageError("--l1-key FILE (or ORDO_L1_KEY) is required: the L1 account's private key");
  if (!/^0x[0-9a-fA-F]{64}$/.test(raw)) throw new UsageError("the L1 private key must be 0x and 64 hex digits");
  return raw as Hex;
}

function url(name: string, v: string | undefined): string {
  if (!v || !/^https?:\/\//.test(v)) throw new UsageError(`--${name} URL is required (http:// or https://)`);
  return v.replace(/\/$/, "");
}

/** Clients for the EVM node at `rpcUrl` (its chain id asked of it), signing with `key`. */
export async function l1Clients(rpcUrl: string, key: Hex): Promise<BridgeClients> {
  return evmClients(rpcUrl, await createPublicClient({ transport: http(rpcUrl) }).getChainId(), key);
}

/** `NS:CIRCUIT:PATHS`, e.g. `1:rollup_batch:proven+attested`. */
export function parseRollupSpec(spec: string): {
  namespace: number;
  circuit: RollupCircuit;
  proven: boolean;
  attested: boolean;
} {
  const [ns, name, paths] = spec.split(":");
  const namespace = Number(ns);
  const circuit = circuitByName(name ?? "");
  const set = new Set((paths ?? "").split("+"));
  if (!Number.isInteger(namespace) || namespace < 1 || namespace > 0xffffffff || !circuit || set.size === 0)
    throw new UsageError(`--rollup must be NS:CIRCUIT:PATHS (e.g. 1:rollup_batch:proven+attested), got "${spec}"`);
  for (const p of set) if (p !== "proven" && p !== "attested") throw new UsageError(`unknown path "${p}" in ${spec}`);
  return { namespace, circuit, proven: set.has("proven"), attested: set.has("attested") };
}

export const DEFAULT_L1_ROLLUPS = ["1:rollup_batch:proven+attested", "2:rollup_batch_d4b1:attested"];

export async function l1Deploy(args: string[], help: string): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      l1: { type: "string" },
      node: { type: "string" },
      out: { type: "string" },
      "l1-key": { type: "string" },
      rollup: { type: "string", multiple: true },
      help: { type: "boolean" },
    },
  });
  if (values.help) return void process.stdout.write(help);
  if (!values.out) throw new UsageError("--out FILE is required");
  const clients = await l1Clients(url("l1", values.l1), await l1Key(values["l1-key"]));
  const d = await deployOrdoL1(clients, {
    node: new NodeClient(url("node", values.node)),
    rollups: (values.rollup ?? DEFAULT_L1_ROLLUPS).map(parseRollupSpec),
  });
  await writeDeployment(resolve(values.out), d);
  process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
}

export async function relayerStart(args: string[], help: string): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      l1: { type: "string" },
      deployment: { type: "string" },
      node: { type: "string" },
      state: { type: "string" },
      "l1-key": { type: "string" },
      "cadence-ms": { type: "string" },
      "poll-ms": { type: "string" },
      "proven-every": { type: "string" },
      "max-batches": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return void process.stdout.write(help);
  if (!values.deployment) throw new UsageError("--deployment FILE (written by `ordo l1 deploy`) is required");
  if (!values.state) throw new UsageError("--state FILE is required (where the relayer keeps its progress)");
  if (!values.node) throw new UsageError("--node URL[,URL...] is required");
  const nodes = values.node.split(",").map((u) => new NodeClient(url("node", u)));
  const log = pino({ base: { service: "relayer" } });
  const relayer = new Relayer({
    nodes,
    l1RpcUrl: url("l1", values.l1),
    l1PrivateKey: await l1Key(values["l1-key"]),
    deployment: await readDeployment(resolve(values.deployment)),
    stateFile: resolve(values.state),
    cadenceMs: int("cadence-ms", values["cadence-ms"], 10_000, 100, 86_400_000),
    pollMs: int("poll-ms", values["poll-ms"], 1_000, 50, 600_000),
    provenEvery: int("proven-every", values["proven-every"], 2, 1, 1_000_000),
    maxBatchesPerCall: int("max-batches", values["max-batches"], 16, 1, 256),
    log,
  });
  await relayer.start();
  log.info({ nodes: nodes.map((n) => n.url) }, "relayer started");
  const stop = async () => {
    log.info(relayer.counters, "stopping");
    await relayer.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}
