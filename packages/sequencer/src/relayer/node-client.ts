/**
 * What the relayer reads from Ordo's validators over their HTTP API, parsed
 * and checked into core values. Any validator will do for data it can verify
 * (headers against certificates, transactions against namespace roots);
 * attestations come from each validator in turn.
 */
import { type BlockHeader, fromHex, type QuorumCertificate, type Validator } from "@ordo/core";
import { type EpochChange, epochChangeFromJson, finalityFromJson } from "@ordo/light-client";
import type { ProofBundle } from "@ordo/prover";
import { headerFromJson, type NamespaceProofJson, quorumCertificateFromJson } from "../api/json.js";

export class NodeApiError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${url}: HTTP ${status} ${body.slice(0, 200)}`);
  }
}

async function request<T>(url: string, init?: RequestInit): Promise<T> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await r.text();
  if (!r.ok) throw new NodeApiError(url, r.status, text);
  return JSON.parse(text) as T;
}

export interface FinalityProof {
  headers: BlockHeader[];
  certificate: QuorumCertificate;
}

export interface RollupBatchInfo {
  position: number;
  height: number;
  index: number;
  oldRoot: bigint;
  newRoot: bigint;
  commitment: bigint;
  proven: boolean;
  proofs: ProofBundle | null;
}

export interface Attestation {
  validator: number;
  signature: Uint8Array;
  digest: Uint8Array;
  statementsRoot: Uint8Array;
  epoch: number;
}

export class NodeClient {
  constructor(readonly url: string) {}

  async status(): Promise<{ chainId: number; epoch: number; committedHeight: number }> {
    return request(`${this.url}/v1/status`);
  }

  /** The committee of `epoch` (default: the node's current epoch). */
  async validators(epoch?: number): Promise<{ epoch: number; validators: Pick<Validator, "publicKey" | "stake">[] }> {
    const v = await request<{ epoch: number; validators: { publicKey: string; stake: string }[] }>(
      `${this.url}/v1/validators${epoch === undefined ? "" : `?epoch=${epoch}`}`,
    );
    return {
      epoch: v.epoch,
      validators: v.validators.map((x) => ({ publicKey: fromHex(x.publicKey), stake: BigInt(x.stake) })),
    };
  }

  async finality(height: number): Promise<FinalityProof> {
    const f = await request<{ headers: unknown[]; certificate: unknown }>(`${this.url}/v1/blocks/${height}/finality`);
    return { headers: f.headers.map((h) => headerFromJson(h)), certificate: quorumCertificateFromJson(f.certificate) };
  }

  /** How epoch `epoch` ended: its last block's finality and the committee change that block commits to. */
  async epochChange(epoch: number): Promise<{ finality: FinalityProof; change: EpochChange }> {
    const r = await request<{ finality: unknown; change: unknown }>(`${this.url}/v1/epochs/${epoch}/change`);
    const f = finalityFromJson(r.finality);
    return { finality: { headers: f.headers, certificate: f.certificate }, change: epochChangeFromJson(r.change) };
  }

  async namespaceBlock(
    namespace: number,
    height: number,
  ): Promise<{ transactions: Uint8Array[]; proof: NamespaceProofJson; namespaceRoot: Uint8Array }> {
    const b = await request<{ transactions: string[]; proof: NamespaceProofJson; namespaceRoot: string }>(
      `${this.url}/v1/namespaces/${namespace}/blocks/${height}`,
    );
    return {
      transactions: b.transactions.map((t) => new Uint8Array(Buffer.from(t, "base64"))),
      proof: b.proof,
      namespaceRoot: fromHex(b.namespaceRoot),
    };
  }

  /** Heights in `from..to` where `namespace` has transactions (paged through the ranged namespace query). */
  async heightsWithTransactions(namespace: number, from: number, to: number): Promise<number[]> {
    const out: number[] = [];
    for (let at: number | null = from; at !== null && at <= to; ) {
      const page: { blocks: { height: number; transactions: string[] }[]; next: number | null } = await request(
        `${this.url}/v1/namespaces/${namespace}/blocks?from=${at}&to=${to}&limit=256`,
      );
      for (const b of page.blocks) if (b.transactions.length > 0) out.push(b.height);
      at = page.next;
    }
    return out;
  }

  async rollupBatches(namespace: number, from: number, limit = 256): Promise<RollupBatchInfo[]> {
    const r = await request<{
      batches: (Omit<RollupBatchInfo, "oldRoot" | "newRoot" | "commitment"> & {
        oldRoot: string;
        newRoot: string;
        commitment: string;
      })[];
    }>(`${this.url}/v1/market/rollups/${namespace}/batches?from=${from}&limit=${limit}`);
    return r.batches.map((b) => ({
      ...b,
      oldRoot: BigInt(b.oldRoot),
      newRoot: BigInt(b.newRoot),
      commitment: BigInt(b.commitment),
    }));
  }

  async attest(batches: readonly { namespace: number; height: number; index: number }[]): Promise<Attestation> {
    const a = await request<{
      validator: number;
      signature: string;
      digest: string;
      statementsRoot: string;
      epoch: number;
    }>(`${this.url}/v1/market/attestations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ batches }),
    });
    return {
      validator: a.validator,
      epoch: a.epoch,
      signature: fromHex(a.signature),
      digest: fromHex(a.digest),
      statementsRoot: fromHex(a.statementsRoot),
    };
  }
}
