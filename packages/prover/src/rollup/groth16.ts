/** Groth16 proofs of rollup batches with the committed, devnet-only circuit artifacts (snarkjs). */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Groth16Proof, groth16 } from "snarkjs";
import { type BatchWitness, publicSignals } from "./batch.js";

export type { Groth16Proof };

/** `packages/prover/artifacts`: made by `scripts/setup-circuit.mjs` (a local, single-party setup: devnet only). */
export const ARTIFACTS_DIR = resolve(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "artifacts");

export const artifactPaths = (dir = ARTIFACTS_DIR) => ({
  wasm: join(dir, "rollup_batch.wasm"),
  zkey: join(dir, "rollup_batch_final.zkey"),
  verificationKey: join(dir, "verification_key.json"),
  manifest: join(dir, "manifest.json"),
});

export function loadVerificationKey(dir = ARTIFACTS_DIR): object {
  return JSON.parse(readFileSync(artifactPaths(dir).verificationKey, "utf8")) as object;
}

/** Proves one batch; checks that the circuit's public signals are the ones the JS state transition computed. */
export async function proveBatch(
  witness: BatchWitness,
  options: { dir?: string; singleThread?: boolean } = {},
): Promise<{ proof: Groth16Proof; publicSignals: string[] }> {
  const p = artifactPaths(options.dir);
  const out = await groth16.fullProve(witness.input, p.wasm, p.zkey, undefined, undefined, {
    singleThread: options.singleThread ?? false,
  });
  const expected = publicSignals(witness);
  if (out.publicSignals.join() !== expected.join())
    throw new Error(`the circuit's public signals ${out.publicSignals} differ from the state transition's ${expected}`);
  return out;
}

/**
 * The validators' check. They recompute every public input themselves: the old
 * root from the last proven state, the commitment from the finalized bytes;
 * only the new root is the prover's claim.
 */
export async function verifyBatch(
  verificationKey: object,
  inputs: { oldRoot: bigint; newRoot: bigint; commitment: bigint },
  proof: Groth16Proof,
): Promise<boolean> {
  return groth16.verify(verificationKey, publicSignals(inputs), proof);
}

/** snarkjs keeps a multi-threaded curve (worker threads) in a global: end it so the process can exit. */
export async function shutdownSnarkjs(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  if (g.curve_bn128) {
    await g.curve_bn128.terminate();
    g.curve_bn128 = null;
  }
}
