/**
 * Forming and checking quorum and timeout certificates.
 *
 * Votes are aggregated optimistically: the leader does not verify votes one by
 * one as they arrive; once a quorum of stake has voted for one digest it
 * aggregates and verifies the aggregate once, and only if that fails verifies the
 * votes individually to drop the bad ones.
 */
import {
  type BlsBackend,
  bitmapIndices,
  bytesEqual,
  createBitmap,
  isZeroHash,
  type QuorumCertificate,
  type TimeoutCertificate,
  timeoutDigest,
  toHex,
  type ValidatorIndex,
  type ValidatorSet,
  type Vote,
  voteDigest,
  ZERO_HASH,
} from "@ordo/core";

/** Counts every BLS verification so benchmarks can report verifications per commit. */
export interface VerificationCounter {
  verifications: number;
}

/** What a replica needs to check signatures in one epoch. */
export class CertificateVerifier {
  /** QCs and TCs already verified by this replica, keyed by their full content. */
  private readonly verified = new Set<string>();
  readonly counter: VerificationCounter = { verifications: 0 };

  constructor(
    readonly bls: BlsBackend,
    readonly chainId: number,
    readonly validators: ValidatorSet,
    readonly genesisHash: Uint8Array,
    /** Round of the block the epoch starts from (0 for genesis). */
    readonly genesisRound = 0,
  ) {}

  verifySignature(author: ValidatorIndex, digest: Uint8Array, signature: Uint8Array): boolean {
    if (!this.validators.has(author)) return false;
    this.counter.verifications++;
    return this.bls.verify(this.validators.publicKey(author), digest, signature);
  }

  /** Marks a QC this replica aggregated itself from checked votes, so it is not verified again. */
  rememberQc(qc: QuorumCertificate): void {
    this.remember(this.qcKey(qc));
  }

  private qcKey(qc: QuorumCertificate): string {
    return `qc:${toHex(qc.signature)}:${toHex(qc.signers)}:${qc.round}:${toHex(qc.blockHash)}:${toHex(qc.committedHash)}`;
  }

  private remember(key: string): void {
    if (this.verified.size > 8192) this.verified.clear();
    this.verified.add(key);
  }

  /** The epoch's root QC (no signatures) certifies exactly the block the epoch starts from, at its round. */
  isGenesisQc(qc: QuorumCertificate): boolean {
    return qc.round === this.genesisRound && bytesEqual(qc.blockHash, this.genesisHash) && qc.signature.length === 0;
  }

  verifyQc(qc: QuorumCertificate): boolean {
    if (qc.epoch !== this.validators.epoch) return false;
    if (qc.round <= this.genesisRound || qc.signature.length === 0)
      return this.isGenesisQc(qc) && isZeroHash(qc.committedHash);
    const key = this.qcKey(qc);
    if (this.verified.has(key)) return true;
    const stake = this.validators.signedStake(qc.signers);
    if (stake < 0n || !this.validators.isQuorum(stake)) return false;
    const keys = bitmapIndices(qc.signers).map((i) => this.validators.publicKey(i));
    const digest = voteDigest(this.chainId, qc.epoch, qc.round, qc.blockHash, qc.committedHash);
    this.counter.verifications++;
    if (!this.bls.fastAggregateVerify(keys, digest, qc.signature)) return false;
    this.remember(key);
    return true;
  }

  verifyTc(tc: TimeoutCertificate): boolean {
    if (tc.epoch !== this.validators.epoch || tc.round < 1) return false;
    const key = `tc:${toHex(tc.signature)}:${toHex(tc.signers)}:${tc.round}:${tc.highQcRounds.join(",")}`;
    if (this.verified.has(key)) return true;
    const stake = this.validators.signedStake(tc.signers);
    if (stake < 0n || !this.validators.isQuorum(stake)) return false;
    const signers = bitmapIndices(tc.signers);
    if (signers.length !== tc.highQcRounds.length) return false;
    // Signers that reported the same high-QC round signed the same message: aggregate their keys.
    const groups = new Map<number, Uint8Array[]>();
    for (let k = 0; k < signers.length; k++) {
      const hqc = tc.highQcRounds[k] as number;
      if (hqc >= tc.round) return false;
      const list = groups.get(hqc) ?? [];
      list.push(this.validators.publicKey(signers[k] as number));
      groups.set(hqc, list);
    }
    const messages: Uint8Array[] = [];
    const keys: Uint8Array[] = [];
    for (const [hqc, pks] of groups) {
      messages.push(timeoutDigest(this.chainId, tc.epoch, tc.round, hqc));
      keys.push(pks.length === 1 ? (pks[0] as Uint8Array) : this.bls.aggregatePublicKeys(pks));
    }
    this.counter.verifications++;
    if (!this.bls.aggregateVerify(keys, messages, tc.signature)) return false;
    this.remember(key);
    return true;
  }
}

export function genesisQc(genesisHash: Uint8Array): QuorumCertificate {
  return rootQc(genesisHash, 0, 0);
}

/** The signature-less QC that certifies the block an epoch starts from (checked by identity, not by signatures). */
export function rootQc(blockHash: Uint8Array, epoch: number, round: number): QuorumCertificate {
  return {
    epoch,
    round,
    blockHash,
    committedHash: ZERO_HASH,
    signers: new Uint8Array(0),
    signature: new Uint8Array(0),
  };
}

interface PendingVote {
  vote: Vote;
  digestKey: string;
  verified: boolean;
}

export type VoteOutcome =
  | { kind: "pending" }
  | { kind: "qc"; qc: QuorumCertificate }
  | { kind: "equivocation"; first: Vote; second: Vote }
  | { kind: "rejected"; reason: string };

/** Collects votes for one round at the next leader. */
export class VoteAggregator {
  private readonly byAuthor = new Map<ValidatorIndex, PendingVote>();
  private readonly rejectedAuthors = new Set<ValidatorIndex>();
  private formed = false;

  constructor(
    private readonly verifier: CertificateVerifier,
    readonly round: number,
  ) {}

  add(vote: Vote): VoteOutcome {
    const validators = this.verifier.validators;
    if (!validators.has(vote.author)) return { kind: "rejected", reason: `unknown voter ${vote.author}` };
    if (this.rejectedAuthors.has(vote.author))
      return { kind: "rejected", reason: "voter sent a bad signature this round" };
    const digestKey = `${toHex(vote.blockHash)}:${toHex(vote.committedHash)}`;
    const prior = this.byAuthor.get(vote.author);
    if (prior) {
      if (prior.digestKey === digestKey) return { kind: "pending" };
      return { kind: "equivocation", first: prior.vote, second: vote };
    }
    this.byAuthor.set(vote.author, { vote, digestKey, verified: false });
    if (this.formed) return { kind: "pending" };
    return this.tryForm(digestKey, vote);
  }

  private tryForm(digestKey: string, sample: Vote): VoteOutcome {
    const validators = this.verifier.validators;
    const matching = [...this.byAuthor.values()].filter((p) => p.digestKey === digestKey);
    let stake = 0n;
    for (const p of matching) stake += validators.stakeOf(p.vote.author);
    if (!validators.isQuorum(stake)) return { kind: "pending" };
    const digest = voteDigest(this.verifier.chainId, sample.epoch, this.round, sample.blockHash, sample.committedHash);
    matching.sort((a, b) => a.vote.author - b.vote.author);
    const bls = this.verifier.bls;
    let signature: Uint8Array = new Uint8Array(0);
    let ok = false;
    try {
      signature = bls.aggregateSignatures(matching.map((p) => p.vote.signature));
      this.verifier.counter.verifications++;
      ok = bls.fastAggregateVerify(
        matching.map((p) => validators.publicKey(p.vote.author)),
        digest,
        signature,
      );
    } catch {
      // A signature that is not even a curve point: fall through to checking each vote.
    }
    let signers = matching;
    if (!ok) {
      // Someone sent a bad signature: find and drop them, then see whether a quorum remains.
      signers = [];
      for (const p of matching) {
        if (p.verified || this.verifier.verifySignature(p.vote.author, digest, p.vote.signature)) {
          p.verified = true;
          signers.push(p);
        } else {
          this.byAuthor.delete(p.vote.author);
          this.rejectedAuthors.add(p.vote.author);
        }
      }
      let good = 0n;
      for (const p of signers) good += validators.stakeOf(p.vote.author);
      if (!validators.isQuorum(good)) return { kind: "pending" };
      signature = bls.aggregateSignatures(signers.map((p) => p.vote.signature));
    }
    this.formed = true;
    const qc: QuorumCertificate = {
      epoch: sample.epoch,
      round: this.round,
      blockHash: sample.blockHash,
      committedHash: sample.committedHash,
      signers: createBitmap(
        validators.size,
        signers.map((p) => p.vote.author),
      ),
      signature,
    };
    this.verifier.rememberQc(qc);
    return { kind: "qc", qc };
  }
}

/** Collects verified timeouts for one round; a quorum of stake forms a TC. */
export class TimeoutAggregator {
  private readonly byAuthor = new Map<ValidatorIndex, { highQcRound: number; signature: Uint8Array }>();
  private stake = 0n;
  private tc: TimeoutCertificate | null = null;

  constructor(
    private readonly verifier: CertificateVerifier,
    readonly epoch: number,
    readonly round: number,
  ) {}

  has(author: ValidatorIndex): boolean {
    return this.byAuthor.has(author);
  }

  /** Adds a timeout whose signature the caller has verified. */
  add(author: ValidatorIndex, highQcRound: number, signature: Uint8Array): void {
    if (this.byAuthor.has(author)) return;
    this.byAuthor.set(author, { highQcRound, signature });
    this.stake += this.verifier.validators.stakeOf(author);
  }

  /** More than a third of stake timed out: at least one honest validator did, so joining is safe for liveness. */
  exceedsOneThird(): boolean {
    return this.verifier.validators.exceedsOneThird(this.stake);
  }

  certificate(): TimeoutCertificate | null {
    if (this.tc) return this.tc;
    const validators = this.verifier.validators;
    if (!validators.isQuorum(this.stake)) return null;
    const authors = [...this.byAuthor.keys()].sort((a, b) => a - b);
    this.tc = {
      epoch: this.epoch,
      round: this.round,
      signers: createBitmap(validators.size, authors),
      highQcRounds: authors.map((a) => this.byAuthor.get(a)?.highQcRound as number),
      signature: this.verifier.bls.aggregateSignatures(
        authors.map((a) => this.byAuthor.get(a)?.signature as Uint8Array),
      ),
    };
    return this.tc;
  }
}
