/** `ordo devnet` — the README's first quick-start line — starts a network, reports on it, and stops cleanly on Ctrl-C. */
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

it("starts 4 validator processes, prints endpoints and status lines, and exits 0 on SIGINT", async () => {
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
  expect(out).toMatch(/height \d+ +tx\/s [\d.]+ +p50 submit→final (\d+ ms|n\/a) +validators up 4\/4/);
  child.kill("SIGINT");
  expect(await exited).toBe(0);
}, 120_000);
