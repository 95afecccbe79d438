/**
 * `npm run bench:da-poster`: how fast the DA poster drains a backlog of final
 * blocks to Ethereum blobs (EIP-4844 on a real anvil, Prague, one L1 block a
 * second by default), block by block (the baseline: one blob transaction per
 * block) and in bundles (every due block that fits one transaction of up to 6
 * blobs), in the same process against the same node.
 *
 * Each block is `--block-bytes` random bytes (default 2,000: about ten
 * transfers). Both runs use the real poster with its file store, the real
 * layer with KZG in a worker thread, and wait for every block's transaction
 * to be mined. The KZG trusted setup is loaded before timing starts.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ANVIL_DEV_PRIVATE_KEY, startAnvil } from "@ordo/l1-bridge";
import { EthereumBlobsLayer, loadSharedKzg } from "../src/layers/ethereum-blobs.js";
import { DaPoster } from "../src/posting/da-poster.js";
import { FilePostingStore } from "../src/posting/file-posting-store.js";
import { retrievePostedPayload } from "../src/posting/retrieve-posted.js";

const { values } = parseArgs({
  options: {
    blocks: { type: "string", default: "1200" },
    "baseline-blocks": { type: "string", default: "20" },
    "block-bytes": { type: "string", default: "2000" },
    "block-time": { type: "string", default: "1" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(
    "usage: bench:da-poster [--blocks 1200] [--baseline-blocks 20] [--block-bytes 2000] [--block-time 1 (L1 seconds)]",
  );
  process.exit(0);
}
const positive = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer (got ${v})`);
    process.exit(2);
  }
  return n;
};
const BLOCKS = positive("blocks", values.blocks);
const BASELINE_BLOCKS = positive("baseline-blocks", values["baseline-blocks"]);
const BLOCK_BYTES = positive("block-bytes", values["block-bytes"]);
const BLOCK_TIME = positive("block-time", values["block-time"]);

interface Row {
  mode: string;
  blocks: number;
  submissions: number;
  seconds: number;
}

async function drain(mode: "block by block" | "bundled", blocks: number, rpcUrl: string, dir: string): Promise<Row> {
  const layer = new EthereumBlobsLayer({
    rpcUrl,
    privateKey: ANVIL_DEV_PRIVATE_KEY,
    blobSource: { kind: "anvil" },
    pollingIntervalMs: 100,
  });
  const payloads = Array.from({ length: blocks }, () => new Uint8Array(randomBytes(BLOCK_BYTES)));
  const store = new FilePostingStore(join(dir, `${mode.replaceAll(" ", "-")}.json`));
  const poster = new DaPoster({
    layers: [layer],
    policy: { kind: "all", layers: [layer.name] },
    store,
    readPayload: async (h) => payloads[h] ?? null,
    ...(mode === "bundled" ? { bundled: [layer.name] } : {}),
  });
  const t0 = performance.now();
  const progress = setInterval(() => {
    const { cursor } = poster.progress();
    process.stderr.write(
      `  ${mode}: ${cursor}/${blocks} blocks posted, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
    );
  }, 5_000);
  poster.finalizedUpTo(blocks - 1);
  await poster.kick();
  clearInterval(progress);
  const seconds = (performance.now() - t0) / 1000;
  const { cursor, layers } = poster.progress();
  if (cursor !== blocks) throw new Error(`${mode}: only ${cursor} of ${blocks} blocks posted`);
  // Not a toy: a sample of blocks is read back out of its blob (its bundle) and checked.
  for (const h of [0, Math.floor(blocks / 2), blocks - 1]) {
    const posting = await store.getPosting(h);
    const back = posting ? await retrievePostedPayload(layer, posting) : null;
    if (!back || Buffer.compare(back, payloads[h] as Uint8Array) !== 0)
      throw new Error(`${mode}: block ${h} reads back wrong`);
  }
  return { mode, blocks, submissions: layers[layer.name]?.submissions ?? 0, seconds };
}

const dir = await mkdtemp(join(tmpdir(), "ordo-bench-poster-"));
console.error(`starting anvil (one block every ${BLOCK_TIME} s) and loading the KZG setup...`);
const [anvil, kzg] = await Promise.all([startAnvil({ port: 28745, blockTime: BLOCK_TIME }), loadSharedKzg()]);
console.error(`KZG setup loaded in ${(kzg.loadMs / 1000).toFixed(1)} s`);
try {
  const baseline = await drain("block by block", BASELINE_BLOCKS, anvil.rpcUrl, dir);
  const bundled = await drain("bundled", BLOCKS, anvil.rpcUrl, dir);
  const rate = (r: Row) => r.blocks / r.seconds;
  console.log(
    `\n## DA poster to Ethereum blobs (anvil, ${BLOCK_TIME} s L1 blocks, ${BLOCK_BYTES}-byte blocks, backlog drained)\n`,
  );
  console.log("| mode | blocks | blob transactions | seconds | blocks/s | KB/s |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const r of [baseline, bundled])
    console.log(
      `| ${r.mode} | ${r.blocks} | ${r.submissions} | ${r.seconds.toFixed(1)} | ${rate(r).toFixed(2)} | ${((rate(r) * BLOCK_BYTES) / 1000).toFixed(1)} |`,
    );
  console.log(`\nbundled / block by block: ${(rate(bundled) / rate(baseline)).toFixed(1)}× the blocks per second`);
} finally {
  await anvil.stop();
  await rm(dir, { recursive: true, force: true });
}
