/**
 * `ordo devnet`: a whole local network in one command. Creates a fresh genesis,
 * starts each validator as its own OS process with its own data dir and ports,
 * waits for finality, registers the reference rollups and starts the prover
 * daemons, prints the endpoints, then a status line every few seconds, and
 * stops everything cleanly on Ctrl-C.
 */
import type { ChildProcess } from "node:child_process";
import { parseArgs } from "node:util";
import { startAnvil } from "@ordo/l1-bridge";
import { configureDevnetBlobs, type DevnetL1, startDevnetL1 } from "./devnet-l1.js";
import {
  DEVNET_ROLLUPS,
  exampleTransferBody,
  registerDevnetRollups,
  rollupProgress,
  startDevnetProvers,
} from "./devnet-market.js";
import { int } from "./usage.js";
import { type NodeStatus, nodeStatus, startValidatorProcesses, stopProcesses } from "./validator-processes.js";

/** Blocks per epoch in the devnet: a few minutes at the idle pace (a few blocks a second). */
export const DEVNET_EPOCH_LENGTH = 600;

/** Submits one probe transaction and resolves with its submit→final latency (ms), or null. */
async function probe(api: string, k: number): Promise<number | null> {
  const t0 = performance.now();
  try {
    const r = await fetch(`${api}/v1/namespaces/4242/transactions`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: new TextEncoder().encode(`devnet-probe-${process.pid}-${k}-${Date.now()}`),
    });
    if (r.status !== 202) return null;
    const { hash } = (await r.json()) as { hash: string };
    for (let i = 0; i < 100; i++) {
      const s = (await (await fetch(`${api}/v1/transactions/${hash}`)).json()) as { status: string };
      if (s.status === "final") return performance.now() - t0;
      await new Promise((res) => setTimeout(res, 20));
    }
  } catch {
    // a validator restarting: no sample this time
  }
  return null;
}

export async function devnet(args: string[], help: string, cli: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      validators: { type: "string" },
      "base-port": { type: "string" },
      "api-port": { type: "string" },
      dir: { type: "string" },
      "interval-ms": { type: "string" },
      provers: { type: "string" },
      "l1-port": { type: "string" },
      "no-l1": { type: "boolean" },
      "epoch-length": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return void process.stdout.write(help);
  const n = Number(values.validators ?? 4);
  if (!Number.isInteger(n) || n < 1 || n > 31) throw new Error(`--validators must be an integer from 1 to 31`);
  const basePort = Number(values["base-port"] ?? 9000);
  const apiPort = Number(values["api-port"] ?? 8000);
  const interval = Number(values["interval-ms"] ?? 3000);
  const proverCount = int("provers", values.provers, 3, 0, 16);
  const l1Port = int("l1-port", values["l1-port"], apiPort + 545, 1, 65535);
  // Epochs by default, so the devnet shows committee changes reaching light clients and the L1; 0 turns them off.
  const epochLength = int("epoch-length", values["epoch-length"], DEVNET_EPOCH_LENGTH, 0, Number.MAX_SAFE_INTEGER);
  if (epochLength === 1) throw new Error("--epoch-length must be 0 (one endless epoch) or at least 2");
  // The L1 starts first: validator 0 posts DA blobs to it from its first block.
  const anvil = values["no-l1"] ? null : await startAnvil({ port: l1Port });
  process.stdout.write("starting validators...\n");
  const net = await startValidatorProcesses({
    validators: n,
    basePort,
    apiPort,
    cli: [...process.execArgv, ...cli],
    provers: proverCount,
    ...(epochLength > 0 ? { epochLength } : {}),
    ...(values.dir ? { dir: values.dir } : {}),
    ...(anvil ? { beforeStart: (dir: string) => configureDevnetBlobs(dir, anvil) } : {}),
  });
  const { apis } = net;
  let provers: ChildProcess[] = [];
  let l1: DevnetL1 | null = null;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("\nstopping the devnet...\n");
    await stopProcesses(provers);
    await l1?.stop();
    await net.stop();
    await anvil?.stop();
    process.exit(code);
  };
  process.once("SIGINT", () => void stop(0));
  process.once("SIGTERM", () => void stop(0));

  process.stdout.write(`${n} validators started (data in ${net.dir})...\n`);
  const t0 = Date.now();
  try {
    await net.waitForFinality(60_000);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    await stop(1);
  }
  process.stdout.write(`finalizing after ${((Date.now() - t0) / 1000).toFixed(1)} s. Endpoints:\n`);
  for (const [i, api] of apis.entries())
    process.stdout.write(`  validator ${i}: ${api}  (P2P 127.0.0.1:${basePort + i})\n`);
  const metricsPort = (j: number) => apiPort + 100 + j;
  if (proverCount > 0) {
    try {
      await registerDevnetRollups(net.dir, apis[0] as string);
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      await stop(1);
    }
    provers = startDevnetProvers({
      dir: net.dir,
      apis,
      provers: proverCount,
      cli: [...process.execArgv, ...cli],
      metricsPort,
    });
    for (const { namespace, circuit } of DEVNET_ROLLUPS)
      process.stdout.write(`  rollup ${namespace}: circuit ${circuit.name} (${circuit.systems.join(" + ")})\n`);
    for (let j = 0; j < proverCount; j++)
      process.stdout.write(
        `  prover ${j}: metrics http://127.0.0.1:${metricsPort(j)}/metrics  log ${net.dir}/prover-${j}/prover.log\n`,
      );
    if (anvil) {
      try {
        l1 = await startDevnetL1({ dir: net.dir, apis, cli: [...process.execArgv, ...cli], anvil });
      } catch (e) {
        process.stderr.write(`error: starting the L1: ${(e as Error).message}\n`);
        await stop(1);
      }
      const d = (l1 as DevnetL1).deployment;
      process.stdout.write(
        `  l1: anvil ${(l1 as DevnetL1).anvil.rpcUrl} (chain ${d.l1ChainId}); light client ${d.lightClient}, bridge ${d.bridge}; relayer log ${net.dir}/relayer.log\n`,
      );
    }
    process.stdout.write(
      `prove a transfer: curl -X POST -H 'content-type: application/json' -d '${exampleTransferBody()}' ${apis[0]}/v1/namespaces/1/transactions\n`,
    );
  }
  process.stdout.write(
    `submit: curl -X POST -H 'content-type: application/json' -d '{"data":"aGVsbG8="}' ${apis[0]}/v1/namespaces/7/transactions\nCtrl-C stops the devnet.\n`,
  );

  let last = { at: Date.now(), final: 0 };
  const latencies: number[] = [];
  let k = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, interval));
    const sample = await probe(apis[k % n] as string, k);
    k++;
    if (sample !== null) latencies.push(sample);
    if (latencies.length > 50) latencies.shift();
    const statuses = await Promise.all(apis.map(nodeStatus));
    const up = statuses.filter((s) => s !== null) as NodeStatus[];
    const height = Math.max(0, ...up.map((s) => s.committedHeight));
    const final = Math.max(0, ...up.map((s) => s.counters.transactionsFinal));
    const now = Date.now();
    const tps = ((final - last.final) * 1000) / (now - last.at);
    last = { at: now, final };
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = sorted.length ? `${Math.round(sorted[Math.floor(sorted.length / 2)] as number)} ms` : "n/a";
    const rollups = proverCount > 0 ? await rollupProgress(apis[k % n] as string) : null;
    const onL1 = l1 ? await l1.progress() : null;
    const proversUp = provers.filter((p) => p.exitCode === null && p.signalCode === null).length;
    process.stdout.write(
      `height ${height} (epoch ${Math.max(0, ...up.map((s) => s.epoch))})  tx/s ${tps.toFixed(1)}  p50 submit→final ${p50}  validators up ${up.length}/${n}${
        proverCount > 0 ? `  provers up ${proversUp}/${proverCount}${rollups ? `  ${rollups}` : ""}` : ""
      }${onL1 ? `  ${onL1}` : ""}\n`,
    );
  }
}
