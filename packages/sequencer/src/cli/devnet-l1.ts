/**
 * The L1 of `ordo devnet`: a real anvil, Ordo's contracts deployed on it for the
 * devnet's committee, and a relayer process carrying finality and proven
 * rollup roots to it (logging to DIR/relayer.log).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ANVIL_DEV_PRIVATE_KEY,
  ANVIL_DEV_PRIVATE_KEY_2,
  type Anvil,
  OrdoLightClientAbi,
  OrdoRollupBridgeAbi,
} from "@ordo/l1-bridge";
import { createPublicClient, http } from "viem";
import { deployOrdoL1, type L1Deployment, writeDeployment } from "../relayer/l1-deployment.js";
import { NodeClient } from "../relayer/node-client.js";
import type { NodeConfigFile } from "./files.js";
import { writeKeyFile } from "./key-file-mode.js";
import { DEFAULT_L1_ROLLUPS, l1Clients, parseRollupSpec } from "./l1-commands.js";
import { stopProcesses } from "./validator-processes.js";

export interface DevnetL1 {
  anvil: Anvil;
  deployment: L1Deployment;
  relayer: ChildProcess;
  /** "l1 finalized H  rollups on l1 1: h/i 2: h/i", or null when the L1 does not answer. */
  progress(): Promise<string | null>;
  stop(): Promise<void>;
}

/**
 * Validator 0 also posts every block (with transactions) as EIP-4844 blobs to the devnet's anvil (its own account,
 * whose key is DIR/validator-0/da-l1.key: 0600 in validator 0's 0700 directory).
 */
export async function configureDevnetBlobs(dir: string, anvil: Pick<Anvil, "rpcUrl">): Promise<void> {
  await writeKeyFile(join(dir, "validator-0", "da-l1.key"), `${ANVIL_DEV_PRIVATE_KEY_2}\n`);
  const file = join(dir, "validator-0", "node.json");
  const config = JSON.parse(await readFile(file, "utf8")) as NodeConfigFile;
  config.da = {
    k: config.da?.k ?? 8,
    m: config.da?.m ?? 8,
    poster: {
      policy: { kind: "all", layers: ["embedded", "ethereum-blobs"] },
      layers: [
        {
          type: "ethereum-blobs",
          rpcUrl: anvil.rpcUrl,
          privateKeyFile: "da-l1.key",
          confirmations: 2,
        },
      ],
    },
  };
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
}

/** Deploys Ordo's contracts on the devnet's anvil and starts the relayer; `stop` also stops the anvil. */
export async function startDevnetL1(o: {
  dir: string;
  apis: readonly string[];
  cli: string[];
  anvil: Anvil;
}): Promise<DevnetL1> {
  const anvil = o.anvil;
  try {
    // The relayer's L1 account key: 0600 in its own 0700 directory.
    const keyFile = join(o.dir, "relayer", "l1.key");
    await writeKeyFile(keyFile, `${ANVIL_DEV_PRIVATE_KEY}\n`);
    const deployment = await deployOrdoL1(await l1Clients(anvil.rpcUrl, ANVIL_DEV_PRIVATE_KEY), {
      node: new NodeClient(o.apis[0] as string),
      rollups: DEFAULT_L1_ROLLUPS.map(parseRollupSpec),
    });
    const deploymentFile = join(o.dir, "l1-deployment.json");
    await writeDeployment(deploymentFile, deployment);
    const log = openSync(join(o.dir, "relayer.log"), "a");
    const relayer = spawn(
      process.execPath,
      [
        ...o.cli,
        "relayer",
        "start",
        "--l1",
        anvil.rpcUrl,
        "--deployment",
        deploymentFile,
        "--node",
        o.apis.join(","),
        "--state",
        join(o.dir, "relayer-state.json"),
        "--l1-key",
        keyFile,
        "--cadence-ms",
        "5000",
        "--poll-ms",
        "500",
      ],
      { stdio: ["ignore", log, log] },
    );
    const client = createPublicClient({ transport: http(anvil.rpcUrl) });
    return {
      anvil,
      deployment,
      relayer,
      async progress() {
        try {
          const height = await client.readContract({
            address: deployment.lightClient,
            abi: OrdoLightClientAbi,
            functionName: "latestHeight",
          });
          const parts: string[] = [];
          for (const r of deployment.rollups) {
            const s = await client.readContract({
              address: deployment.bridge,
              abi: OrdoRollupBridgeAbi,
              functionName: "rollup",
              args: [r.namespace],
            });
            parts.push(`${r.namespace}: ${s.started ? `${s.height}/${s.index}` : "-"}`);
          }
          return `l1 finalized ${height}  rollups on l1 ${parts.join(" ")}`;
        } catch {
          return null;
        }
      },
      async stop() {
        await stopProcesses([relayer]);
        await anvil.stop();
      },
    };
  } catch (e) {
    await anvil.stop();
    throw e;
  }
}
