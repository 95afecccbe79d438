/** The external DA layers a poster's node config names, built from their config (paths relative to it). */
import { readFile } from "node:fs/promises";
import { type DaLayer, EthereumBlobsLayer } from "@ordo/da-client";
import type { Hex } from "viem";
import type { ExternalDaLayerConfig } from "./files.js";
import { assertKeyFilePrivate } from "./key-file-mode.js";

export async function externalDaLayers(
  configs: readonly ExternalDaLayerConfig[],
  at: (path: string) => string,
): Promise<DaLayer[]> {
  const out: DaLayer[] = [];
  for (const c of configs) {
    // A funded L1 account's key: refused if group or others may access it.
    await assertKeyFilePrivate(at(c.privateKeyFile), "DA layer private key file");
    const key = (await readFile(at(c.privateKeyFile), "utf8")).trim();
    if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new Error(`${c.privateKeyFile}: not a 0x-hex private key`);
    out.push(
      new EthereumBlobsLayer({
        rpcUrl: c.rpcUrl,
        privateKey: key as Hex,
        // anvil serves the blobs of mined transactions itself; a real network needs a beacon node.
        blobSource: c.beaconUrl ? { kind: "beacon", url: c.beaconUrl } : { kind: "anvil" },
        ...(c.confirmations !== undefined ? { confirmations: c.confirmations } : {}),
      }),
    );
  }
  return out;
}
