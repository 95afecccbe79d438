/** What the CLI's market clients (`prover start`, `rollup register`, the devnet) say to a validator's API. */
import {
  encodeSystemTransaction,
  type SystemKey,
  type SystemTransactionBody,
  signSystemTransaction,
} from "@ordo/prover";

export async function getJson<T>(url: string, timeoutMs = 5_000): Promise<T> {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!r.ok) throw new Error(`GET ${url}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** Signs `body` with `key` at `nonce` and posts it; the API's status and text (202 means admitted). */
export async function postSystemTransaction(
  node: string,
  chainId: number,
  key: SystemKey,
  nonce: number,
  body: SystemTransactionBody,
): Promise<{ status: number; text: string }> {
  return postSignedSystemTransaction(node, encodeSystemTransaction(signSystemTransaction(chainId, key, nonce, body)));
}

/** Posts an encoded, signed system transaction (409 means the node holds it already). */
export async function postSignedSystemTransaction(
  node: string,
  bytes: Uint8Array,
): Promise<{ status: number; text: string }> {
  const r = await fetch(`${node}/v1/system/transactions`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: bytes,
    signal: AbortSignal.timeout(5_000),
  });
  return { status: r.status, text: await r.text() };
}
