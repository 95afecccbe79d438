/**
 * A fake celestia-node JSON-RPC server (node:http, ephemeral port), built from the published API the client
 * cites (celestia-node `nodebuilder/blob/blob.go`, `blob/blob.go`, `blob/service.go`, `state/tx_config.go`;
 * go-jsonrpc `auth/handler.go`): the same methods, parameter shapes, JSON field names, base64 byte
 * encoding, auth behaviour and error texts, plus the failures users hit.
 *
 * Simplifications, on purpose: every successful `blob.Submit` makes a new block holding just those blobs; the
 * commitment is sha256(namespace ‖ data), a stand-in for the share-subtree Merkle root (the client treats it as
 * opaque); the proof is a stand-in the fake recognises.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

interface StoredBlob {
  namespace: Buffer;
  data: Buffer;
  commitment: Buffer;
  index: number;
}

export interface CelestiaFaults {
  /** Delay before answering `blob.Submit`; the blob is committed at once (it "lands anyway"). */
  submitDelayMs: number;
  /** The next `blob.Submit`s answer celestia-core's broadcast timeout error, though the blob lands. */
  timeoutAfterLanding: number;
  /** Answer 503 to everything (a load balancer in front of a node that is down). */
  unavailable: boolean;
  /** `blob.Get`/`blob.GetAll` return the data with its first byte flipped. */
  tamper: boolean;
  /** While set, `blob.Submit` answers only once this promise settles (the blob is committed at once). */
  holdSubmits?: Promise<void>;
}

export class FakeCelestiaNode {
  readonly faults: CelestiaFaults = { submitDelayMs: 0, timeoutAfterLanding: 0, unavailable: false, tamper: false };
  /** Methods called, in order (for asserting, e.g., that no second `blob.Submit` happened). */
  readonly calls: string[] = [];
  height = 1;
  private readonly blocks = new Map<number, StoredBlob[]>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly token: string,
    /** celestia-app's MaxTxSize; the PFB transaction is the blob data plus some overhead. */
    private readonly maxTxBytes: number,
  ) {}

  static async start(o: { token: string; maxTxBytes?: number }): Promise<FakeCelestiaNode> {
    let node: FakeCelestiaNode | undefined;
    const server = createServer((req, res) => {
      void node?.handle(req, res);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    node = new FakeCelestiaNode(server, `http://127.0.0.1:${port}`, o.token, o.maxTxBytes ?? 2 * 1024 * 1024);
    return node;
  }

  close(): Promise<void> {
    return new Promise((r) => {
      this.server.closeAllConnections();
      this.server.close(() => r());
    });
  }

  /** Blobs stored at a height (for test assertions). */
  blobsAt(height: number): readonly StoredBlob[] {
    return this.blocks.get(height) ?? [];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.faults.unavailable) {
      res.writeHead(503, { "content-type": "text/plain" }).end("Service Unavailable");
      return;
    }
    // go-jsonrpc auth handler: a token without the Bearer prefix, or one that does not verify, is a bare 401.
    const auth = req.headers.authorization;
    let perms: "none" | "admin" = "none";
    if (auth !== undefined) {
      if (!auth.startsWith("Bearer ") || auth.slice(7) !== this.token) {
        res.writeHead(401).end();
        return;
      }
      perms = "admin";
    }
    let rpc: { id: number; method: string; params: unknown[] };
    try {
      rpc = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof rpc;
    } catch {
      this.reply(res, 0, undefined, { code: -32700, message: "Parse error" }, 500);
      return;
    }
    this.calls.push(rpc.method);
    const [module, name] = rpc.method.split(".") as [string, string | undefined];
    const needs = rpc.method === "blob.Submit" ? "write" : "read";
    if (perms === "none" && (module === "blob" || module === "header")) {
      // Without a token a request gets the default (public) permissions: go-jsonrpc's permissioned proxy refuses.
      this.reply(res, rpc.id, undefined, {
        code: 1,
        message: `missing permission to invoke '${name}' (need '${needs}')`,
      });
      return;
    }
    try {
      const result = await this.dispatch(rpc.method, rpc.params ?? []);
      this.reply(res, rpc.id, result);
    } catch (e) {
      if (e instanceof MethodNotFound) {
        this.reply(res, rpc.id, undefined, { code: -32601, message: `method '${rpc.method}' not found` }, 500);
        return;
      }
      this.reply(res, rpc.id, undefined, { code: 1, message: (e as Error).message });
    }
  }

  private reply(
    res: ServerResponse,
    id: number,
    result: unknown,
    error?: { code: number; message: string },
    status = 200,
  ): void {
    // JSON-RPC 2.0 (go-jsonrpc `response.MarshalJSON`): exactly one of result and error.
    const body = error ? { jsonrpc: "2.0", id, error } : { jsonrpc: "2.0", id, result: result ?? null };
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  }

  private async dispatch(method: string, params: unknown[]): Promise<unknown> {
    switch (method) {
      case "blob.Submit":
        return this.submit(params[0] as { namespace: string; data: string; share_version: number }[]);
      case "blob.Get": {
        const b = this.lookup(params[0] as number, params[1] as string, params[2] as string);
        if (!b) throw new Error("blob: not found");
        return this.json(b);
      }
      case "blob.GetAll": {
        const [height, namespaces] = params as [number, string[]];
        this.checkHeight(height);
        const wanted = new Set(namespaces);
        const found = this.blobsAt(height).filter((b) => wanted.has(b.namespace.toString("base64")));
        // celestia-node: no blobs in the namespaces is an empty result, not an error.
        return found.map((b) => this.json(b));
      }
      case "blob.GetProof": {
        const [height, ns, commitment] = params as [number, string, string];
        const b = this.lookup(height, ns, commitment);
        if (!b) throw new Error("blob: not found");
        return [this.proofOf(height, b)];
      }
      case "blob.Included": {
        const [height, ns, proof, commitment] = params as [number, string, unknown, string];
        const b = this.lookup(height, ns, commitment);
        if (!b) return false;
        return JSON.stringify(proof) === JSON.stringify([this.proofOf(height, b)]);
      }
      case "header.LocalHead":
        // Tendermint JSON: int64 fields such as the height are strings.
        return { header: { chain_id: "fake-celestia", height: String(this.height), time: new Date().toISOString() } };
      default:
        throw new MethodNotFound();
    }
  }

  private async submit(blobs: { namespace: string; data: string; share_version: number }[]): Promise<number> {
    if (!Array.isArray(blobs) || blobs.length === 0) throw new Error("at least one blob must be provided");
    const decoded = blobs.map((b) => {
      const namespace = Buffer.from(b.namespace, "base64");
      const data = Buffer.from(b.data, "base64");
      validateNamespace(namespace);
      if (data.length === 0) throw new Error("blob data must be > 0 bytes");
      if (b.share_version !== 0) throw new Error(`unsupported share version ${b.share_version}`);
      return { namespace, data };
    });
    // A PFB transaction carries the blobs plus ~ a few hundred bytes of signature, fees and share commitments.
    const txSize = decoded.reduce((n, b) => n + b.data.length + b.namespace.length, 0) + 350;
    if (txSize > this.maxTxBytes)
      throw new Error(
        `broadcast tx: tx size ${txSize} bytes is larger than the application's configured MaxTxSize of ${this.maxTxBytes} bytes for version 4`,
      );
    this.height += 1;
    const height = this.height;
    this.blocks.set(
      height,
      decoded.map((b, i) => ({
        ...b,
        commitment: createHash("sha256").update(b.namespace).update(b.data).digest(),
        index: 64 + i * 16,
      })),
    );
    if (this.faults.submitDelayMs > 0) await new Promise((r) => setTimeout(r, this.faults.submitDelayMs));
    if (this.faults.holdSubmits) await this.faults.holdSubmits;
    if (this.faults.timeoutAfterLanding > 0) {
      this.faults.timeoutAfterLanding -= 1;
      throw new Error("timed out waiting for tx to be included in a block");
    }
    return height;
  }

  private checkHeight(height: number): void {
    if (!Number.isInteger(height) || height < 1) throw new Error(`invalid height ${height}`);
    if (height > this.height)
      throw new Error(
        `header: given height is from the future: networkHeight: ${this.height}, requestedHeight: ${height}`,
      );
  }

  private lookup(height: number, ns: string, commitment: string): StoredBlob | undefined {
    this.checkHeight(height);
    return this.blobsAt(height).find(
      (b) => b.namespace.toString("base64") === ns && b.commitment.toString("base64") === commitment,
    );
  }

  private json(b: StoredBlob): {
    namespace: string;
    data: string;
    share_version: number;
    commitment: string;
    index: number;
  } {
    const data = Buffer.from(b.data);
    if (this.faults.tamper) data[0] = (data[0] as number) ^ 0xff;
    return {
      namespace: b.namespace.toString("base64"),
      data: data.toString("base64"),
      share_version: 0,
      commitment: b.commitment.toString("base64"),
      index: b.index,
    };
  }

  /** An `nmt.Proof`-shaped stand-in: `{ start, end, nodes, is_max_namespace_ignored }`. */
  private proofOf(
    height: number,
    b: StoredBlob,
  ): { start: number; end: number; nodes: string[]; is_max_namespace_ignored: boolean } {
    const node = createHash("sha256").update(String(height)).update(b.commitment).digest("base64");
    const shares = Math.ceil((b.data.length + 6) / 478);
    return { start: b.index % 64, end: (b.index % 64) + shares, nodes: [node], is_max_namespace_ignored: true };
  }
}

class MethodNotFound extends Error {}

/** celestia-app namespace rules for blobs: 29 bytes, version 0, 18 zero bytes, not a reserved ID. */
function validateNamespace(ns: Buffer): void {
  if (ns.length !== 29) throw new Error(`invalid namespace length: expected 29, got ${ns.length}`);
  if (ns[0] !== 0) throw new Error(`unsupported namespace version ${ns[0]}`);
  if (!ns.subarray(1, 19).every((x) => x === 0))
    throw new Error("namespace ID of version 0 must start with 18 zero bytes");
  if (ns.subarray(1, 28).every((x) => x === 0)) throw new Error("namespace is reserved: it cannot be used for blobs");
}
