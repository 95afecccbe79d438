/**
 * A fake eigenda-proxy (node:http, ephemeral port) in standard commitment mode, built from the published API the
 * client cites (Layr-Labs/eigenda-proxy README, `clients/standard_client/client.go`, `server/routing.go`,
 * `server/middleware/error.go`, `common/proxyerrors/4xx.go`): the same routes, query parameter, body and status
 * codes, including the failover 503, the rate-limit 429, the oversized-blob 400 and the invalid-certificate 418.
 *
 * Simplification: the certificate is a stand-in (version byte 0x01, then sha256 of the payload, a dispersal counter
 * and filler), not an RLP/ABI-encoded EigenDA certificate; the client treats it as opaque bytes.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface EigenDaFaults {
  /** POST /put answers 503 (the disperser is down: the proxy's failover signal). */
  unavailable: boolean;
  /** POST /put answers 429 (the disperser rate-limits this account). */
  rateLimited: boolean;
  /** Delay before answering POST /put; the blob is stored at once. */
  putDelayMs: number;
  /** GET returns the payload with its first byte flipped. */
  tamper: boolean;
}

export class FakeEigenDaProxy {
  readonly faults: EigenDaFaults = { unavailable: false, rateLimited: false, putDelayMs: 0, tamper: false };
  /** How many dispersals happened (a timed-out PUT that landed counts). */
  dispersals = 0;
  private readonly store = new Map<string, Buffer>();
  /** Certificates whose blob the network no longer serves (the proxy answers 500). */
  private readonly lost = new Set<string>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    /** `--eigenda.max-blob-length`, bytes of encoded blob. */
    private readonly maxBlobLength: number,
  ) {}

  static async start(o: { maxBlobLength?: number } = {}): Promise<FakeEigenDaProxy> {
    let proxy: FakeEigenDaProxy | undefined;
    const server = createServer((req, res) => {
      void proxy?.handle(req, res);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    proxy = new FakeEigenDaProxy(server, `http://127.0.0.1:${port}`, o.maxBlobLength ?? 16 * 1024 * 1024);
    return proxy;
  }

  close(): Promise<void> {
    return new Promise((r) => {
      this.server.closeAllConnections();
      this.server.close(() => r());
    });
  }

  /** Makes the blob behind `commitmentHex` unretrievable (the proxy then answers a 500). */
  lose(commitmentHex: string): void {
    this.lost.add(commitmentHex.replace(/^0x/, "").toLowerCase());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? "/", this.url);
    const mode = url.searchParams.get("commitment_mode");
    // gorilla/mux's answer for a route that does not match: this fake has only the standard-mode routes.
    const notFound = () => res.writeHead(404, { "content-type": "text/plain" }).end("404 page not found\n");

    if (req.method === "POST" && url.pathname === "/put") {
      if (mode !== "standard") return void notFound();
      await this.put(Buffer.concat(chunks), res);
      return;
    }
    const get = /^\/get\/(0x)?([0-9a-fA-F]*)$/.exec(url.pathname);
    if (req.method === "GET" && get) {
      if (mode !== "standard") return void notFound();
      this.get(get[2] as string, res);
      return;
    }
    if (req.method === "GET" && url.pathname === "/health") return void res.writeHead(200).end();
    notFound();
  }

  private async put(payload: Buffer, res: ServerResponse): Promise<void> {
    const error = (status: number, message: string) =>
      res.writeHead(status, { "content-type": "text/plain" }).end(`Error in PUT route (Mode: standard): ${message}\n`);
    if (this.faults.unavailable)
      return void error(503, "EigenDA service is temporarily unavailable: failover to another DA layer");
    if (this.faults.rateLimited)
      return void error(
        429,
        "rpc error: code = ResourceExhausted desc = request ratelimited: account rate limit exceeded",
      );
    if (payload.length === 0) return void error(500, "blob size cannot be zero");
    // Encoding: 32-byte header, then 31 payload bytes per 32-byte field element, padded to a power of two of symbols.
    const encoded = 32 + Math.ceil(payload.length / 31) * 32;
    const symbols = 2 ** Math.ceil(Math.log2(encoded / 32));
    if (symbols * 32 > this.maxBlobLength) return void error(400, "encoded blob is larger than max blob size");
    this.dispersals += 1;
    const cert = Buffer.concat([
      Buffer.from([0x01]),
      createHash("sha256").update(payload).digest(),
      Buffer.from(this.dispersals.toString(16).padStart(16, "0"), "hex"),
      Buffer.alloc(64, 0xee),
    ]);
    this.store.set(cert.toString("hex"), Buffer.from(payload));
    if (this.faults.putDelayMs > 0) await new Promise((r) => setTimeout(r, this.faults.putDelayMs));
    res.writeHead(200, { "content-type": "application/octet-stream" }).end(cert);
  }

  private get(hex: string, res: ServerResponse): void {
    const error = (status: number, message: string) =>
      res
        .writeHead(status, { "content-type": "text/plain" })
        .end(`Error in GET route (Mode: standard, CertVersion: 1): ${message}\n`);
    if (hex.length === 0 || hex.length % 2 !== 0)
      return void error(400, `decoding cert from hex string: ${hex}, error: odd length hex string`);
    const key = hex.toLowerCase();
    const payload = this.store.get(key);
    // A certificate the proxy did not issue fails on-chain verification: 418, "drop this cert".
    if (!payload) return void error(418, "cert validation failed: invalid inclusion proof");
    if (this.lost.has(key)) return void error(500, "get blob from EigenDA: retrieval failed from all relays");
    const out = Buffer.from(payload);
    if (this.faults.tamper) out[0] = (out[0] as number) ^ 0xff;
    res.writeHead(200, { "content-type": "application/octet-stream" }).end(out);
  }
}
