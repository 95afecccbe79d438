/**
 * Ethereum blobs (EIP-4844): a payload posted as the blobs of one type-3
 * transaction, through viem.
 *
 * Run for real in the tests against anvil (Prague hardfork); not run against
 * a public network.
 *
 * - Encoding: viem's `toBlobs` (every 32-byte field element holds a 0x00 byte
 *   then 31 payload bytes, so it stays below the BLS modulus; a 0x80 byte ends
 *   the data) and `fromBlobs` to read it back. One blob carries 4,096 × 31 =
 *   126,976 payload bytes; viem caps a transaction at 6 blobs (the per-
 *   transaction limit EIP-7594 sets from Osaka on), so `maxBlobBytes` is
 *   6 × 126,976 − 1 = 761,855 by default.
 * - KZG: `kzg-wasm` (c-kzg-4844 compiled to WASM) loaded once per process,
 *   lazily, and shared by every instance: loading the trusted setup takes
 *   ~15 s here. It works on 0x-hex strings; `kzgFromWasm` adapts it to
 *   viem's byte-array `Kzg` interface.
 * - Receipt: the transaction hash, its block, and the versioned hashes
 *   computed locally (`commitmentsToVersionedHashes`), checked equal to the
 *   mined transaction's `blobVersionedHashes`.
 * - Retrieval: an execution node does not serve blob data (blobs live in the
 *   consensus layer, pruned after ~18 days). Two sources:
 *   `{ kind: "anvil" }` uses anvil's `anvil_getBlobsByTransactionHash`
 *   (foundry-rs/foundry#10978, PR #10987; answered by the anvil 1.7.1 the
 *   repository pins), `{ kind: "beacon" }` a beacon node's
 *   `GET /eth/v1/beacon/blob_sidecars/{slot}` (ethereum/beacon-APIs; deprecated
 *   in Fulu for `/eth/v1/beacon/blobs/{block_id}`, still served). Anything
 *   but anvil therefore needs a beacon node.
 * - Versions: the tests run anvil with `--hardfork prague`, where a blob
 *   transaction carries one KZG proof per blob. From Osaka (Fusaka) on,
 *   mempools want cell proofs (EIP-7594, wrapper version 1), which viem's
 *   `Kzg` interface does not produce; posting to such a network needs that
 *   first.
 */

import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { sha256, toHex } from "@ordo/core";
import { loadKZG } from "kzg-wasm";
import {
  type Address,
  BaseError,
  type ByteArray,
  bytesToHex,
  commitmentsToVersionedHashes,
  commitmentToVersionedHash,
  createPublicClient,
  createWalletClient,
  fromBlobs,
  type Hex,
  HttpRequestError,
  hexToBytes,
  http,
  type Kzg,
  type PublicClient,
  TimeoutError,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  toBlobs,
  WaitForTransactionReceiptTimeoutError,
  type WalletClient,
} from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { type DaLayer, DaLayerError, type DaReceipt, type DaStatus } from "../layer.js";
import { excerpt, httpRequest } from "./http.js";

const LAYER = "ethereum-blobs";

/** Payload bytes one blob carries under viem's encoding: 4,096 field elements × 31 bytes. */
export const BLOB_PAYLOAD_BYTES = 4096 * 31;
/** viem's (and, from Osaka, the protocol's) limit of blobs per transaction. */
export const MAX_BLOBS_PER_TX = 6;

// ---------------------------------------------------------------------------------------------------------------
// KZG: one kzg-wasm instance per process.

type WasmKzg = Awaited<ReturnType<typeof loadKZG>>;

/** viem's `Kzg` over kzg-wasm, which takes and returns 0x-hex strings. */
export function kzgFromWasm(k: WasmKzg): Kzg {
  return {
    blobToKzgCommitment: (blob: ByteArray) => hexToBytes(k.blobToKZGCommitment(bytesToHex(blob)) as Hex),
    computeBlobKzgProof: (blob: ByteArray, commitment: ByteArray) =>
      hexToBytes(k.computeBlobKZGProof(bytesToHex(blob), bytesToHex(commitment)) as Hex),
  };
}

let shared: Promise<{ kzg: Kzg; loadMs: number }> | undefined;

/**
 * The process-wide KZG, loaded on first use. Loading parses the 4,096-point trusted setup in WASM (~15 s here), so it
 * happens once and every layer instance shares it; `loadMs` says how long that took.
 */
export function loadSharedKzg(): Promise<{ kzg: Kzg; loadMs: number }> {
  shared ??= (async () => {
    const t0 = performance.now();
    const k = await loadKZG();
    return { kzg: kzgFromWasm(k), loadMs: performance.now() - t0 };
  })();
  // A failed load must not stick: the next call tries again.
  shared.catch(() => {
    shared = undefined;
  });
  return shared;
}

/** Commitments and proofs of blobs from a worker thread (`workers/kzg-worker.mjs`): the event loop never waits on KZG. */
class KzgWorker {
  private readonly worker = new Worker(fileURLToPath(new URL("../../workers/kzg-worker.mjs", import.meta.url)));
  private nextId = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (r: { commitment: Hex; proof: Hex }[]) => void; reject: (e: Error) => void }
  >();

  constructor() {
    // Idle, the worker must not keep the process alive.
    this.worker.unref();
    this.worker.on("message", (m: { id?: number; out?: { commitment: Hex; proof: Hex }[]; error?: string }) => {
      if (m.id === undefined) return;
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) this.worker.unref();
      if (m.out) w?.resolve(m.out);
      else w?.reject(new Error(m.error ?? "the KZG worker failed"));
    });
    this.worker.on("error", (e) => {
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
      kzgWorker = undefined;
    });
  }

  prove(blobs: readonly ByteArray[]): Promise<{ commitment: ByteArray; proof: ByteArray }[]> {
    const id = this.nextId++;
    this.worker.ref();
    return new Promise<{ commitment: Hex; proof: Hex }[]>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, blobs: blobs.map((b) => bytesToHex(b)) });
    }).then((out) => out.map((x) => ({ commitment: hexToBytes(x.commitment), proof: hexToBytes(x.proof) })));
  }
}

let kzgWorker: KzgWorker | undefined;

/**
 * A `Kzg` that answers from commitments and proofs computed beforehand (in the worker), so viem's synchronous calls
 * cost nothing.
 */
function precomputedKzg(known: Map<string, { commitment: ByteArray; proof: ByteArray }>): Kzg {
  const of = (blob: ByteArray) => {
    const k = known.get(toHex(sha256(blob)));
    if (!k) throw new Error("a blob whose KZG commitment was not computed beforehand");
    return k;
  };
  return {
    blobToKzgCommitment: (blob) => of(blob).commitment,
    computeBlobKzgProof: (blob) => of(blob).proof,
  };
}

/**
 * A `Kzg` that answers `blobToKzgCommitment` from commitments already computed for these blobs. viem recomputes the
 * commitments while preparing the transaction; the layer computed them first (for the versioned hashes it checks), and
 * a commitment costs ~0.3 s of WASM per blob here.
 */
function memoizedKzg(inner: Kzg, known: Map<string, ByteArray>): Kzg {
  return {
    blobToKzgCommitment: (blob) => known.get(toHex(sha256(blob))) ?? inner.blobToKzgCommitment(blob),
    computeBlobKzgProof: (blob, commitment) => inner.computeBlobKzgProof(blob, commitment),
  };
}

// ---------------------------------------------------------------------------------------------------------------

export type BlobSource =
  /** anvil's `anvil_getBlobsByTransactionHash` (anvil keeps the sidecars of mined blob transactions in memory). */
  | { kind: "anvil" }
  /** A beacon node's REST API (`/eth/v1/beacon/genesis`, `/eth/v1/config/spec`, `/eth/v1/beacon/blob_sidecars/{slot}`). */
  | { kind: "beacon"; url: string };

export interface EthereumBlobsOptions {
  /** Execution-layer JSON-RPC URL. */
  rpcUrl: string;
  /** Key that signs and pays for the blob transactions. */
  privateKey: Hex;
  /** Where `retrieve` reads blobs back (an execution node does not serve them). */
  blobSource: BlobSource;
  /** Recipient of the (value-less) blob transactions; default the sender itself. */
  to?: Address;
  /** Blocks on top of the including one (itself counted) before `status` says `final`. Default 64 (two epochs). */
  confirmations?: number;
  /** At most 6 (default). */
  maxBlobsPerTx?: number;
  /**
   * Gas limit, passed explicitly: estimating a blob transaction fails on local nodes (they simulate it without the
   * sidecar). A value transfer to an account without code costs 21,000. Default 21,000.
   */
  gas?: bigint;
  /** Cap on the blob gas price; default twice the current blob base fee (at least 1 gwei). */
  maxFeePerBlobGas?: bigint;
  /** Deadline of each RPC call. Default 30 s. */
  timeoutMs?: number;
  /** How long `submit` waits for the transaction to be mined before it reports a `timeout`. Default 180 s. */
  inclusionTimeoutMs?: number;
  /** Receipt polling interval. Default 1 s. */
  pollingIntervalMs?: number;
  /** How many recent blocks `find` scans for a transaction of this sender carrying the payload's blobs. Default 64. */
  findLookbackBlocks?: number;
  /** A KZG to use instead of the shared kzg-wasm one. */
  kzg?: Kzg;
}

export class EthereumBlobsLayer implements DaLayer {
  readonly name = LAYER;
  readonly maxBlobBytes: number;
  private readonly account: PrivateKeyAccount;
  private readonly wallet: WalletClient;
  private readonly client: PublicClient;
  private readonly o: EthereumBlobsOptions;
  private readonly confirmations: number;
  private readonly timeoutMs: number;
  /** Transactions sent by this instance, by payload hash: `find` checks them first after a timeout. */
  private readonly sent = new Map<string, Hex>();
  private beaconClock: Promise<{ genesisTime: bigint; secondsPerSlot: bigint }> | undefined;

  constructor(o: EthereumBlobsOptions) {
    const blobs = o.maxBlobsPerTx ?? MAX_BLOBS_PER_TX;
    if (!Number.isInteger(blobs) || blobs < 1 || blobs > MAX_BLOBS_PER_TX)
      throw new RangeError(`maxBlobsPerTx must be 1..${MAX_BLOBS_PER_TX}`);
    // The last field element of the last blob also holds viem's 0x80 terminator.
    this.maxBlobBytes = blobs * BLOB_PAYLOAD_BYTES - 1;
    this.o = o;
    this.confirmations = o.confirmations ?? 64;
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.account = privateKeyToAccount(o.privateKey);
    // No transport retries: a retried eth_sendRawTransaction blurs "did it land?", which the posting policy answers
    // itself (timeout, then `find`).
    const transport = http(o.rpcUrl, { timeout: this.timeoutMs, retryCount: 0 });
    this.client = createPublicClient({ transport, pollingInterval: o.pollingIntervalMs ?? 1_000 });
    this.wallet = createWalletClient({ account: this.account, transport });
  }

  /** The blobs of `payload`, their versioned hashes, and a `Kzg` for viem answering for exactly these blobs. */
  private async encode(
    payload: Uint8Array,
  ): Promise<{ blobs: readonly ByteArray[]; kzg: Kzg; versionedHashes: readonly Hex[] }> {
    const blobs = toBlobs({ data: payload, to: "bytes" });
    let commitments: ByteArray[];
    let kzg: Kzg;
    if (this.o.kzg) {
      const inner = this.o.kzg;
      commitments = blobs.map((b) => inner.blobToKzgCommitment(b));
      kzg = memoizedKzg(inner, new Map(blobs.map((b, i) => [toHex(sha256(b)), commitments[i] as ByteArray])));
    } else {
      kzgWorker ??= new KzgWorker();
      const proved = await kzgWorker.prove(blobs);
      commitments = proved.map((p) => p.commitment);
      kzg = precomputedKzg(new Map(blobs.map((b, i) => [toHex(sha256(b)), proved[i] as (typeof proved)[number]])));
    }
    return { blobs, kzg, versionedHashes: commitmentsToVersionedHashes({ commitments, to: "hex" }) };
  }

  async submit(payload: Uint8Array): Promise<DaReceipt> {
    if (payload.length === 0) throw new DaLayerError(LAYER, "rejected", "empty payload: a blob transaction needs data");
    if (payload.length > this.maxBlobBytes)
      throw new DaLayerError(LAYER, "rejected", `payload of ${payload.length} bytes exceeds ${this.maxBlobBytes}`);
    const payloadHash = toHex(sha256(payload));
    const { blobs, kzg, versionedHashes } = await this.encode(payload);

    let hash: Hex;
    try {
      const maxFeePerBlobGas = this.o.maxFeePerBlobGas ?? (await this.defaultMaxFeePerBlobGas());
      hash = await this.wallet.sendTransaction({
        account: this.account,
        chain: null,
        to: this.o.to ?? this.account.address,
        blobs,
        kzg,
        maxFeePerBlobGas,
        gas: this.o.gas ?? 21_000n,
      });
    } catch (e) {
      throw classify(e, "send the blob transaction");
    }
    this.sent.set(payloadHash, hash);

    try {
      await this.client.waitForTransactionReceipt({ hash, timeout: this.o.inclusionTimeoutMs ?? 180_000 });
    } catch (e) {
      throw classify(e, `wait for ${hash} to be mined`);
    }
    const receipt = await this.receiptOf(hash, versionedHashes, payloadHash, payload.length);
    if (!receipt) throw new DaLayerError(LAYER, "not-found", `${hash} was mined but the node no longer returns it`);
    // Only submissions whose outcome is unknown stay remembered for `find`.
    this.sent.delete(payloadHash);
    return receipt;
  }

  /**
   * The receipt of mined transaction `hash`, after checking it is a type-3 transaction whose versioned hashes are
   * `expected` (computed locally from the payload); null if the node does not know it.
   */
  private async receiptOf(
    hash: Hex,
    expected: readonly Hex[],
    payloadHash: `0x${string}`,
    size: number,
  ): Promise<DaReceipt | null> {
    let tx: Awaited<ReturnType<PublicClient["getTransaction"]>>;
    try {
      tx = await this.client.getTransaction({ hash });
    } catch (e) {
      if (e instanceof BaseError && e.walk((x) => x instanceof TransactionNotFoundError)) return null;
      throw classify(e, `read ${hash}`);
    }
    if (tx.blockNumber === null || tx.blockHash === null) return null;
    const onChain: readonly Hex[] = tx.type === "eip4844" ? tx.blobVersionedHashes : [];
    if (!sameHashes(onChain, expected))
      throw new DaLayerError(
        LAYER,
        "rejected",
        `${hash} carries versioned hashes [${onChain.join(", ")}], not the payload's [${expected.join(", ")}]`,
      );
    return {
      layer: LAYER,
      payloadHash,
      size,
      ref: {
        txHash: hash,
        blockNumber: Number(tx.blockNumber),
        blockHash: tx.blockHash,
        versionedHashes: [...expected],
      },
    };
  }

  private async defaultMaxFeePerBlobGas(): Promise<bigint> {
    const base = await this.client.getBlobBaseFee();
    const twice = base * 2n;
    return twice > 1_000_000_000n ? twice : 1_000_000_000n;
  }

  async status(receipt: DaReceipt): Promise<DaStatus> {
    const hash = refHex(receipt, "txHash");
    try {
      const r = await this.client.getTransactionReceipt({ hash });
      const head = await this.client.getBlockNumber({ cacheTime: 0 });
      // Re-read the block from the receipt, not the DaReceipt: a reorg may have moved the transaction.
      const depth = head - r.blockNumber + 1n;
      return depth >= BigInt(this.confirmations) ? "final" : "included";
    } catch (e) {
      if (!(e instanceof BaseError && e.walk((x) => x instanceof TransactionReceiptNotFoundError)))
        throw classify(e, `read the receipt of ${hash}`);
    }
    // No receipt: still in the mempool (pending), or dropped (unknown).
    try {
      const tx = await this.client.getTransaction({ hash });
      return tx.blockNumber === null ? "pending" : "included";
    } catch (e) {
      if (e instanceof BaseError && e.walk((x) => x instanceof TransactionNotFoundError)) return "unknown";
      throw classify(e, `read ${hash}`);
    }
  }

  async retrieve(receipt: DaReceipt): Promise<Uint8Array> {
    const blobs =
      this.o.blobSource.kind === "anvil"
        ? await this.blobsFromAnvil(receipt)
        : await this.blobsFromBeacon(receipt, this.o.blobSource.url);
    return fromBlobs({ blobs, to: "bytes" });
  }

  private async blobsFromAnvil(receipt: DaReceipt): Promise<Hex[]> {
    const hash = refHex(receipt, "txHash");
    let blobs: Hex[] | null;
    try {
      blobs = await this.client.request<{
        Method: "anvil_getBlobsByTransactionHash";
        Parameters: [Hex];
        ReturnType: Hex[] | null;
      }>({ method: "anvil_getBlobsByTransactionHash", params: [hash] });
    } catch (e) {
      throw classify(e, `anvil_getBlobsByTransactionHash(${hash})`);
    }
    if (!blobs || blobs.length === 0) throw new DaLayerError(LAYER, "not-found", `anvil has no blobs for ${hash}`);
    return blobs;
  }

  /**
   * Blobs of the receipt's transaction from a beacon node: the execution block's timestamp gives the slot
   * (`(timestamp − genesis_time) / SECONDS_PER_SLOT`), the slot's sidecars are matched to the receipt's versioned
   * hashes through their KZG commitments.
   */
  private async blobsFromBeacon(receipt: DaReceipt, beaconUrl: string): Promise<Hex[]> {
    const wanted = refHexes(receipt, "versionedHashes");
    let timestamp: bigint;
    try {
      timestamp = (await this.client.getBlock({ blockNumber: BigInt(refNumber(receipt, "blockNumber")) })).timestamp;
    } catch (e) {
      throw classify(e, `read block ${refNumber(receipt, "blockNumber")}`);
    }
    const { genesisTime, secondsPerSlot } = await this.beaconClockOf(beaconUrl);
    const slot = (timestamp - genesisTime) / secondsPerSlot;
    const body = await beaconGet<{ data: { blob: Hex; kzg_commitment: Hex }[] }>(
      `${beaconUrl}/eth/v1/beacon/blob_sidecars/${slot}`,
      this.timeoutMs,
    );
    const byHash = new Map<string, Hex>();
    for (const s of body.data)
      byHash.set(commitmentToVersionedHash({ commitment: s.kzg_commitment, to: "hex" }), s.blob);
    const out: Hex[] = [];
    for (const h of wanted) {
      const blob = byHash.get(h);
      if (!blob) throw new DaLayerError(LAYER, "not-found", `slot ${slot} has no blob with versioned hash ${h}`);
      out.push(blob);
    }
    return out;
  }

  private beaconClockOf(beaconUrl: string): Promise<{ genesisTime: bigint; secondsPerSlot: bigint }> {
    this.beaconClock ??= (async () => {
      const g = await beaconGet<{ data: { genesis_time: string } }>(
        `${beaconUrl}/eth/v1/beacon/genesis`,
        this.timeoutMs,
      );
      const s = await beaconGet<{ data: { SECONDS_PER_SLOT: string } }>(
        `${beaconUrl}/eth/v1/config/spec`,
        this.timeoutMs,
      );
      return { genesisTime: BigInt(g.data.genesis_time), secondsPerSlot: BigInt(s.data.SECONDS_PER_SLOT) };
    })();
    this.beaconClock.catch(() => {
      this.beaconClock = undefined;
    });
    return this.beaconClock;
  }

  /** True when the versioned hashes of `bytes`, as blobs, are the receipt's (and its size and hash match). */
  async verify(receipt: DaReceipt, bytes: Uint8Array): Promise<boolean> {
    if (bytes.length !== receipt.size || bytes.length === 0 || bytes.length > this.maxBlobBytes) return false;
    if (toHex(sha256(bytes)) !== receipt.payloadHash) return false;
    // The payload hash is the receipt's own claim; the versioned hashes are what L1 committed to.
    const { versionedHashes } = await this.encode(bytes);
    return sameHashes(versionedHashes, refHexes(receipt, "versionedHashes"));
  }

  /**
   * A transaction of this sender that already carries `payload`'s blobs: first one this instance sent, then the last
   * `findLookbackBlocks` blocks. Asked after a timeout, so a payload that landed late is not posted twice. A
   * transaction still in the mempool has no receipt yet (null): a resubmission then may post a second transaction.
   */
  async find(payload: Uint8Array): Promise<DaReceipt | null> {
    if (payload.length === 0 || payload.length > this.maxBlobBytes) return null;
    const payloadHash = toHex(sha256(payload));
    const { versionedHashes } = await this.encode(payload);
    const mine = this.sent.get(payloadHash);
    if (mine) {
      const r = await this.receiptOf(mine, versionedHashes, payloadHash, payload.length).catch((e: unknown) => {
        if (e instanceof DaLayerError && e.kind === "rejected") return null;
        throw e;
      });
      if (r) return r;
    }
    try {
      const head = await this.client.getBlockNumber({ cacheTime: 0 });
      const lookback = BigInt(this.o.findLookbackBlocks ?? 64);
      const from = head - lookback + 1n > 0n ? head - lookback + 1n : 0n;
      for (let n = head; n >= from; n--) {
        const block = await this.client.getBlock({ blockNumber: n, includeTransactions: true });
        for (const tx of block.transactions) {
          if (tx.type !== "eip4844" || tx.from.toLowerCase() !== this.account.address.toLowerCase()) continue;
          if (sameHashes(tx.blobVersionedHashes, versionedHashes))
            return this.receiptOf(tx.hash, versionedHashes, payloadHash, payload.length);
        }
      }
    } catch (e) {
      throw classify(e, "scan recent blocks");
    }
    return null;
  }
}

function sameHashes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((h, i) => h.toLowerCase() === b[i]?.toLowerCase());
}

function refHex(r: DaReceipt, key: string): Hex {
  const v = r.ref[key];
  if (typeof v !== "string" || !v.startsWith("0x")) throw new TypeError(`${LAYER} receipt has no ${key}`);
  return v as Hex;
}

function refNumber(r: DaReceipt, key: string): number {
  const v = r.ref[key];
  if (typeof v !== "number") throw new TypeError(`${LAYER} receipt has no ${key}`);
  return v;
}

function refHexes(r: DaReceipt, key: string): Hex[] {
  const v = r.ref[key];
  if (!Array.isArray(v)) throw new TypeError(`${LAYER} receipt has no ${key}`);
  return v as Hex[];
}

async function beaconGet<T>(url: string, timeoutMs: number): Promise<T> {
  const res = await httpRequest(LAYER, url, { method: "GET", headers: { accept: "application/json" }, timeoutMs });
  if (res.status === 404) throw new DaLayerError(LAYER, "not-found", `GET ${url}: 404 ${excerpt(res.text())}`);
  if (res.status !== 200)
    throw new DaLayerError(LAYER, "unavailable", `GET ${url}: ${res.status} ${excerpt(res.text())}`);
  return JSON.parse(res.text()) as T;
}

/**
 * A viem failure as a `DaLayerError`. A deadline that passed is a `timeout` (the transaction may still be mined);
 * everything else the node answers or fails with (connection refused, 503, nonce too low, fee too low, insufficient
 * funds) is `unavailable`: none of it says this payload is unacceptable, and each clears with time or an operator.
 * Payloads the layer cannot take are refused before sending, as `rejected`.
 */
function classify(e: unknown, what: string): DaLayerError {
  if (e instanceof DaLayerError) return e;
  const msg = e instanceof BaseError ? e.shortMessage : e instanceof Error ? e.message : String(e);
  if (
    e instanceof BaseError &&
    e.walk((x) => x instanceof TimeoutError || x instanceof WaitForTransactionReceiptTimeoutError) !== null
  )
    return new DaLayerError(LAYER, "timeout", `${what}: ${msg}`);
  if (e instanceof BaseError) {
    const http = e.walk((x) => x instanceof HttpRequestError);
    if (http instanceof HttpRequestError && http.status !== undefined)
      return new DaLayerError(LAYER, "unavailable", `${what}: HTTP ${http.status}`);
  }
  return new DaLayerError(LAYER, "unavailable", `${what}: ${msg}`);
}
