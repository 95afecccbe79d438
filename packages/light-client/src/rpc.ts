/**
 * The thin shell: fetches what the pure `LightClient` verifies from any Ordo
 * node's HTTP API. Nothing a node says is believed — every answer is parsed
 * strictly (`json.ts`) and verified against the committee the client trusts —
 * except in `checkpointFromNode`, which is where trust comes from.
 */
import { bitmapIndices, bytesEqual, hashValidatorSet, MAX_NAMESPACE, toHex } from "@ordo/core";
import { LightClientError } from "./errors.js";
import {
  epochChangeFromJson,
  finalityFromJson,
  namespaceBlockFromJson,
  statusFromJson,
  validatorsFromJson,
} from "./json.js";
import type { LightClient } from "./light-client.js";
import type { Checkpoint } from "./types.js";

export interface NodeOptions {
  /** Per request, connection to last byte (default 10 s). */
  timeoutMs?: number;
  /** Largest answer read (default 64 MiB): a node cannot make the client buffer without bound. */
  maxResponseBytes?: number;
  /** Injected for tests or custom transports (default: the global `fetch`). */
  fetch?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** What `verifyFromNode` verified. */
export interface VerificationReport {
  /** The height asked for. */
  height: number;
  /** The height the certificate commits directly (its ancestors down to `height` are final with it). */
  certifiedHeight: number;
  headersVerified: number;
  /** Hash of the header at `height` (0x-hex). */
  blockHash: string;
  epoch: number;
  /** Epoch changes followed on the way (each verified: the last block's finality and its commitment). */
  epochChanges: number;
  signers: number;
  signedStake: bigint;
  totalStake: bigint;
  namespace?: {
    namespace: number;
    /** All of the namespace's transactions at `height`, in block order: the rollup's complete batch. */
    transactions: Uint8Array[];
    kind: "inclusion" | "absence";
  };
}

/**
 * Verifies the finality of `height` (and, with `namespace`, the namespace's
 * complete batch at that height) from an untrusted node. Records the verified
 * headers in `client`. Throws `LightClientError`: a verification code, or
 * `NODE_UNREACHABLE` / `NODE_ERROR` / `BAD_RESPONSE`.
 */
export async function verifyFromNode(
  client: LightClient,
  rpcUrl: string,
  height: number,
  namespace?: number,
  options: NodeOptions = {},
): Promise<VerificationReport> {
  if (!Number.isSafeInteger(height) || height < 0)
    throw new LightClientError("MALFORMED", `height must be an unsigned safe integer, got ${height}`);
  if (namespace !== undefined && (!Number.isInteger(namespace) || namespace < 0 || namespace > MAX_NAMESPACE))
    throw new LightClientError("MALFORMED", `namespace must be an integer in 0..${MAX_NAMESPACE}, got ${namespace}`);
  // Both requests at once; verified in order, since the namespace proof needs the verified root.
  const [finalityJson, namespaceJson] = await Promise.all([
    getJson(rpcUrl, `/v1/blocks/${height}/finality`, options),
    namespace === undefined ? undefined : getJson(rpcUrl, `/v1/namespaces/${namespace}/blocks/${height}`, options),
  ]);
  // Both answers parsed before anything is verified: a malformed answer changes nothing in the client.
  const update = finalityFromJson(finalityJson);
  if (update.height !== height)
    throw new LightClientError("BAD_RESPONSE", `asked for the finality of ${height}, got ${update.height}'s`);
  const block = namespace === undefined ? undefined : namespaceBlockFromJson(namespaceJson);
  if (block && (block.height !== height || block.namespace !== namespace))
    throw new LightClientError(
      "BAD_RESPONSE",
      `asked for namespace ${namespace} at ${height}, got namespace ${block.namespace} at ${block.height}`,
    );
  // A certificate of a later epoch: follow the committee changes up to it first, each proven by the chain.
  const epochChanges = await followEpochs(client, rpcUrl, update.certificate.epoch, options);
  const verified = client.verifyFinality(update.headers, update.certificate);
  const first = verified[0];
  if (!first) throw new LightClientError("BAD_RESPONSE", "the finality update has no headers");
  const report: VerificationReport = {
    height,
    certifiedHeight: update.certifiedHeight,
    headersVerified: verified.length,
    blockHash: toHex(first.hash),
    epoch: update.certificate.epoch,
    epochChanges,
    signers: bitmapIndices(update.certificate.signers).length,
    signedStake: client.signedStake(update.certificate.signers),
    totalStake: client.state().totalStake,
  };
  if (namespace !== undefined && block) {
    const result = client.verifyNamespace(height, namespace, block.transactions, block.proof);
    report.namespace = { namespace, transactions: block.transactions, kind: result.kind };
  }
  return report;
}

/**
 * Moves `client` to epoch `target` (if it is behind) by the changes a node
 * serves at `GET /v1/epochs/:epoch/change`: `{ finality, change }`, the
 * finality update of epoch `epoch`'s last block and the epoch change proven
 * by it (`epochChangeToJson`). Each is verified before the next is asked for.
 * Returns how many epochs it moved.
 */
export async function followEpochs(
  client: LightClient,
  rpcUrl: string,
  target: number,
  options: NodeOptions = {},
): Promise<number> {
  let moved = 0;
  for (let epoch = client.state().epoch; epoch < target; epoch++) {
    const body = await getJson(rpcUrl, `/v1/epochs/${epoch}/change`, options);
    const o = body as { finality?: unknown; change?: unknown } | null;
    if (typeof o !== "object" || o === null)
      throw new LightClientError("BAD_RESPONSE", "epoch change must be an object");
    const update = finalityFromJson(o.finality);
    const change = epochChangeFromJson(o.change);
    if (change.height !== update.height || change.newSet.epoch !== epoch + 1)
      throw new LightClientError(
        "BAD_RESPONSE",
        `asked how epoch ${epoch} ended, got a change to epoch ${change.newSet.epoch} at ${change.height} with the finality of ${update.height}`,
      );
    client.verifyFinality(update.headers, update.certificate);
    client.applyEpochChange(change);
    moved++;
  }
  return moved;
}

/**
 * A checkpoint from a node's `/v1/status` and `/v1/validators`. This TRUSTS
 * that node: a node that lies here hands the client a committee of its own
 * and everything verified afterwards is worthless. A real deployment pins the
 * checkpoint (or the genesis validator-set hash) out of band — `expectedSetHash`
 * — or takes the set from the genesis file. The node's stated set hash is
 * checked against the keys and stakes it lists, which catches a garbled
 * answer, not a lying node.
 */
export async function checkpointFromNode(
  rpcUrl: string,
  options: NodeOptions & { expectedSetHash?: Uint8Array } = {},
): Promise<Checkpoint> {
  const [statusJson, validatorsJson] = await Promise.all([
    getJson(rpcUrl, "/v1/status", options),
    getJson(rpcUrl, "/v1/validators", options),
  ]);
  const status = statusFromJson(statusJson);
  const set = validatorsFromJson(validatorsJson);
  if (status.epoch !== set.epoch)
    throw new LightClientError("BAD_RESPONSE", `status is at epoch ${status.epoch}, validators at ${set.epoch}`);
  const total = set.validators.reduce((s, v) => s + v.stake, 0n);
  if (total !== set.totalStake)
    throw new LightClientError("BAD_RESPONSE", `validators sum to ${total} stake, the node says ${set.totalStake}`);
  const validatorSet = { epoch: set.epoch, validators: set.validators };
  let hash: Uint8Array;
  try {
    // hashValidatorSet reads keys and stakes only.
    hash = hashValidatorSet({
      epoch: set.epoch,
      validators: set.validators.map((v) => ({ ...v, proofOfPossession: v.proofOfPossession ?? new Uint8Array() })),
    });
  } catch (e) {
    throw new LightClientError("BAD_RESPONSE", `the validator set cannot be hashed: ${(e as Error).message}`);
  }
  if (!bytesEqual(hash, set.hash))
    throw new LightClientError("BAD_RESPONSE", "the validators' stated hash is not the hash of their keys and stakes");
  if (options.expectedSetHash && !bytesEqual(hash, options.expectedSetHash))
    throw new LightClientError(
      "INVALID_CHECKPOINT",
      `the node's validator set ${toHex(hash)} is not the pinned ${toHex(options.expectedSetHash)}`,
    );
  return { chainId: status.chainId, validatorSet, height: status.committedHeight };
}

function endpoint(rpcUrl: string, path: string): string {
  let base: URL;
  try {
    base = new URL(rpcUrl);
  } catch {
    throw new LightClientError("MALFORMED", `not a URL: ${rpcUrl}`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:")
    throw new LightClientError("MALFORMED", `not an http(s) URL: ${rpcUrl}`);
  // Keeps a path prefix (a node behind a reverse proxy at /ordo/) that `new URL("/v1/...", base)` would drop.
  return `${base.origin}${base.pathname.replace(/\/+$/, "")}${path}`;
}

/** GET `path` as JSON, with a deadline on the whole exchange and a cap on the body. */
async function getJson(rpcUrl: string, path: string, options: NodeOptions): Promise<unknown> {
  const url = endpoint(rpcUrl, path);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  const doFetch = options.fetch ?? fetch;
  let text: string;
  let status: number;
  try {
    const response = await doFetch(url, { signal, headers: { accept: "application/json" } });
    status = response.status;
    text = await readCapped(response, options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
  } catch (e) {
    if (e instanceof LightClientError) throw e;
    const why = signal.aborted ? `no answer within ${timeoutMs} ms` : (e as Error).message;
    throw new LightClientError("NODE_UNREACHABLE", `GET ${url}: ${why}`, { cause: e });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    if (status < 200 || status >= 300)
      throw new LightClientError("NODE_ERROR", `GET ${url}: HTTP ${status}`, { status });
    throw new LightClientError("BAD_RESPONSE", `GET ${url}: the answer is not JSON`);
  }
  if (status < 200 || status >= 300) {
    // The API's errors are {error: {code, message}}; NOT_READY (503) means "ask again later".
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const detail =
      typeof error?.code === "string" && typeof error.message === "string"
        ? `${error.code}: ${error.message.slice(0, 500)}`
        : `HTTP ${status}`;
    throw new LightClientError("NODE_ERROR", `GET ${url}: ${detail}`, { status });
  }
  return body;
}

async function readCapped(response: Response, max: number): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > max) {
    await response.body?.cancel();
    throw new LightClientError("BAD_RESPONSE", `the answer is ${declared} bytes, over the ${max}-byte limit`);
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      throw new LightClientError("BAD_RESPONSE", `the answer exceeds the ${max}-byte limit`);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
