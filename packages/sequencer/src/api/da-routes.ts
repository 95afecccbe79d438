/** The DA side of the API: where a block's DA payload is, and namespace blocks rebuilt from the embedded layer. */
import { decodeBlockPayload } from "@ordo/core";
import type { DaService } from "../da/da-service.js";
import type { NodeStore } from "../storage/node-store.js";
import { toJson } from "./json.js";
import { type NamespaceBlockJson, namespaceBlockFromPayload } from "./namespace-blocks.js";

export async function daReport(da: DaService, height: number): Promise<Record<string, unknown>> {
  const [certificate, shards, posting] = await Promise.all([
    da.embedded.certificate(height),
    da.embedded.storedShards(height),
    da.poster?.report(height) ?? Promise.resolve(null),
  ]);
  return {
    height,
    embedded: {
      certificate: certificate ? toJson(certificate) : null,
      shardsHeld: shards?.shards.map((s) => s.index) ?? [],
      retention: "as long as this validator keeps its data dir",
    },
    posting: posting ? toJson(posting) : null,
    poster: da.poster !== null,
  };
}

/** The namespace block rebuilt from the embedded layer's shards (checked against the header), or null. */
export async function namespaceBlockFromDa(
  store: NodeStore,
  da: DaService,
  namespace: number,
  height: number,
): Promise<(NamespaceBlockJson & { source: "da" }) | null> {
  const [block, certificate] = await Promise.all([store.getBlock(height), da.embedded.certificate(height)]);
  if (!block || !certificate) return null;
  try {
    const payload = decodeBlockPayload(await da.embedded.retrieve(certificate));
    return { ...namespaceBlockFromPayload(block, payload, namespace), source: "da" };
  } catch {
    return null;
  }
}
