/**
 * An adversarial prover for the chaos harness: it bonds like `ordo prover
 * start` (if its account is not a prover yet), then commits a sealed bid with
 * a very low price to every slot whose commit window is open, and NEVER
 * reveals it: the salt is drawn, sealed with `sealBid` and thrown away, so the
 * bid cannot be opened even by accident.
 *
 *   node --conditions=source --import tsx test/chaos/withholding-prover.ts \
 *     --key DIR/prover-J/system.key --node http://HOST:PORT[,http://HOST2:PORT2...] --seconds S \
 *     [--price 1] [--bond 10000] [--rebond]
 *
 * One JSON line on stdout every 2 s and a final one (`"final": true`) on exit;
 * exits 0 after --seconds (absent or 0: runs until signalled) or on
 * SIGTERM/SIGINT. An unreachable or lagging validator is never fatal: it tries
 * the next URL of --node, quietly, and counts it in `unreachable`. Only a bad
 * command line or an unreadable key exits non-zero (2).
 *
 * What the market does with a sealed bid that is never revealed
 * (packages/prover/src/market/market.ts, types.ts as of this writing):
 * - `commit-bid` locks `jobCollateral` of the bond (market.ts:301-305), one bid
 *   per prover and slot (market.ts:300), only in the commit window
 *   (market.ts:297-298). Reveals are taken in [commitEnd, revealEnd)
 *   (market.ts:311-312).
 * - The slot closes at the end of block `revealEnd - 1` whatever was revealed:
 *   `endBlock` closes every open slot by height alone (market.ts:150-151), and
 *   `endBlock` runs for every committed block (MarketExecutor.executeBlock,
 *   packages/prover/src/system/market-executor.ts:120). A withheld reveal
 *   cannot hold a slot open.
 * - At the close every bid's collateral is unlocked and each unrevealed bid is
 *   slashed a flat `withheldRevealPenalty` (market.ts:376-379; flat, not
 *   share-scaled, and capped at the bond: market.ts:514-517; burned:
 *   market.ts:522). Defaults: penalty 100, collateral 1,000
 *   (types.ts:35-36), so the penalty is always covered by the collateral the
 *   bid locked.
 * - The unrevealed bid is otherwise ignored: it is not mixed into the beacon
 *   (market.ts:388) and not ranked (market.ts:390-393), so it can neither win
 *   nor be a backup; the job goes to the best REVEALED bid (market.ts:394-407,
 *   subject to the share cap, market.ts:435-457). If no bid was revealed the
 *   slot is `slot-unsold` (market.ts:382-385): no job is created, the rollup's
 *   batches stay in `unbound` and the next slot, opened every `slotInterval`
 *   blocks (market.ts:169-170), can take them (bindWaiting, market.ts:460-478).
 * - A withholder is never an assignee, so it can never hold a job past a
 *   deadline either; deadlines/failover (market.ts:152-158, 481-496) concern
 *   only revealed winners. Conclusion: a withheld reveal costs the withholder
 *   the penalty and its chance at the slot; it cannot stall a slot or a job.
 *   What it can still do is the documented beacon bias (packages/prover/README.md,
 *   "The remaining bias of the beacon").
 *
 * Counters: `commitsSent` = commit-bid transactions the API admitted (202);
 * `revealsWithheld` = those executed (nonce below the account's next nonce)
 * whose slot has since closed (height ≥ revealEnd - 1) unrevealed: an upper
 * bound, since the market may still have refused one (e.g. landed after its
 * commit window while blocks were slow); `slashed.count`/`slashed.total` are
 * the market's own count of this account's slashes since start (only withheld
 * reveals: it never holds a job), i.e. the commits that really landed and were
 * forfeited (`slashed.total` is exactly what was burned); `slashed.bondChange`
 * = bond now minus bond when first seen (top-ups from --rebond included).
 *
 * Bond: each withheld bid burns 100, and every slot of every rollup gets one,
 * so on the devnet (2 rollups, a slot each per 6 blocks) a 10,000 bond lasts
 * ~300 blocks (about a minute at full speed); after that it cannot lock the
 * collateral of a bid and stops committing. `--rebond` bonds another --bond
 * whenever the bond falls below one bid's collateral (1,000,000 of genesis
 * balance is 100 top-ups); or pass a larger --bond.
 */
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { SystemKey, SystemTransactionBody } from "@ordo/prover";

interface MarketJson {
  height: number;
  config: { jobCollateral: string };
  slots: { id: number; namespace: number; openedAt: number; commitEnd: number; revealEnd: number; bids: number }[];
}

interface AccountJson {
  balance: string;
  nextNonce: number;
  prover: { bond: string; locked: string; slashes: number; slashedTotal: string; jobsWon: number } | null;
}

interface SentCommit {
  nonce: number;
  namespace: number;
  revealEnd: number;
}

const LAG_BLOCKS = 3;
const POLL_MS = 250;
const PRINT_MS = 2_000;
/** Blocks before the commit window ends below which a commit would likely land too late. */
const COMMIT_MARGIN = 3;

function usage(message: string): never {
  process.stderr.write(`withholding-prover: ${message}\n`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        key: { type: "string" },
        node: { type: "string" },
        seconds: { type: "string" },
        price: { type: "string" },
        bond: { type: "string" },
        rebond: { type: "boolean" },
      },
    });
  } catch (e) {
    return usage((e as Error).message);
  }
})();
if (!values.key) usage("--key DIR/prover-J/system.key is required");
const nodes = (values.node ?? "")
  .split(",")
  .map((u) => u.trim().replace(/\/$/, ""))
  .filter((u) => u !== "");
if (nodes.length === 0 || !nodes.every((u) => /^https?:\/\//.test(u)))
  usage("--node URL[,URL...] (validators' APIs) is required");
const seconds = Number(values.seconds ?? 0);
if (!(Number.isFinite(seconds) && seconds >= 0)) usage("--seconds must be a non-negative number");
const amount = (name: string, v: string | undefined, dflt: bigint): bigint => {
  if (v === undefined) return dflt;
  if (!/^[0-9]{1,18}$/.test(v)) usage(`--${name} must be a non-negative integer`);
  return BigInt(v);
};
const price = amount("price", values.price, 1n);
const bondAmount = amount("bond", values.bond, 10_000n);
if (bondAmount <= 0n) usage("--bond must be positive");

// ── state ────────────────────────────────────────────────────────────────
const t0 = Date.now();
/** The account, once the key is read. */
let me: string | null = null;
let current = 0;
let chainId: number | undefined;
let nonce = 0;
let nonceKnown = false;
let lastSubmitAt = 0;
let registerSentAt = 0;
let maxHeight = 0;
/** When the last view that was not behind `maxHeight` was taken. */
let laggingSince = Date.now();
let stopping = false;
let lastMarket: MarketJson | null = null;
let lastAccount: AccountJson | null = null;
let firstBond: bigint | null = null;
let firstSlashes = 0;
let firstSlashedTotal = 0n;
const commits = new Map<number, SentCommit>();
const counts = {
  registersSent: 0,
  commitsSent: 0,
  commitsRefused: 0,
  revealsWithheld: 0,
  unreachable: 0,
  laggingSkipped: 0,
};

const node = () => nodes[current % nodes.length] as string;
const rotate = () => {
  counts.unreachable++;
  current = (current + 1) % nodes.length;
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function status(): Record<string, unknown> {
  const p = lastAccount?.prover ?? null;
  return {
    t: Math.round((Date.now() - t0) / 100) / 10,
    account: me,
    node: node(),
    height: lastMarket?.height ?? null,
    bonded: p !== null,
    bond: p?.bond ?? null,
    locked: p?.locked ?? null,
    openCommits: [...commits.values()].filter((c) => (lastMarket?.height ?? 0) < c.revealEnd - 1).length,
    ...counts,
    ...(p
      ? {
          slashed: {
            count: p.slashes - firstSlashes,
            total: (BigInt(p.slashedTotal) - firstSlashedTotal).toString(),
            bondChange: firstBond === null ? null : (BigInt(p.bond) - firstBond).toString(),
            jobsWon: p.jobsWon,
          },
        }
      : {}),
  };
}

const print = (extra: Record<string, unknown> = {}) => {
  try {
    process.stdout.write(`${JSON.stringify({ ...status(), ...extra })}\n`);
  } catch {
    // stdout closed by the harness: nothing to do
  }
};

const finish = (reason: string) => {
  if (stopping) return;
  stopping = true;
  print({ final: true, reason });
  process.exit(0);
};
process.once("SIGTERM", () => finish("SIGTERM"));
process.once("SIGINT", () => finish("SIGINT"));
// Never die of a stray rejection: the harness kills validators under us.
process.on("unhandledRejection", (e) => process.stderr.write(`withholding-prover: ignored ${String(e)}\n`));
const ticker = setInterval(() => print(), PRINT_MS);
if (seconds > 0) setTimeout(() => finish("seconds"), seconds * 1000);

// The package and CLI helpers load only now (a few seconds through tsx), so that a SIGTERM during start-up
// already exits 0 with a final line.
const { accountOf, sealBid } = await import("@ordo/prover");
const { readSystemKeyFile } = await import("../../packages/sequencer/src/cli/files.js");
const { getJson, postSystemTransaction } = await import("../../packages/sequencer/src/cli/system-client.js");
let key: SystemKey;
try {
  key = await readSystemKeyFile(resolve(values.key as string), false);
} catch (e) {
  usage((e as Error).message);
}
const myAccount = accountOf(key.publicKey);
me = myAccount;

/** Submits one signed system transaction at the next nonce: "ok", "refused" (HTTP ≠ 202) or "unreachable". */
async function submit(body: SystemTransactionBody): Promise<"ok" | "refused" | "unreachable"> {
  try {
    const r = await postSystemTransaction(node(), chainId as number, key, nonce, body);
    if (r.status !== 202) return "refused";
    nonce++;
    lastSubmitAt = Date.now();
    return "ok";
  } catch {
    rotate();
    return "unreachable";
  }
}

/** One round: read the market and the account from the current validator, then bond and commit. */
async function round(): Promise<void> {
  if (chainId === undefined) {
    try {
      chainId = (await getJson<{ chainId: number }>(`${node()}/v1/status`)).chainId;
    } catch {
      rotate();
      return;
    }
  }
  let market: MarketJson;
  let account: AccountJson;
  try {
    [market, account] = await Promise.all([
      getJson<MarketJson>(`${node()}/v1/market`),
      getJson<AccountJson>(`${node()}/v1/market/accounts/${myAccount}`),
    ]);
  } catch {
    rotate();
    return;
  }
  // A validator just restarted may be replaying: do not act on (or resync the nonce from) a stale view.
  // (After 30 s of nothing but such views, the network itself must have gone back: accept it.)
  if (market.height < maxHeight - LAG_BLOCKS && Date.now() - laggingSince < 30_000) {
    counts.laggingSkipped++;
    if (nodes.length > 1) current = (current + 1) % nodes.length;
    return;
  }
  laggingSince = Date.now();
  maxHeight = market.height < maxHeight - LAG_BLOCKS ? market.height : Math.max(maxHeight, market.height);
  lastMarket = market;
  lastAccount = account;
  const p = account.prover;
  if (p && firstBond === null) {
    firstBond = BigInt(p.bond);
    firstSlashes = p.slashes;
    firstSlashedTotal = BigInt(p.slashedTotal);
  }

  // The nonce, as the real daemon keeps it: higher on the chain means earlier submissions took those numbers;
  // lower for a while means ours were dropped (a validator killed with them in its mempool).
  if (!nonceKnown || account.nextNonce > nonce) {
    nonce = account.nextNonce;
    nonceKnown = true;
  } else if (account.nextNonce < nonce && Date.now() - lastSubmitAt > 5_000) {
    nonce = account.nextNonce;
    // Commits at the dropped nonces never landed: forget them, so a still-open slot is bid again.
    for (const [slot, c] of commits) if (c.nonce >= nonce) commits.delete(slot);
  }

  // Withheld reveals: our commits whose slot has closed (at the end of block revealEnd - 1) unopened.
  for (const [slot, c] of commits)
    if (market.height >= c.revealEnd - 1) {
      if (c.nonce < account.nextNonce) counts.revealsWithheld++;
      commits.delete(slot);
    }

  const collateral = BigInt(market.config.jobCollateral);
  if (!p) {
    // Bond like `ordo prover start`; resend if it has not shown up after a while (lost with a killed validator).
    if (Date.now() - registerSentAt > 10_000 && BigInt(account.balance) >= bondAmount) {
      const r = await submit({ kind: "register-prover", bond: bondAmount });
      if (r === "ok") {
        counts.registersSent++;
        registerSentAt = Date.now();
      }
    }
    return;
  }
  // Commits sent but not executed yet will lock collateral too: count them, or the market refuses the surplus.
  const pending = [...commits.values()].filter((c) => c.nonce >= account.nextNonce).length;
  let free = BigInt(p.bond) - BigInt(p.locked) - BigInt(pending) * collateral;
  // With --rebond, top the bond up once the penalties have eaten it below one bid's collateral.
  if (values.rebond && BigInt(p.bond) < collateral && Date.now() - registerSentAt > 10_000) {
    if (
      BigInt(account.balance) >= bondAmount &&
      (await submit({ kind: "register-prover", bond: bondAmount })) === "ok"
    ) {
      counts.registersSent++;
      registerSentAt = Date.now();
    }
    return;
  }
  const next = market.height + 1;
  for (const slot of market.slots) {
    if (stopping) return;
    if (commits.has(slot.id) || next < slot.openedAt || next >= slot.commitEnd - COMMIT_MARGIN) continue;
    if (free < collateral) break;
    // A price that would win every slot if revealed; its salt is dropped at once: it never will be.
    const sealed = sealBid(price, new Uint8Array(randomBytes(32)), myAccount);
    const sentAt = nonce;
    const r = await submit({ kind: "commit-bid", slot: slot.id, sealed });
    if (r === "unreachable") return;
    if (r === "refused") {
      counts.commitsRefused++;
      continue;
    }
    counts.commitsSent++;
    free -= collateral;
    commits.set(slot.id, { nonce: sentAt, namespace: slot.namespace, revealEnd: slot.revealEnd });
  }
}

while (!stopping) {
  try {
    await round();
  } catch (e) {
    process.stderr.write(`withholding-prover: round failed: ${String(e)}\n`);
  }
  await sleep(POLL_MS);
}
clearInterval(ticker);
