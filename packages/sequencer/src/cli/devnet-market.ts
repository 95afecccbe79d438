/**
 * The prover market of `ordo devnet`: registers the two reference rollups with
 * the devnet's rollup-operator key and runs the devnet's prover daemons as OS
 * processes, each logging to DIR/prover-j/prover.log.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { join } from "node:path";
import {
  accountOf,
  encodeTransfer,
  MULTI_PROOF_CIRCUIT,
  REFERENCE_CIRCUIT,
  type RollupCircuit,
  verifyingKeyHash,
} from "@ordo/prover";
import { readSystemKeyFile } from "./files.js";
import { getJson, postSystemTransaction } from "./system-client.js";

/** Namespaces of the devnet's rollups: the reference (Groth16) and the multi-proof (Groth16 + PLONK). */
export const DEVNET_ROLLUPS: readonly { namespace: number; circuit: RollupCircuit }[] = [
  { namespace: 1, circuit: REFERENCE_CIRCUIT },
  { namespace: 2, circuit: MULTI_PROOF_CIRCUIT },
];

export async function registerDevnetRollups(dir: string, api: string): Promise<void> {
  const key = await readSystemKeyFile(join(dir, "rollup-operator", "system.key"));
  const { chainId } = await getJson<{ chainId: number }>(`${api}/v1/status`);
  let { nextNonce } = await getJson<{ nextNonce: number }>(`${api}/v1/market/accounts/${accountOf(key.publicKey)}`);
  for (const { namespace, circuit } of DEVNET_ROLLUPS) {
    const r = await postSystemTransaction(api, chainId, key, nextNonce++, {
      kind: "register-rollup",
      namespace,
      circuit: circuit.name,
      verifyingKeyHash: verifyingKeyHash(circuit),
      feeDeposit: 100_000n,
      deadlineBlocks: 400,
      maxFee: 100n,
    });
    if (r.status !== 202) throw new Error(`registering rollup ${namespace}: HTTP ${r.status} ${r.text}`);
  }
}

export interface DevnetProverOptions {
  dir: string;
  apis: readonly string[];
  provers: number;
  cli: string[];
  metricsPort: (j: number) => number;
}

export function startDevnetProvers(o: DevnetProverOptions): ChildProcess[] {
  return Array.from({ length: o.provers }, (_, j) => startDevnetProver(o, j));
}

/** Prover j's daemon (key DIR/prover-j/system.key, price 10 + j), following validator j mod n first, logging to its dir. */
export function startDevnetProver(o: Omit<DevnetProverOptions, "provers">, j: number): ChildProcess {
  const log = openSync(join(o.dir, `prover-${j}`, "prover.log"), "a");
  return spawn(
    process.execPath,
    [
      ...o.cli,
      "prover",
      "start",
      "--key",
      join(o.dir, `prover-${j}`, "system.key"),
      "--node",
      // Every validator, its own first: it fails over when that one is down or behind.
      [...o.apis.slice(j % o.apis.length), ...o.apis.slice(0, j % o.apis.length)].join(","),
      "--price",
      String(10 + j),
      "--metrics-port",
      String(o.metricsPort(j)),
    ],
    { stdio: ["ignore", log, log] },
  );
}

interface MarketSummary {
  rollups: { namespace: number; batches: number; proven: number }[];
}

/** "rollups proven 1: 3/4 2: 1/1", or null while no validator answers. */
export async function rollupProgress(api: string): Promise<string | null> {
  try {
    const m = await getJson<MarketSummary>(`${api}/v1/market`);
    return `rollups proven ${m.rollups.map((r) => `${r.namespace}: ${r.proven}/${r.batches}`).join(" ")}`;
  } catch {
    return null;
  }
}

/** The JSON body of a transfer of 100 from account 0 to account 5 with nonce 0, for the quick-start hint. */
export function exampleTransferBody(): string {
  const data = encodeTransfer({ from: 0, to: 5, amount: 100n, nonce: 0n });
  return JSON.stringify({ data: Buffer.from(data).toString("base64") });
}
