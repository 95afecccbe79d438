/**
 * `ordo devnet` — the README's first quick-start line — starts a network with its prover market, reports on it,
 * proves a rollup's transfer, and stops cleanly on Ctrl-C.
 */
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

it("starts 4 validators and 3 provers, proves a rollup transfer, prints status lines, and exits 0 on SIGINT", async () => {
  const child = spawn(
    process.execPath,
    [
      "--conditions=source",
      "--import",
      "tsx",
      join(ROOT, "packages/sequencer/src/cli/ordo.ts"),
      "devnet",
      "--base-port",
      "24000",
      "--api-port",
      "24100",
      "--interval-ms",
      "500",
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const deadline = Date.now() + 90_000;
  while (!/height \d+ .*validators up 4\/4/.test(out) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  expect(out).toMatch(/validator 3: http:\/\/127\.0\.0\.1:24103/);
  expect(out).toMatch(
    /height \d+ +tx\/s [\d.]+ +p50 submit→final (\d+ ms|n\/a) +validators up 4\/4 +provers up 3\/3 +rollups proven 1: \d+\/\d+ 2: \d+\/\d+/,
  );
  // The hint the devnet prints is a working transfer for rollup 1; the provers prove it.
  const hint = /prove a transfer: curl -X POST -H 'content-type: application\/json' -d '([^']+)' (\S+)/.exec(out);
  expect(hint).not.toBeNull();
  const [, body, url] = hint as RegExpExecArray;
  const r = await fetch(url as string, { method: "POST", headers: { "content-type": "application/json" }, body });
  expect(r.status).toBe(202);
  while (!/rollups proven 1: 1\/1/.test(out) && Date.now() < deadline + 60_000)
    await new Promise((r) => setTimeout(r, 200));
  expect(out).toMatch(/rollups proven 1: 1\/1/);
  child.kill("SIGINT");
  expect(await exited).toBe(0);
}, 180_000);
