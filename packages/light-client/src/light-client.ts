/**
 * Ordo's light client: the pure core. It holds one trusted committee and
 * accepts exactly what the L1 contract `OrdoLightClient` accepts — a quorum
 * certificate of the current committee whose `committedHash` is the hash of
 * the last of a run of headers, each the parent its successor names — plus
 * committee changes signed by the outgoing committee, and namespace proofs
 * against the roots of headers it verified. No I/O: `rpc.ts` feeds it.
 *
 * Inputs come from untrusted nodes, so every method checks shapes first and
 * refuses with a `LightClientError` (never another exception, never a partial
 * update: state changes only after every check has passed).
 */
import {
  type BlockHeader,
  type BlsBackend,
  type Bytes32,
  bytesEqual,
  encodeEpochChange,
  hashHeader,
  hashValidatorSet,
  InvalidConfigError,
  type NamespaceId,
  type NamespaceProof,
  type QuorumCertificate,
  SYSTEM_NAMESPACE,
  ValidatorSet,
  type ValidatorSetData,
  verifyNamespaceProof,
  verifyTransactionInclusion,
  voteDigest,
} from "@ordo/core";
import { Committee } from "./committee.js";
import { LightClientError } from "./errors.js";
import type {
  CertifiedHeader,
  Checkpoint,
  EpochChange,
  ForkEvidence,
  LightClientState,
  NamespaceVerification,
  VerifiedHeader,
} from "./types.js";

export interface LightClientOptions {
  /**
   * After two certified headers conflict: "halt" (the default) refuses every
   * later update with `HALTED`, because a committee that certified a fork
   * vouches for nothing any more and only a new trusted checkpoint can restore
   * trust; "continue" keeps verifying (the conflicting update is still refused
   * and its evidence recorded), e.g. for a monitor that collects evidence.
   */
  onFork?: "halt" | "continue";
}

/** What the client keeps per verified height: the header, and the certificate and chain that made it final. */
interface Entry {
  verified: VerifiedHeader;
  /** The whole update's headers (shared by its heights) and the header's index in them. */
  headers: BlockHeader[];
  index: number;
  certificate: QuorumCertificate;
}

const MAX_UINT32 = 0xffff_ffff;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null;
}

function isUint(x: unknown, max = Number.MAX_SAFE_INTEGER): x is number {
  return Number.isSafeInteger(x) && (x as number) >= 0 && (x as number) <= max;
}

function isHash(x: unknown): x is Bytes32 {
  return x instanceof Uint8Array && x.length === 32;
}

/** Null when `h` is a header `hashHeader` can encode; otherwise which field is wrong. */
function headerProblem(h: unknown): string | null {
  if (!isObject(h)) return "not an object";
  for (const key of ["chainId", "epoch", "round", "height", "timestampMs"] as const)
    if (!isUint(h[key])) return `${key} is not an unsigned safe integer`;
  if (!isUint(h.proposer, MAX_UINT32)) return "proposer is not a uint32";
  for (const key of ["parentHash", "namespaceRoot", "payloadHash", "validatorSetHash"] as const)
    if (!isHash(h[key])) return `${key} is not 32 bytes`;
  return null;
}

function certificateProblem(c: unknown): string | null {
  if (!isObject(c)) return "not an object";
  if (!isUint(c.epoch)) return "epoch is not an unsigned safe integer";
  if (!isUint(c.round)) return "round is not an unsigned safe integer";
  if (!isHash(c.blockHash)) return "blockHash is not 32 bytes";
  if (!isHash(c.committedHash)) return "committedHash is not 32 bytes";
  if (!(c.signers instanceof Uint8Array)) return "signers is not bytes";
  if (!(c.signature instanceof Uint8Array)) return "signature is not bytes";
  return null;
}

// Stored copies: a caller that reuses or mutates its objects must not change what the client verified.
function copyHeader(h: BlockHeader): BlockHeader {
  return {
    chainId: h.chainId,
    epoch: h.epoch,
    round: h.round,
    height: h.height,
    parentHash: new Uint8Array(h.parentHash),
    namespaceRoot: new Uint8Array(h.namespaceRoot),
    payloadHash: new Uint8Array(h.payloadHash),
    validatorSetHash: new Uint8Array(h.validatorSetHash),
    proposer: h.proposer,
    timestampMs: h.timestampMs,
  };
}

function copyCertificate(c: QuorumCertificate): QuorumCertificate {
  return {
    epoch: c.epoch,
    round: c.round,
    blockHash: new Uint8Array(c.blockHash),
    committedHash: new Uint8Array(c.committedHash),
    signers: new Uint8Array(c.signers),
    signature: new Uint8Array(c.signature),
  };
}

/** BLS backends promise false on malformed input; a throw is still an invalid signature here, not a crash. */
function safeVerify(f: () => boolean): boolean {
  try {
    return f();
  } catch {
    return false;
  }
}

export class LightClient {
  readonly chainId: number;
  readonly bls: BlsBackend;
  private committee: Committee;
  private readonly checkpointHeight: number | null;
  private readonly onFork: "halt" | "continue";
  private readonly verified = new Map<number, Entry>();
  private readonly forks: ForkEvidence[] = [];
  private highest: number | null = null;
  private halted = false;

  /** Throws `LightClientError` (`INVALID_CHECKPOINT`) when the checkpoint is unusable. */
  constructor(checkpoint: Checkpoint, bls: BlsBackend, options: LightClientOptions = {}) {
    if (!isObject(checkpoint)) throw new LightClientError("INVALID_CHECKPOINT", "the checkpoint is not an object");
    if (!isUint(checkpoint.chainId))
      throw new LightClientError("INVALID_CHECKPOINT", `invalid chain id ${String(checkpoint.chainId)}`);
    if (checkpoint.height !== undefined && !isUint(checkpoint.height))
      throw new LightClientError("INVALID_CHECKPOINT", `invalid checkpoint height ${String(checkpoint.height)}`);
    const committee = Committee.fromCheckpoint(checkpoint.validatorSet, bls);
    if (typeof committee === "string")
      throw new LightClientError("INVALID_CHECKPOINT", `invalid checkpoint committee: ${committee}`);
    this.chainId = checkpoint.chainId;
    this.bls = bls;
    this.committee = committee;
    this.checkpointHeight = checkpoint.height ?? null;
    this.onFork = options.onFork ?? "halt";
  }

  /**
   * Verifies a finality update — `certificate` commits the last of `headers`,
   * each earlier header is the parent its successor names — and records every
   * header as final. Idempotent for headers already verified identically.
   * Throws `LightClientError`; with `CONFLICTING_HEADER` nothing new is
   * recorded but the evidence is (`evidence()`).
   */
  verifyFinality(headers: BlockHeader[], certificate: QuorumCertificate): VerifiedHeader[] {
    this.assertLive();
    if (!Array.isArray(headers)) throw new LightClientError("MALFORMED", "headers is not an array");
    if (headers.length === 0)
      throw new LightClientError("EMPTY_HEADERS", "a finality update needs at least one header");
    for (const [i, h] of headers.entries()) {
      const problem = headerProblem(h);
      if (problem !== null) throw new LightClientError("MALFORMED", `header ${i}: ${problem}`);
    }
    const certProblem = certificateProblem(certificate);
    if (certProblem !== null) throw new LightClientError("MALFORMED", `certificate: ${certProblem}`);

    const committee = this.committee;
    for (const h of headers)
      if (h.chainId !== this.chainId)
        throw new LightClientError("WRONG_CHAIN", `header ${h.height} is of chain ${h.chainId}, not ${this.chainId}`);
    this.checkEpoch(certificate.epoch, "certificate");
    // The L1 contract checks the committed header only; every header here, since all are certified by this
    // committee alone. (When consensus changes epochs, a chain crossing the boundary will need the set by epoch.)
    for (const h of headers)
      if (!bytesEqual(h.validatorSetHash, committee.hash))
        throw new LightClientError(
          "WRONG_VALIDATOR_SET",
          `header ${h.height} names another validator set than epoch ${committee.epoch}'s`,
        );

    const hashes = headers.map(hashHeader);
    for (let i = 1; i < headers.length; i++) {
      const prev = headers[i - 1] as BlockHeader;
      const next = headers[i] as BlockHeader;
      if (next.height !== prev.height + 1 || !bytesEqual(next.parentHash, hashes[i - 1] as Bytes32))
        throw new LightClientError(
          "NOT_A_CHAIN",
          `header ${i - 1} (height ${prev.height}) is not the parent header ${i} (height ${next.height}) names`,
        );
    }
    const last = headers[headers.length - 1] as BlockHeader;
    if (!bytesEqual(certificate.committedHash, hashes[hashes.length - 1] as Bytes32))
      throw new LightClientError("NOT_COMMITTED", `the certificate does not commit header ${last.height}`);

    this.checkQuorum(
      certificate.signers,
      certificate.signature,
      voteDigest(this.chainId, certificate.epoch, certificate.round, certificate.blockHash, certificate.committedHash),
      "certificate",
    );

    // Everything is certified: only now can a difference from what was verified before be evidence.
    const storedHeaders = headers.map(copyHeader);
    const storedCertificate = copyCertificate(certificate);
    const conflicts: ForkEvidence[] = [];
    headers.forEach((h, i) => {
      const known = this.verified.get(h.height);
      if (known && !bytesEqual(known.verified.hash, hashes[i] as Bytes32))
        conflicts.push({
          height: h.height,
          first: certifiedSide(known.headers, known.index, known.certificate),
          second: certifiedSide(storedHeaders, i, storedCertificate),
        });
    });
    if (conflicts.length > 0) {
      this.forks.push(...conflicts);
      if (this.onFork === "halt") this.halted = true;
      const heights = conflicts.map((c) => c.height).join(", ");
      throw new LightClientError(
        "CONFLICTING_HEADER",
        `a certified header conflicts with one verified before at height ${heights}: the committee certified a fork`,
        { evidence: conflicts, details: "both sides carry a certificate that verifies; see `evidence`" },
      );
    }

    return headers.map((h, i) => {
      const known = this.verified.get(h.height);
      // Keep the first proof of a header: re-verifying it proves nothing new.
      if (known) return known.verified;
      const verified: VerifiedHeader = {
        height: h.height,
        hash: hashes[i] as Bytes32,
        namespaceRoot: (storedHeaders[i] as BlockHeader).namespaceRoot,
        epoch: certificate.epoch,
        header: storedHeaders[i] as BlockHeader,
      };
      this.verified.set(h.height, { verified, headers: storedHeaders, index: i, certificate: storedCertificate });
      if (this.highest === null || h.height > this.highest) this.highest = h.height;
      return verified;
    });
  }

  /**
   * Moves to the next epoch's committee. The change is certified by the
   * outgoing committee: `change.height` must be a block this client verified
   * under the current committee, and its system transactions must include the
   * commitment to `hashValidatorSet(newSet)` for the next epoch (consensus
   * lets only an epoch's last block carry it). The new set must pass
   * `ValidatorSet.create`: later certificates aggregate its keys, so every
   * proof of possession is checked.
   */
  applyEpochChange(change: EpochChange): LightClientState {
    this.assertLive();
    if (!isObject(change) || !isObject(change.newSet) || !isObject(change.proof))
      throw new LightClientError("MALFORMED", "an epoch change needs a height, a newSet and a proof");
    const { newSet } = change;
    if (!isUint(newSet.epoch))
      throw new LightClientError("MALFORMED", `invalid committee epoch ${String(newSet.epoch)}`);
    const current = this.committee.epoch;
    if (newSet.epoch <= current)
      throw new LightClientError(
        "STALE_EPOCH",
        `committee of epoch ${newSet.epoch}; the client is at epoch ${current}`,
      );
    if (newSet.epoch !== current + 1)
      throw new LightClientError(
        "UNKNOWN_EPOCH",
        `committee of epoch ${newSet.epoch}; the client is at epoch ${current} and takes ${current + 1} next`,
      );
    const entry = isUint(change.height) ? this.verified.get(change.height) : undefined;
    if (!entry || entry.verified.epoch !== current)
      throw new LightClientError(
        "UNVERIFIED_HEIGHT",
        `height ${String(change.height)} is not a block verified under epoch ${current}'s committee`,
        { fix: "verify the epoch's last block with verifyFinality first" },
      );
    let setHash: Bytes32;
    try {
      setHash = hashValidatorSet(newSet);
    } catch (e) {
      throw new LightClientError("INVALID_COMMITTEE", `the new committee cannot be hashed: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const commitment = encodeEpochChange({ nextEpoch: newSet.epoch, validatorSetHash: setHash });
    // verifyTransactionInclusion answers false (never throws) whatever it is given.
    if (!verifyTransactionInclusion(entry.verified.namespaceRoot, SYSTEM_NAMESPACE, commitment, change.proof))
      throw new LightClientError(
        "EPOCH_CHANGE_NOT_PROVEN",
        `block ${change.height} does not commit to this committee for epoch ${newSet.epoch}`,
        {
          details:
            "the proof does not show the epoch-change commitment to hashValidatorSet(newSet) in its system transactions",
        },
      );
    let set: ValidatorSet;
    try {
      set = ValidatorSet.create(copySet(newSet), this.bls);
    } catch (e) {
      const reason = e instanceof InvalidConfigError ? e.message : `malformed (${(e as Error).message})`;
      throw new LightClientError("INVALID_COMMITTEE", `the new committee is invalid: ${reason}`, { cause: e });
    }
    this.committee = Committee.fromValidatorSet(set);
    return this.state();
  }

  /**
   * Checks that `transactions` are all of `namespace`'s transactions in the
   * verified block at `height`, in block order (an inclusion proof), or that
   * it has none (an absence proof, with `transactions` empty).
   */
  verifyNamespace(
    height: number,
    namespace: NamespaceId,
    transactions: Uint8Array[],
    proof: NamespaceProof,
  ): NamespaceVerification {
    this.assertLive();
    const entry = isUint(height) ? this.verified.get(height) : undefined;
    if (!entry)
      throw new LightClientError("UNVERIFIED_HEIGHT", `height ${String(height)} has not been verified as final`);
    // verifyNamespaceProof answers false (never throws) whatever it is given.
    if (!verifyNamespaceProof(entry.verified.namespaceRoot, namespace, transactions, proof))
      throw new LightClientError(
        "NAMESPACE_PROOF_INVALID",
        `the proof does not show these ${Array.isArray(transactions) ? transactions.length : "?"} transactions to be all of namespace ${String(namespace)}'s at height ${height}`,
      );
    return { height, namespace, kind: proof.kind, transactions: transactions.length };
  }

  /** The verified header at `height`, if any. */
  header(height: number): VerifiedHeader | undefined {
    return this.verified.get(height)?.verified;
  }

  /** Stake of the signers in a bitmap under the current committee; -1n when the bitmap is malformed for it. */
  signedStake(bitmap: Uint8Array): bigint {
    return this.committee.signedStake(bitmap);
  }

  /** The current committee, as public keys and stakes (proofs of possession are not kept). */
  validators(): { epoch: number; publicKeys: Uint8Array[]; stakes: bigint[] } {
    const c = this.committee;
    return { epoch: c.epoch, publicKeys: c.publicKeys.map((k) => new Uint8Array(k)), stakes: [...c.stakes] };
  }

  /** Every conflict seen, oldest first. */
  evidence(): ForkEvidence[] {
    return [...this.forks];
  }

  /**
   * Drops the headers below `height` (memory grows by one header per height
   * otherwise). A conflict at a forgotten height can no longer be detected, and
   * namespace queries there answer `UNVERIFIED_HEIGHT`.
   */
  forget(belowHeight: number): number {
    let dropped = 0;
    for (const height of [...this.verified.keys()])
      if (height < belowHeight) {
        this.verified.delete(height);
        dropped++;
      }
    return dropped;
  }

  state(): LightClientState {
    const c = this.committee;
    return {
      chainId: this.chainId,
      epoch: c.epoch,
      validatorSetHash: new Uint8Array(c.hash),
      validators: c.size,
      totalStake: c.totalStake,
      highestVerifiedHeight: this.highest,
      verifiedHeights: this.verified.size,
      checkpointHeight: this.checkpointHeight,
      forks: this.forks.length,
      halted: this.halted,
    };
  }

  private assertLive(): void {
    if (this.halted)
      throw new LightClientError("HALTED", "the client saw the committee certify a fork and accepts no more updates", {
        fix: "inspect evidence(), then start again from a new trusted checkpoint",
      });
  }

  private checkEpoch(epoch: number, what: string): void {
    const current = this.committee.epoch;
    if (epoch < current)
      throw new LightClientError("STALE_EPOCH", `${what} of epoch ${epoch}; the client is at epoch ${current}`);
    if (epoch > current)
      throw new LightClientError(
        "UNKNOWN_EPOCH",
        `${what} of epoch ${epoch}; the client is at epoch ${current} (apply the committee changes first)`,
      );
  }

  /** Signed stake > 2/3 of the current committee's, and the signers' BLS aggregate over `digest`. */
  private checkQuorum(signers: Uint8Array, signature: Uint8Array, digest: Bytes32, what: string): void {
    const committee = this.committee;
    const stake = committee.signedStake(signers);
    if (stake < 0n)
      throw new LightClientError(
        "BAD_BITMAP",
        `${what}: a signer bitmap of ${signers.length} bytes does not fit a committee of ${committee.size}`,
      );
    if (!committee.isQuorum(stake))
      throw new LightClientError(
        "INSUFFICIENT_STAKE",
        `${what}: signers hold ${stake} of ${committee.totalStake} stake; more than 2/3 is needed`,
      );
    const keys = committee.signerKeys(signers);
    if (!safeVerify(() => this.bls.fastAggregateVerify(keys, digest, signature)))
      throw new LightClientError("BAD_SIGNATURE", `${what}: the aggregate signature does not verify`);
  }
}

function certifiedSide(headers: BlockHeader[], index: number, certificate: QuorumCertificate): CertifiedHeader {
  return { header: headers[index] as BlockHeader, certificate, chain: headers.slice(index) };
}

/** A copy `ValidatorSet.create` can keep: the caller's arrays must not alias the committee. */
function copySet(data: ValidatorSetData): ValidatorSetData {
  if (!Array.isArray(data.validators)) throw new InvalidConfigError("validators is not an array");
  return {
    epoch: data.epoch,
    validators: data.validators.map((v) => {
      if (!isObject(v)) throw new InvalidConfigError("a validator is not an object");
      // ValidatorSet.create compares stakes with bigints; a number would slip through its range check.
      if (typeof v.stake !== "bigint") throw new InvalidConfigError("a stake is not a bigint");
      return {
        publicKey: v.publicKey instanceof Uint8Array ? new Uint8Array(v.publicKey) : v.publicKey,
        stake: v.stake,
        proofOfPossession:
          v.proofOfPossession instanceof Uint8Array ? new Uint8Array(v.proofOfPossession) : v.proofOfPossession,
      };
    }),
  };
}
