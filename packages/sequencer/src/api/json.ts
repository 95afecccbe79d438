/** Conversions between core values and their JSON form: byte fields as 0x-hex, bigints as decimal strings. */
import { type NamespaceProof, toHex } from "@ordo/core";

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

// The inverses (JSON → core values, strictly checked) are the light client's: one parser for every reader.
export {
  certificateFromJson as quorumCertificateFromJson,
  headerFromJson,
  namespaceProofFromJson,
} from "@ordo/light-client";
