/**
 * One interface for every data-availability layer Ordo posts block payloads
 * to: the embedded erasure-coded layer its validators run, Ethereum blobs,
 * Celestia, EigenDA, Avail. A layer takes at most `maxBlobBytes` per
 * submission; the DA client splits larger payloads.
 */

/** Where a submission stands on its layer. */
export type DaStatus =
  /** Accepted by the layer's endpoint, not yet included. */
  | "pending"
  /** In a block (or certified) on the layer, not yet final there. */
  | "included"
  /** Final on the layer: retrievable under its retention. */
  | "final"
  /** The layer does not know it (never landed, or expired). */
  | "unknown";

/** What a layer returns for a submission: enough to find, check and retrieve it again. JSON-serializable. */
export interface DaReceipt {
  /** The layer's name (`embedded`, `ethereum-blobs`, `celestia`, `eigenda`, `avail`). */
  layer: string;
  /** sha256 of the submitted bytes, 0x-hex. */
  payloadHash: `0x${string}`;
  /** Submitted bytes. */
  size: number;
  /** Layer-specific reference (transaction hash and versioned hashes, height and commitment, certificate...). */
  ref: Record<string, string | number | string[]>;
}

export interface DaLayer {
  readonly name: string;
  /** The most bytes one `submit` takes. */
  readonly maxBlobBytes: number;
  /**
   * Posts `payload`; resolves once the layer accepted it. Throws a `DaLayerError` on failure. `context.height`
   * is the Ordo height the payload belongs to (the embedded layer's certificates are bound to it; other layers
   * may ignore it).
   */
  submit(payload: Uint8Array, context?: { height: number }): Promise<DaReceipt>;
  status(receipt: DaReceipt): Promise<DaStatus>;
  /** The bytes the receipt names, as the layer returns them (check them with `verify`). */
  retrieve(receipt: DaReceipt): Promise<Uint8Array>;
  /** True when `bytes` are exactly what the receipt commits to. */
  verify(receipt: DaReceipt, bytes: Uint8Array): Promise<boolean>;
  /**
   * The receipt of an earlier submission of exactly `payload`, if the layer has it (null if not): asked after a
   * timeout or a crash, before submitting again. Layers that cannot look a payload up leave it out.
   */
  find?(payload: Uint8Array): Promise<DaReceipt | null>;
}

/**
 * A layer's failure, classified for the posting policy: `unavailable` (503, connection refused: fail over),
 * `timeout` (the call may still have landed: check before resubmitting), `rejected` (the layer refused this
 * payload: do not retry it there), `not-found`, `corrupt` (the layer returned bytes its receipt does not commit to).
 */
export class DaLayerError extends Error {
  constructor(
    readonly layer: string,
    readonly kind: "unavailable" | "timeout" | "rejected" | "not-found" | "corrupt",
    message: string,
  ) {
    super(`${layer}: ${message}`);
    this.name = "DaLayerError";
  }
}
