/**
 * What must be true after a chaos run, checked from outside through the
 * validators' APIs, their logs, the L1 and the DA layer:
 * - no accepted transaction lost: every 202 ends final, or dropped with a reason;
 * - all validators agree on every height;
 * - the chain keeps moving: while a quorum can talk (no 2 | 2 split), the highest committed height never stands
 *   still longer than a bound;
 * - no honest double-signature: the only equivocation evidence names the
 *   Byzantine program's identity, while it ran;
 * - every rollup batch proven, and the L1's state roots are the proven ones;
 * - every DA certificate retrievable: the embedded layer's shards rebuild the
 *   block, and the blobs on the external layer verify (and the poster, which
 *   runs behind the chain, keeps going).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type BlockPosting, EthereumBlobsLayer, retrievePostedPayload } from "@ordo/da-client";
import { ANVIL_DEV_PRIVATE_KEY_2, OrdoRollupBridgeAbi } from "@ordo/l1-bridge";
import { type Address, createPublicClient, http } from "viem";
import type { AcceptedTransaction } from "./load.js";
import { prng } from "./schedule.js";

export interface CheckResult {
  name: string;
  ok: boolean;
  /** One line: the figures on success, what broke on failure. */
  detail: string;
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, body: (await r.json()) as T };
}

/** Runs `f` over `items` with at most `width` at a time. */
async function pool<T, R>(items: readonly T[], width: number, f: (item: T, k: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const k = next++;
        out[k] = await f(items[k] as T, k);
      }
    }),
  );
  return out;
}

type TxStatus = { status: "final"; height: number } | { status: "dropped"; reason: string } | { status: string };

/**
 * Waits up to `timeoutMs` for every accepted transaction to end final or dropped (asking the validators in turn);
 * whatever is still pending or unknown everywhere then is lost.
 */
export async function checkNoTransactionLost(
  apis: readonly string[],
  accepted: readonly AcceptedTransaction[],
  timeoutMs: number,
  startedAtMs: number,
): Promise<CheckResult & { finalHeights: Map<number, number[]> }> {
  const open = new Map(accepted.map((t) => [t.hash, t]));
  const dropped = new Map<string, number>();
  const finalHeights = new Map<number, number[]>();
  let final = 0;
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; open.size > 0 && Date.now() < deadline; round++) {
    await pool([...open.values()], 32, async (t, k) => {
      const api = apis[(k + round) % apis.length] as string;
      try {
        const { status, body } = await getJson<TxStatus>(`${api}/v1/transactions/${t.hash}`);
        if (status !== 200) return;
        if (body.status === "final" && "height" in body) {
          final++;
          const at = finalHeights.get(body.height) ?? [];
          at.push(t.namespace);
          finalHeights.set(body.height, at);
          open.delete(t.hash);
        } else if (body.status === "dropped" && "reason" in body) {
          dropped.set(body.reason, (dropped.get(body.reason) ?? 0) + 1);
          open.delete(t.hash);
        }
      } catch {
        // that validator is slow to answer: ask another next round
      }
    });
    if (open.size > 0) await new Promise((r) => setTimeout(r, 1_000));
  }
  const lost = [...open.values()];
  const droppedText = [...dropped].map(([r, n]) => `${n} ${r}`).join(", ");
  const burstLost = lost.filter((t) => t.beforeCrash).length;
  // Which validator acknowledged them and when: where to look in the logs.
  const byVia = new Map<number, number[]>();
  for (const t of lost) byVia.set(t.via, [...(byVia.get(t.via) ?? []), (t.atMs - startedAtMs) / 1000]);
  const where = [...byVia]
    .map(
      ([v, at]) =>
        `${at.length} via validator ${v} (acknowledged ${Math.min(...at).toFixed(0)}–${Math.max(...at).toFixed(0)} s)`,
    )
    .join(", ");
  return {
    name: "no accepted transaction lost",
    ok: lost.length === 0,
    detail:
      lost.length === 0
        ? `${accepted.length} accepted: ${final} final, ${dropped.size ? droppedText : "0"} dropped, 0 lost`
        : `${lost.length} of ${accepted.length} accepted transactions lost (${burstLost} of them acknowledged just before a crash): ${where}; first ${lost[0]?.hash}`,
    finalHeights,
  };
}

/** A run's committed heights, sampled every 2 s (null: the validator did not answer). */
export type HeightTimeline = readonly { atMs: number; heights: readonly (number | null)[] }[];

/**
 * The longest time the highest committed height stood still, not counting time inside `excused` windows (split
 * partitions, when no side holds a quorum); it must stay within `boundMs`.
 */
export function checkLiveness(
  timeline: HeightTimeline,
  excused: readonly { fromMs: number; toMs: number }[],
  boundMs: number,
): CheckResult & { longestMs: number } {
  const overlap = (a: number, b: number) =>
    excused.reduce((sum, w) => sum + Math.max(0, Math.min(b, w.toMs) - Math.max(a, w.fromMs)), 0);
  let longest = { ms: 0, fromMs: 0, toMs: 0, height: 0 };
  let top = -1;
  let since = 0;
  for (const [k, sample] of timeline.entries()) {
    const height = Math.max(-1, ...sample.heights.map((h) => h ?? -1));
    // A stall still going at the end counts up to the last sample.
    if (height > top || k === timeline.length - 1) {
      const ms = sample.atMs - since - overlap(since, sample.atMs);
      if (top >= 0 && ms > longest.ms) longest = { ms, fromMs: since, toMs: sample.atMs, height: top };
    }
    if (height > top) [top, since] = [height, sample.atMs];
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(0)} s`;
  const where = `at height ${longest.height}, from ${s(longest.fromMs)} to ${s(longest.toMs)} of the run`;
  return {
    name: "the chain keeps moving",
    ok: longest.ms <= boundMs,
    longestMs: longest.ms,
    detail:
      timeline.length === 0
        ? "no heights sampled"
        : `longest stall outside split partitions ${(longest.ms / 1000).toFixed(1)} s (bound ${s(boundMs)}), ${where}`,
  };
}

/** Every validator's block at every height up to the lowest committed height is the same block. */
export async function checkAgreement(apis: readonly string[]): Promise<CheckResult & { height: number }> {
  const heights = await Promise.all(
    apis.map(async (a) => (await getJson<{ committedHeight: number }>(`${a}/v1/status`)).body.committedHeight),
  );
  const top = Math.min(...heights);
  const mismatches: string[] = [];
  await pool(
    Array.from({ length: top }, (_, k) => k + 1),
    16,
    async (h) => {
      const hashes = await Promise.all(
        apis.map(async (a) => (await getJson<{ hash?: string }>(`${a}/v1/blocks/${h}`)).body.hash ?? "missing"),
      );
      if (new Set(hashes).size !== 1) mismatches.push(`height ${h}: ${hashes.join(" ")}`);
    },
  );
  return {
    name: "validators agree on every height",
    ok: mismatches.length === 0 && top > 0,
    detail:
      mismatches.length === 0
        ? `heights 1..${top} identical on ${apis.length} validators (heads ${heights.join(", ")})`
        : `${mismatches.length} heights differ; first ${mismatches.sort()[0]}`,
    height: top,
  };
}

export interface ByzantineWindow {
  validator: number;
  fromMs: number;
  toMs: number;
}

/**
 * Honest validators log each equivocation they catch (`"msg":"equivocation"`, with its author). Evidence is
 * allowed only against the identity the Byzantine program was running, logged while it ran or shortly after (its
 * votes stay in flight, and the real validator restarted on those keys may vote again in a round it signed).
 */
export async function checkNoHonestDoubleSign(
  dir: string,
  validators: number,
  byzantine: readonly ByzantineWindow[],
): Promise<CheckResult & { caught: number }> {
  const graceMs = 30_000;
  let caught = 0;
  const honest: string[] = [];
  for (let i = 0; i < validators; i++) {
    const log = await readFile(join(dir, `validator-${i}`, "node.log"), "utf8").catch(() => "");
    for (const line of log.split("\n")) {
      if (!line.includes("equivocation")) continue;
      let entry: { time?: number; author?: number; msg?: string; err?: string };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue;
      }
      const text = `${entry.msg ?? ""} ${entry.err ?? ""}`;
      if (!text.includes("equivocation")) continue;
      const author = entry.author ?? Number(/for (\d+)\//.exec(text)?.[1] ?? Number.NaN);
      const at = entry.time ?? 0;
      if (byzantine.some((w) => w.validator === author && at >= w.fromMs && at <= w.toMs + graceMs)) caught++;
      else
        honest.push(
          `validator ${i} caught ${Number.isNaN(author) ? "an unknown author" : `validator ${author}`} at ${new Date(at).toISOString()}: ${text.trim()}`,
        );
    }
  }
  return {
    name: "no honest double-signature",
    ok: honest.length === 0,
    detail:
      honest.length === 0
        ? `0 honest; ${caught} equivocations of the Byzantine identity caught`
        : `${honest.length} equivocations outside a Byzantine window; first: ${honest[0]}`,
    caught,
  };
}

interface MarketJson {
  rollups: { namespace: number; batches: number; proven: number; provenRoot: string }[];
}

/** Waits up to `timeoutMs` for every rollup batch the market opened to be proven. */
export async function checkEveryBatchProven(api: string, timeoutMs: number): Promise<CheckResult> {
  const deadline = Date.now() + timeoutMs;
  let m: MarketJson | null = null;
  while (Date.now() < deadline) {
    m = (await getJson<MarketJson>(`${api}/v1/market`).catch(() => null))?.body ?? m;
    if (m?.rollups.every((r) => r.proven === r.batches)) break;
    await new Promise((r) => setTimeout(r, 2_000));
  }
  const figures = m?.rollups.map((r) => `rollup ${r.namespace}: ${r.proven}/${r.batches}`).join(", ") ?? "no market";
  return {
    name: "every batch proven",
    ok: !!m && m.rollups.length > 0 && m.rollups.every((r) => r.proven === r.batches),
    detail: `${figures} proven`,
  };
}

/** Waits up to `timeoutMs` for the L1 bridge's state root of each rollup to be the market's proven root. */
export async function checkL1Roots(o: {
  api: string;
  l1RpcUrl: string;
  dir: string;
  timeoutMs: number;
}): Promise<CheckResult> {
  const { bridge } = JSON.parse(await readFile(join(o.dir, "l1-deployment.json"), "utf8")) as { bridge: Address };
  const l1 = createPublicClient({ transport: http(o.l1RpcUrl) });
  const deadline = Date.now() + o.timeoutMs;
  let rows: string[] = [];
  let ok = false;
  while (Date.now() < deadline && !ok) {
    try {
      const m = (await getJson<MarketJson>(`${o.api}/v1/market`)).body;
      rows = [];
      ok = true;
      for (const r of m.rollups) {
        const onL1 = await l1.readContract({
          address: bridge,
          abi: OrdoRollupBridgeAbi,
          functionName: "stateRoot",
          args: [r.namespace],
        });
        const same = onL1 === BigInt(r.provenRoot);
        ok &&= same;
        rows.push(`rollup ${r.namespace} ${same ? "=" : "≠"} ${`0x${onL1.toString(16)}`.slice(0, 12)}…`);
      }
    } catch (e) {
      ok = false;
      rows = [`unreadable: ${(e as Error).message.split("\n")[0]}`];
    }
    if (!ok) await new Promise((r) => setTimeout(r, 2_000));
  }
  return { name: "L1 roots are the proven roots", ok, detail: rows.join(", ") };
}

interface DaReportJson {
  embedded: { certificate: unknown | null };
  posting: Pick<BlockPosting, "height" | "payloadHash" | "layers"> | null;
}

/**
 * Every height that finalized a load transaction and that the poster has reached has an embedded-DA certificate and
 * was posted to every layer, with none left behind, and the poster keeps going; for a seeded sample of them, the
 * block is rebuilt from the embedded layer's shards through another validator and equals the stored one, and each
 * blob on the external layer is read back and verifies. How far behind the poster is comes with the result.
 */
export async function checkDaRetrievable(o: {
  apis: readonly string[];
  daRpcUrl: string;
  heights: ReadonlyMap<number, number[]>;
  seed: number;
  sample: number;
  timeoutMs: number;
}): Promise<CheckResult> {
  const poster = o.apis[0] as string;
  const heights = [...o.heights.keys()].sort((a, b) => a - b);
  const blobs = new EthereumBlobsLayer({
    rpcUrl: o.daRpcUrl,
    privateKey: ANVIL_DEV_PRIVATE_KEY_2,
    blobSource: { kind: "anvil" },
  });
  const missing: string[] = [];
  const reports = new Map<number, DaReportJson>();
  // The poster runs behind commits (block by block to the embedded layer, in bundles to the blob layer), and was crashed, cut off and frozen
  // out of its DA layer. Every height it has done must be certified, posted and retrievable, with no height left
  // behind; the ones it has not reached yet are its lag, which must shrink while we look (a stalled poster fails).
  const done = async (): Promise<number[]> => {
    const pending: number[] = [];
    await pool(
      heights.filter((h) => !reports.has(h)),
      16,
      async (h) => {
        const r = await getJson<DaReportJson>(`${poster}/v1/blocks/${h}/da`).catch(() => null);
        const layers = r?.body.posting?.layers ?? {};
        const posted = Object.values(layers).every((l) => l.state === "posted") && Object.keys(layers).length >= 2;
        if (r?.status === 200 && r.body.embedded.certificate && posted) reports.set(h, r.body);
        else pending.push(h);
      },
    );
    return pending.sort((a, b) => a - b);
  };
  const t0 = Date.now();
  let pending = await done();
  let before = reports.size;
  while (pending.length > 0 && Date.now() - t0 < o.timeoutMs) {
    await new Promise((r) => setTimeout(r, 5_000));
    pending = await done();
  }
  const rate = (reports.size - before) / ((Date.now() - t0) / 1000);
  if (pending.length > 0) {
    // A hole: a height below what the poster finished (less its window of 16 in flight) that it left behind.
    const frontier = Math.max(0, ...reports.keys());
    const holes = pending.filter((h) => h < frontier - 16);
    for (const h of holes) missing.push(`height ${h} left behind (the poster is at ${frontier})`);
    before = reports.size;
    await new Promise((r) => setTimeout(r, 15_000));
    pending = await done();
    if (reports.size === before) missing.push(`the poster is stalled: ${pending.length} heights still to post`);
  }
  const lag =
    pending.length === 0
      ? `the poster caught up in ${((Date.now() - t0) / 1000).toFixed(0)} s`
      : `the poster is ${pending.length} heights behind, posting ${rate.toFixed(2)} heights/s`;
  const rand = prng(o.seed ^ 0xda);
  const sample = [...reports.keys()].filter(() => rand() < o.sample / Math.max(1, reports.size));
  let rebuilt = 0;
  let blobsRead = 0;
  await pool(sample, 4, async (h, k) => {
    const ns = o.heights.get(h)?.[0] as number;
    // Through each validator but the poster in turn, until one rebuilds it (a validator may still be catching up).
    let answer = "no validator answered";
    for (let a = 0; a < o.apis.length - 1; a++) {
      const via = o.apis[1 + ((k + a) % (o.apis.length - 1))] as string;
      const [fromDa, stored] = await Promise.all([
        getJson<{ transactions: string[] }>(`${via}/v1/namespaces/${ns}/blocks/${h}?source=da`).catch(() => null),
        getJson<{ transactions: string[] }>(`${via}/v1/namespaces/${ns}/blocks/${h}`).catch(() => null),
      ]);
      answer = `HTTP ${fromDa?.status ?? "none"}`;
      if (fromDa?.status !== 200 || stored?.status !== 200) continue;
      if (JSON.stringify(fromDa.body.transactions) === JSON.stringify(stored.body.transactions)) answer = "";
      else answer = "rebuilt transactions differ from the stored ones";
      break;
    }
    if (answer) missing.push(`height ${h}: the embedded layer did not rebuild namespace ${ns} (${answer})`);
    else rebuilt++;
    // The block's payload out of its blob (its bundle), checked against the receipt and the posted payload hash.
    try {
      const posting = reports.get(h)?.posting;
      if (!posting) throw new Error("the poster reports no posting");
      await retrievePostedPayload(blobs, posting);
      blobsRead++;
    } catch (e) {
      missing.push(`height ${h}: not readable from its blob: ${(e as Error).message.split("\n")[0]}`);
    }
  });
  return {
    name: "DA certificates retrievable",
    ok: missing.length === 0 && reports.size > 0,
    detail:
      missing.length === 0
        ? `${reports.size}/${heights.length} heights certified and posted to both layers (${lag}); ${rebuilt} rebuilt from embedded shards, ${blobsRead} read back from their blobs and verified`
        : `${missing.length} problems; first: ${missing[0]}`,
  };
}
