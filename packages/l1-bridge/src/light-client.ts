/**
 * The L1 light client from TypeScript: Ordo's compressed BLS points in the
 * EIP-2537 encodings the contract takes, its committee, certificate and
 * epoch-change arguments, and deployment through viem.
 */

import { bls12_381 } from "@noble/curves/bls12-381.js";
import type {
  BlockHeader,
  QuorumCertificate,
  TransactionInclusionProof,
  Validator,
  ValidatorSet,
  ValidatorSetData,
} from "@ordo/core";
import { bitmapHas, fromHex, merkleProof, merkleRoot, sha256, toHex } from "@ordo/core";
import type { Address, Hex } from "viem";
import { type BridgeClients, deployContract } from "./deploy.js";
import { OrdoLightClientAbi, OrdoLightClientBytecode } from "./generated/OrdoLightClient.js";

/** A base-field element as EIP-2537 wants it: 64 bytes, big-endian, the top 16 zero. */
function fp(x: bigint): Uint8Array {
  const out = new Uint8Array(64);
  let v = x;
  for (let i = 63; i >= 16; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** A compressed (48-byte) G1 point as the 128-byte EIP-2537 encoding; throws if it is not a valid point. */
export function g1ToEip2537(compressed: Uint8Array): Hex {
  const { x, y } = bls12_381.G1.Point.fromBytes(compressed).toAffine();
  return toHex(new Uint8Array([...fp(x), ...fp(y)]));
}

/** A compressed (96-byte) G2 point as the 256-byte EIP-2537 encoding (x.c0, x.c1, y.c0, y.c1). */
export function g2ToEip2537(compressed: Uint8Array): Hex {
  const { x, y } = bls12_381.G2.Point.fromBytes(compressed).toAffine();
  return toHex(new Uint8Array([...fp(x.c0), ...fp(x.c1), ...fp(y.c0), ...fp(y.c1)]));
}

/** The committee as every quorum check takes it: EIP-2537 keys and stakes, in validator index order. */
export interface CommitteeArgs {
  publicKeys: Hex[];
  stakes: bigint[];
}

export function committeeArgs(validators: readonly Pick<Validator, "publicKey" | "stake">[]): CommitteeArgs {
  return { publicKeys: validators.map((v) => g1ToEip2537(v.publicKey)), stakes: validators.map((v) => v.stake) };
}

export interface HeaderArgs {
  chainId: bigint;
  epoch: bigint;
  round: bigint;
  height: bigint;
  parentHash: Hex;
  namespaceRoot: Hex;
  payloadHash: Hex;
  validatorSetHash: Hex;
  proposer: number;
  timestampMs: bigint;
}

export function headerArgs(h: BlockHeader): HeaderArgs {
  return {
    chainId: BigInt(h.chainId),
    epoch: BigInt(h.epoch),
    round: BigInt(h.round),
    height: BigInt(h.height),
    parentHash: toHex(h.parentHash),
    namespaceRoot: toHex(h.namespaceRoot),
    payloadHash: toHex(h.payloadHash),
    validatorSetHash: toHex(h.validatorSetHash),
    proposer: h.proposer,
    timestampMs: BigInt(h.timestampMs),
  };
}

const bytesToBigint = (b: Uint8Array) => BigInt(toHex(b));

/** The committee member leaves the light client commits to: sha256(EIP-2537 key ‖ uint256 stake). */
function committeeLeaves(committee: CommitteeArgs): Uint8Array[] {
  return committee.publicKeys.map((k, i) => {
    const stake = fromHex(`0x${(committee.stakes[i] as bigint).toString(16).padStart(64, "0")}`);
    return sha256(new Uint8Array([...fromHex(k), ...stake]));
  });
}

export interface CommitteeSummaryArgs {
  root: Hex;
  size: bigint;
  totalStake: bigint;
  aggregateKey: Hex;
}

/** Leaves and summary per committee object: a relayer posts many certificates with one committee. */
const derived = new WeakMap<CommitteeArgs, { leaves: Uint8Array[]; summary: CommitteeSummaryArgs }>();

function derive(committee: CommitteeArgs): { leaves: Uint8Array[]; summary: CommitteeSummaryArgs } {
  let d = derived.get(committee);
  if (!d) {
    const leaves = committeeLeaves(committee);
    d = { leaves, summary: summarize(committee, leaves) };
    derived.set(committee, d);
  }
  return d;
}

/** What certificates pass of the committee (`CommitteeSummary`): its leaves' root, size, total stake, aggregate key. */
export function committeeSummary(committee: CommitteeArgs): CommitteeSummaryArgs {
  return derive(committee).summary;
}

function summarize(committee: CommitteeArgs, leaves: Uint8Array[]): CommitteeSummaryArgs {
  let sum = bls12_381.G1.Point.ZERO;
  for (const k of committee.publicKeys) {
    const b = fromHex(k);
    sum = sum.add(
      bls12_381.G1.Point.fromAffine({ x: bytesToBigint(b.subarray(0, 64)), y: bytesToBigint(b.subarray(64)) }),
    );
  }
  const { x, y } = sum.toAffine();
  return {
    root: toHex(merkleRoot(leaves)),
    size: BigInt(committee.publicKeys.length),
    totalStake: committee.stakes.reduce((a, b) => a + b, 0n),
    aggregateKey: toHex(new Uint8Array([...fp(x), ...fp(y)])),
  };
}

/**
 * The arguments of `submitFinalityCertificate`: `headers` ascending one height
 * at a time, the last finalized by `qc` (the quorum certificate whose
 * `committedHash` is its hash), each earlier one the parent its successor
 * names; the committee members outside `qc`'s signer bitmap go in as
 * non-signers with their Merkle paths.
 */
export function finalityCertificateArgs(
  headers: readonly BlockHeader[],
  qc: QuorumCertificate,
  committee: CommitteeArgs,
) {
  const { leaves, summary } = derive(committee);
  const nonSigners = committee.publicKeys.flatMap((publicKey, index) =>
    bitmapHas(qc.signers, index)
      ? []
      : [
          {
            index: BigInt(index),
            publicKey,
            stake: committee.stakes[index] as bigint,
            path: merkleProof(leaves, index).map(toHex),
          },
        ],
  );
  return [
    headers.map(headerArgs),
    {
      epoch: BigInt(qc.epoch),
      round: BigInt(qc.round),
      blockHash: toHex(qc.blockHash),
      signature: g2ToEip2537(qc.signature),
      nonSigners,
    },
    summary,
  ] as const;
}

/** `submitEpochChange`'s proof (the contract's `TransactionProof`): core's `TransactionInclusionProof` in ABI form. */
export interface TransactionProofArgs {
  leaf: { namespace: number; count: number; txRoot: Hex };
  leafIndex: number;
  leafCount: number;
  leafPath: Hex[];
  txIndex: number;
  txPath: Hex[];
}

export function transactionProofArgs(proof: TransactionInclusionProof): TransactionProofArgs {
  return {
    leaf: { namespace: proof.leaf.namespace, count: proof.leaf.count, txRoot: toHex(proof.leaf.txRoot) },
    leafIndex: proof.leafIndex,
    leafCount: proof.leafCount,
    leafPath: proof.leafPath.map(toHex),
    txIndex: proof.txIndex,
    txPath: proof.txPath.map(toHex),
  };
}

/**
 * The arguments of `submitEpochChange`: the finalized block at `height` (the
 * current epoch's last block) holds, in namespace 0, the epoch-change
 * transaction `encodeEpochChange({ nextEpoch, validatorSetHash })` of `newSet`,
 * and `proof` is its `proveTransaction(payload, 0, txIndex)`. `newSet` goes in
 * as EIP-2537 keys and stakes in index order (its epoch is not passed: the
 * contract takes `currentEpoch + 1`). No check here: the contract decides.
 */
export function epochChangeArgs(
  height: number,
  newSet: ValidatorSetData | ValidatorSet,
  proof: TransactionInclusionProof,
) {
  const { publicKeys, stakes } = committeeArgs(newSet.validators);
  return [BigInt(height), publicKeys, stakes, transactionProofArgs(proof)] as const;
}

/** Deploys `OrdoLightClient` trusting `committee` at `epoch`; resolves with its address once mined. */
export async function deployLightClient(
  clients: BridgeClients,
  o: { ordoChainId: number; epoch: number; committee: CommitteeArgs },
): Promise<Address> {
  return deployContract(clients, OrdoLightClientAbi, OrdoLightClientBytecode, [
    BigInt(o.ordoChainId),
    BigInt(o.epoch),
    o.committee.publicKeys,
    o.committee.stakes,
  ]);
}
