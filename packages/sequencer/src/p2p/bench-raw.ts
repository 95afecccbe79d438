/**
 * Raw-transport baseline: 4 transports on loopback in this process, each
 * broadcasting its share of the payload to the other three, no consensus.
 *
 *   npx tsx --conditions=source packages/sequencer/src/p2p/bench-raw.ts [--mib 128] [--nodes 4]
 */
import "@ordo/core";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { startLoopbackTransports } from "./loopback.js";
import { measureRawThroughput } from "./raw-throughput.js";

const { values } = parseArgs({
  options: {
    mib: { type: "string", default: "128" },
    nodes: { type: "string", default: "4" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("usage: bench-raw [--mib N (unique payload per row, default 128)] [--nodes N (default 4)]");
  process.exit(0);
}
const mib = Number(values.mib);
const count = Number(values.nodes);
if (!(mib > 0) || !Number.isInteger(count) || count < 2) {
  console.error("--mib must be positive and --nodes an integer ≥ 2");
  process.exit(2);
}

const rows = [
  { label: "256 B txs batched into 64 KiB frames", frameBytes: 64 * 1024, txBytes: 256 },
  { label: "1 MiB frames", frameBytes: 1024 * 1024, txBytes: 256 },
];

const transports = await startLoopbackTransports({ count });
try {
  console.log(
    `raw transport: ${count} libp2p nodes (tcp+noise+yamux) on 127.0.0.1 in one process, ${availableParallelism()} cores, node ${process.version}`,
  );
  console.log(`each row: ${mib} MiB of unique payload, every node broadcasts its share to the others\n`);
  const header = ["frames", "unique MB/s", "delivered MB/s", "256 B tx/s equiv.", "seconds"];
  const table: string[][] = [];
  // A short warm-up so JIT and yamux windows settle before measuring.
  await measureRawThroughput({ nodes: transports, bytes: 8 * 1024 * 1024, frameBytes: 64 * 1024 });
  for (const row of rows) {
    const r = await measureRawThroughput({ nodes: transports, bytes: mib * 1024 * 1024, frameBytes: row.frameBytes });
    table.push([
      row.label,
      r.mbPerSecond.toFixed(1),
      r.deliveredMbPerSecond.toFixed(1),
      Math.round((r.mbPerSecond * 1e6) / row.txBytes).toLocaleString("en-US"),
      r.seconds.toFixed(2),
    ]);
  }
  printTable(header, table);
  const dropped = transports
    .map((t) => t.stats())
    .reduce((sum, s) => sum + s.droppedIn.rate + s.droppedOut.queueFull, 0);
  if (dropped > 0) console.log(`\nwarning: ${dropped} frames were dropped by limits during the run`);
} finally {
  await Promise.allSettled(transports.map((t) => t.stop()));
}

function printTable(header: string[], body: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of body) console.log(line(r));
}
