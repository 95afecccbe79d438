// A child process that makes Groth16 and PLONK proofs, so a prover's event loop never blocks on witness
// generation or proving. A process, not a worker thread: snarkjs's thread pool (the `web-worker` package)
// takes any worker thread for one of its own and cannot run inside one. Plain JavaScript: no TypeScript
// loader needed.
import * as snarkjs from "snarkjs";

const SYSTEMS = { groth16: snarkjs.groth16, plonk: snarkjs.plonk };

process.on("message", async ({ id, system, input, wasm, zkey }) => {
  try {
    const prover = SYSTEMS[system];
    if (!prover) throw new Error(`unknown proof system ${system}`);
    const { proof, publicSignals } = await prover.fullProve(input, wasm, zkey);
    process.send({ id, proof, publicSignals });
  } catch (e) {
    process.send({ id, error: e instanceof Error ? e.message : String(e) });
  }
});
process.on("disconnect", () => process.exit(0));
