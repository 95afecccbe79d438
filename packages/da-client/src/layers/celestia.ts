/**
 * Celestia, through a celestia-node (bridge, full or light node) JSON-RPC API.
 *
 * CONTRACT-TESTED AGAINST A FAKE BUILT FROM THE PUBLISHED API, NOT RUN AGAINST A LIVE NETWORK.
 *
 * What the published API says, and where (read for this client):
 * - Methods (celestia-node `nodebuilder/blob/blob.go`, the OpenRPC spec at node-rpc-docs.celestia.org):
 *   `blob.Submit(blobs, options) → height` (waits until the PayForBlobs transaction is in a block),
 *   `blob.Get(height, namespace, commitment) → Blob`, `blob.GetAll(height, namespaces) → Blob[]`,
 *   `blob.GetProof(height, namespace, commitment) → Proof`, `blob.Included(height, namespace, proof,
 *   commitment) → bool`; `header.LocalHead() → ExtendedHeader` (Tendermint JSON: the height is a string).
 *   Permissions: Submit needs `write`, the others `read`.
 * - Blob JSON (`blob/blob.go`): `{ namespace, data, share_version, commitment, index }`, byte fields in
 *   standard base64 (Go's `[]byte` encoding). The commitment is a Merkle root over the blob's shares that
 *   the node computes (go-square `inclusion.CreateCommitment`); `Submit` returns only the height, so the
 *   client reads the commitment back with `blob.GetAll` at that height.
 * - Options (`state/tx_config.go`): `{ gas_price, is_gas_price_set, gas, key_name, signer_address,
 *   fee_granter_address }`, all optional: the node estimates gas and uses its minimum gas price.
 * - Namespaces (celestia-app `pkg/namespace/consts.go`, celestia-types `Namespace` docs): 29 bytes, a
 *   version byte then a 28-byte ID; version 0 IDs are 18 zero bytes then 10 user bytes; version-0 IDs
 *   whose first 27 bytes are zero are reserved (primary reserved namespaces) and refused for blobs.
 * - Auth (filecoin-project/go-jsonrpc `auth/handler.go`): `Authorization: Bearer <JWT>` (from `celestia
 *   <node> auth write`). A malformed or unverifiable token gets HTTP 401 with an empty body (reported by
 *   users as "http status 401 Unauthorized unmarshaling response: EOF", celestia-node#3384); no token at
 *   all gets default permissions, and then a JSON-RPC error "missing permission to invoke 'Submit' (need
 *   'write')".
 * - Errors: method errors are JSON-RPC errors whose message is the Go error text: "blob: not found"
 *   (`blob/service.go` ErrBlobNotFound); too large a transaction is refused by celestia-app's CheckTx with
 *   "tx size N bytes is larger than the application's configured MaxTxSize of M bytes"; and
 *   broadcast can end in "timed out waiting for tx to be included in a block" (celestia-core, discussed in
 *   celestia-core#1168) after which the transaction may still land: so do client-side deadlines.
 * - Sizes: a transaction is at most 2 MiB under CIP-28 (max blob ≈ 1,973,786 bytes, per the Celestia docs
 *   on mainnet blob size) and 8 MiB from CIP-38 (app v6). The default here is the CIP-28 figure.
 * - Finality: CometBFT has single-slot finality, so a blob in a committed block is final.
 *
 * After a timeout the blob may have landed: `find(payload)` scans the namespace over the last blocks
 * (`blob.GetAll`) for a blob with exactly these bytes, which the posting policy asks before resubmitting.
 */
import { sha256, toHex } from "@ordo/core";
import { type DaLayer, DaLayerError, type DaReceipt, type DaStatus } from "../layer.js";
import { excerpt, httpRequest } from "./http.js";

const LAYER = "celestia";

/** Max blob bytes under CIP-28's 2 MiB transaction limit (Celestia docs, "maximum blob size" on mainnet). */
export const CELESTIA_MAX_BLOB_BYTES_CIP28 = 1_973_786;

export const NAMESPACE_BYTES = 29;
const V0_PREFIX_ZEROS = 18;
const V0_ID_BYTES = 10;

/**
 * A version-0 namespace from a user ID of 1 to 10 bytes, right-aligned after the 18 zero bytes (as
 * `Namespace::new_v0` / `share.NewV0Namespace` do). Throws for IDs that fall in the reserved range.
 */
export function celestiaNamespace(id: Uint8Array): Uint8Array {
  if (id.length < 1 || id.length > V0_ID_BYTES) throw new RangeError(`namespace id must be 1..${V0_ID_BYTES} bytes`);
  const ns = new Uint8Array(NAMESPACE_BYTES);
  ns.set(id, NAMESPACE_BYTES - id.length);
  checkNamespace(ns);
  return ns;
}

/** Throws unless `ns` is a 29-byte version-0 namespace usable for blobs. */
export function checkNamespace(ns: Uint8Array): void {
  if (ns.length !== NAMESPACE_BYTES) throw new RangeError(`a namespace is ${NAMESPACE_BYTES} bytes, not ${ns.length}`);
  if (ns[0] !== 0) throw new RangeError(`only version-0 namespaces take blobs (got version ${ns[0]})`);
  for (let i = 1; i <= V0_PREFIX_ZEROS; i++)
    if (ns[i] !== 0) throw new RangeError("a version-0 namespace ID starts with 18 zero bytes");
  let reserved = true;
  for (let i = 1; i < NAMESPACE_BYTES - 1; i++) if (ns[i] !== 0) reserved = false;
  if (reserved) throw new RangeError("namespace is in the reserved range (ID <= 0xff)");
}

/** `blob.Submit` options (celestia-node `state.TxConfig` JSON). */
export interface CelestiaTxConfig {
  gas_price?: number;
  is_gas_price_set?: boolean;
  gas?: number;
  key_name?: string;
  signer_address?: string;
  fee_granter_address?: string;
}

export interface CelestiaOptions {
  /** celestia-node RPC endpoint, e.g. http://127.0.0.1:26658. */
  url: string;
  /** JWT with `write` permission (`celestia <node-type> auth write`); omit only for nodes run with --rpc.skip-auth. */
  authToken?: string;
  /** 29-byte namespace (see `celestiaNamespace`). */
  namespace: Uint8Array;
  /** Default `CELESTIA_MAX_BLOB_BYTES_CIP28`. */
  maxBlobBytes?: number;
  /** Deadline of read calls. Default 30 s. */
  timeoutMs?: number;
  /** Deadline of `blob.Submit`, which returns once the blob is in a block (6 s blocks, retries on congestion). Default 120 s. */
  submitTimeoutMs?: number;
  txConfig?: CelestiaTxConfig;
  /** Blocks `find` scans back from the node's head. Default 50 (~5 minutes of 6 s blocks). */
  findLookbackBlocks?: number;
}

interface BlobJson {
  namespace: string;
  data: string;
  share_version: number;
  commitment: string;
  index?: number;
}

/** A JSON-RPC error the node answered with. */
class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class CelestiaLayer implements DaLayer {
  readonly name = LAYER;
  readonly maxBlobBytes: number;
  private readonly o: CelestiaOptions;
  private readonly ns64: string;
  private nextId = 1;

  constructor(o: CelestiaOptions) {
    checkNamespace(o.namespace);
    this.o = o;
    this.maxBlobBytes = o.maxBlobBytes ?? CELESTIA_MAX_BLOB_BYTES_CIP28;
    this.ns64 = Buffer.from(o.namespace).toString("base64");
  }

  /** One JSON-RPC call. Transport and HTTP failures become `DaLayerError`s; JSON-RPC errors `RpcError`s. */
  private async call<T>(method: string, params: unknown[], timeoutMs: number): Promise<T> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.o.authToken) headers.authorization = `Bearer ${this.o.authToken}`;
    const res = await httpRequest(LAYER, this.o.url, {
      method: "POST",
      headers,
      body: JSON.stringify({ jsonrpc: "2.0", id: this.nextId++, method, params }),
      timeoutMs,
    });
    if (res.status === 401 || res.status === 403)
      // Not this payload's fault: every call fails until an operator fixes the token, so fail over, do not mark the
      // payload rejected here.
      throw new DaLayerError(LAYER, "unavailable", `${method}: HTTP ${res.status}: the auth token is not accepted`);
    let envelope: { result?: T; error?: { code: number; message: string } } | undefined;
    try {
      envelope = JSON.parse(res.text()) as typeof envelope;
    } catch {
      envelope = undefined;
    }
    // go-jsonrpc answers protocol errors with 4xx/5xx and a JSON-RPC body: prefer the body when there is one.
    if (envelope?.error) throw new RpcError(envelope.error.code, envelope.error.message);
    if (res.status !== 200 || !envelope || !("result" in envelope))
      throw new DaLayerError(LAYER, "unavailable", `${method}: HTTP ${res.status}: ${excerpt(res.text())}`);
    return envelope.result as T;
  }

  /** Classifies a failed call for the policy. */
  private fail(e: unknown, method: string): DaLayerError {
    if (e instanceof DaLayerError) return e;
    if (!(e instanceof RpcError)) return new DaLayerError(LAYER, "unavailable", `${method}: ${(e as Error).message}`);
    const m = e.message;
    if (/blob: not found/i.test(m)) return new DaLayerError(LAYER, "not-found", `${method}: ${m}`);
    if (/missing permission to invoke/i.test(m))
      return new DaLayerError(LAYER, "unavailable", `${method}: ${m} (no or too weak an auth token)`);
    if (/timed out waiting for tx|context deadline exceeded|deadline exceeded/i.test(m))
      return new DaLayerError(LAYER, "timeout", `${method}: ${m}`);
    if (/larger than the application's configured|blob data must be|too large|exceeds? (the )?max/i.test(m))
      return new DaLayerError(LAYER, "rejected", `${method}: ${m}`);
    // Insufficient funds, gas price below the minimum, sequence mismatch, node syncing: none is about this payload.
    return new DaLayerError(LAYER, "unavailable", `${method}: ${m}`);
  }

  private get readTimeout(): number {
    return this.o.timeoutMs ?? 30_000;
  }

  async submit(payload: Uint8Array): Promise<DaReceipt> {
    if (payload.length === 0) throw new DaLayerError(LAYER, "rejected", "empty payload: a blob needs data");
    if (payload.length > this.maxBlobBytes)
      throw new DaLayerError(LAYER, "rejected", `payload of ${payload.length} bytes exceeds ${this.maxBlobBytes}`);
    const blob = { namespace: this.ns64, data: Buffer.from(payload).toString("base64"), share_version: 0 };
    let height: number;
    try {
      height = await this.call<number>(
        "blob.Submit",
        [[blob], this.o.txConfig ?? {}],
        this.o.submitTimeoutMs ?? 120_000,
      );
    } catch (e) {
      throw this.fail(e, "blob.Submit");
    }
    const payloadHash = toHex(sha256(payload));
    const found = await this.findAt(height, payloadHash, payload.length);
    if (!found)
      throw new DaLayerError(
        LAYER,
        "not-found",
        `blob.Submit reported height ${height}, but blob.GetAll does not list the payload there`,
      );
    return found;
  }

  /** The receipt of a blob with these bytes at `height` in our namespace (the node computed its commitment), or null. */
  private async findAt(height: number, payloadHash: `0x${string}`, size: number): Promise<DaReceipt | null> {
    let blobs: BlobJson[] | null;
    try {
      blobs = await this.call<BlobJson[] | null>("blob.GetAll", [height, [this.ns64]], this.readTimeout);
    } catch (e) {
      const err = this.fail(e, "blob.GetAll");
      // Older nodes answer "blob: not found" for a namespace without blobs at that height; newer ones an empty list.
      if (err.kind === "not-found") return null;
      throw err;
    }
    for (const b of blobs ?? []) {
      const data = Buffer.from(b.data, "base64");
      if (data.length === size && toHex(sha256(data)) === payloadHash)
        return {
          layer: LAYER,
          payloadHash,
          size,
          ref: { height, namespace: this.ns64, commitment: b.commitment, index: b.index ?? -1 },
        };
    }
    return null;
  }

  async status(receipt: DaReceipt): Promise<DaStatus> {
    const { height, namespace, commitment } = refOf(receipt);
    let proof: unknown;
    try {
      proof = await this.call<unknown>("blob.GetProof", [height, namespace, commitment], this.readTimeout);
    } catch (e) {
      const err = this.fail(e, "blob.GetProof");
      if (err.kind === "not-found") return "unknown";
      throw err;
    }
    let included: boolean;
    try {
      included = await this.call<boolean>("blob.Included", [height, namespace, proof, commitment], this.readTimeout);
    } catch (e) {
      const err = this.fail(e, "blob.Included");
      if (err.kind === "not-found") return "unknown";
      throw err;
    }
    // Single-slot finality: in a committed block is final.
    return included ? "final" : "unknown";
  }

  async retrieve(receipt: DaReceipt): Promise<Uint8Array> {
    const { height, namespace, commitment } = refOf(receipt);
    let blob: BlobJson;
    try {
      blob = await this.call<BlobJson>("blob.Get", [height, namespace, commitment], this.readTimeout);
    } catch (e) {
      throw this.fail(e, "blob.Get");
    }
    return new Uint8Array(Buffer.from(blob.data, "base64"));
  }

  /**
   * True when `bytes` have the receipt's size and sha256. The share commitment itself is not recomputed here (that
   * needs go-square's share splitting and namespaced Merkle trees); `status` has the node check it with
   * `blob.Included`.
   */
  async verify(receipt: DaReceipt, bytes: Uint8Array): Promise<boolean> {
    return bytes.length === receipt.size && toHex(sha256(bytes)) === receipt.payloadHash;
  }

  /** A blob with exactly `payload`'s bytes in our namespace within the last `findLookbackBlocks` blocks. */
  async find(payload: Uint8Array): Promise<DaReceipt | null> {
    let head: number;
    try {
      const h = await this.call<{ header: { height: string | number } }>("header.LocalHead", [], this.readTimeout);
      head = Number(h.header.height);
    } catch (e) {
      throw this.fail(e, "header.LocalHead");
    }
    const payloadHash = toHex(sha256(payload));
    const lowest = Math.max(1, head - (this.o.findLookbackBlocks ?? 50) + 1);
    for (let h = head; h >= lowest; h--) {
      const r = await this.findAt(h, payloadHash, payload.length);
      if (r) return r;
    }
    return null;
  }
}

function refOf(r: DaReceipt): { height: number; namespace: string; commitment: string } {
  const { height, namespace, commitment } = r.ref;
  if (typeof height !== "number" || typeof namespace !== "string" || typeof commitment !== "string")
    throw new TypeError("not a celestia receipt (needs height, namespace, commitment)");
  return { height, namespace, commitment };
}
