/**
 * A real local L1: the `anvil` binary shipped in the npm package
 * `@foundry-rs/anvil` (its platform package holds the executable), started on
 * a loopback port with the Prague hardfork (EIP-2537 BLS12-381 precompiles,
 * EIP-4844 blobs) and stopped with the process that owns it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export interface Anvil {
  readonly rpcUrl: string;
  readonly port: number;
  readonly chainId: number;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export interface AnvilOptions {
  port: number;
  /** Address to listen on (default 127.0.0.1), e.g. a bridge address that network namespaces reach. */
  host?: string;
  chainId?: number;
  /** Seconds between blocks; absent: a block per transaction (automine). */
  blockTime?: number;
  /** Keep the chain in this file across restarts (anvil --state). */
  stateFile?: string;
}

/** anvil's first default account: 10,000 ETH on every fresh anvil chain (a well-known devnet key). */
export const ANVIL_DEV_PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" as const;
/** anvil's second default account: for a second sender (its own nonces), e.g. the DA poster beside the relayer. */
export const ANVIL_DEV_PRIVATE_KEY_2 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as const;

/** The anvil executable of this platform's `@foundry-rs/anvil-<os>-<arch>` package. */
export function anvilBinary(): string {
  const arch = { x64: "amd64", arm64: "arm64" }[process.arch as string];
  const os = { linux: "linux", darwin: "darwin", win32: "win32" }[process.platform as string];
  if (!arch || !os) throw new Error(`anvil has no build for ${process.platform}/${process.arch}`);
  const require = createRequire(import.meta.url);
  const pkg = `@foundry-rs/anvil-${os}-${arch}`;
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(`${pkg} is not installed: run npm install (it is an optional dependency of @foundry-rs/anvil)`);
  }
  return join(dir, "bin", os === "win32" ? "anvil.exe" : "anvil");
}

async function rpcReady(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    return r.ok;
  } catch {
    return false;
  }
}

export async function startAnvil(o: AnvilOptions): Promise<Anvil> {
  const chainId = o.chainId ?? 31337;
  const args = [
    "--host",
    o.host ?? "127.0.0.1",
    "--port",
    String(o.port),
    "--chain-id",
    String(chainId),
    "--hardfork",
    "prague",
    "--silent",
    ...(o.blockTime !== undefined ? ["--block-time", String(o.blockTime)] : []),
    ...(o.stateFile !== undefined ? ["--state", o.stateFile] : []),
  ];
  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4_000);
  });
  const rpcUrl = `http://${o.host ?? "127.0.0.1"}:${o.port}`;
  const t0 = Date.now();
  for (;;) {
    // The deadline counts from when a probe was sent: if this process's event loop was blocked (a synchronous
    // WASM load beside it, say), a probe sent before the block says nothing about an anvil that is up by now.
    const sentAt = Date.now();
    if (await rpcReady(rpcUrl)) break;
    if (child.exitCode !== null)
      throw new Error(`anvil exited with code ${child.exitCode}: ${stderr.trim() || "(no output)"}`);
    if (sentAt - t0 > 20_000) {
      child.kill("SIGKILL");
      throw new Error(`anvil did not answer on ${rpcUrl} within 20 s: is the port free?`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    rpcUrl,
    port: o.port,
    chainId,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM"); // anvil writes --state on SIGTERM
      await exited;
    },
  };
}
