import { cpSync, rmSync } from "node:fs";
import { decodeBatch, decodeBatchCertificate, decodeBlockBatches, NodeStore } from "@ordo/sequencer";
import { unpack } from "msgpackr";

const v = process.argv[2];
const src = `/work/chaos-ci7-seed7-lost-tx/validator-${v}/data`;
const dst = `/tmp/forensic/v${v}`;
rmSync(dst, { recursive: true, force: true });
cpSync(src, dst, { recursive: true });
rmSync(`${dst}/LOCK`, { force: true });
const store = await NodeStore.open(dst);
const st = unpack(await store.loadDisseminationState());
console.log(
  "nextSequence",
  st.nextSequence,
  "watermarks",
  JSON.stringify(st.watermarks),
  "ownBatches",
  st.ownBatches?.length,
);
for (const d of st.ownBatches ?? []) {
  const b = await store.getBatch(d);
  const c = await store.getBatchCertificate(d);
  const batch = b ? decodeBatch(b) : null;
  console.log(
    " own",
    Buffer.from(d).toString("hex").slice(0, 10),
    batch ? `seq ${batch.sequence} txs ${batch.transactions.length} at ${batch.createdAtMs}` : "no batch",
    c ? "cert" : "no cert",
  );
}
const head = await store.latestCommitted();
console.log("head", head.height);
const seen = {};
for (let h = 1; h <= head.height; h++) {
  const blk = await store.getBlock(h);
  const p = decodeBlockBatches(blk.payload);
  for (const c of p.certificates)
    if (c.author === Number(process.argv[3] ?? 3))
      (seen[h] ??= []).push(c.sequence + ":" + Buffer.from(c.digest).toString("hex").slice(0, 8));
}
console.log(JSON.stringify(seen));
await store.close();
