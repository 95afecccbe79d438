/** `ordo load`: submits random transactions for K rollups at a steady rate, spread over the validators' APIs. */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { int, UsageError } from "./usage.js";

export async function load(args: string[], help: string): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      rate: { type: "string" },
      namespaces: { type: "string" },
      size: { type: "string" },
      api: { type: "string" },
      seconds: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return void process.stdout.write(help);
  const rate = int("rate", values.rate, 100, 1, 1_000_000);
  const namespaces = int("namespaces", values.namespaces, 3, 1, 100_000);
  const size = int("size", values.size, 256, 1, 1024 * 1024);
  const seconds = int("seconds", values.seconds, 0, 0, 86_400);
  const apis = (values.api ?? "http://127.0.0.1:8000,http://127.0.0.1:8001,http://127.0.0.1:8002,http://127.0.0.1:8003")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (apis.some((a) => !/^https?:\/\//.test(a))) throw new UsageError(`--api must be comma-separated http(s) URLs`);
  const counts = { accepted: 0, rejected: 0, failed: 0 };
  const rejections = new Map<string, number>();
  const start = Date.now();
  let sent = 0;
  let stop = false;
  process.once("SIGINT", () => {
    stop = true;
  });
  const report = setInterval(() => {
    const s = (Date.now() - start) / 1000;
    const why = [...rejections].map(([k, v]) => `${k}=${v}`).join(" ");
    process.stdout.write(
      `${s.toFixed(0)} s: sent ${sent} (${(sent / s).toFixed(0)}/s)  accepted ${counts.accepted}  rejected ${counts.rejected}${why ? ` [${why}]` : ""}  failed ${counts.failed}\n`,
    );
  }, 2000);
  const inflight = new Set<Promise<void>>();
  while (!stop && (seconds === 0 || Date.now() - start < seconds * 1000)) {
    // Pace by elapsed time, so a slow response does not lower the offered rate.
    const due = Math.floor(((Date.now() - start) / 1000) * rate);
    while (sent < due && inflight.size < 4096) {
      const api = apis[sent % apis.length] as string;
      const ns = 1 + (sent % namespaces);
      sent++;
      const p = fetch(`${api}/v1/namespaces/${ns}/transactions`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: randomBytes(size),
      })
        .then(async (r) => {
          if (r.status === 202) counts.accepted++;
          else {
            counts.rejected++;
            const code =
              ((await r.json().catch(() => ({}))) as { error?: { code?: string } }).error?.code ?? String(r.status);
            rejections.set(code, (rejections.get(code) ?? 0) + 1);
          }
        })
        .catch(() => {
          counts.failed++;
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(inflight);
  clearInterval(report);
  process.stdout.write(
    `done: sent ${sent}, accepted ${counts.accepted}, rejected ${counts.rejected}, failed ${counts.failed}\n`,
  );
}
