/**
 * BLS12-381 signatures, min-pk (public keys in G1, 48 bytes; signatures in G2,
 * 96 bytes), ciphersuite BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_ as on
 * Ethereum. One byte-level interface, two backends that produce identical bytes:
 * `blst` (native, for nodes) and `noble` (pure JS, for browsers and as fallback).
 *
 * Rogue-key safety: same-message aggregation (`fastAggregateVerify`,
 * `aggregatePublicKeys`) is only sound over keys whose proof of possession was
 * checked; validator sets check it when they are built.
 */
import { hkdfSync } from "node:crypto";
import { sha256 } from "./sha256.js";

export const BLS_DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
export const SECRET_KEY_BYTES = 32;
export const PUBLIC_KEY_BYTES = 48;
export const SIGNATURE_BYTES = 96;

export type BlsBackendName = "blst" | "noble";

export interface BlsBackend {
  readonly name: BlsBackendName;
  /** Compressed G1 public key of a 32-byte secret key. */
  publicKey(secretKey: Uint8Array): Uint8Array;
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array;
  /** False (never a throw) for malformed keys or signatures. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** Throws `BlsError` on a malformed input. */
  aggregateSignatures(signatures: Uint8Array[]): Uint8Array;
  /** Throws `BlsError` on a malformed input. */
  aggregatePublicKeys(publicKeys: Uint8Array[]): Uint8Array;
  /** All keys signed the same message. False for malformed inputs or an empty key list. */
  fastAggregateVerify(publicKeys: Uint8Array[], message: Uint8Array, signature: Uint8Array): boolean;
  /** Key i signed message i (keys with checked proofs of possession make repeated messages sound). False for malformed inputs. */
  aggregateVerify(publicKeys: Uint8Array[], messages: Uint8Array[], signature: Uint8Array): boolean;
  /** Structural and subgroup validity of a public key (and not the identity). */
  isValidPublicKey(publicKey: Uint8Array): boolean;
}

export class BlsError extends Error {
  override readonly name = "BlsError";
}

export const CURVE_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;

/**
 * IETF BLS KeyGen (draft-irtf-cfrg-bls-signature-05 §2.3, HKDF-mod-r): the same
 * secret key on both backends from the same input key material (≥ 32 bytes).
 */
export function keyGen(ikm: Uint8Array, keyInfo: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (ikm.length < 32) throw new BlsError("key material must be at least 32 bytes");
  let salt: Uint8Array = new TextEncoder().encode("BLS-SIG-KEYGEN-SALT-");
  const ikmZero = new Uint8Array(ikm.length + 1);
  ikmZero.set(ikm);
  const info = new Uint8Array(keyInfo.length + 2);
  info.set(keyInfo);
  info[keyInfo.length + 1] = 48;
  for (;;) {
    salt = sha256(salt);
    const okm = new Uint8Array(hkdfSync("sha256", ikmZero, salt, info, 48));
    let x = 0n;
    for (const b of okm) x = (x << 8n) | BigInt(b);
    const sk = x % CURVE_ORDER;
    if (sk !== 0n) {
      const out = new Uint8Array(32);
      let v = sk;
      for (let i = 31; i >= 0; i--) {
        out[i] = Number(v & 0xffn);
        v >>= 8n;
      }
      return out;
    }
  }
}

/** Verifiers answer false, never throw, on malformed input. */
export function falseOnThrow(f: () => boolean): boolean {
  try {
    return f();
  } catch {
    return false;
  }
}

/**
 * Parsed-and-validated public keys by bytes: validator keys repeat, and parsing
 * with the subgroup check costs about 0.1 ms natively.
 */
export class PublicKeyCache<T> {
  private readonly entries = new Map<string, T>();

  constructor(
    private readonly parse: (bytes: Uint8Array) => T,
    private readonly limit = 4096,
  ) {}

  get(bytes: Uint8Array): T {
    if (bytes.length !== PUBLIC_KEY_BYTES) throw new BlsError(`public key must be 48 bytes, got ${bytes.length}`);
    const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const parsed = this.parse(bytes);
    if (this.entries.size >= this.limit) this.entries.clear();
    this.entries.set(key, parsed);
    return parsed;
  }
}
