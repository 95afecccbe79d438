/**
 * `OrdoRollupBridge` from TypeScript: deployment (with the two Poseidon
 * contracts its batch commitment calls) and the calldata of both paths built
 * from core types. The statements' hashing is core's (`hashBatchStatement`,
 * `proofAttestationDigest`): validators sign what the contract recomputes.
 */
import {
  type BatchStatement,
  type BlockPayload,
  hashBatchStatement,
  merkleProof,
  merkleRoot,
  type NamespaceId,
  proveNamespace,
  toHex,
} from "@ordo/core";
import { poseidonContract } from "circomlibjs";
import type { Address, Hex } from "viem";
import { type BridgeClients, deployContract } from "./deploy.js";
import { OrdoRollupBridgeAbi, OrdoRollupBridgeBytecode } from "./generated/OrdoRollupBridge.js";

/** The contract's `Path` enum, as `StateRootAdvanced` reports it. */
export const BridgePath = { Proven: 0, Attested: 1 } as const;

export type { BridgeClients };

/** Deploys circomlibjs's Poseidon contracts for 2 and 5 inputs (the circuit's hashes of the batch commitment). */
export async function deployPoseidons(clients: BridgeClients): Promise<{ poseidon2: Address; poseidon5: Address }> {
  const code = (n: number) => poseidonContract.createCode(n) as Hex;
  const poseidon2 = await deployContract(clients, [], code(2));
  const poseidon5 = await deployContract(clients, [], code(5));
  return { poseidon2, poseidon5 };
}

export interface RollupBridgeDeployment {
  bridge: Address;
  poseidon2: Address;
  poseidon5: Address;
}

/** Deploys the bridge on `lightClient`, and the Poseidon contracts unless given. */
export async function deployRollupBridge(
  clients: BridgeClients,
  o: { lightClient: Address; poseidon2?: Address; poseidon5?: Address },
): Promise<RollupBridgeDeployment> {
  const poseidons =
    o.poseidon2 && o.poseidon5 ? { poseidon2: o.poseidon2, poseidon5: o.poseidon5 } : await deployPoseidons(clients);
  const bridge = await deployContract(clients, OrdoRollupBridgeAbi, OrdoRollupBridgeBytecode, [
    o.lightClient,
    poseidons.poseidon2,
    poseidons.poseidon5,
  ]);
  return { bridge, ...poseidons };
}

// ------------------------------------------------------------------ proven path

/** One `ProvenBatch` of `submitProvenBatches`. */
export interface ProvenBatchArgs {
  height: bigint;
  index: number;
  oldRoot: bigint;
  newRoot: bigint;
  transactions: Hex[];
  leafIndex: number;
  leafCount: number;
  path: Hex[];
}

/**
 * Batch `index` of `namespace` in the finalized block at `height` whose payload is `payload`: the namespace's
 * complete transaction list and its inclusion proof, with the batch's roots (the proof's public inputs).
 * Throws when the namespace has no transactions in the block.
 */
export function provenBatchArgs(o: {
  payload: BlockPayload;
  namespace: NamespaceId;
  height: number | bigint;
  index: number;
  oldRoot: bigint;
  newRoot: bigint;
}): ProvenBatchArgs {
  const proof = proveNamespace(o.payload, o.namespace);
  if (proof.kind !== "inclusion") throw new Error(`namespace ${o.namespace} has no transactions in this block`);
  const group = o.payload.groups[proof.leafIndex]!;
  return {
    height: BigInt(o.height),
    index: o.index,
    oldRoot: o.oldRoot,
    newRoot: o.newRoot,
    transactions: group.transactions.map(toHex),
    leafIndex: proof.leafIndex,
    leafCount: proof.leafCount,
    path: proof.path.map(toHex),
  };
}

// ------------------------------------------------------------------ attested path

/** One `Statement` of `submitAttestedBatches` (the namespace is the call's). */
export interface StatementArgs {
  height: bigint;
  index: number;
  oldRoot: bigint;
  newRoot: bigint;
  commitment: bigint;
}

/** The core-style Merkle root (`merkleRoot`) of the statements' leaves (`hashBatchStatement`), in the order given. */
export function statementsRoot(statements: readonly BatchStatement[]): Uint8Array {
  return merkleRoot(statements.map(hashBatchStatement));
}

/**
 * The arguments of `submitAttestedBatches` for `namespace`'s statements among `statements` (the attested tree's
 * leaves, in tree order), in their order there: the statements, their paths, leaf indexes and the leaf count.
 */
export function attestedBatchArgs(
  statements: readonly BatchStatement[],
  namespace: NamespaceId,
): readonly [number, Hex, StatementArgs[], Hex[][], bigint[], bigint] {
  const leaves = statements.map(hashBatchStatement);
  const mine = statements.flatMap((s, i) => (s.namespace === namespace ? [i] : []));
  if (mine.length === 0) throw new Error(`no statement of namespace ${namespace}`);
  return [
    namespace,
    toHex(merkleRoot(leaves)),
    mine.map((i) => {
      const s = statements[i]!;
      return {
        height: BigInt(s.height),
        index: s.index,
        oldRoot: s.oldRoot,
        newRoot: s.newRoot,
        commitment: s.commitment,
      };
    }),
    mine.map((i) => merkleProof(leaves, i).map(toHex)),
    mine.map(BigInt),
    BigInt(leaves.length),
  ];
}
