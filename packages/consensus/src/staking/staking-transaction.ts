/**
 * Staking transactions: how validators join, leave and get slashed. They ride
 * in namespace 0 ("system") of committed blocks next to the market's system
 * transactions and the epoch-change commitment; every validator applies them
 * in height order with `StakingLedger`.
 *
 * Wire (canonical MessagePack, `packWire`), version 2 so that they never
 * collide with the market's version-1 transactions:
 *
 * - join:     `[2, 1, publicKey(48), proofOfPossession(96), bond(12), nonce, signature(96)]`
 * - leave:    `[2, 2, publicKey(48), nonce, signature(96)]`
 * - evidence: `[2, 3, evidence]`, the evidence as core's `encodeEvidence`
 *   writes it (a byte string, read back with core's strict `decodeEvidence`).
 *
 * `bond` is a 12-byte big-endian unsigned integer (below 2^96, the largest
 * stake a validator set can hold). join and leave are signed by the
 * validator's own BLS key (its identity) over `stakingSigningDigest`: sha256 of
 * `domainTag("staking-transaction")`, the chain id as a 32-byte ABI word, and
 * the canonical encoding of the transaction without its signature. Evidence
 * is unsigned: its two conflicting signatures authenticate it.
 *
 * Decoding is strict and total: at most `MAX_STAKING_TRANSACTION_BYTES`, only
 * the canonical encoding (it re-encodes and compares), and the only error it
 * throws is `DecodeError`. The MessagePack reader is a small one of its own,
 * for the wire's three shapes (unsigned ints, byte strings, arrays): this
 * package does not depend on msgpackr.
 */
import {
  type BlsBackend,
  type Bytes32,
  bytesEqual,
  concatBytes,
  DecodeError,
  decodeEvidence,
  domainTag,
  type Evidence,
  encodeEvidence,
  encodeStaticAbiWords,
  packWire,
  sha256,
  type Wire,
} from "@ordo/core";

export interface JoinTransaction {
  kind: "join";
  /** The validator's BLS public key (48 bytes): its identity. */
  publicKey: Uint8Array;
  /** Signature over `proofOfPossessionDigest(publicKey)` (96 bytes); checked on the account's first join. */
  proofOfPossession: Uint8Array;
  /** Moved from the balance to the bond; adds to an existing bond (a top-up). */
  bond: bigint;
  /** Must equal the account's nonce. */
  nonce: number;
  signature: Uint8Array;
}

export interface LeaveTransaction {
  kind: "leave";
  publicKey: Uint8Array;
  nonce: number;
  signature: Uint8Array;
}

export interface EvidenceTransaction {
  kind: "evidence";
  /** Unsigned: the evidence's own two signatures authenticate it. */
  evidence: Evidence;
}

export type StakingTransaction = JoinTransaction | LeaveTransaction | EvidenceTransaction;

/** What a join or leave signature covers: the transaction without its signature. */
export type UnsignedStakingTransaction = Omit<JoinTransaction, "signature"> | Omit<LeaveTransaction, "signature">;

/** The first field of every staking transaction (market transactions use 1). */
export const STAKING_TRANSACTION_VERSION = 2;
/** Largest encoded staking transaction accepted (a double-proposal evidence is about 650 bytes). */
export const MAX_STAKING_TRANSACTION_BYTES = 4096;
/** Kind tags: the second field. */
export const STAKING_KIND_TAG = { join: 1, leave: 2, evidence: 3 } as const;
/** Evidence sub-tags (the third field of an evidence transaction), as in core's evidence encoding. */
/** Bonds are 12-byte (96-bit) unsigned integers. */
export const BOND_BYTES = 12;
export const MAX_BOND = (1n << 96n) - 1n;

const PUBLIC_KEY_BYTES = 48;
const SIGNATURE_BYTES = 96;
const _HASH_BYTES = 32;
const STAKING_DOMAIN = domainTag("staking-transaction");

// ── encoding ────────────────────────────────────────────────────────────

function bondBytes(bond: bigint): Uint8Array {
  if (typeof bond !== "bigint" || bond < 0n || bond > MAX_BOND)
    throw new RangeError(`bond ${bond} is not in [0, 2^96)`);
  const out = new Uint8Array(BOND_BYTES);
  let v = bond;
  for (let i = BOND_BYTES - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function bondOf(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function unsignedWire(tx: UnsignedStakingTransaction): Wire[] {
  if (tx.kind === "join")
    return [
      STAKING_TRANSACTION_VERSION,
      STAKING_KIND_TAG.join,
      tx.publicKey,
      tx.proofOfPossession,
      bondBytes(tx.bond),
      tx.nonce,
    ];
  return [STAKING_TRANSACTION_VERSION, STAKING_KIND_TAG.leave, tx.publicKey, tx.nonce];
}

function transactionWire(tx: StakingTransaction): Wire[] {
  if (tx.kind === "evidence")
    return [STAKING_TRANSACTION_VERSION, STAKING_KIND_TAG.evidence, encodeEvidence(tx.evidence)];
  return [...unsignedWire(tx), tx.signature];
}

/**
 * Encoders trust their input's types; a value the decoder would reject encodes
 * to bytes the decoder rejects. Throws `RangeError` for a bond outside
 * [0, 2^96) or an integer that is not an unsigned safe integer.
 */
export function encodeStakingTransaction(tx: StakingTransaction): Uint8Array {
  return packWire(transactionWire(tx));
}

/**
 * `sha256(domainTag("staking-transaction") ‖ uint256(chainId) ‖ packWire(unsigned))`: what join and leave
 * sign. A signed transaction may be passed; its signature is not covered.
 */
export function stakingSigningDigest(
  chainId: number,
  tx: UnsignedStakingTransaction | JoinTransaction | LeaveTransaction,
): Bytes32 {
  return sha256(concatBytes(encodeStaticAbiWords([STAKING_DOMAIN, chainId]), packWire(unsignedWire(tx))));
}

/**
 * Signs a join or leave with the validator's BLS secret key. Throws
 * `RangeError` if the key is not the transaction's `publicKey` (the ledger
 * would refuse the result).
 */
export function signStakingTransaction(
  bls: BlsBackend,
  secretKey: Uint8Array,
  chainId: number,
  unsigned: Omit<JoinTransaction, "signature">,
): JoinTransaction;
export function signStakingTransaction(
  bls: BlsBackend,
  secretKey: Uint8Array,
  chainId: number,
  unsigned: Omit<LeaveTransaction, "signature">,
): LeaveTransaction;
export function signStakingTransaction(
  bls: BlsBackend,
  secretKey: Uint8Array,
  chainId: number,
  unsigned: UnsignedStakingTransaction,
): JoinTransaction | LeaveTransaction;
export function signStakingTransaction(
  bls: BlsBackend,
  secretKey: Uint8Array,
  chainId: number,
  unsigned: UnsignedStakingTransaction,
): JoinTransaction | LeaveTransaction {
  const own = bls.publicKey(secretKey);
  if (!bytesEqual(own, unsigned.publicKey))
    throw new RangeError("the secret key does not belong to the transaction's public key");
  const signature = bls.sign(secretKey, stakingSigningDigest(chainId, unsigned));
  return { ...unsigned, signature } as JoinTransaction | LeaveTransaction;
}

/**
 * A cheap filter for namespace-0 bytes: a MessagePack array whose first
 * element is the int 2. True does not mean the bytes decode; false means they
 * are not a staking transaction (market transactions start with 1, the
 * epoch-change commitment is not an array).
 */
export function isStakingTransaction(bytes: Uint8Array): boolean {
  if (!(bytes instanceof Uint8Array) || bytes.length < 2) return false;
  const b0 = bytes[0] as number;
  if (b0 >= 0x91 && b0 <= 0x9f) return bytes[1] === STAKING_TRANSACTION_VERSION;
  if (b0 === 0xdc) return bytes.length > 3 && bytes[3] === STAKING_TRANSACTION_VERSION;
  if (b0 === 0xdd) return bytes.length > 5 && bytes[5] === STAKING_TRANSACTION_VERSION;
  return false;
}

// ── decoding ────────────────────────────────────────────────────────────

type Value = number | Uint8Array | Value[];

function fail(message: string): never {
  throw new DecodeError(`staking transaction: ${message}`);
}

const MAX_DEPTH = 6;

/**
 * One MessagePack value spanning the whole input, of the wire's shapes only:
 * unsigned ints (any width; int64 only when non-negative and safe), `bin` and
 * arrays. Non-shortest forms parse here and are refused by the canonical check.
 */
function readWire(input: Uint8Array): Value {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > input.length) fail("truncated MessagePack");
  };
  const read = (depth: number): Value => {
    need(1);
    const t = input[pos++] as number;
    if (t < 0x80) return t;
    if (t >= 0x90 && t <= 0x9f) return array(t & 0x0f, depth);
    switch (t) {
      case 0xcc:
        need(1);
        return input[pos++] as number;
      case 0xcd:
        need(2);
        pos += 2;
        return view.getUint16(pos - 2);
      case 0xce:
        need(4);
        pos += 4;
        return view.getUint32(pos - 4);
      case 0xcf:
      case 0xd3: {
        need(8);
        const v = view.getBigUint64(pos);
        pos += 8;
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail("an integer above 2^53-1 or negative");
        return Number(v);
      }
      case 0xc4:
        need(1);
        return bin(input[pos++] as number);
      case 0xc5:
        need(2);
        pos += 2;
        return bin(view.getUint16(pos - 2));
      case 0xc6:
        need(4);
        pos += 4;
        return bin(view.getUint32(pos - 4));
      case 0xdc:
        need(2);
        pos += 2;
        return array(view.getUint16(pos - 2), depth);
      case 0xdd:
        need(4);
        pos += 4;
        return array(view.getUint32(pos - 4), depth);
      default:
        fail(`unexpected MessagePack type 0x${t.toString(16).padStart(2, "0")}`);
    }
  };
  const bin = (n: number): Uint8Array => {
    need(n);
    pos += n;
    return input.slice(pos - n, pos);
  };
  const array = (n: number, depth: number): Value[] => {
    if (depth >= MAX_DEPTH) fail("arrays nested too deep");
    // Every element takes at least one byte.
    if (n > input.length - pos) fail("truncated MessagePack");
    const out: Value[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = read(depth + 1);
    return out;
  };
  const value = read(0);
  if (pos !== input.length) fail(`${input.length - pos} trailing bytes`);
  return value;
}

function describe(v: Value | undefined): string {
  if (v === undefined) return "nothing";
  if (typeof v === "number") return `${v}`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return `an array of ${v.length}`;
}

function tuple(v: Value | undefined, length: number, path: string): Value[] {
  if (!Array.isArray(v)) fail(`${path}: expected an array of ${length}, got ${describe(v)}`);
  if (v.length !== length) fail(`${path}: expected ${length} fields, got ${v.length}`);
  return v;
}

function uint(v: Value | undefined, path: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || v > max) fail(`${path}: expected an integer in [0, ${max}], got ${describe(v)}`);
  return v;
}

function bytes(v: Value | undefined, length: number, path: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== length) fail(`${path}: expected ${length} bytes, got ${describe(v)}`);
  return v;
}

/** The transaction these bytes encode; throws `DecodeError` (and nothing else) unless they are its canonical encoding. */
export function decodeStakingTransaction(input: Uint8Array): StakingTransaction {
  try {
    if (!(input instanceof Uint8Array)) fail("not bytes");
    if (input.length === 0) fail("empty input");
    if (input.length > MAX_STAKING_TRANSACTION_BYTES)
      fail(`${input.length} bytes exceeds the limit of ${MAX_STAKING_TRANSACTION_BYTES}`);
    const root = readWire(input);
    if (!Array.isArray(root) || root.length < 2) fail(`expected [version, kind, ...], got ${describe(root)}`);
    if (root[0] !== STAKING_TRANSACTION_VERSION) fail(`unsupported version ${describe(root[0])}`);
    let tx: StakingTransaction;
    switch (root[1]) {
      case STAKING_KIND_TAG.join: {
        const f = tuple(root, 7, "join");
        tx = {
          kind: "join",
          publicKey: bytes(f[2], PUBLIC_KEY_BYTES, "join.publicKey"),
          proofOfPossession: bytes(f[3], SIGNATURE_BYTES, "join.proofOfPossession"),
          bond: bondOf(bytes(f[4], BOND_BYTES, "join.bond")),
          nonce: uint(f[5], "join.nonce"),
          signature: bytes(f[6], SIGNATURE_BYTES, "join.signature"),
        };
        break;
      }
      case STAKING_KIND_TAG.leave: {
        const f = tuple(root, 5, "leave");
        tx = {
          kind: "leave",
          publicKey: bytes(f[2], PUBLIC_KEY_BYTES, "leave.publicKey"),
          nonce: uint(f[3], "leave.nonce"),
          signature: bytes(f[4], SIGNATURE_BYTES, "leave.signature"),
        };
        break;
      }
      case STAKING_KIND_TAG.evidence: {
        const f = tuple(root, 3, "evidence");
        if (!(f[2] instanceof Uint8Array)) fail(`evidence: expected bytes, got ${describe(f[2])}`);
        tx = { kind: "evidence", evidence: decodeEvidence(f[2]) };
        break;
      }
      default:
        fail(`unknown kind tag ${describe(root[1])}`);
    }
    // Only the canonical encoding: one transaction, one byte string.
    if (!bytesEqual(encodeStakingTransaction(tx), input)) fail("not the canonical encoding");
    return tx;
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(`staking transaction: ${e instanceof Error ? e.message : typeof e}`, { cause: e });
  }
}
