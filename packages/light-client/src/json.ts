/**
 * The sequencer API's JSON, parsed strictly: a node is untrusted, so every
 * field is checked for type, range and size before anything is verified, and a
 * bad answer is `BAD_RESPONSE` naming the field. Written here rather than
 * imported from `@ordo/sequencer` so that the light client depends on
 * `@ordo/core` alone (not on libp2p, LevelDB, fastify). The serializers produce the
 * API's shapes (byte fields as 0x-hex, bigints as decimal strings), for tests,
 * fakes of a node and the benchmark's bytes-per-update.
 */
import {
  type BlockHeader,
  type Bytes32,
  MAX_NAMESPACE,
  type NamespaceProof,
  type NeighbourProof,
  PUBLIC_KEY_BYTES,
  type QuorumCertificate,
  toHex,
} from "@ordo/core";
import { LightClientError } from "./errors.js";
import type { CheckpointValidator, EpochChange } from "./types.js";

type JsonObject = Record<string, unknown>;

function bad(path: string, what: string): LightClientError {
  return new LightClientError("BAD_RESPONSE", `${path} must be ${what}`);
}

function object(v: unknown, path: string): JsonObject {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(path, "an object");
  return v as JsonObject;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw bad(path, "an array");
  return v;
}

function uint(o: JsonObject, key: string, path: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[key];
  // JSON numbers above 2^53 arrive rounded: refuse them rather than verify a different value.
  if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > max)
    throw bad(
      `${path}.${key}`,
      max === Number.MAX_SAFE_INTEGER ? "an unsigned safe integer" : `an integer in 0..${max}`,
    );
  return v as number;
}

const HEX = /^0x(?:[0-9a-fA-F]{2})*$/;

function hexBytes(v: unknown, path: string, length?: number): Uint8Array {
  if (typeof v !== "string" || !HEX.test(v)) throw bad(path, "0x-hex bytes");
  const out = new Uint8Array(Buffer.from(v.slice(2), "hex"));
  if (length !== undefined && out.length !== length) throw bad(path, `${length} bytes`);
  return out;
}

function field(o: JsonObject, key: string, path: string, length?: number): Uint8Array {
  return hexBytes(o[key], `${path}.${key}`, length);
}

function hash32(o: JsonObject, key: string, path: string): Bytes32 {
  return field(o, key, path, 32);
}

function decimal(o: JsonObject, key: string, path: string): bigint {
  const v = o[key];
  if (typeof v !== "string" || !/^(?:0|[1-9][0-9]{0,77})$/.test(v)) throw bad(`${path}.${key}`, "a decimal string");
  return BigInt(v);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function base64(v: unknown, path: string): Uint8Array {
  // Node's decoder skips what it does not understand; the regex makes one string mean one byte string.
  if (typeof v !== "string" || !BASE64.test(v)) throw bad(path, "standard padded base64");
  return new Uint8Array(Buffer.from(v, "base64"));
}

// ── headers and certificates ─────────────────────────────────────────────

export type BlockHeaderJson = {
  [K in keyof BlockHeader]: BlockHeader[K] extends Uint8Array ? string : number;
};
export type QuorumCertificateJson = {
  [K in keyof QuorumCertificate]: QuorumCertificate[K] extends Uint8Array ? string : number;
};

export function headerFromJson(v: unknown, path = "header"): BlockHeader {
  const o = object(v, path);
  return {
    chainId: uint(o, "chainId", path),
    epoch: uint(o, "epoch", path),
    round: uint(o, "round", path),
    height: uint(o, "height", path),
    parentHash: hash32(o, "parentHash", path),
    namespaceRoot: hash32(o, "namespaceRoot", path),
    payloadHash: hash32(o, "payloadHash", path),
    validatorSetHash: hash32(o, "validatorSetHash", path),
    proposer: uint(o, "proposer", path, 0xffff_ffff),
    timestampMs: uint(o, "timestampMs", path),
  };
}

export function certificateFromJson(v: unknown, path = "certificate"): QuorumCertificate {
  const o = object(v, path);
  return {
    epoch: uint(o, "epoch", path),
    round: uint(o, "round", path),
    blockHash: hash32(o, "blockHash", path),
    committedHash: hash32(o, "committedHash", path),
    signers: field(o, "signers", path),
    signature: field(o, "signature", path),
  };
}

export function headerToJson(h: BlockHeader): BlockHeaderJson {
  return {
    chainId: h.chainId,
    epoch: h.epoch,
    round: h.round,
    height: h.height,
    parentHash: toHex(h.parentHash),
    namespaceRoot: toHex(h.namespaceRoot),
    payloadHash: toHex(h.payloadHash),
    validatorSetHash: toHex(h.validatorSetHash),
    proposer: h.proposer,
    timestampMs: h.timestampMs,
  };
}

export function certificateToJson(c: QuorumCertificate): QuorumCertificateJson {
  return {
    epoch: c.epoch,
    round: c.round,
    blockHash: toHex(c.blockHash),
    committedHash: toHex(c.committedHash),
    signers: toHex(c.signers),
    signature: toHex(c.signature),
  };
}

// ── GET /v1/blocks/:height/finality ──────────────────────────────────────

/** A finality update: `certificate` commits the last of `headers` (height `certifiedHeight`). */
export interface FinalityUpdate {
  height: number;
  certifiedHeight: number;
  headers: BlockHeader[];
  certificate: QuorumCertificate;
}

export interface FinalityUpdateJson {
  height: number;
  certifiedHeight: number;
  headers: BlockHeaderJson[];
  certificate: QuorumCertificateJson;
}

/** Parses the route's answer and checks it is self-consistent: headers from `height` to `certifiedHeight`. */
export function finalityFromJson(v: unknown): FinalityUpdate {
  const o = object(v, "finality");
  const height = uint(o, "height", "finality");
  const certifiedHeight = uint(o, "certifiedHeight", "finality");
  const headers = array(o.headers, "finality.headers").map((h, i) => headerFromJson(h, `finality.headers[${i}]`));
  const first = headers[0];
  const last = headers[headers.length - 1];
  if (!first || !last) throw bad("finality.headers", "non-empty");
  if (first.height !== height) throw bad("finality.headers[0].height", `the requested height ${height}`);
  if (last.height !== certifiedHeight)
    throw bad(`finality.headers[${headers.length - 1}].height`, `certifiedHeight ${certifiedHeight}`);
  return { height, certifiedHeight, headers, certificate: certificateFromJson(o.certificate, "finality.certificate") };
}

export function finalityToJson(update: FinalityUpdate): FinalityUpdateJson {
  return {
    height: update.height,
    certifiedHeight: update.certifiedHeight,
    headers: update.headers.map(headerToJson),
    certificate: certificateToJson(update.certificate),
  };
}

// ── GET /v1/namespaces/:ns/blocks/:height ────────────────────────────────

export type NamespaceProofJson =
  | { kind: "inclusion"; namespace: number; leafIndex: number; leafCount: number; path: string[] }
  | { kind: "absence"; namespace: number; leafCount: number; left?: NeighbourProofJson; right?: NeighbourProofJson };

export interface NeighbourProofJson {
  leaf: { namespace: number; count: number; txRoot: string };
  index: number;
  path: string[];
}

function pathFromJson(v: unknown, path: string): Bytes32[] {
  return array(v, path).map((x, i) => hexBytes(x, `${path}[${i}]`, 32));
}

function neighbourFromJson(v: unknown, path: string): NeighbourProof {
  const o = object(v, path);
  const leaf = object(o.leaf, `${path}.leaf`);
  return {
    leaf: {
      namespace: uint(leaf, "namespace", `${path}.leaf`, MAX_NAMESPACE),
      count: uint(leaf, "count", `${path}.leaf`, 0xffff_ffff),
      txRoot: hash32(leaf, "txRoot", `${path}.leaf`),
    },
    index: uint(o, "index", path),
    path: pathFromJson(o.path, `${path}.path`),
  };
}

/** The API's namespace proof (as `namespaceProofFromJson` in `@ordo/sequencer` reads it), checked field by field. */
export function namespaceProofFromJson(v: unknown, path = "proof"): NamespaceProof {
  const o = object(v, path);
  const namespace = uint(o, "namespace", path, MAX_NAMESPACE);
  const leafCount = uint(o, "leafCount", path, 0xffff_ffff);
  if (o.kind === "inclusion")
    return {
      kind: "inclusion",
      namespace,
      leafIndex: uint(o, "leafIndex", path),
      leafCount,
      path: pathFromJson(o.path, `${path}.path`),
    };
  if (o.kind !== "absence") throw bad(`${path}.kind`, '"inclusion" or "absence"');
  const proof: NamespaceProof = { kind: "absence", namespace, leafCount };
  // The API drops an absent neighbour; null is read the same way.
  if (o.left != null) proof.left = neighbourFromJson(o.left, `${path}.left`);
  if (o.right != null) proof.right = neighbourFromJson(o.right, `${path}.right`);
  return proof;
}

export function namespaceProofToJson(p: NamespaceProof): NamespaceProofJson {
  const neighbour = (n: NeighbourProof): NeighbourProofJson => ({
    leaf: { namespace: n.leaf.namespace, count: n.leaf.count, txRoot: toHex(n.leaf.txRoot) },
    index: n.index,
    path: n.path.map(toHex),
  });
  if (p.kind === "inclusion")
    return {
      kind: "inclusion",
      namespace: p.namespace,
      leafIndex: p.leafIndex,
      leafCount: p.leafCount,
      path: p.path.map(toHex),
    };
  const out: NamespaceProofJson = { kind: "absence", namespace: p.namespace, leafCount: p.leafCount };
  if (p.left) out.left = neighbour(p.left);
  if (p.right) out.right = neighbour(p.right);
  return out;
}

/** A namespace's transactions in one block, with the proof that they are all of them (or that there are none). */
export interface NamespaceBlock {
  height: number;
  namespace: number;
  transactions: Uint8Array[];
  proof: NamespaceProof;
}

export interface NamespaceBlockJson {
  height: number;
  namespace: number;
  /** Served for convenience; the client checks against the root of the header it verified, not this. */
  namespaceRoot?: string;
  blockHash?: string;
  /** base64 */
  transactions: string[];
  proof: NamespaceProofJson;
}

export function namespaceBlockFromJson(v: unknown): NamespaceBlock {
  const o = object(v, "block");
  return {
    height: uint(o, "height", "block"),
    namespace: uint(o, "namespace", "block", MAX_NAMESPACE),
    transactions: array(o.transactions, "block.transactions").map((t, i) => base64(t, `block.transactions[${i}]`)),
    proof: namespaceProofFromJson(o.proof, "block.proof"),
  };
}

// ── GET /v1/status, GET /v1/validators ───────────────────────────────────

export interface NodeStatus {
  chainId: number;
  epoch: number;
  committedHeight: number;
}

export function statusFromJson(v: unknown): NodeStatus {
  const o = object(v, "status");
  return {
    chainId: uint(o, "chainId", "status"),
    epoch: uint(o, "epoch", "status"),
    committedHeight: uint(o, "committedHeight", "status"),
  };
}

export interface NodeValidators {
  epoch: number;
  /** The set's `hashValidatorSet` as the node states it (checked against the keys and stakes by the caller). */
  hash: Bytes32;
  totalStake: bigint;
  validators: CheckpointValidator[];
}

export function validatorsFromJson(v: unknown): NodeValidators {
  const o = object(v, "validators");
  const list = array(o.validators, "validators.validators").map((x, i): CheckpointValidator => {
    const path = `validators.validators[${i}]`;
    const item = object(x, path);
    if (uint(item, "index", path) !== i) throw bad(`${path}.index`, String(i));
    const out: CheckpointValidator = {
      publicKey: field(item, "publicKey", path, PUBLIC_KEY_BYTES),
      stake: decimal(item, "stake", path),
    };
    // Not served by the API today; taken (and then checked) if a node does serve it.
    if (item.proofOfPossession !== undefined) out.proofOfPossession = field(item, "proofOfPossession", path, 96);
    return out;
  });
  return {
    epoch: uint(o, "epoch", "validators"),
    hash: hash32(o, "hash", "validators"),
    totalStake: decimal(o, "totalStake", "validators"),
    validators: list,
  };
}

// ── epoch changes ────────────────────────────────────────────────────────

export interface EpochChangeJson {
  height: number;
  newSet: {
    epoch: number;
    validators: { publicKey: string; stake: string; proofOfPossession: string }[];
  };
  proof: {
    leaf: { namespace: number; count: number; txRoot: string };
    leafIndex: number;
    leafCount: number;
    leafPath: string[];
    txIndex: number;
    txPath: string[];
  };
}

export function epochChangeToJson(c: EpochChange): EpochChangeJson {
  const p = c.proof;
  return {
    height: c.height,
    newSet: {
      epoch: c.newSet.epoch,
      validators: c.newSet.validators.map((v) => ({
        publicKey: toHex(v.publicKey),
        stake: v.stake.toString(),
        proofOfPossession: toHex(v.proofOfPossession),
      })),
    },
    proof: {
      leaf: { namespace: p.leaf.namespace, count: p.leaf.count, txRoot: toHex(p.leaf.txRoot) },
      leafIndex: p.leafIndex,
      leafCount: p.leafCount,
      leafPath: p.leafPath.map(toHex),
      txIndex: p.txIndex,
      txPath: p.txPath.map(toHex),
    },
  };
}

/** An epoch change as a node serves it, checked field by field (its meaning is checked by `applyEpochChange`). */
export function epochChangeFromJson(v: unknown): EpochChange {
  const o = object(v, "change");
  const set = object(o.newSet, "change.newSet");
  const proof = object(o.proof, "change.proof");
  const leaf = object(proof.leaf, "change.proof.leaf");
  const validators = array(set.validators, "change.newSet.validators").map((x, i) => {
    const path = `change.newSet.validators[${i}]`;
    const item = object(x, path);
    return {
      publicKey: field(item, "publicKey", path, PUBLIC_KEY_BYTES),
      stake: decimal(item, "stake", path),
      proofOfPossession: field(item, "proofOfPossession", path, 96),
    };
  });
  return {
    height: uint(o, "height", "change"),
    newSet: { epoch: uint(set, "epoch", "change.newSet"), validators },
    proof: {
      kind: "transaction",
      leaf: {
        namespace: uint(leaf, "namespace", "change.proof.leaf", MAX_NAMESPACE),
        count: uint(leaf, "count", "change.proof.leaf", 0xffff_ffff),
        txRoot: hash32(leaf, "txRoot", "change.proof.leaf"),
      },
      leafIndex: uint(proof, "leafIndex", "change.proof"),
      leafCount: uint(proof, "leafCount", "change.proof", 0xffff_ffff),
      leafPath: pathFromJson(proof.leafPath, "change.proof.leafPath"),
      txIndex: uint(proof, "txIndex", "change.proof"),
      txPath: pathFromJson(proof.txPath, "change.proof.txPath"),
    },
  };
}
