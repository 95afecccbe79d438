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

function domainTag(name: string): Bytes32 {
  return sha256(new TextEncoder().encode(`ORDO/v1/${name}`));
}

export const DOMAIN = {
  vote: domainTag("vote"),
  timeout: domainTag("timeout"),
  proposal: domainTag("proposal"),
  proofOfPossession: domainTag("proof-of-possession"),
  validatorSet: domainTag("validator-set"),
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
  return hexToBytes(
    encodeAbiParameters(HEADER_ABI, [
      BigInt(h.chainId),
      BigInt(h.epoch),
      BigInt(h.round),
      BigInt(h.height),
      toHex(h.parentHash),
      toHex(h.namespaceRoot),
      toHex(h.payloadHash),
      toHex(h.validatorSetHash),
      h.proposer,
      BigInt(h.timestampMs),
    ]),
  );
}

export function hashHeader(h: BlockHeader): Bytes32 {
  return sha256(encodeHeaderAbi(h));
}

const VOTE_ABI = [
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
  return sha256(
    hexToBytes(
      encodeAbiParameters(VOTE_ABI, [
        toHex(DOMAIN.vote),
        BigInt(chainId),
        BigInt(epoch),
        BigInt(round),
        toHex(blockHash),
        toHex(committedHash),
      ]),
    ),
  );
}

const TIMEOUT_ABI = [
  { type: "bytes32" },
  { type: "uint64" },
  { type: "uint64" },
  { type: "uint64" },
  { type: "uint64" },
] as const;

/** What a timeout signs: the round given up and the round of the sender's highest QC. */
export function timeoutDigest(chainId: number, epoch: number, round: number, highQcRound: number): Bytes32 {
  return sha256(
    hexToBytes(
      encodeAbiParameters(TIMEOUT_ABI, [
        toHex(DOMAIN.timeout),
        BigInt(chainId),
        BigInt(epoch),
        BigInt(round),
        BigInt(highQcRound),
      ]),
    ),
  );
}

const PROPOSAL_ABI = [{ type: "bytes32" }, { type: "bytes32" }] as const;

/** What a proposer signs: the block hash under the proposal domain. */
export function proposalDigest(blockHash: Bytes32): Bytes32 {
  return sha256(hexToBytes(encodeAbiParameters(PROPOSAL_ABI, [toHex(DOMAIN.proposal), toHex(blockHash)])));
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
