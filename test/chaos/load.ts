/**
 * Continuous load from several rollups during a chaos run: opaque
 * transactions to three plain namespaces, and transfers to the two proven
 * rollups, spread over every validator's API whatever state it is in. Every
 * 202 is recorded: the checks later ask what became of each.
 */
import { encodeTransfer } from "@ordo/prover";
import { prng } from "./schedule.js";

export interface AcceptedTransaction {
  hash: string;
  namespace: number;
  via: number;
  atMs: number;
  /** Sent in the burst right before its validator was SIGKILLed. */
  beforeCrash: boolean;
}

export interface LoadOptions {
  apis: readonly string[];
  seed: number;
  /** Opaque transactions a second, over namespaces 7, 8 and 9. */
  ratePerSecond: number;
  /** Seconds between transfers on rollup 1 and on rollup 2 (0: none). */
  rollupEverySeconds: [number, number];
}

const PLAIN_NAMESPACES = [7, 8, 9];
const ROLLUP_ACCOUNTS: Record<number, number> = { 1: 64, 2: 16 };

export class LoadGenerator {
  readonly accepted = new Map<string, AcceptedTransaction>();
  /** Refusals by their error code (a refusal is an answer, not a loss). */
  readonly refused = new Map<string, number>();
  /** Requests that got no answer (a validator down or cut off): never acknowledged, so never owed. */
  unanswered = 0;
  private running = false;
  private k = 0;
  private readonly rand: () => number;
  private readonly nonces = new Map<string, bigint>();
  private readonly loops: Promise<void>[] = [];
  private inflight = 0;

  constructor(private readonly o: LoadOptions) {
    this.rand = prng(o.seed ^ 0x10ad);
  }

  start(): void {
    this.running = true;
    this.loops.push(this.loop(1000 / this.o.ratePerSecond, () => this.nextPlain()));
    for (const [i, ns] of [1, 2].entries()) {
      const every = this.o.rollupEverySeconds[i] ?? 0;
      if (every > 0) this.loops.push(this.loop(every * 1000, () => this.transfer(ns)));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    while (this.inflight > 0) await new Promise((r) => setTimeout(r, 50));
  }

  /** `count` transactions in one batch request to validator `via`; resolves when it answers (then it is killed). */
  async burst(via: number, count: number): Promise<number> {
    const datas = Array.from({ length: count }, () => this.nextPlain().data);
    const ns = PLAIN_NAMESPACES[0] as number;
    try {
      const r = await fetch(`${this.o.apis[via]}/v1/namespaces/${ns}/transactions/batch`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ transactions: datas.map((d) => Buffer.from(d).toString("base64")) }),
        signal: AbortSignal.timeout(5_000),
      });
      if (r.status !== 202) {
        this.count(`HTTP ${r.status}`);
        return 0;
      }
      const body = (await r.json()) as { results: ({ hash: string } | { error: { code: string } })[] };
      let n = 0;
      for (const x of body.results) {
        if ("hash" in x) {
          this.accepted.set(x.hash, { hash: x.hash, namespace: ns, via, atMs: Date.now(), beforeCrash: true });
          n++;
        } else this.count(x.error.code);
      }
      return n;
    } catch {
      this.unanswered++;
      return 0;
    }
  }

  private async loop(everyMs: number, send: () => { namespace: number; data: Uint8Array }): Promise<void> {
    let next = Date.now();
    while (this.running) {
      next += everyMs;
      // At most 64 requests in flight: a frozen validator must not make the harness hoard sockets.
      if (this.inflight < 64) void this.submit(send());
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
  }

  private nextPlain(): { namespace: number; data: Uint8Array } {
    const k = this.k++;
    const namespace = PLAIN_NAMESPACES[k % PLAIN_NAMESPACES.length] as number;
    const body = new TextEncoder().encode(`chaos-${this.o.seed}-${k}-`);
    const pad = Math.floor(this.rand() * 200);
    const data = new Uint8Array(body.length + pad);
    data.set(body);
    for (let i = body.length; i < data.length; i++) data[i] = Math.floor(this.rand() * 256);
    return { namespace, data };
  }

  private transfer(namespace: number): { namespace: number; data: Uint8Array } {
    const accounts = ROLLUP_ACCOUNTS[namespace] as number;
    const from = Math.floor(this.rand() * accounts);
    const key = `${namespace}/${from}`;
    const nonce = this.nonces.get(key) ?? 0n;
    this.nonces.set(key, nonce + 1n);
    const to = (from + 1 + Math.floor(this.rand() * (accounts - 1))) % accounts;
    return { namespace, data: encodeTransfer({ from, to, amount: 1n, nonce }) };
  }

  private async submit(tx: { namespace: number; data: Uint8Array }): Promise<void> {
    const via = this.k % this.o.apis.length;
    this.inflight++;
    try {
      const r = await fetch(`${this.o.apis[via]}/v1/namespaces/${tx.namespace}/transactions`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: tx.data,
        signal: AbortSignal.timeout(5_000),
      });
      const body = (await r.json()) as { hash?: string; code?: string };
      if (r.status === 202 && body.hash)
        this.accepted.set(body.hash, {
          hash: body.hash,
          namespace: tx.namespace,
          via,
          atMs: Date.now(),
          beforeCrash: false,
        });
      else this.count(body.code ?? `HTTP ${r.status}`);
    } catch {
      this.unanswered++;
    } finally {
      this.inflight--;
    }
  }

  private count(code: string): void {
    this.refused.set(code, (this.refused.get(code) ?? 0) + 1);
  }
}
