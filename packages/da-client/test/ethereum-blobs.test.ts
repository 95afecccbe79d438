/**
 * The Ethereum-blobs layer against a real anvil (Prague): a ~200 KB payload lands as 2 blobs in a type-3
 * transaction, and is read back, verified, found again and refused when too large. Also times the KZG work.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sha256, toHex } from "@ordo/core";
import { ANVIL_DEV_PRIVATE_KEY, type Anvil, startAnvil } from "@ordo/l1-bridge";
import { createPublicClient, type Hex, http, type PublicClient, toBlobs } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DaLayerError, type DaReceipt } from "../src/layer.js";
import { BLOB_PAYLOAD_BYTES, EthereumBlobsLayer, loadSharedKzg } from "../src/layers/ethereum-blobs.js";

const PORT = 27545 + 500;

/** A deterministic pseudo-random payload (xorshift), so blobs are not trivially compressible patterns. */
function payloadOf(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function rejectsWith(p: Promise<unknown>, kind: DaLayerError["kind"]): Promise<DaLayerError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DaLayerError);
  expect((e as DaLayerError).kind).toBe(kind);
  return e as DaLayerError;
}

describe("EthereumBlobsLayer on anvil", () => {
  let anvil: Anvil;
  let client: PublicClient;
  let layer: EthereumBlobsLayer;
  let kzgLoadMs = 0;
  const payload = payloadOf(200_000, 7);
  let receipt: DaReceipt;
  let submitMs = 0;
  let steadyMs = 0;

  beforeAll(async () => {
    // Load the KZG setup alongside anvil's start: it dominates the set-up time.
    const [a, k] = await Promise.all([startAnvil({ port: PORT }), loadSharedKzg()]);
    anvil = a;
    kzgLoadMs = k.loadMs;
    client = createPublicClient({ transport: http(anvil.rpcUrl) });
    layer = new EthereumBlobsLayer({
      rpcUrl: anvil.rpcUrl,
      privateKey: ANVIL_DEV_PRIVATE_KEY,
      blobSource: { kind: "anvil" },
      confirmations: 3,
      pollingIntervalMs: 50,
    });
  }, 120_000);

  afterAll(async () => {
    await anvil?.stop();
  });

  it("shares one KZG load across calls", async () => {
    const a = await loadSharedKzg();
    const b = await loadSharedKzg();
    expect(a).toBe(b);
    console.log(`kzg-wasm load: ${kzgLoadMs.toFixed(0)} ms`);
  });

  it("posts a ~200 KB payload as 2 blobs of one type-3 transaction", async () => {
    expect(toBlobs({ data: payload, to: "bytes" }).length).toBe(2);
    const t0 = performance.now();
    receipt = await layer.submit(payload);
    submitMs = performance.now() - t0;

    expect(receipt.layer).toBe("ethereum-blobs");
    expect(receipt.size).toBe(payload.length);
    expect(receipt.payloadHash).toBe(toHex(sha256(payload)));
    const txHash = receipt.ref.txHash as Hex;
    const tx = await client.getTransaction({ hash: txHash });
    expect(tx.type).toBe("eip4844");
    const versioned = tx.type === "eip4844" ? tx.blobVersionedHashes : [];
    expect(versioned).toHaveLength(2);
    expect(receipt.ref.versionedHashes).toEqual([...versioned]);
    expect(versioned.every((h) => h.startsWith("0x01"))).toBe(true);

    const block = await client.getBlock({ blockNumber: BigInt(receipt.ref.blockNumber as number) });
    expect(block.transactions).toContain(txHash);
    expect(block.hash).toBe(receipt.ref.blockHash);
    expect(block.blobGasUsed).toBe(2n * 131_072n);
    console.log(`submit of ${payload.length} bytes (2 blobs): ${submitMs.toFixed(0)} ms`);
  });

  it("reports included, then final after the configured confirmations", async () => {
    expect(await layer.status(receipt)).toBe("included");
    await client.request<{ Method: "anvil_mine"; Parameters: [Hex]; ReturnType: null }>({
      method: "anvil_mine",
      params: ["0x2"],
    });
    expect(await layer.status(receipt)).toBe("final");
    const unknown: DaReceipt = { ...receipt, ref: { ...receipt.ref, txHash: `0x${"ab".repeat(32)}` } };
    expect(await layer.status(unknown)).toBe("unknown");
  });

  it("retrieves the payload through anvil_getBlobsByTransactionHash", async () => {
    const bytes = await layer.retrieve(receipt);
    expect(Buffer.from(bytes).equals(Buffer.from(payload))).toBe(true);
    const missing: DaReceipt = { ...receipt, ref: { ...receipt.ref, txHash: `0x${"cd".repeat(32)}` } };
    await rejectsWith(layer.retrieve(missing), "not-found");
  });

  it("verifies the payload and rejects a changed byte, even under a receipt claiming the changed bytes", async () => {
    expect(await layer.verify(receipt, payload)).toBe(true);
    const changed = payload.slice();
    changed[150_000] = (changed[150_000] as number) ^ 1;
    expect(await layer.verify(receipt, changed)).toBe(false);
    // Only the versioned hashes (what L1 holds) stop this one: size and payload hash match the changed bytes.
    const forged: DaReceipt = { ...receipt, payloadHash: toHex(sha256(changed)) };
    expect(await layer.verify(forged, changed)).toBe(false);
  });

  it("finds the landed transaction by payload from a fresh instance (scanning recent blocks)", async () => {
    const fresh = new EthereumBlobsLayer({
      rpcUrl: anvil.rpcUrl,
      privateKey: ANVIL_DEV_PRIVATE_KEY,
      blobSource: { kind: "anvil" },
      findLookbackBlocks: 8,
    });
    const found = await fresh.find(payload);
    expect(found?.ref.txHash).toBe(receipt.ref.txHash);
    expect(found?.ref.versionedHashes).toEqual(receipt.ref.versionedHashes);
    expect(await fresh.find(payloadOf(1_000, 99))).toBeNull();
  });

  it("enforces maxBlobBytes: 6 blobs of 126,976 bytes minus the terminator", async () => {
    expect(layer.maxBlobBytes).toBe(6 * BLOB_PAYLOAD_BYTES - 1);
    expect(toBlobs({ data: new Uint8Array(layer.maxBlobBytes), to: "bytes" }).length).toBe(6);
    await rejectsWith(layer.submit(new Uint8Array(layer.maxBlobBytes + 1)), "rejected");
    await rejectsWith(layer.submit(new Uint8Array(0)), "rejected");
    const small = new EthereumBlobsLayer({
      rpcUrl: anvil.rpcUrl,
      privateKey: ANVIL_DEV_PRIVATE_KEY,
      blobSource: { kind: "anvil" },
      maxBlobsPerTx: 1,
    });
    expect(small.maxBlobBytes).toBe(BLOB_PAYLOAD_BYTES - 1);
    await rejectsWith(small.submit(payload), "rejected");
  });

  it("reads blobs from a beacon API when given one (slot from the block timestamp, matched by commitment)", async () => {
    const { kzg } = await loadSharedKzg();
    const blobs = await client.request<{
      Method: "anvil_getBlobsByTransactionHash";
      Parameters: [Hex];
      ReturnType: Hex[];
    }>({ method: "anvil_getBlobsByTransactionHash", params: [receipt.ref.txHash as Hex] });
    const block = await client.getBlock({ blockNumber: BigInt(receipt.ref.blockNumber as number) });
    const slot = 5n;
    const genesis = block.timestamp - slot * 12n;
    // Served in reverse order: the layer must order them by the receipt's versioned hashes.
    const sidecars = blobs
      .map((blob, index) => ({
        index: String(index),
        blob,
        kzg_commitment: toHex(kzg.blobToKzgCommitment(Buffer.from(blob.slice(2), "hex"))),
      }))
      .reverse();
    const beacon = await serve((path) => {
      if (path === "/eth/v1/beacon/genesis") return { data: { genesis_time: String(genesis) } };
      if (path === "/eth/v1/config/spec") return { data: { SECONDS_PER_SLOT: "12" } };
      if (path === `/eth/v1/beacon/blob_sidecars/${slot}`) return { data: sidecars };
      return null;
    });
    try {
      const viaBeacon = new EthereumBlobsLayer({
        rpcUrl: anvil.rpcUrl,
        privateKey: ANVIL_DEV_PRIVATE_KEY,
        blobSource: { kind: "beacon", url: beacon.url },
      });
      const bytes = await viaBeacon.retrieve(receipt);
      expect(Buffer.from(bytes).equals(Buffer.from(payload))).toBe(true);
      const later = { ...receipt, ref: { ...receipt.ref, blockNumber: 0 } };
      await rejectsWith(viaBeacon.retrieve(later), "not-found");
    } finally {
      await beacon.close();
    }
  });

  it("times a second submit (anvil loads its own KZG setup on the first blob transaction)", async () => {
    const second = payloadOf(200_000, 8);
    const t0 = performance.now();
    const r = await layer.submit(second);
    steadyMs = performance.now() - t0;
    expect(r.ref.versionedHashes).toHaveLength(2);
    expect(Buffer.from(await layer.retrieve(r)).equals(Buffer.from(second))).toBe(true);
  });

  it("times KZG per blob", async () => {
    const { kzg } = await loadSharedKzg();
    const blobs = toBlobs({ data: payload, to: "bytes" });
    const t0 = performance.now();
    const commitments = blobs.map((b) => kzg.blobToKzgCommitment(b));
    const t1 = performance.now();
    for (const [i, b] of blobs.entries()) kzg.computeBlobKzgProof(b, commitments[i] as Uint8Array);
    const t2 = performance.now();
    const commitMs = (t1 - t0) / blobs.length;
    const proofMs = (t2 - t1) / blobs.length;
    console.log(
      `per blob: commitment ${commitMs.toFixed(0)} ms, proof ${proofMs.toFixed(0)} ms; ` +
        `submit end to end (anvil automine): first ${(submitMs / blobs.length).toFixed(0)} ms/blob, ` +
        `then ${(steadyMs / blobs.length).toFixed(0)} ms/blob`,
    );
    expect(commitMs).toBeGreaterThan(0);
  });

  it("maps a refused connection to unavailable and a silent node to timeout", async () => {
    const down = new EthereumBlobsLayer({
      rpcUrl: "http://127.0.0.1:1",
      privateKey: ANVIL_DEV_PRIVATE_KEY,
      blobSource: { kind: "anvil" },
    });
    await rejectsWith(down.submit(payloadOf(100, 3)), "unavailable");
    const silent = await serve(() => new Promise<never>(() => {}));
    try {
      const slow = new EthereumBlobsLayer({
        rpcUrl: silent.url,
        privateKey: ANVIL_DEV_PRIVATE_KEY,
        blobSource: { kind: "anvil" },
        timeoutMs: 200,
      });
      await rejectsWith(slow.submit(payloadOf(100, 4)), "timeout");
    } finally {
      await silent.close();
    }
  });
});

/** A JSON server on an ephemeral port: `handler(path)` gives the body (null: 404). */
async function serve(
  handler: (path: string) => unknown | Promise<unknown>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    Promise.resolve(handler((req.url ?? "/").split("?")[0] as string)).then((body) => {
      if (body === null) {
        res.writeHead(404, { "content-type": "application/json" }).end('{"code":404,"message":"not found"}');
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
