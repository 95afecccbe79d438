/**
 * Canonical hashes. Every hash the L1 must recompute is `sha256(abi.encode(...))`
 * over static ABI types, so Solidity gets the same bytes from `abi.encode` and the
 * 0x02 precompile. Signed digests start with a 32-byte domain tag so that no
 * signature over one kind of statement can be replayed as another.
 */
import { encodeAbiParameters, hexToBytes } from "viem";
import type { Bytes32 } from "./bytes.js";
import { toHex } from "./bytes.js";
import { sha256 } from "./crypto/sha256.js";
import type { BlockHeader, NamespaceId } from "./types.js";

/**
 * ABI-encodes static values (uint up to 2^53-1, bytes32) as 32-byte words by
 * hand: the bytes `encodeAbiParameters` gives (the tests compare them), without
 * its hex round trips, because consensus hashes these on every message.
 */
export function encodeStaticAbiWords(values: readonly (number | Uint8Array)[]): Uint8Array {
  const out = Buffer.alloc(32 * values.length);
  values.forEach((v, i) => {
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${v} is not an unsigned safe integer`);
      out.writeUInt32BE(Math.floor(v / 2 ** 32), 32 * i + 24);
      out.writeUInt32BE(v >>> 0, 32 * i + 28);
    } else {
      if (v.length !== 32) throw new RangeError(`expected a 32-byte word, got ${v.length} bytes`);
      out.set(v, 32 * i);
    }
  });
  return out;
}

const staticWords = encodeStaticAbiWords;

/** `sha256("ORDO/v1/<name>")`: the 32-byte tag that starts every signed digest of one kind. */
export function domainTag(name: string): Bytes32 {
  return sha256(new TextEncoder().encode(`ORDO/v1/${name}`));
}

export const DOMAIN = {
  vote: domainTag("vote"),
  timeout: domainTag("timeout"),
  proposal: domainTag("proposal"),
  proofOfPossession: domainTag("proof-of-possession"),
  validatorSet: domainTag("validator-set"),
  proofAttestation: domainTag("proof-attestation"),
  daAttestation: domainTag("da-attestation"),
  epochChange: domainTag("epoch-change"),
} as const;

const HEADER_ABI = [
  { type: "uint64", name: "chainId" },
  { type: "uint64", name: "epoch" },
  { type: "uint64", name: "round" },
  { type: "uint64", name: "height" },
  { type: "bytes32", name: "parentHash" },
  { type: "bytes32", name: "namespaceRoot" },
  { type: "bytes32", name: "payloadHash" },
  { type: "bytes32", name: "validatorSetHash" },
  { type: "uint32", name: "proposer" },
  { type: "uint64", name: "timestampMs" },
] as const;

/** ABI types of a header, in order; the L1 contract's `BlockHeader` struct mirrors them. */
export const BLOCK_HEADER_ABI = HEADER_ABI;

export function encodeHeaderAbi(h: BlockHeader): Uint8Array {
  return staticWords([
    h.chainId,
    h.epoch,
    h.round,
    h.height,
    h.parentHash,
    h.namespaceRoot,
    h.payloadHash,
    h.validatorSetHash,
    h.proposer,
    h.timestampMs,
  ]);
}

export function hashHeader(h: BlockHeader): Bytes32 {
  return sha256(encodeHeaderAbi(h));
}

/** ABI types of a vote digest preimage (domain tag, chainId, epoch, round, blockHash, committedHash). */
export const VOTE_DIGEST_ABI = [
  { type: "bytes32" },
  { type: "uint64" },
  { type: "uint64" },
  { type: "uint64" },
  { type: "bytes32" },
  { type: "bytes32" },
] as const;

/** What a vote (and so a QC) signs. */
export function voteDigest(
  chainId: number,
  epoch: number,
  round: number,
  blockHash: Bytes32,
  committedHash: Bytes32,
): Bytes32 {
  return sha256(staticWords([DOMAIN.vote, chainId, epoch, round, blockHash, committedHash]));
}

/** ABI types of a timeout digest preimage (domain tag, chainId, epoch, round, highQcRound). */
export const TIMEOUT_DIGEST_ABI = [
  { type: "bytes32" },
  { type: "uint64" },
  { type: "uint64" },
  { type: "uint64" },
  { type: "uint64" },
] as const;

/** What a timeout signs: the round given up and the round of the sender's highest QC. */
export function timeoutDigest(chainId: number, epoch: number, round: number, highQcRound: number): Bytes32 {
  return sha256(staticWords([DOMAIN.timeout, chainId, epoch, round, highQcRound]));
}

/** ABI types of a proposal digest preimage (domain tag, blockHash). */
export const PROPOSAL_DIGEST_ABI = [{ type: "bytes32" }, { type: "bytes32" }] as const;

/** What a proposer signs: the block hash under the proposal domain. */
export function proposalDigest(blockHash: Bytes32): Bytes32 {
  return sha256(staticWords([DOMAIN.proposal, blockHash]));
}

const POP_ABI = [{ type: "bytes32" }, { type: "bytes" }] as const;

export function proofOfPossessionDigest(publicKey: Uint8Array): Bytes32 {
  return sha256(hexToBytes(encodeAbiParameters(POP_ABI, [toHex(DOMAIN.proofOfPossession), toHex(publicKey)])));
}

/** ABI types of a transaction id preimage; `hashTransaction` writes the same bytes by hand because it is hot. */
export const TRANSACTION_ABI = [{ type: "uint32" }, { type: "bytes" }] as const;

/** A transaction's id: `sha256(abi.encode(uint32 namespace, bytes data))`. */
export function hashTransaction(namespace: NamespaceId, data: Uint8Array): Bytes32 {
  // abi.encode(uint32, bytes): [ns word][offset 0x40][length word][data, zero-padded to 32]
  const padded = Math.ceil(data.length / 32) * 32;
  const buf = Buffer.alloc(96 + padded);
  buf.writeUInt32BE(namespace >>> 0, 28);
  buf[63] = 0x40;
  buf.writeUIntBE(data.length, 90, 6);
  buf.set(data, 96);
  return sha256(buf);
}

/** A rollup batch whose proof validators verified: which batch, and the statement its proof establishes. */
export interface BatchStatement {
  namespace: NamespaceId;
  height: number;
  index: number;
  /** Field elements (below the BN254 scalar field order). */
  oldRoot: bigint;
  newRoot: bigint;
  commitment: bigint;
}

function uint256Word(x: bigint): Uint8Array {
  if (x < 0n || x >= 1n << 256n) throw new RangeError(`${x} is not a uint256`);
  return hexToBytes(`0x${x.toString(16).padStart(64, "0")}`);
}

/** `sha256(abi.encode(uint32 namespace, uint64 height, uint32 index, uint256 oldRoot, uint256 newRoot, uint256 commitment))`. */
export function hashBatchStatement(s: BatchStatement): Bytes32 {
  return sha256(
    staticWords([
      s.namespace,
      s.height,
      s.index,
      uint256Word(s.oldRoot),
      uint256Word(s.newRoot),
      uint256Word(s.commitment),
    ]),
  );
}

/**
 * What validators sign to attest that they verified the proofs of a Merkle
 * root (`merkleRoot` of `hashBatchStatement` leaves) of batch statements:
 * `sha256(abi.encode(tag, uint64 chainId, uint64 epoch, bytes32 statementsRoot))`.
 */
export function proofAttestationDigest(chainId: number, epoch: number, statementsRoot: Bytes32): Bytes32 {
  return sha256(staticWords([DOMAIN.proofAttestation, chainId, epoch, statementsRoot]));
}

/**
 * What a validator signs to attest that it holds its verified shards of a
 * block's erasure-coded payload: `sha256(abi.encode(tag, uint64 chainId,
 * uint64 height, bytes32 payloadHash, bytes32 shardRoot))`. More than 2/3 of
 * the stake over one such digest is a DA certificate.
 */
export function daAttestationDigest(
  chainId: number,
  height: number,
  payloadHash: Bytes32,
  shardRoot: Bytes32,
): Bytes32 {
  return sha256(staticWords([DOMAIN.daAttestation, chainId, height, payloadHash, shardRoot]));
}
