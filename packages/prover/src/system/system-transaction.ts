/**
 * Market transactions on the wire: namespace 0 ("system") of a block, each
 * signed with the sender's ed25519 key. The account id the market sees is the
 * hex of that public key.
 *
 * Wire (canonical MessagePack, `packWire`):
 * `[1, kind, from(32), nonce, ...fields, signature(64)]`, amounts as 8-byte
 * big-endian byte strings. The signature covers
 * `sha256("ordo/system-tx/v1" ‖ chainId u64 ‖ packWire(everything before it))`.
 * Decoding accepts exactly the canonical encoding (it re-encodes and compares),
 * and the only error it throws is `DecodeError`.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto";
import { concatBytes, DecodeError, packWire, sha256, toHex, type Wire } from "@ordo/core";
import { unpack } from "msgpackr";
import type { MarketTransaction } from "../market/types.js";

/** A market transaction as a prover or a rollup operator submits it; `submit-proof` carries the proof, not a verdict. */
export type SystemTransactionBody =
  | Exclude<MarketTransaction, { kind: "submit-proof" }>
  | { kind: "submit-proof"; job: number; proof: Uint8Array };

export interface SystemTransaction {
  /** The sender's ed25519 public key (32 bytes). */
  from: Uint8Array;
  /** Per sender, strictly increasing: a replayed or reordered transaction is refused. */
  nonce: number;
  body: SystemTransactionBody;
  signature: Uint8Array;
}

export const SYSTEM_NAMESPACE = 0;
/** A bundle of a Groth16 (~0.8 KB) and a PLONK (~2.3 KB) proof as JSON fits with room to spare. */
export const MAX_PROOF_BYTES = 16_384;
const VERSION = 1;
const KINDS = ["register-prover", "unbond", "register-rollup", "commit-bid", "reveal-bid", "submit-proof"] as const;
const SIGNING_TAG = new TextEncoder().encode("ordo/system-tx/v1");
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const MAX_U64 = (1n << 64n) - 1n;

function u64(n: bigint): Uint8Array {
  if (n < 0n || n > MAX_U64) throw new RangeError(`${n} does not fit in 64 bits`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}

function bodyWire(b: SystemTransactionBody): Wire[] {
  switch (b.kind) {
    case "register-prover":
      return [u64(b.bond)];
    case "unbond":
      return [u64(b.amount)];
    case "register-rollup":
      return [
        b.namespace,
        new TextEncoder().encode(b.circuit),
        Buffer.from(b.verifyingKeyHash.replace(/^0x/, ""), "hex"),
        u64(b.feeDeposit),
        b.deadlineBlocks,
        u64(b.maxFee),
      ];
    case "commit-bid":
      return [b.slot, b.sealed];
    case "reveal-bid":
      return [b.slot, u64(b.price), b.salt];
    case "submit-proof":
      return [b.job, b.proof];
  }
}

function unsignedWire(tx: Omit<SystemTransaction, "signature">): Wire[] {
  return [VERSION, KINDS.indexOf(tx.body.kind) + 1, tx.from, tx.nonce, ...bodyWire(tx.body)];
}

function signingDigest(chainId: number, unsigned: Wire[]): Uint8Array {
  const chain = new Uint8Array(8);
  new DataView(chain.buffer).setBigUint64(0, BigInt(chainId));
  return sha256(concatBytes(SIGNING_TAG, chain, packWire(unsigned)));
}

/** An ed25519 key for system transactions: `secretKey` is the 32-byte seed, `publicKey` the account. */
export interface SystemKey {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export function generateSystemKey(): SystemKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    secretKey: new Uint8Array(privateKey.export({ format: "der", type: "pkcs8" }).subarray(-32)),
    publicKey: new Uint8Array(publicKey.export({ format: "der", type: "spki" }).subarray(-32)),
  };
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
}

/** The public key (account) of a 32-byte ed25519 seed. */
export function systemPublicKey(secretKey: Uint8Array): Uint8Array {
  return new Uint8Array(
    createPublicKey(privateKeyObject(secretKey)).export({ format: "der", type: "spki" }).subarray(-32),
  );
}

export function accountOf(publicKey: Uint8Array): string {
  return toHex(publicKey);
}

export function signSystemTransaction(
  chainId: number,
  key: SystemKey,
  nonce: number,
  body: SystemTransactionBody,
): SystemTransaction {
  const unsigned = { from: key.publicKey, nonce, body };
  const signature = new Uint8Array(
    sign(null, signingDigest(chainId, unsignedWire(unsigned)), privateKeyObject(key.secretKey)),
  );
  return { ...unsigned, signature };
}

export function encodeSystemTransaction(tx: SystemTransaction): Uint8Array {
  return packWire([...unsignedWire(tx), tx.signature]);
}

/** Whether the signature is the sender's over this transaction on this chain. Never throws. */
export function verifySystemTransaction(chainId: number, tx: SystemTransaction): boolean {
  try {
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, tx.from]), format: "der", type: "spki" });
    return verify(null, signingDigest(chainId, unsignedWire(tx)), key, tx.signature);
  } catch {
    return false;
  }
}

// ── decoding ────────────────────────────────────────────────────────────

function fail(message: string): never {
  throw new DecodeError(`system transaction: ${message}`);
}

function uint(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > max)
    fail(`${what} is not an integer in 0..${max}`);
  return v;
}

function bytes(v: unknown, what: string, length?: number, max = 64): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(`${what} is not a byte string`);
  if (length !== undefined ? v.length !== length : v.length > max)
    fail(`${what} has ${v.length} bytes, not ${length ?? `at most ${max}`}`);
  return new Uint8Array(v);
}

function amount(v: unknown, what: string): bigint {
  return new DataView(bytes(v, what, 8).buffer).getBigUint64(0);
}

function decodeBody(kind: (typeof KINDS)[number], f: unknown[]): SystemTransactionBody {
  const arity = {
    "register-prover": 1,
    unbond: 1,
    "register-rollup": 6,
    "commit-bid": 2,
    "reveal-bid": 3,
    "submit-proof": 2,
  };
  if (f.length !== arity[kind]) fail(`${kind} has ${f.length} fields, not ${arity[kind]}`);
  switch (kind) {
    case "register-prover":
      return { kind, bond: amount(f[0], "bond") };
    case "unbond":
      return { kind, amount: amount(f[0], "amount") };
    case "register-rollup": {
      let circuit: string;
      try {
        circuit = new TextDecoder("utf-8", { fatal: true }).decode(bytes(f[1], "circuit"));
      } catch (e) {
        if (e instanceof DecodeError) throw e;
        fail("circuit is not UTF-8");
      }
      return {
        kind,
        namespace: uint(f[0], "namespace", 0xffff_ffff),
        circuit,
        verifyingKeyHash: toHex(bytes(f[2], "verifying key hash", 32)),
        feeDeposit: amount(f[3], "fee deposit"),
        deadlineBlocks: uint(f[4], "deadline", 0xffff_ffff),
        maxFee: amount(f[5], "max fee"),
      };
    }
    case "commit-bid":
      return { kind, slot: uint(f[0], "slot"), sealed: bytes(f[1], "sealed bid", 32) };
    case "reveal-bid":
      return { kind, slot: uint(f[0], "slot"), price: amount(f[1], "price"), salt: bytes(f[2], "salt", 32) };
    case "submit-proof":
      return { kind, job: uint(f[0], "job"), proof: bytes(f[1], "proof", undefined, MAX_PROOF_BYTES) };
  }
}

export function decodeSystemTransaction(input: Uint8Array): SystemTransaction {
  if (!(input instanceof Uint8Array)) fail("not bytes");
  if (input.length > MAX_PROOF_BYTES + 256) fail(`${input.length} bytes is too large`);
  let raw: unknown;
  try {
    raw = unpack(input);
  } catch {
    fail("not MessagePack");
  }
  if (!Array.isArray(raw) || raw.length < 5) fail("not an array of at least 5 fields");
  if (raw[0] !== VERSION) fail(`unknown version ${String(raw[0])}`);
  const kind = KINDS[uint(raw[1], "kind", KINDS.length) - 1];
  if (kind === undefined) fail(`unknown kind ${String(raw[1])}`);
  const tx: SystemTransaction = {
    from: bytes(raw[2], "sender", 32),
    nonce: uint(raw[3], "nonce"),
    body: decodeBody(kind, raw.slice(4, -1)),
    signature: bytes(raw[raw.length - 1], "signature", 64),
  };
  // Only the canonical encoding: one transaction, one byte string (and one hash).
  const again = encodeSystemTransaction(tx);
  if (again.length !== input.length || !again.every((b, i) => b === input[i])) fail("not in canonical form");
  return tx;
}
