/**
 * `npm run bench:light`: what a light client pays to follow Ordo.
 *
 * For committees of 4 and 100 validators (every one signing), the median time
 * of `LightClient.verifyFinality` over N updates (default 200; `--samples N`)
 * of 1 header and of a 16-header chain, with native BLS (blst) and pure JS
 * (noble), per update and per header; and the bytes of each update as
 * `GET /v1/blocks/:h/finality` serves it (its JSON). Goal: ≤ 5 ms per header
 * natively.
 *
 * Each update is at a new height (nothing is re-verified), and the clients are
 * warmed up first (public keys parsed and cached, JIT), as a client that
 * follows the chain is.
 */
import "@ordo/core";
import { performance } from "node:perf_hooks";
import {
  type BlockHeader,
  type BlsBackend,
  blstBackend,
  createBitmap,
  hashHeader,
  nobleBackend,
  type QuorumCertificate,
  type ValidatorKey,
  voteDigest,
} from "@ordo/core";
import { epochChangeToJson, finalityToJson, LightClient } from "../src/index.js";
import {
  bytes32,
  CHAIN,
  certify,
  checkpointOf,
  epochEndBlock,
  makeChain,
  makeCommittee,
  range,
  type TestCommittee,
} from "../test/fixtures.js";

const args = process.argv.slice(2);
const samplesAt = args.indexOf("--samples");
const SAMPLES = samplesAt >= 0 ? Number(args[samplesAt + 1]) : 200;
if (!Number.isInteger(SAMPLES) || SAMPLES < 1) throw new Error("--samples must be a positive integer");
const GOAL_MS_PER_HEADER = 5;

// BLS12-381's group order r: secret keys live in Z_r (not exported by @ordo/core).
const R = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
const toBig = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString("hex")}`);
const toBytes32 = (x: bigint) => Uint8Array.from(Buffer.from(x.toString(16).padStart(64, "0"), "hex"));

/**
 * Signing is not what is measured, and 100 signatures per update × 400 updates
 * would dominate the run: since BLS is linear, Σ sign(sk_i, m) = sign(Σ sk_i, m),
 * so one signature by the summed key is the signers' aggregate (checked
 * against a real aggregate below).
 */
function aggregateKey(keys: ValidatorKey[]): Uint8Array {
  return toBytes32(keys.reduce((s, k) => (s + toBig(k.secretKey)) % R, 0n));
}

interface Update {
  headers: BlockHeader[];
  certificate: QuorumCertificate;
}

function updates(c: TestCommittee, length: number, count: number): Update[] {
  const allSign = range(c.keys.length);
  const sk = aggregateKey(c.keys);
  const out: Update[] = [];
  for (let k = 0; k < count; k++) {
    const headers = makeChain(c, 1 + k * length, length, { salt: `-${length}` });
    const last = headers[length - 1] as BlockHeader;
    const qc = {
      epoch: c.epoch,
      round: last.round + 1,
      blockHash: bytes32(`child-${k}`),
      committedHash: hashHeader(last),
    };
    const signature = blstBackend.sign(sk, voteDigest(CHAIN, qc.epoch, qc.round, qc.blockHash, qc.committedHash));
    out.push({ headers, certificate: { ...qc, signers: createBitmap(c.keys.length, allSign), signature } });
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Median ms per update: one warm-up update first, then each of `list` at a new height. */
function measure(c: TestCommittee, bls: BlsBackend, warmup: Update, list: Update[]): number {
  // The checkpoint without proofs of possession: building the client is not what is measured.
  const validators = c.data.validators.map((v) => ({ publicKey: v.publicKey, stake: v.stake }));
  const client = new LightClient({ chainId: CHAIN, validatorSet: { epoch: c.epoch, validators } }, bls);
  client.verifyFinality(warmup.headers, warmup.certificate);
  const times: number[] = [];
  for (const u of list) {
    const t0 = performance.now();
    client.verifyFinality(u.headers, u.certificate);
    times.push(performance.now() - t0);
  }
  return median(times);
}

const fmt = (x: number, digits = 2) => x.toFixed(digits);

interface Row {
  size: number;
  headers: number;
  bytes: number;
  native: number;
  pure: number;
}

const rows: Row[] = [];
for (const size of [4, 100]) {
  const c = makeCommittee(
    0,
    range(size).map((i) => BigInt(1000 + i)),
    `bench-${size}`,
  );
  // The summed-key shortcut gives exactly the validators' aggregate.
  const probe = bytes32("probe");
  const real = blstBackend.aggregateSignatures(c.keys.map((k) => blstBackend.sign(k.secretKey, probe)));
  if (Buffer.compare(real, blstBackend.sign(aggregateKey(c.keys), probe)) !== 0)
    throw new Error("the summed secret key does not sign as the aggregate");
  for (const length of [1, 16]) {
    // Heights of the warm-up update lie past the measured ones.
    const all = updates(c, length, SAMPLES + 1);
    const warmup = all.pop() as Update;
    const bytes = Buffer.byteLength(
      JSON.stringify(
        finalityToJson({
          height: all[0]!.headers[0]!.height,
          certifiedHeight: all[0]!.headers[length - 1]!.height,
          ...all[0]!,
        }),
      ),
    );
    const native = measure(c, blstBackend, warmup, all);
    const pure = measure(c, nobleBackend, warmup, all);
    rows.push({ size, headers: length, bytes, native, pure });
    process.stderr.write(`  committee ${size}, ${length} header(s): done\n`);
  }
}

const table = [
  [
    "validators",
    "headers/update",
    "bytes/update",
    "bytes/header",
    "native ms/update",
    "native ms/header",
    "pure-JS ms/update",
    "pure-JS ms/header",
    "pure-JS/native",
  ],
  ...rows.map((r) => [
    String(r.size),
    String(r.headers),
    String(r.bytes),
    String(Math.round(r.bytes / r.headers)),
    fmt(r.native),
    fmt(r.native / r.headers, 3),
    fmt(r.pure),
    fmt(r.pure / r.headers, 3),
    `${fmt(r.pure / r.native, 1)}×`,
  ]),
];
const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
console.log(
  `\nLight client: verifyFinality, median of ${SAMPLES} updates per row (every validator signs; ${process.version}, ${process.arch})\n`,
);
for (const row of table) console.log(row.map((cell, i) => cell.padStart(widths[i]!)).join("  "));
// The worst case per header is the 1-header update: the pairing is paid once per update, not per header.
const worst = Math.max(...rows.map((r) => r.native / r.headers));
console.log(
  `\nGoal ≤ ${GOAL_MS_PER_HEADER} ms per header natively: ${worst <= GOAL_MS_PER_HEADER ? "met" : "NOT met"} (worst ${fmt(worst, 3)} ms per header)`,
);

// ── committee changes ────────────────────────────────────────────────────
// What following an epoch change costs the client: the last block's finality
// (one update, as above) plus `applyEpochChange`, which checks the commitment's
// inclusion and then every new member's proof of possession (one BLS
// verification each: the part that grows with the committee).
const changeRows: { size: number; bytes: number; native: number; pure: number }[] = [];
for (const size of [4, 100]) {
  const outgoing = makeCommittee(
    0,
    range(4).map(() => 1n),
    `bench-change-out-${size}`,
  );
  const next = makeCommittee(
    1,
    range(size).map((i) => BigInt(1000 + i)),
    `bench-change-in-${size}`,
  );
  const runs = Math.max(3, Math.min(SAMPLES, size === 100 ? 20 : 100));
  const time = (bls: BlsBackend) => {
    const times: number[] = [];
    for (let k = 0; k < runs; k++) {
      const end = epochEndBlock(outgoing, 10 + k, bytes32(`change-parent-${k}`), next);
      const client = new LightClient(checkpointOf(outgoing), bls);
      client.verifyFinality([end.header], certify(outgoing, end.header, range(4)));
      const t0 = performance.now();
      client.applyEpochChange(end.change);
      times.push(performance.now() - t0);
    }
    return median(times);
  };
  const sample = epochEndBlock(outgoing, 10, bytes32("change-parent-0"), next);
  const bytes = Buffer.byteLength(JSON.stringify(epochChangeToJson(sample.change)));
  changeRows.push({ size, bytes, native: time(blstBackend), pure: time(nobleBackend) });
  process.stderr.write(`  epoch change to ${size} validators: done\n`);
}
const changeTable = [
  ["new validators", "bytes/change", "native ms/change", "pure-JS ms/change", "pure-JS/native"],
  ...changeRows.map((r) => [
    String(r.size),
    String(r.bytes),
    fmt(r.native),
    fmt(r.pure),
    `${fmt(r.pure / r.native, 1)}×`,
  ]),
];
const changeWidths = changeTable[0]!.map((_, i) => Math.max(...changeTable.map((row) => row[i]!.length)));
console.log(
  "\nLight client: applyEpochChange after the last block is verified (median; the new set as JSON with its proofs of possession, plus the transaction proof)\n",
);
for (const row of changeTable) console.log(row.map((cell, i) => cell.padStart(changeWidths[i]!)).join("  "));
console.log("\nL1 gas per committee change follows (packages/l1-bridge/bench/committee-change.ts, on anvil).");
