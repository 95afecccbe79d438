/** The embedded DA layer behind the `DaLayer` interface, so the DA poster treats it like any other layer. */
import { fromHex, sha256, toHex } from "@ordo/core";
import { type DaCertificate, type DaLayer, DaLayerError, type DaReceipt, type DaStatus } from "@ordo/da-client";
import { DaUnavailableError, type EmbeddedDa } from "./embedded-da.js";

function certificateOf(receipt: DaReceipt): DaCertificate {
  const r = receipt.ref;
  return {
    height: Number(r.height),
    payloadHash: fromHex(receipt.payloadHash),
    payloadLength: receipt.size,
    shardRoot: fromHex(String(r.shardRoot)),
    k: Number(r.k),
    m: Number(r.m),
    signers: fromHex(String(r.signers)),
    signature: fromHex(String(r.signature)),
  };
}

export class EmbeddedDaLayer implements DaLayer {
  readonly name = "embedded";
  readonly maxBlobBytes: number;

  constructor(
    private readonly da: EmbeddedDa,
    o: { maxBlobBytes?: number; timeoutMs?: number } = {},
  ) {
    this.maxBlobBytes = o.maxBlobBytes ?? 32 * 1024 * 1024;
    this.timeoutMs = o.timeoutMs ?? 30_000;
  }

  private readonly timeoutMs: number;

  async submit(payload: Uint8Array, context?: { height: number }): Promise<DaReceipt> {
    if (context === undefined) throw new DaLayerError(this.name, "rejected", "an embedded posting needs its height");
    if (payload.length > this.maxBlobBytes)
      throw new DaLayerError(this.name, "rejected", `${payload.length} bytes is over ${this.maxBlobBytes}`);
    let cert: DaCertificate;
    try {
      cert = await this.da.disperse(context.height, payload, this.timeoutMs);
    } catch (e) {
      throw new DaLayerError(this.name, e instanceof DaUnavailableError ? "timeout" : "unavailable", String(e));
    }
    this.da.announce(cert);
    return {
      layer: this.name,
      payloadHash: toHex(cert.payloadHash),
      size: cert.payloadLength,
      ref: {
        height: cert.height,
        shardRoot: toHex(cert.shardRoot),
        k: cert.k,
        m: cert.m,
        signers: toHex(cert.signers),
        signature: toHex(cert.signature),
      },
    };
  }

  /** A certificate is final: more than 2/3 of the stake holds the shards. */
  async status(receipt: DaReceipt): Promise<DaStatus> {
    return (await this.da.certificate(Number(receipt.ref.height))) ? "final" : "unknown";
  }

  async retrieve(receipt: DaReceipt): Promise<Uint8Array> {
    try {
      return await this.da.retrieve(certificateOf(receipt), this.timeoutMs);
    } catch (e) {
      throw new DaLayerError(this.name, "not-found", String(e));
    }
  }

  async verify(receipt: DaReceipt, bytes: Uint8Array): Promise<boolean> {
    return toHex(sha256(bytes)) === receipt.payloadHash && bytes.length === receipt.size;
  }
}
