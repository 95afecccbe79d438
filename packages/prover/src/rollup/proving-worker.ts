/**
 * Groth16 proving in a child process (`workers/prove-worker.mjs`), one proof at a
 * time, so the caller's event loop never blocks. A process rather than a worker
 * thread: snarkjs's own thread pool cannot run inside a worker thread.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Groth16Proof } from "snarkjs";
import { artifactPaths } from "./groth16.js";

export class ProvingWorker {
  private readonly worker: ChildProcess = fork(
    fileURLToPath(new URL("../../workers/prove-worker.mjs", import.meta.url)),
    [],
    {
      execArgv: [],
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    },
  );
  private nextId = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (r: { proof: Groth16Proof; publicSignals: string[] }) => void; reject: (e: Error) => void }
  >();

  constructor() {
    this.worker.on("message", (m: { id: number; proof?: Groth16Proof; publicSignals?: string[]; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.error !== undefined || !m.proof || !m.publicSignals) w.reject(new Error(m.error ?? "no proof"));
      else w.resolve({ proof: m.proof, publicSignals: m.publicSignals });
    });
    const fail = (e: Error) => {
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`the proving process exited with code ${code}`)));
  }

  prove(input: object): Promise<{ proof: Groth16Proof; publicSignals: string[] }> {
    const id = this.nextId++;
    const p = artifactPaths();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.send({ id, input, wasm: p.wasm, zkey: p.zkey });
    });
  }

  async terminate(): Promise<void> {
    if (this.worker.exitCode !== null || this.worker.signalCode !== null) return;
    const exited = new Promise((r) => this.worker.once("exit", r));
    this.worker.kill();
    await exited;
  }
}
