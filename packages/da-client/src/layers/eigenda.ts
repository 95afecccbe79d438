/**
 * EigenDA, through an eigenda-proxy's REST API in standard commitment mode.
 *
 * CONTRACT-TESTED AGAINST A FAKE BUILT FROM THE PUBLISHED API, NOT RUN AGAINST A LIVE NETWORK.
 *
 * What the published API says, and where (Layr-Labs/eigenda-proxy: README "Standard Commitment Mode" and
 * "Failover Signals", `clients/standard_client/client.go`, `server/routing.go`,
 * `server/middleware/error.go`, `common/proxyerrors/4xx.go`):
 * - `POST /put?commitment_mode=standard`, body the raw payload (`application/octet-stream`), answers 200
 *   with the commitment bytes: a version byte (0x00 V1 cert, 0x01 V2, ...) then the serialized DA
 *   certificate. The proxy encodes the payload into a blob, disperses it, and answers only once the
 *   certificate is available (and, by default, `--eigenda.eth-confirmation-depth -1`, after the batch
 *   is final on Ethereum), which can take many minutes. An empty 200 body is an error (the official
 *   client says "received an empty certificate").
 * - `GET /get/0x<commitment hex>?commitment_mode=standard` answers 200 with the payload, after the proxy
 *   verified the certificate and the blob's KZG commitment.
 * - Statuses: 400 for an oversized blob ("encoded blob is larger than max blob size") or an undecodable
 *   certificate; 418 for a certificate that fails validation (rollups drop it); 429 when the disperser
 *   rate-limits (gRPC RESOURCE_EXHAUSTED); 503 is the failover signal ("EigenDA is temporarily down,
 *   post elsewhere"); anything else is a 500, including a blob the network cannot serve.
 * - Size: `--eigenda.max-blob-length` defaults to 16 MiB. The payload is encoded as a 32-byte header then
 *   31 payload bytes per 32-byte BN254 field element, so 16 MiB of blob holds (16 MiB − 32) / 32 × 31 =
 *   16,252,897 payload bytes; that is the default here (lower it to the proxy's setting).
 *
 * No `find`: the proxy cannot look a payload up, and a certificate exists only once the PUT answered. After
 * a timed-out PUT the posting policy submits again; if the first dispersal did land, the payload is on
 * EigenDA twice under two certificates, which costs fees but no correctness (either certificate serves it).
 */
import { sha256, toHex } from "@ordo/core";
import { type DaLayer, DaLayerError, type DaReceipt, type DaStatus } from "../layer.js";
import { excerpt, type HttpResponse, httpRequest } from "./http.js";

const LAYER = "eigenda";

/** Payload bytes in a 16 MiB blob (the proxy's default `--eigenda.max-blob-length`). */
export const EIGENDA_MAX_PAYLOAD_BYTES_16MIB = ((16 * 1024 * 1024 - 32) / 32) * 31;

export interface EigenDaOptions {
  /** eigenda-proxy base URL, e.g. http://127.0.0.1:3100. */
  url: string;
  /** Default `EIGENDA_MAX_PAYLOAD_BYTES_16MIB`. */
  maxBlobBytes?: number;
  /** Deadline of GETs. Default 60 s (the proxy fetches and verifies the blob from the network). */
  timeoutMs?: number;
  /** Deadline of the PUT. Default 16 minutes: the proxy's `--eigenda.confirmation-timeout` is 15 minutes. */
  submitTimeoutMs?: number;
  /**
   * Whether the proxy answers PUTs only once the certificate's batch is final on Ethereum (its default,
   * `--eigenda.eth-confirmation-depth -1`). Then a certificate that still serves its blob is `final`; otherwise
   * `included`. Default true.
   */
  certsAreFinal?: boolean;
}

export class EigenDaLayer implements DaLayer {
  readonly name = LAYER;
  readonly maxBlobBytes: number;
  private readonly o: EigenDaOptions;

  constructor(o: EigenDaOptions) {
    this.o = o;
    this.maxBlobBytes = o.maxBlobBytes ?? EIGENDA_MAX_PAYLOAD_BYTES_16MIB;
  }

  async submit(payload: Uint8Array): Promise<DaReceipt> {
    if (payload.length === 0) throw new DaLayerError(LAYER, "rejected", "empty payload");
    if (payload.length > this.maxBlobBytes)
      throw new DaLayerError(LAYER, "rejected", `payload of ${payload.length} bytes exceeds ${this.maxBlobBytes}`);
    const res = await httpRequest(LAYER, `${this.o.url}/put?commitment_mode=standard`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: payload,
      timeoutMs: this.o.submitTimeoutMs ?? 16 * 60_000,
    });
    if (res.status !== 200) throw failure(res, "PUT");
    if (res.body.length === 0) throw new DaLayerError(LAYER, "unavailable", "PUT: 200 with an empty certificate");
    return {
      layer: LAYER,
      payloadHash: toHex(sha256(payload)),
      size: payload.length,
      ref: { commitment: toHex(res.body), certVersion: res.body[0] as number },
    };
  }

  private get(receipt: DaReceipt): Promise<HttpResponse> {
    const commitment = receipt.ref.commitment;
    if (typeof commitment !== "string" || !/^0x[0-9a-fA-F]+$/.test(commitment))
      throw new TypeError("not an eigenda receipt (needs a 0x-hex commitment)");
    return httpRequest(LAYER, `${this.o.url}/get/${commitment}?commitment_mode=standard`, {
      method: "GET",
      timeoutMs: this.o.timeoutMs ?? 60_000,
    });
  }

  /**
   * The proxy has no status route: a GET that serves the blob is the evidence (the proxy re-verifies the certificate on
   * every read). A certificate it refuses as invalid (418) or does not know (404) is `unknown`.
   */
  async status(receipt: DaReceipt): Promise<DaStatus> {
    const res = await this.get(receipt);
    if (res.status === 200) return (this.o.certsAreFinal ?? true) ? "final" : "included";
    if (res.status === 418 || res.status === 404) return "unknown";
    throw failure(res, "GET");
  }

  async retrieve(receipt: DaReceipt): Promise<Uint8Array> {
    const res = await this.get(receipt);
    if (res.status !== 200) throw failure(res, "GET");
    return res.body;
  }

  /** True when `bytes` have the receipt's size and sha256 (the proxy checked the KZG commitment when it served them). */
  async verify(receipt: DaReceipt, bytes: Uint8Array): Promise<boolean> {
    return bytes.length === receipt.size && toHex(sha256(bytes)) === receipt.payloadHash;
  }
}

/** A non-200 answer, classified. */
function failure(res: HttpResponse, route: "PUT" | "GET"): DaLayerError {
  const detail = `${route}: HTTP ${res.status}: ${excerpt(res.text())}`;
  switch (res.status) {
    case 400:
      // PUT: blob too large for the proxy; GET: a certificate that does not decode. Neither improves with retries.
      return new DaLayerError(LAYER, "rejected", detail);
    case 418:
      // The certificate failed validation: the proxy tells rollups to drop it.
      return new DaLayerError(LAYER, "rejected", `${detail} (certificate invalid)`);
    case 404:
      return new DaLayerError(LAYER, "not-found", detail);
    case 429:
      return new DaLayerError(LAYER, "unavailable", `${detail} (rate-limited by the disperser)`);
    case 503:
      return new DaLayerError(LAYER, "unavailable", `${detail} (failover signal)`);
    default:
      return new DaLayerError(LAYER, "unavailable", detail);
  }
}
