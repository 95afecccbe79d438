/** The light client's data: what it is given to trust, what it accepts, and what it proves when a committee lies. */
import type { BlockHeader, Bytes32, NamespaceId, QuorumCertificate, ValidatorSetData } from "@ordo/core";

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

/** The next epoch's committee, signed (its `hashValidatorSet`) by more than 2/3 of the current committee's stake. */
export interface CommitteeChange {
  newSet: ValidatorSetData;
  /** Signer bitmap over the current (outgoing) committee. */
  signers: Uint8Array;
  /** BLS aggregate of the signers' signatures over `hashValidatorSet(newSet)`. */
  signature: Uint8Array;
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
