/**
 * A fake Avail light client HTTP API v2 (node:http, ephemeral port), built from the published API the client
 * cites (availproject/avail-light `core/src/api/v2/README.md`, `core/src/api/v2/types.rs`): `/v2/submit`,
 * `/v2/status`, `/v2/blocks/{n}`, `/v2/blocks/{n}/header`, `/v2/blocks/{n}/data?fields=`, with their JSON
 * fields, status codes (404 past the latest finalized block, 400 while a header or data is not verified, 404 on
 * submit without app mode) and the failures users hit: nonce drift (500), a submit whose answer comes too late,
 * a fork that replaces a not yet finalized block.
 *
 * Simplifications: each submission makes a new block holding it; the light client "finalizes and verifies" blocks
 * when the test calls `finalize()`; the extrinsic is a stand-in byte string (a fake signed header with the nonce,
 * a compact length, the data) whose blake2b-256 is the transaction hash, as in Substrate.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { blake2b256 } from "../../src/layers/avail.js";

interface Tx {
  data: Buffer;
  extrinsic: Buffer;
  hash: string;
  index: number;
}

interface Block {
  number: number;
  hash: string;
  txs: Tx[];
}

export interface AvailFaults {
  /** The next submits fail the way a nonce clash does (500, "1010: Invalid Transaction: Transaction is outdated"). */
  nonceDrift: number;
  /** Delay before answering /v2/submit; the transaction is in a block at once. */
  submitDelayMs: number;
  /** Data returned with its first byte flipped (the extrinsic left as it was). */
  tamper: boolean;
  /** The light client is not in app mode (or has no signing key): submit is a 404. */
  noAppMode: boolean;
}

export class FakeAvailLightClient {
  readonly faults: AvailFaults = { nonceDrift: 0, submitDelayMs: 0, tamper: false, noAppMode: false };
  /** Best block (head of the chain the node follows). */
  head = 100;
  /** Latest finalized block the light client has processed. */
  latest = 100;
  submits = 0;
  private nonce = 0;
  private readonly blocks = new Map<number, Block>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly appId: number,
  ) {}

  static async start(o: { appId?: number } = {}): Promise<FakeAvailLightClient> {
    let lc: FakeAvailLightClient | undefined;
    const server = createServer((req, res) => {
      void lc?.handle(req, res);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    lc = new FakeAvailLightClient(server, `http://127.0.0.1:${port}`, o.appId ?? 7);
    return lc;
  }

  close(): Promise<void> {
    return new Promise((r) => {
      this.server.closeAllConnections();
      this.server.close(() => r());
    });
  }

  /** GRANDPA finalizes up to the head and the light client verifies those blocks. */
  finalize(): void {
    this.latest = this.head;
  }

  /** A fork replaces block `n` (not finalized yet) by one with another hash and none of its transactions. */
  reorg(n: number): void {
    if (n <= this.latest) throw new Error("cannot reorganize a finalized block");
    this.blocks.set(n, { number: n, hash: blockHash(`fork-${n}`), txs: [] });
  }

  private block(n: number): Block {
    let b = this.blocks.get(n);
    if (!b) {
      b = { number: n, hash: blockHash(`block-${n}`), txs: [] };
      this.blocks.set(n, b);
    }
    return b;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? "/", this.url);
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    const text = (status: number, body: string) => res.writeHead(status, { "content-type": "text/plain" }).end(body);

    if (req.method === "POST" && url.pathname === "/v2/submit") {
      await this.submit(Buffer.concat(chunks).toString("utf8"), json, text);
      return;
    }
    if (req.method === "GET" && url.pathname === "/v2/status")
      return void json(200, {
        modes: this.faults.noAppMode ? ["light"] : ["light", "app"],
        app_id: this.appId,
        genesis_hash: blockHash("genesis"),
        network: "fake-avail/1.0/1",
        blocks: {
          latest: this.latest,
          available: { first: 1, last: this.latest },
          app_data: { first: 1, last: this.latest },
        },
      });
    const m = /^\/v2\/blocks\/(\d+)(\/header|\/data)?$/.exec(url.pathname);
    if (req.method === "GET" && m) {
      const n = Number(m[1]);
      // Past the latest finalized block the light client processed: no status can be derived yet.
      if (n > this.latest) return void res.writeHead(404).end();
      const b = this.block(n);
      if (m[2] === undefined) return void json(200, { status: "finished", confidence: 99.9 });
      if (m[2] === "/header")
        return void json(200, {
          hash: b.hash,
          parent_hash: this.block(n - 1).hash,
          number: n,
          state_root: blockHash(`state-${n}`),
          extrinsics_root: blockHash(`ext-${n}`),
          extension: {
            rows: 1,
            cols: 4,
            data_root: blockHash(`data-${n}`),
            commitments: [],
            app_lookup: { size: 1, index: [] },
          },
        });
      const fields = new Set((url.searchParams.get("fields") ?? "data").split(","));
      return void json(200, {
        block_number: n,
        data_transactions: b.txs.map((t) => {
          const data = Buffer.from(t.data);
          if (this.faults.tamper) data[0] = (data[0] as number) ^ 0xff;
          return {
            ...(fields.has("data") ? { data: data.toString("base64") } : {}),
            ...(fields.has("extrinsic") ? { extrinsic: t.extrinsic.toString("base64") } : {}),
          };
        }),
      });
    }
    text(404, "Not Found");
  }

  private async submit(
    body: string,
    json: (status: number, body: unknown) => void,
    text: (status: number, body: string) => void,
  ): Promise<void> {
    if (this.faults.noAppMode) return void text(404, "Not Found");
    let req: { data?: string; extrinsic?: string };
    try {
      req = JSON.parse(body) as typeof req;
    } catch {
      return void text(400, "Request body deserialize error: expected value at line 1 column 1");
    }
    if ((req.data === undefined) === (req.extrinsic === undefined))
      return void text(400, "Request body deserialize error: exactly one of data or extrinsic is allowed");
    const data = Buffer.from(req.data ?? "", "base64");
    if (data.length === 0) return void text(400, "Submitted data is empty");
    if (this.faults.nonceDrift > 0) {
      this.faults.nonceDrift -= 1;
      return void text(500, "Internal Server Error: 1010: Invalid Transaction: Transaction is outdated");
    }
    if (data.length > 524_288)
      return void text(
        500,
        "Internal Server Error: 1002: Verification Error: Runtime error: could not decode `submit_data::data` (BoundedVec too long)",
      );
    this.submits += 1;
    this.head += 1;
    const block = this.block(this.head);
    const extrinsic = Buffer.concat([
      Buffer.from([0x84, 0x00]),
      Buffer.from(this.nonce.toString(16).padStart(8, "0"), "hex"),
      Buffer.from([this.appId, 0x1d, 0x01]), // app id, pallet index, call index (stand-ins)
      compactLength(data.length),
      data,
    ]);
    this.nonce += 1;
    const tx: Tx = {
      data,
      extrinsic,
      hash: `0x${Buffer.from(blake2b256(extrinsic)).toString("hex")}`,
      index: 1 + block.txs.length,
    };
    block.txs.push(tx);
    if (this.faults.submitDelayMs > 0) await new Promise((r) => setTimeout(r, this.faults.submitDelayMs));
    json(200, { block_number: block.number, block_hash: block.hash, hash: tx.hash, index: tx.index });
  }
}

function blockHash(seed: string): string {
  return `0x${createHash("sha256").update(seed).digest("hex")}`;
}

/** SCALE compact encoding of a length (the prefix of a `Vec<u8>`): 1, 2 or 4 bytes below 2^30. */
function compactLength(n: number): Buffer {
  if (n < 1 << 6) return Buffer.from([n << 2]);
  if (n < 1 << 14) {
    const b = Buffer.alloc(2);
    b.writeUInt16LE((n << 2) | 0b01);
    return b;
  }
  const b = Buffer.alloc(4);
  b.writeUInt32LE(((n << 2) | 0b10) >>> 0);
  return b;
}
