/**
 * Proving in a child process (`workers/prove-worker.mjs`), one proof at a time,
 * so the caller's event loop never blocks. A process rather than a worker
 * thread: snarkjs's own thread pool cannot run inside a worker thread.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type ProofSystem, REFERENCE_CIRCUIT, type RollupCircuit } from "./circuits.js";
import { artifactPaths, type BatchProof } from "./proofs.js";

type Proved = { proof: BatchProof; publicSignals: string[] };

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
  private readonly waiting = new Map<number, { resolve: (r: Proved) => void; reject: (e: Error) => void }>();

  constructor() {
    this.worker.on("message", (m: { id: number; proof?: BatchProof; publicSignals?: string[]; error?: string }) => {
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

  prove(input: object, circuit: RollupCircuit = REFERENCE_CIRCUIT, system: ProofSystem = "groth16"): Promise<Proved> {
    const id = this.nextId++;
    const p = artifactPaths(circuit);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.send({ id, system, input, wasm: p.wasm, zkey: p.zkey(system) });
    });
  }

  async terminate(): Promise<void> {
    if (this.worker.exitCode !== null || this.worker.signalCode !== null) return;
    const exited = new Promise((r) => this.worker.once("exit", r));
    this.worker.kill();
    await exited;
  }
}
