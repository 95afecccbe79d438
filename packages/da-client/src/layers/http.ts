/**
 * The one HTTP call the external-layer clients (Celestia, EigenDA, Avail, the
 * beacon API) make: `fetch` under an `AbortSignal` deadline, with transport
 * failures already classified for the posting policy. HTTP statuses are left
 * to each client, because what a 500 or a 404 means differs per API.
 */
import { DaLayerError } from "../layer.js";

export interface HttpResponse {
  status: number;
  body: Uint8Array;
  text(): string;
}

export interface HttpRequest {
  method: "GET" | "POST";
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Deadline for the whole exchange, body included. */
  timeoutMs: number;
}

function causeCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur !== null && typeof cur === "object"; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string") return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Sends one request. Throws `DaLayerError`:
 * - `timeout` when the deadline passes (the server may still act on the request: a submit may land);
 * - `unavailable` when the connection fails (refused, reset, DNS, cut off).
 */
export async function httpRequest(layer: string, url: string, req: HttpRequest): Promise<HttpResponse> {
  const signal = AbortSignal.timeout(req.timeoutMs);
  try {
    const init: RequestInit = { method: req.method, signal };
    if (req.headers) init.headers = req.headers;
    if (req.body !== undefined) init.body = req.body;
    const res = await fetch(url, init);
    // Reading the body stays under the same signal: a server that stalls mid-body times out too.
    const body = new Uint8Array(await res.arrayBuffer());
    return { status: res.status, body, text: () => Buffer.from(body).toString("utf8") };
  } catch (e) {
    if (signal.aborted)
      throw new DaLayerError(layer, "timeout", `${req.method} ${url}: no answer within ${req.timeoutMs} ms`);
    // Everything else fetch throws is a transport failure (refused, reset, DNS, a body cut off): the layer's
    // endpoint is not answering, so the policy should fail over.
    const code = causeCode(e);
    throw new DaLayerError(layer, "unavailable", `${req.method} ${url}: ${code ?? (e as Error).message}`);
  }
}

/** A short, single-line excerpt of a response body for error messages. */
export function excerpt(text: string, max = 300): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max)}...` : t;
}
