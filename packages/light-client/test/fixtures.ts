/**
 * Committees, headers and certificates signed for real (BLS12-381 through
 * blst), shared by the tests and the benchmark. Keys are derived from fixed
 * seeds so failures replay.
 */
import {
  type BlockHeader,
  type BlockPayload,
  type BlsBackend,
  type Bytes32,
  blstBackend,
  createBitmap,
  encodeEpochChange,
  generateValidatorKey,
  hashHeader,
  hashValidatorSet,
  namespaceRoot,
  proveTransaction,
  type QuorumCertificate,
  SYSTEM_NAMESPACE,
  sha256,
  type ValidatorKey,
  type ValidatorSetData,
  voteDigest,
} from "@ordo/core";
import type { Checkpoint, EpochChange } from "../src/index.js";

export const CHAIN = 7;

export interface TestCommittee {
  epoch: number;
  keys: ValidatorKey[];
  data: ValidatorSetData;
  hash: Bytes32;
}

/** A committee whose keys come from `seed`: the same seed gives the same keys on every run. */
export function makeCommittee(epoch: number, stakes: bigint[], seed: string, bls: BlsBackend = blstBackend) {
  const keys = stakes.map((_, i) => generateValidatorKey(bls, sha256(new TextEncoder().encode(`${seed}/${i}`))));
  const data: ValidatorSetData = {
    epoch,
    validators: keys.map((k, i) => ({
      publicKey: k.publicKey,
      stake: stakes[i] as bigint,
      proofOfPossession: k.proofOfPossession,
    })),
  };
  return { epoch, keys, data, hash: hashValidatorSet(data) } satisfies TestCommittee;
}

export function checkpointOf(c: TestCommittee, height?: number): Checkpoint {
  return height === undefined
    ? { chainId: CHAIN, validatorSet: c.data }
    : { chainId: CHAIN, validatorSet: c.data, height };
}

/** Deterministic 32 bytes per label. */
export function bytes32(label: string): Bytes32 {
  return sha256(new TextEncoder().encode(label));
}

/** `count` headers from `from`, each naming its predecessor's hash; the first names `parentHash`. */
export function makeChain(
  c: TestCommittee,
  from: number,
  count: number,
  options: { parentHash?: Bytes32; namespaceRoots?: Bytes32[]; salt?: string } = {},
): BlockHeader[] {
  const out: BlockHeader[] = [];
  let parent = options.parentHash ?? bytes32(`parent-of-${from}`);
  for (let i = 0; i < count; i++) {
    const height = from + i;
    const h: BlockHeader = {
      chainId: CHAIN,
      epoch: c.epoch,
      round: height * 2 + 1,
      height,
      parentHash: parent,
      namespaceRoot: options.namespaceRoots?.[i] ?? bytes32(`ns-root-${height}`),
      payloadHash: bytes32(`payload-${height}${options.salt ?? ""}`),
      validatorSetHash: c.hash,
      proposer: height % c.keys.length,
      timestampMs: 1_700_000_000_000 + height * 500,
    };
    out.push(h);
    parent = hashHeader(h);
  }
  return out;
}

/**
 * The QC that commits `last` (its child's QC, with `committedHash = hash(last)`),
 * signed by `signers` one by one and aggregated, as validators do. `digest`
 * replaces what they sign (a forgery).
 */
export function certify(
  c: TestCommittee,
  last: BlockHeader,
  signers: number[],
  options: { digest?: Bytes32; bls?: BlsBackend } = {},
): QuorumCertificate {
  const bls = options.bls ?? blstBackend;
  const qc = {
    epoch: c.epoch,
    round: last.round + 1,
    blockHash: bytes32(`child-of-${last.height}-${Buffer.from(hashHeader(last)).toString("hex")}`),
    committedHash: hashHeader(last),
  };
  const message = options.digest ?? voteDigest(CHAIN, qc.epoch, qc.round, qc.blockHash, qc.committedHash);
  const signature = bls.aggregateSignatures(
    signers.map((i) => bls.sign((c.keys[i] as ValidatorKey).secretKey, message)),
  );
  return { ...qc, signers: createBitmap(c.keys.length, signers), signature };
}

/**
 * An epoch's last block: its system namespace holds another system transaction
 * and the commitment to `next` (what consensus puts there), beside a rollup's
 * transaction. Returns the header (not yet certified) and the epoch change a
 * node would serve for it.
 */
export function epochEndBlock(
  c: TestCommittee,
  height: number,
  parentHash: Bytes32,
  next: Pick<TestCommittee, "epoch" | "hash" | "data">,
): { header: BlockHeader; payload: BlockPayload; change: EpochChange } {
  const payload: BlockPayload = {
    groups: [
      {
        namespace: SYSTEM_NAMESPACE,
        transactions: [
          bytes32(`market-tx-${height}`),
          encodeEpochChange({ nextEpoch: next.epoch, validatorSetHash: next.hash }),
        ],
      },
      { namespace: 3, transactions: [bytes32(`rollup-tx-${height}`)] },
    ],
  };
  const [header] = makeChain(c, height, 1, { parentHash, namespaceRoots: [namespaceRoot(payload)] });
  return {
    header: header as BlockHeader,
    payload,
    change: { height, newSet: next.data, proof: proveTransaction(payload, SYSTEM_NAMESPACE, 1) },
  };
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
