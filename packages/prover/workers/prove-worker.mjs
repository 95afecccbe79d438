// A child process that makes Groth16 proofs, so a prover's event loop never blocks on witness generation
// or proving. A process, not a worker thread: snarkjs's thread pool (the `web-worker` package) takes any
// worker thread for one of its own and cannot run inside one. Plain JavaScript: no TypeScript loader needed.
import * as snarkjs from "snarkjs";

process.on("message", async ({ id, input, wasm, zkey }) => {
  try {
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(input, wasm, zkey);
    process.send({ id, proof, publicSignals });
  } catch (e) {
    process.send({ id, error: e instanceof Error ? e.message : String(e) });
  }
});
process.on("disconnect", () => process.exit(0));
