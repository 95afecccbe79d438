/**
 * Avail, through an Avail light client's HTTP API v2 (the light client runs in app mode with a signing key
 * and submits on the rollup's behalf).
 *
 * CONTRACT-TESTED AGAINST A FAKE BUILT FROM THE PUBLISHED API, NOT RUN AGAINST A LIVE NETWORK.
 *
 * What the published API says, and where (availproject/avail-light `core/src/api/v2/README.md` and
 * `core/src/api/v2/types.rs`):
 * - `POST /v2/submit` with `{ "data": "<base64>" }` (or `{ "extrinsic": ... }`, one field only) makes,
 *   signs and submits a data transaction and answers `{ block_number, block_hash, hash, index }` once it
 *   is in a block; 404 if app mode is off or no signing key is configured. Errors are 500 with a message.
 * - `GET /v2/status` → `{ modes, app_id, genesis_hash, network, blocks: { latest, available, app_data,
 *   historical_sync } }`; `latest` is the latest finalized block the light client received.
 * - `GET /v2/blocks/{n}` → `{ status, confidence }`, status one of unavailable | pending |
 *   verifying-header | verifying-confidence | verifying-data | incomplete | finished; 404 when n is past
 *   `latest` (not finalized yet as far as the light client knows).
 * - `GET /v2/blocks/{n}/header` → `{ hash, parent_hash, number, ... }` once the header is verified
 *   (400 before).
 * - `GET /v2/blocks/{n}/data?fields=data,extrinsic` → `{ block_number, data_transactions: [{ data,
 *   extrinsic }] }` (base64) when the status is `finished`; 400 otherwise. Only the light client's app's
 *   transactions are listed, without their index or hash.
 * - Size: the runtime bounds `submit_data` at `MaxAppDataLength` = 524,288 bytes (avail runtime
 *   constants), the default `maxBlobBytes` here.
 * - Finality: GRANDPA; blocks can be reorganized until finalized, so `status` compares the finalized
 *   header's hash with the block hash the submission reported.
 *
 * Which data transaction is ours: Substrate's transaction hash is blake2b-256 of the encoded extrinsic, so
 * `retrieve` hashes each returned `extrinsic` and picks the one whose hash is the receipt's. If a light
 * client encodes `extrinsic` differently (so no hash matches), it falls back to the transaction whose data
 * has the receipt's sha256, so an intact payload is still found.
 *
 * Timeouts and nonce drift: the light client signs with its own account; a transaction refused as
 * outdated or with too low a priority (1010/1014: another submission used that nonce) comes back as a
 * 500, classified `unavailable` (retry later: the light client re-reads its nonce). After a timeout,
 * `find(payload)` scans the last finalized blocks the light client verified; a submission that landed but
 * is not finalized yet is not visible there, so the policy's backoff should exceed Avail's finality delay
 * (~20 s + the light client's verification).
 */
import { sha256, toHex } from "@ordo/core";
import { type DaLayer, DaLayerError, type DaReceipt, type DaStatus } from "../layer.js";
import { excerpt, type HttpResponse, httpRequest } from "./http.js";

const LAYER = "avail";

/** The Avail runtime's `MaxAppDataLength` (512 KiB). */
export const AVAIL_MAX_APP_DATA_BYTES = 524_288;

export interface AvailOptions {
  /** Light client HTTP API base URL, e.g. http://127.0.0.1:7007. */
  url: string;
  /** Default `AVAIL_MAX_APP_DATA_BYTES`. */
  maxBlobBytes?: number;
  /** Deadline of reads. Default 30 s. */
  timeoutMs?: number;
  /** Deadline of `/v2/submit`, which answers once the transaction is in a block. Default 120 s. */
  submitTimeoutMs?: number;
  /** Finalized blocks `find` scans back from the light client's latest. Default 30 (~10 minutes of 20 s blocks). */
  findLookbackBlocks?: number;
}

interface SubmitResponse {
  block_number: number;
  block_hash: string;
  hash: string;
  index: number;
}

interface DataResponse {
  block_number: number;
  data_transactions: { data?: string; extrinsic?: string }[];
}

type BlockStatus =
  | "unavailable"
  | "pending"
  | "verifying-header"
  | "verifying-confidence"
  | "verifying-data"
  | "incomplete"
  | "finished";

export class AvailLayer implements DaLayer {
  readonly name = LAYER;
  readonly maxBlobBytes: number;
  private readonly o: AvailOptions;

  constructor(o: AvailOptions) {
    this.o = o;
    this.maxBlobBytes = o.maxBlobBytes ?? AVAIL_MAX_APP_DATA_BYTES;
  }

  private get readTimeout(): number {
    return this.o.timeoutMs ?? 30_000;
  }

  private read(path: string): Promise<HttpResponse> {
    return httpRequest(LAYER, `${this.o.url}${path}`, { method: "GET", timeoutMs: this.readTimeout });
  }

  async submit(payload: Uint8Array): Promise<DaReceipt> {
    if (payload.length === 0) throw new DaLayerError(LAYER, "rejected", "empty payload: the light client refuses it");
    if (payload.length > this.maxBlobBytes)
      throw new DaLayerError(LAYER, "rejected", `payload of ${payload.length} bytes exceeds ${this.maxBlobBytes}`);
    const res = await httpRequest(LAYER, `${this.o.url}/v2/submit`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: Buffer.from(payload).toString("base64") }),
      timeoutMs: this.o.submitTimeoutMs ?? 120_000,
    });
    if (res.status === 404)
      // App mode off or no signing key: a configuration problem that refuses every payload alike.
      throw new DaLayerError(
        LAYER,
        "unavailable",
        "POST /v2/submit: 404: the light client is not in app mode or has no signing key",
      );
    if (res.status === 400) throw new DaLayerError(LAYER, "rejected", `POST /v2/submit: 400: ${excerpt(res.text())}`);
    if (res.status !== 200)
      throw new DaLayerError(LAYER, "unavailable", `POST /v2/submit: ${res.status}: ${excerpt(res.text())}`);
    const r = JSON.parse(res.text()) as SubmitResponse;
    return {
      layer: LAYER,
      payloadHash: toHex(sha256(payload)),
      size: payload.length,
      ref: { blockNumber: r.block_number, blockHash: r.block_hash, hash: r.hash, index: r.index },
    };
  }

  /** The light client's verified header hash of block `n`, or null when it has none (not verified, or past latest). */
  private async headerHash(n: number): Promise<string | null> {
    const res = await this.read(`/v2/blocks/${n}/header`);
    if (res.status === 400 || res.status === 404) return null;
    if (res.status !== 200)
      throw new DaLayerError(LAYER, "unavailable", `header ${n}: ${res.status}: ${excerpt(res.text())}`);
    return (JSON.parse(res.text()) as { hash: string }).hash;
  }

  async status(receipt: DaReceipt): Promise<DaStatus> {
    const { blockNumber, blockHash } = refOf(receipt);
    const res = await this.read(`/v2/blocks/${blockNumber}`);
    // Past the latest finalized block the light client has: the submission saw it in a block, not final yet.
    if (res.status === 404) return "included";
    if (res.status !== 200) throw new DaLayerError(LAYER, "unavailable", `block ${blockNumber}: ${res.status}`);
    const { status } = JSON.parse(res.text()) as { status: BlockStatus };
    if (status === "unavailable") return "unknown"; // older than the light client's sync depth: it cannot tell
    if (status === "pending" || status === "verifying-header") return "included";
    // The header is finalized and verified from here on: a different hash means our block was reorganized away.
    const hash = await this.headerHash(blockNumber);
    if (hash !== null && hash.toLowerCase() !== blockHash.toLowerCase()) return "unknown";
    return status === "finished" ? "final" : "included";
  }

  private async dataOf(n: number): Promise<DataResponse | null> {
    const res = await this.read(`/v2/blocks/${n}/data?fields=data,extrinsic`);
    // 404: past latest; 400: data not (yet) verified for this block, or app mode off.
    if (res.status === 400 || res.status === 404) return null;
    if (res.status !== 200)
      throw new DaLayerError(LAYER, "unavailable", `data ${n}: ${res.status}: ${excerpt(res.text())}`);
    return JSON.parse(res.text()) as DataResponse;
  }

  async retrieve(receipt: DaReceipt): Promise<Uint8Array> {
    const { blockNumber, hash } = refOf(receipt);
    const data = await this.dataOf(blockNumber);
    if (!data)
      throw new DaLayerError(LAYER, "not-found", `block ${blockNumber} has no verified data at the light client yet`);
    const txs = data.data_transactions;
    const byHash = txs.find(
      (t) => t.extrinsic !== undefined && toHex(blake2b256(Buffer.from(t.extrinsic, "base64"))) === hash.toLowerCase(),
    );
    const chosen =
      byHash ??
      txs.find((t) => t.data !== undefined && toHex(sha256(Buffer.from(t.data, "base64"))) === receipt.payloadHash);
    if (!chosen?.data) throw new DaLayerError(LAYER, "not-found", `transaction ${hash} is not in block ${blockNumber}`);
    return new Uint8Array(Buffer.from(chosen.data, "base64"));
  }

  /** True when `bytes` have the receipt's size and sha256 (the light client verified the cells against the header's KZG commitments). */
  async verify(receipt: DaReceipt, bytes: Uint8Array): Promise<boolean> {
    return bytes.length === receipt.size && toHex(sha256(bytes)) === receipt.payloadHash;
  }

  /** A data transaction with exactly `payload`'s bytes in the last `findLookbackBlocks` finalized, verified blocks. */
  async find(payload: Uint8Array): Promise<DaReceipt | null> {
    const res = await this.read("/v2/status");
    if (res.status !== 200)
      throw new DaLayerError(LAYER, "unavailable", `status: ${res.status}: ${excerpt(res.text())}`);
    const latest = (JSON.parse(res.text()) as { blocks: { latest: number } }).blocks.latest;
    const payloadHash = toHex(sha256(payload));
    const lowest = Math.max(0, latest - (this.o.findLookbackBlocks ?? 30) + 1);
    for (let n = latest; n >= lowest; n--) {
      const data = await this.dataOf(n);
      const tx = data?.data_transactions.find(
        (t) => t.data !== undefined && toHex(sha256(Buffer.from(t.data, "base64"))) === payloadHash,
      );
      if (!tx) continue;
      const blockHash = await this.headerHash(n);
      if (blockHash === null) continue;
      return {
        layer: LAYER,
        payloadHash,
        size: payload.length,
        ref: {
          blockNumber: n,
          blockHash,
          // The data endpoint gives neither hash nor index; the hash is recomputed from the extrinsic when present.
          hash: tx.extrinsic !== undefined ? toHex(blake2b256(Buffer.from(tx.extrinsic, "base64"))) : "",
          index: -1,
        },
      };
    }
    return null;
  }
}

function refOf(r: DaReceipt): { blockNumber: number; blockHash: string; hash: string } {
  const { blockNumber, blockHash, hash } = r.ref;
  if (typeof blockNumber !== "number" || typeof blockHash !== "string" || typeof hash !== "string")
    throw new TypeError("not an avail receipt (needs blockNumber, blockHash, hash)");
  return { blockNumber, blockHash, hash };
}

// ---------------------------------------------------------------------------------------------------------------
// BLAKE2b (RFC 7693), for Substrate transaction hashes (blake2b-256 of the encoded extrinsic). Node's crypto has
// only the 64-byte variant, whose parameter block differs, so it cannot give the 32-byte digest. 64-bit words are
// kept as (low, high) pairs of 32-bit halves in a Uint32Array, which wraps additions for free.

const IV = new Uint32Array([
  0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372, 0x5f1d36f1, 0xa54ff53a, 0xade682d1,
  0x510e527f, 0x2b3e6c1f, 0x9b05688c, 0xfb41bd6b, 0x1f83d9ab, 0x137e2179, 0x5be0cd19,
]);

/** The message schedule, as indices into the (low, high) word array: each entry is 2 × the RFC's. */
const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
].map((row) => Uint8Array.from(row, (i) => i * 2));

// Scratch state reused by every compression (hashing is synchronous, so no call interleaves with another).
const V = new Uint32Array(32);
const M = new Uint32Array(32);

/** v[a] += v[b] (64-bit, word indices ×2). */
function add64(v: Uint32Array, a: number, b: number): void {
  const lo = (v[a] as number) + (v[b] as number);
  v[a + 1] = (v[a + 1] as number) + (v[b + 1] as number) + (lo >= 0x100000000 ? 1 : 0);
  v[a] = lo;
}

/** v[a] += (hi:lo) (64-bit). */
function add64c(v: Uint32Array, a: number, lo: number, hi: number): void {
  const l = (v[a] as number) + lo;
  v[a + 1] = (v[a + 1] as number) + hi + (l >= 0x100000000 ? 1 : 0);
  v[a] = l;
}

function g(v: Uint32Array, m: Uint32Array, a: number, b: number, c: number, d: number, x: number, y: number): void {
  add64(v, a, b);
  add64c(v, a, m[x] as number, m[x + 1] as number);
  // d = rotr64(d ^ a, 32)
  let lo = (v[d] as number) ^ (v[a] as number);
  let hi = (v[d + 1] as number) ^ (v[a + 1] as number);
  v[d] = hi;
  v[d + 1] = lo;
  add64(v, c, d);
  // b = rotr64(b ^ c, 24)
  lo = (v[b] as number) ^ (v[c] as number);
  hi = (v[b + 1] as number) ^ (v[c + 1] as number);
  v[b] = (lo >>> 24) | (hi << 8);
  v[b + 1] = (hi >>> 24) | (lo << 8);
  add64(v, a, b);
  add64c(v, a, m[y] as number, m[y + 1] as number);
  // d = rotr64(d ^ a, 16)
  lo = (v[d] as number) ^ (v[a] as number);
  hi = (v[d + 1] as number) ^ (v[a + 1] as number);
  v[d] = (lo >>> 16) | (hi << 16);
  v[d + 1] = (hi >>> 16) | (lo << 16);
  add64(v, c, d);
  // b = rotr64(b ^ c, 63) = rotl64(b ^ c, 1)
  lo = (v[b] as number) ^ (v[c] as number);
  hi = (v[b + 1] as number) ^ (v[c + 1] as number);
  v[b] = (hi >>> 31) | (lo << 1);
  v[b + 1] = (lo >>> 31) | (hi << 1);
}

function compress(h: Uint32Array, block: Uint8Array, offset: number, t: number, last: boolean): void {
  const v = V;
  const m = M;
  v.set(h, 0);
  v.set(IV, 16);
  v[24] = (v[24] as number) ^ t; // counter low 32 bits
  v[25] = (v[25] as number) ^ Math.floor(t / 0x100000000);
  if (last) {
    v[28] = ~(v[28] as number);
    v[29] = ~(v[29] as number);
  }
  for (let i = 0; i < 32; i++)
    m[i] =
      (block[offset + i * 4] as number) |
      ((block[offset + i * 4 + 1] as number) << 8) |
      ((block[offset + i * 4 + 2] as number) << 16) |
      ((block[offset + i * 4 + 3] as number) << 24);
  for (let r = 0; r < 12; r++) {
    const s = SIGMA[r % 10] as Uint8Array;
    g(v, m, 0, 8, 16, 24, s[0] as number, s[1] as number);
    g(v, m, 2, 10, 18, 26, s[2] as number, s[3] as number);
    g(v, m, 4, 12, 20, 28, s[4] as number, s[5] as number);
    g(v, m, 6, 14, 22, 30, s[6] as number, s[7] as number);
    g(v, m, 0, 10, 20, 30, s[8] as number, s[9] as number);
    g(v, m, 2, 12, 22, 24, s[10] as number, s[11] as number);
    g(v, m, 4, 14, 16, 26, s[12] as number, s[13] as number);
    g(v, m, 6, 8, 18, 28, s[14] as number, s[15] as number);
  }
  for (let i = 0; i < 16; i++) h[i] = (h[i] as number) ^ (v[i] as number) ^ (v[i + 16] as number);
}

/** Unkeyed BLAKE2b with an `outLen`-byte digest (1..64). */
export function blake2b(input: Uint8Array, outLen = 64): Uint8Array {
  if (outLen < 1 || outLen > 64) throw new RangeError("blake2b digest length is 1..64");
  const h = new Uint32Array(IV);
  h[0] = (h[0] as number) ^ 0x01010000 ^ outLen; // parameter block: digest length, no key, fanout 1, depth 1
  const full = input.length === 0 ? 0 : Math.floor((input.length - 1) / 128);
  for (let i = 0; i < full; i++) compress(h, input, i * 128, (i + 1) * 128, false);
  const last = new Uint8Array(128);
  last.set(input.subarray(full * 128));
  compress(h, last, 0, input.length, true);
  const out = new Uint8Array(64);
  for (let i = 0; i < 16; i++) {
    const w = h[i] as number;
    out[i * 4] = w & 0xff;
    out[i * 4 + 1] = (w >>> 8) & 0xff;
    out[i * 4 + 2] = (w >>> 16) & 0xff;
    out[i * 4 + 3] = (w >>> 24) & 0xff;
  }
  return out.slice(0, outLen);
}

/** Substrate's `blake2_256`. */
export function blake2b256(input: Uint8Array): Uint8Array {
  return blake2b(input, 32);
}
