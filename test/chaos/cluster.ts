/**
 * The processes of a chaos run, each a real OS process: validators inside
 * their network namespaces (`ordo node start`), the prover daemons, an anvil
 * as the L1 (Ordo's contracts and the relayer on it), a second anvil as an
 * external DA layer (EIP-4844 blobs), and the adversaries (a Byzantine
 * validator, a prover that withholds its reveals). It starts, kills, restarts,
 * freezes and throttles them; which fault to inject when is the schedule's.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, openSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ANVIL_DEV_PRIVATE_KEY_2, type Anvil, startAnvil } from "@ordo/l1-bridge";
import { type DevnetL1, startDevnetL1 } from "../../packages/sequencer/src/cli/devnet-l1.js";
import { registerDevnetRollups, startDevnetProver } from "../../packages/sequencer/src/cli/devnet-market.js";
import type { GenesisFile, NodeConfigFile } from "../../packages/sequencer/src/cli/files.js";
import { genesisCreate } from "../../packages/sequencer/src/cli/genesis-create.js";
import { nodeStatus, stopProcesses } from "../../packages/sequencer/src/cli/validator-processes.js";
import type { NetworkLab } from "./network-lab.js";

const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
const TSX = ["--conditions=source", "--import", "tsx"];
const CLI = [...TSX, join(ROOT, "packages/sequencer/src/cli/ordo.ts")];
const P2P_PORT = 9000;
const API_PORT = 8000;
/** Debian's libfaketime (package `faketime`): a process under it reads a shifted wall clock. */
export const FAKETIME_LIBRARY = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
/** The prover key the withholding prover uses: the genesis funds one more prover than the honest daemons. */
const WITHHOLDER = (honestProvers: number) => honestProvers;

export interface ClusterOptions {
  dir: string;
  validators: number;
  /** Honest prover daemons (0 runs no prover market load, L1 or withholder). */
  provers: number;
  epochLength: number;
  lab: NetworkLab;
  /** Ports on the lab's host address: the L1 anvil, the DA anvil, and provers' metrics from `metricsPort`. */
  l1Port: number;
  daPort: number;
  metricsPort: number;
  l1: boolean;
  mutation?: "ack-before-durable";
  log: (line: string) => void;
}

/** The exit of a process: resolves at once if it has exited already. */
function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once("exit", () => r()));
}

async function kill(p: ChildProcess | null, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (!p) return;
  const done = exited(p);
  p.kill(signal);
  await done;
}

export class Cluster {
  readonly apis: string[];
  readonly validators: (ChildProcess | null)[];
  readonly provers: (ChildProcess | null)[];
  l1: DevnetL1 | null = null;
  private l1Anvil: Anvil | null = null;
  private daAnvil: Anvil | null = null;
  private withholder: ChildProcess | null = null;
  private readonly cgroup: string;

  constructor(private readonly o: ClusterOptions) {
    this.apis = Array.from({ length: o.validators }, (_, i) => `http://${o.lab.ip(i)}:${API_PORT}`);
    this.validators = Array.from({ length: o.validators }, () => null);
    this.provers = Array.from({ length: o.provers }, () => null);
    this.cgroup = `/sys/fs/cgroup/cpu/ordo-chaos-${process.pid}`;
  }

  get dir(): string {
    return this.o.dir;
  }

  /** Genesis and configs for the lab's addresses, the anvils, the validators, then rollups, provers and the L1. */
  async start(): Promise<void> {
    const { dir, lab } = this.o;
    await genesisCreate([
      "--validators",
      String(this.o.validators),
      "--out",
      dir,
      "--provers",
      String(this.o.provers + 1),
      ...(this.o.epochLength > 0 ? ["--epoch-length", String(this.o.epochLength)] : []),
    ]);
    const genesisFile = join(dir, "genesis.json");
    const genesis = JSON.parse(await readFile(genesisFile, "utf8")) as GenesisFile;
    // A fixed committee: a Byzantine validator's equivocations would otherwise get it jailed at e + 2, and with 4
    // validators a crash after that would stall the chain. Epochs still change, and their proofs are followed.
    delete genesis.staking;
    for (const [i, v] of genesis.validators.entries()) v.addrs = [`/ip4/${lab.ip(i)}/tcp/${P2P_PORT}/p2p/${v.peerId}`];
    await writeFile(genesisFile, `${JSON.stringify(genesis, null, 2)}\n`);
    await writeFile(join(dir, "da-l1.key"), `${ANVIL_DEV_PRIVATE_KEY_2}\n`, { mode: 0o600 });
    for (let i = 0; i < this.o.validators; i++) {
      const file = join(dir, `validator-${i}`, "node.json");
      const config = JSON.parse(await readFile(file, "utf8")) as NodeConfigFile;
      config.listen = `/ip4/${lab.ip(i)}/tcp/${P2P_PORT}`;
      config.api = { host: lab.ip(i), port: API_PORT };
      if (i === 0 && config.da)
        config.da.poster = {
          policy: { kind: "all", layers: ["embedded", "ethereum-blobs"] },
          layers: [
            {
              type: "ethereum-blobs",
              rpcUrl: `http://${lab.hostIp}:${this.o.daPort}`,
              privateKeyFile: "../da-l1.key",
              confirmations: 1,
            },
          ],
        };
      await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
    }
    // A block per blob transaction, counted posted once included: the poster sends one blob transaction per
    // Ordo block and waits for it (serially), so deeper confirmations would leave it far behind the chain.
    this.daAnvil = await this.startAnvil(this.o.daPort, "da-anvil.json");
    if (this.o.l1) this.l1Anvil = await this.startAnvil(this.o.l1Port, "l1-anvil.json");
    for (let i = 0; i < this.o.validators; i++) this.startValidator(i);
    await this.waitUntil(
      async () => (await Promise.all(this.apis.map(nodeStatus))).every((s) => s !== null && s.committedHeight > 0),
      90_000,
      "every validator to commit a block",
    );
    if (this.o.provers === 0) return;
    await registerDevnetRollups(dir, this.apis[0] as string);
    for (let j = 0; j < this.o.provers; j++) this.startProver(j);
    if (this.l1Anvil) this.l1 = await startDevnetL1({ dir, apis: this.apis, cli: CLI, anvil: this.l1Anvil });
  }

  private startAnvil(port: number, state: string): Promise<Anvil> {
    return startAnvil({ host: this.o.lab.hostIp, port, stateFile: join(this.o.dir, state) });
  }

  isUp(i: number): boolean {
    const p = this.validators[i];
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  /** Starts validator i's process in its namespace; with `skewMs`, under libfaketime with its clock shifted. */
  startValidator(i: number, skewMs = 0): void {
    if (this.isUp(i)) throw new Error(`validator ${i} is already running`);
    const log = openSync(join(this.o.dir, `validator-${i}`, "node.log"), "a");
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (this.o.mutation) env.ORDO_MUTATION = this.o.mutation;
    if (skewMs !== 0) {
      env.LD_PRELOAD = FAKETIME_LIBRARY;
      env.FAKETIME = `${skewMs > 0 ? "+" : "-"}${Math.abs(skewMs) / 1000}s`;
      env.FAKETIME_DONT_FAKE_MONOTONIC = "1";
    }
    const [cmd, ...prefix] = this.o.lab.exec(i);
    this.validators[i] = spawn(
      cmd as string,
      [
        ...prefix,
        process.execPath,
        ...CLI,
        "node",
        "start",
        "--config",
        join(this.o.dir, `validator-${i}`, "node.json"),
      ],
      { cwd: ROOT, env, stdio: ["ignore", log, log] },
    );
  }

  async killValidator(i: number): Promise<void> {
    await kill(this.validators[i] ?? null);
    this.validators[i] = null;
  }

  /** Limits validator i's process to `percent` of one core (cgroup v1 cpu quota); false where cgroups are not writable. */
  async throttle(i: number, percent: number | null): Promise<boolean> {
    const pid = this.validators[i]?.pid;
    try {
      if (percent === null) {
        if (pid) await writeFile("/sys/fs/cgroup/cpu/cgroup.procs", `${pid}\n`);
        return true;
      }
      if (!pid) return false;
      await mkdir(this.cgroup, { recursive: true });
      await writeFile(join(this.cgroup, "cpu.cfs_period_us"), "100000\n");
      await writeFile(join(this.cgroup, "cpu.cfs_quota_us"), `${percent * 1000}\n`);
      await writeFile(join(this.cgroup, "cgroup.procs"), `${pid}\n`);
      return true;
    } catch {
      return false;
    }
  }

  startProver(j: number): void {
    this.provers[j] = startDevnetProver(
      { dir: this.o.dir, apis: this.apis, cli: CLI, metricsPort: (k) => this.o.metricsPort + k },
      j,
    );
  }

  async killProver(j: number): Promise<void> {
    await kill(this.provers[j] ?? null);
    this.provers[j] = null;
  }

  /** A prover that bonds and commits sealed bids but never reveals them, for `seconds` (if none runs yet). */
  startWithholder(seconds: number): ChildProcess {
    // One at a time: it holds one key, and a second copy would race it for nonces.
    const running = this.withholder;
    if (running && running.exitCode === null && running.signalCode === null) return running;
    const j = WITHHOLDER(this.o.provers);
    const log = openSync(join(this.o.dir, `prover-${j}`, "withholder.log"), "a");
    this.withholder = spawn(
      process.execPath,
      [
        ...TSX,
        join(ROOT, "test/chaos/withholding-prover.ts"),
        "--key",
        join(this.o.dir, `prover-${j}`, "system.key"),
        "--node",
        this.apis.join(","),
        "--seconds",
        String(Math.ceil(seconds)),
        // It bids on every slot: a bond topped up keeps it bidding for a whole run.
        "--rebond",
      ],
      { cwd: ROOT, stdio: ["ignore", log, log] },
    );
    return this.withholder;
  }

  /** Validator i's identity run by the Byzantine program (the real validator i must be stopped first). */
  startByzantine(i: number, seconds: number, seed: number): { process: ChildProcess; output: string[] } {
    if (this.isUp(i)) throw new Error(`validator ${i} must be stopped before its keys go Byzantine`);
    const [cmd, ...prefix] = this.o.lab.exec(i);
    const p = spawn(
      cmd as string,
      [
        ...prefix,
        process.execPath,
        ...TSX,
        join(ROOT, "test/chaos/byzantine.ts"),
        "--config",
        join(this.o.dir, `validator-${i}`, "node.json"),
        "--seconds",
        String(seconds),
        "--seed",
        String(seed),
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    const output: string[] = [];
    let partial = "";
    p.stdout?.on("data", (d: Buffer) => {
      const lines = (partial + d.toString()).split("\n");
      partial = lines.pop() ?? "";
      output.push(...lines.filter((l) => l.trim() !== ""));
    });
    p.stderr?.on("data", (d: Buffer) => this.o.log(`byzantine ${i}: ${d.toString().trim()}`));
    return { process: p, output };
  }

  /** Stops the L1 (SIGTERM: anvil writes its state), leaves it down `downMs`, starts it on the same port from that state. */
  async restartL1(downMs: number): Promise<void> {
    if (!this.l1Anvil) return;
    await this.l1Anvil.stop();
    await new Promise((r) => setTimeout(r, downMs));
    this.l1Anvil = await this.startAnvil(this.o.l1Port, "l1-anvil.json");
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the DA anvil: a layer that stops answering, connections left hanging. */
  freezeDa(frozen: boolean): void {
    this.daAnvil?.process.kill(frozen ? "SIGSTOP" : "SIGCONT");
  }

  get daRpcUrl(): string {
    return `http://${this.o.lab.hostIp}:${this.o.daPort}`;
  }

  get l1RpcUrl(): string {
    return `http://${this.o.lab.hostIp}:${this.o.l1Port}`;
  }

  async waitUntil(f: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (await f().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
  }

  async stop(): Promise<void> {
    this.freezeDa(false);
    await kill(this.withholder, "SIGTERM");
    if (this.l1) await stopProcesses([this.l1.relayer]);
    await stopProcesses(this.provers.filter((p): p is ChildProcess => p !== null));
    await stopProcesses(this.validators.filter((p): p is ChildProcess => p !== null));
    await this.l1Anvil?.stop();
    await this.daAnvil?.stop();
    if (existsSync(this.cgroup)) await rmdir(this.cgroup).catch(() => {});
  }
}
