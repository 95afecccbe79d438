/** The light client's data: what it is given to trust, what it accepts, and what it proves when a committee lies. */
import type {
  BlockHeader,
  Bytes32,
  NamespaceId,
  QuorumCertificate,
  TransactionInclusionProof,
  ValidatorSetData,
} from "@ordo/core";

/** A committee member as a checkpoint gives it: the proof of possession is checked when present. */
export interface CheckpointValidator {
  /** BLS12-381 G1 public key, 48 bytes compressed. */
  publicKey: Uint8Array;
  stake: bigint;
  /**
   * Absent when the source does not serve it (`GET /v1/validators` does not): a
   * checkpoint is trusted, and the chain checked every proof when it admitted the key.
   */
  proofOfPossession?: Uint8Array;
}

export interface CheckpointValidatorSet {
  epoch: number;
  validators: CheckpointValidator[];
}

/**
 * What the client trusts without proof: the chain and its committee at some
 * point. Everything after it is verified. A core `ValidatorSetData` (from a
 * genesis file, say) is a valid `validatorSet`.
 */
export interface Checkpoint {
  chainId: number;
  validatorSet: CheckpointValidatorSet | ValidatorSetData;
  /** The height the checkpoint was taken at (informational: reported by `state()`). */
  height?: number;
}

/** A header the client has verified as final, and the epoch whose committee certified it (the client's own record: read-only). */
export interface VerifiedHeader {
  readonly height: number;
  readonly hash: Bytes32;
  readonly namespaceRoot: Bytes32;
  readonly epoch: number;
  readonly header: Readonly<BlockHeader>;
}

/**
 * The next epoch's committee, as the chain commits to it: the current epoch's
 * last block (verified final by the current committee first) carries, in the
 * system namespace, the transaction `encodeEpochChange({ nextEpoch,
 * validatorSetHash: hashValidatorSet(newSet) })`. The same proof moves the L1
 * contract (`OrdoLightClient.submitEpochChange`).
 */
export interface EpochChange {
  /** Height of the current epoch's last block, already verified by `verifyFinality`. */
  height: number;
  newSet: ValidatorSetData;
  /** Inclusion of the commitment among that block's system transactions. */
  proof: TransactionInclusionProof;
}

/** One side of a fork: a header and the certificate that made it final. */
export interface CertifiedHeader {
  header: BlockHeader;
  /** Its `committedHash` is the hash of the last header of `chain`. */
  certificate: QuorumCertificate;
  /**
   * `header` and its descendants up to the one the certificate commits, each
   * the parent its successor names: what ties `header` to `certificate`, so a
   * third party can re-check the evidence with the committee alone.
   */
  chain: BlockHeader[];
}

/**
 * Two different headers at one height, each final by a certificate that
 * verified: only possible when more than a third of a committee's stake
 * signed both sides (or a committee change was itself forged), so this is
 * what slashing (or an alarm) needs.
 */
export interface ForkEvidence {
  height: number;
  first: CertifiedHeader;
  second: CertifiedHeader;
}

export interface NamespaceVerification {
  height: number;
  namespace: NamespaceId;
  /** "inclusion": the transactions are all of the namespace's in the block, in block order; "absence": it has none. */
  kind: "inclusion" | "absence";
  transactions: number;
}

export interface LightClientState {
  chainId: number;
  epoch: number;
  validatorSetHash: Bytes32;
  validators: number;
  totalStake: bigint;
  /** Highest height verified as final, null before the first update. */
  highestVerifiedHeight: number | null;
  /** Heights whose headers the client holds (see `forget`). */
  verifiedHeights: number;
  checkpointHeight: number | null;
  /** Conflicts seen (`evidence()`). */
  forks: number;
  /** True once a fork halted the client (`onFork: "halt"`). */
  halted: boolean;
}
