/**
 * A block's payload read back from a layer the poster posted it to: every
 * receipt's bytes checked against the receipt, the parts joined, the block
 * taken out of its bundle if it went in one, and the result checked against
 * the payload hash the poster recorded. What a reader gets is the block's
 * payload or an error; never other bytes.
 */
import { concatBytes, sha256, toHex } from "@ordo/core";
import { type DaLayer, DaLayerError } from "../layer.js";
import { decodeBundle } from "./block-bundle.js";
import type { BlockPosting } from "./da-poster.js";

export async function retrievePostedPayload(
  layer: DaLayer,
  posting: Pick<BlockPosting, "height" | "payloadHash" | "layers">,
): Promise<Uint8Array> {
  const { height } = posting;
  const l = posting.layers[layer.name];
  if (l?.state !== "posted" || l.receipts.length === 0)
    throw new DaLayerError(layer.name, "not-found", `height ${height} was not posted to this layer`);
  const parts: Uint8Array[] = [];
  for (const receipt of l.receipts) {
    const bytes = await layer.retrieve(receipt);
    if (!(await layer.verify(receipt, bytes)))
      throw new DaLayerError(layer.name, "corrupt", `the bytes returned for height ${height} fail their receipt`);
    parts.push(bytes);
  }
  const joined = concatBytes(...parts);
  let payload: Uint8Array | undefined = joined;
  if (l.bundle) {
    try {
      payload = decodeBundle(joined).find((e) => e.height === height)?.payload;
    } catch (e) {
      throw new DaLayerError(layer.name, "corrupt", `the bundle holding height ${height} does not decode: ${e}`);
    }
    if (!payload) throw new DaLayerError(layer.name, "corrupt", `the bundle named for height ${height} lacks it`);
  }
  if (toHex(sha256(payload)) !== posting.payloadHash)
    throw new DaLayerError(layer.name, "corrupt", `the payload read for height ${height} is not the one posted`);
  return payload;
}
