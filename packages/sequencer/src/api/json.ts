/** Conversions between core values and their JSON form: byte fields as 0x-hex, bigints as decimal strings. */
import {
  type BlockHeader,
  fromHex,
  type NamespaceProof,
  type NeighbourProof,
  type QuorumCertificate,
  toHex,
} from "@ordo/core";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Recursively turns `Uint8Array`s into 0x-hex strings and bigints into decimal strings; drops `undefined` fields. */
export function toJson(value: unknown): Json {
  if (value instanceof Uint8Array) return toHex(value);
  if (typeof value === "bigint") return value.toString();
  if (value === null || typeof value === "boolean" || typeof value === "number" || typeof value === "string")
    return value;
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === "object") {
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  return null;
}

/** A namespace proof as the API serves it (byte fields as 0x-hex). */
export type NamespaceProofJson =
  | { kind: "inclusion"; namespace: number; leafIndex: number; leafCount: number; path: string[] }
  | {
      kind: "absence";
      namespace: number;
      leafCount: number;
      left?: NeighbourProofJson;
      right?: NeighbourProofJson;
    };

export interface NeighbourProofJson {
  leaf: { namespace: number; count: number; txRoot: string };
  index: number;
  path: string[];
}

export function namespaceProofToJson(proof: NamespaceProof): NamespaceProofJson {
  return toJson(proof) as unknown as NamespaceProofJson;
}

function neighbourFromJson(n: NeighbourProofJson): NeighbourProof {
  return {
    leaf: { namespace: n.leaf.namespace, count: n.leaf.count, txRoot: fromHex(n.leaf.txRoot) },
    index: n.index,
    path: n.path.map(fromHex),
  };
}

/** The inverse of `namespaceProofToJson`, for clients that verify with `verifyNamespaceProof`. */
export function namespaceProofFromJson(p: NamespaceProofJson): NamespaceProof {
  if (p.kind === "inclusion")
    return {
      kind: "inclusion",
      namespace: p.namespace,
      leafIndex: p.leafIndex,
      leafCount: p.leafCount,
      path: p.path.map(fromHex),
    };
  const out: NamespaceProof = { kind: "absence", namespace: p.namespace, leafCount: p.leafCount };
  if (p.left) out.left = neighbourFromJson(p.left);
  if (p.right) out.right = neighbourFromJson(p.right);
  return out;
}

/** A header as the API serves it (hashes as 0x-hex). */
export type BlockHeaderJson = { [K in keyof BlockHeader]: BlockHeader[K] extends Uint8Array ? string : number };
/** A quorum certificate as the API serves it. */
export type QuorumCertificateJson = {
  [K in keyof QuorumCertificate]: QuorumCertificate[K] extends Uint8Array ? string : number;
};

function field<T>(o: unknown, key: string, check: (v: unknown) => v is T, what: string): T {
  const v = (o as Record<string, unknown> | null)?.[key];
  if (!check(v)) throw new TypeError(`${key} must be ${what}`);
  return v;
}
const isUint = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isHex = (v: unknown): v is string => typeof v === "string" && /^0x([0-9a-f]{2})*$/.test(v);
const hash32 = (o: unknown, key: string) => {
  const b = fromHex(field(o, key, isHex, "0x-hex"));
  if (b.length !== 32) throw new TypeError(`${key} must be 32 bytes`);
  return b;
};

/** The inverse of the API's header JSON; throws a `TypeError` naming the first bad field. */
export function headerFromJson(h: unknown): BlockHeader {
  return {
    chainId: field(h, "chainId", isUint, "an unsigned integer"),
    epoch: field(h, "epoch", isUint, "an unsigned integer"),
    round: field(h, "round", isUint, "an unsigned integer"),
    height: field(h, "height", isUint, "an unsigned integer"),
    parentHash: hash32(h, "parentHash"),
    namespaceRoot: hash32(h, "namespaceRoot"),
    payloadHash: hash32(h, "payloadHash"),
    validatorSetHash: hash32(h, "validatorSetHash"),
    proposer: field(h, "proposer", isUint, "an unsigned integer"),
    timestampMs: field(h, "timestampMs", isUint, "an unsigned integer"),
  };
}

/** The inverse of the API's QC JSON; throws a `TypeError` naming the first bad field. */
export function quorumCertificateFromJson(q: unknown): QuorumCertificate {
  return {
    epoch: field(q, "epoch", isUint, "an unsigned integer"),
    round: field(q, "round", isUint, "an unsigned integer"),
    blockHash: hash32(q, "blockHash"),
    committedHash: hash32(q, "committedHash"),
    signers: fromHex(field(q, "signers", isHex, "0x-hex")),
    signature: fromHex(field(q, "signature", isHex, "0x-hex")),
  };
}
