/**
 * Ordo's contracts on an L1, deployed for a running network: the light client
 * (trusting the network's current committee), the reference circuit's Groth16
 * verifier, the rollup bridge (with its Poseidon contracts), and the rollups
 * registered on it. The deployment file is what `ordo relayer start` reads.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import {
  type BridgeClients,
  committeeArgs,
  deployContract,
  deployLightClient,
  deployRollupBridge,
  OrdoRollupBridgeAbi,
  RollupBatchVerifierAbi,
  RollupBatchVerifierBytecode,
} from "@ordo/l1-bridge";
import { circuitByName, REFERENCE_CIRCUIT, type RollupCircuit, referenceRollupGenesis } from "@ordo/prover";
import { type Address, isAddress, zeroAddress } from "viem";
import type { NodeClient } from "./node-client.js";

export interface L1Rollup {
  namespace: number;
  circuit: string;
  /** The rollup's genesis state root (a field element, decimal). */
  genesisRoot: string;
  /** Advanced with Groth16 proofs verified on the L1 (only the reference circuit has an L1 verifier). */
  proven: boolean;
  /** Advanced with validators' attestations of the proofs they verified. */
  attested: boolean;
}

export interface L1Deployment {
  l1ChainId: number;
  ordoChainId: number;
  epoch: number;
  lightClient: Address;
  bridge: Address;
  verifier: Address;
  poseidon2: Address;
  poseidon5: Address;
  rollups: L1Rollup[];
}

export async function deployOrdoL1(
  clients: BridgeClients,
  o: { node: NodeClient; rollups: { namespace: number; circuit: RollupCircuit; proven: boolean; attested: boolean }[] },
): Promise<L1Deployment> {
  const [status, committee] = await Promise.all([o.node.status(), o.node.validators()]);
  const l1ChainId = await clients.public.getChainId();
  const lightClient = await deployLightClient(clients, {
    ordoChainId: status.chainId,
    epoch: committee.epoch,
    committee: committeeArgs(committee.validators),
  });
  const account = clients.wallet.account;
  if (!account) throw new Error("the wallet client needs an account to deploy");
  const verifier = await deployContract(clients, RollupBatchVerifierAbi, RollupBatchVerifierBytecode);
  const { bridge, poseidon2, poseidon5 } = await deployRollupBridge(clients, { lightClient });
  const rollups: L1Rollup[] = [];
  for (const r of o.rollups) {
    // The L1 verifies Groth16 proofs of the reference circuit only; other circuits advance by attestation.
    const proven = r.proven && r.circuit.name === REFERENCE_CIRCUIT.name;
    const genesisRoot = referenceRollupGenesis(r.circuit).root;
    const hash = await clients.wallet.writeContract({
      address: bridge,
      abi: OrdoRollupBridgeAbi,
      functionName: "registerRollup",
      args: [r.namespace, genesisRoot, proven ? verifier : zeroAddress, r.attested, r.circuit.batchSize],
      account,
      chain: clients.wallet.chain,
    });
    const receipt = await clients.public.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`registering rollup ${r.namespace} on the L1 failed`);
    rollups.push({
      namespace: r.namespace,
      circuit: r.circuit.name,
      genesisRoot: genesisRoot.toString(),
      proven,
      attested: r.attested,
    });
  }
  return {
    l1ChainId,
    ordoChainId: status.chainId,
    epoch: committee.epoch,
    lightClient,
    bridge,
    verifier,
    poseidon2,
    poseidon5,
    rollups,
  };
}

export async function writeDeployment(path: string, d: L1Deployment): Promise<void> {
  await writeFile(`${path}.partial`, `${JSON.stringify(d, null, 2)}\n`);
  await rename(`${path}.partial`, path);
}

/** Reads and checks a deployment file; throws an `Error` that names the bad field. */
export async function readDeployment(path: string): Promise<L1Deployment> {
  const d = JSON.parse(await readFile(path, "utf8")) as L1Deployment;
  for (const k of ["lightClient", "bridge", "verifier", "poseidon2", "poseidon5"] as const)
    if (!isAddress(d[k])) throw new Error(`${path}: ${k} is not an address`);
  for (const k of ["l1ChainId", "ordoChainId", "epoch"] as const)
    if (!Number.isSafeInteger(d[k])) throw new Error(`${path}: ${k} is not an integer`);
  if (!Array.isArray(d.rollups)) throw new Error(`${path}: rollups is not a list`);
  for (const r of d.rollups)
    if (!Number.isSafeInteger(r.namespace) || !circuitByName(r.circuit))
      throw new Error(`${path}: a rollup has a bad namespace or an unknown circuit`);
  return d;
}
