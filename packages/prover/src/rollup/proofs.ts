/**
 * Proofs of rollup batches (snarkjs, Groth16 and PLONK) with the committed,
 * devnet-only circuit artifacts, and the bundle a `submit-proof` carries: one
 * proof per system the rollup's circuit requires.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256, toHex } from "@ordo/core";
import { type Groth16Proof, groth16, type PlonkProof, plonk } from "snarkjs";
import { type BatchWitness, publicSignals } from "./batch.js";
import { PROOF_SYSTEMS, type ProofSystem, REFERENCE_CIRCUIT, type RollupCircuit } from "./circuits.js";

export type { Groth16Proof, PlonkProof };
export type BatchProof = Groth16Proof | PlonkProof;
/** A proof in each system of a circuit, by system. */
export type ProofBundle = Partial<Record<ProofSystem, BatchProof>>;

/** `packages/prover/artifacts`: made by `scripts/setup-circuit.mjs` (a local, single-party setup: devnet only). */
export const ARTIFACTS_DIR = resolve(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "artifacts");

export const artifactPaths = (circuit: RollupCircuit = REFERENCE_CIRCUIT, dir = ARTIFACTS_DIR) => {
  const base = join(dir, circuit.name);
  return {
    wasm: join(base, "circuit.wasm"),
    manifest: join(base, "manifest.json"),
    zkey: (system: ProofSystem) => join(base, `${system}.zkey`),
    verificationKey: (system: ProofSystem) => join(base, `${system}.vkey.json`),
  };
};

export function loadVerificationKey(
  circuit: RollupCircuit = REFERENCE_CIRCUIT,
  system: ProofSystem = "groth16",
  dir = ARTIFACTS_DIR,
): object {
  return JSON.parse(readFileSync(artifactPaths(circuit, dir).verificationKey(system), "utf8")) as object;
}

/** What `register-rollup` names: sha256 of the canonical JSON of the circuit's verification keys, in system order. */
export function verifyingKeyHash(circuit: RollupCircuit, dir = ARTIFACTS_DIR): string {
  const keys = circuit.systems.map((s) => loadVerificationKey(circuit, s, dir));
  return toHex(sha256(new TextEncoder().encode(JSON.stringify(keys.length === 1 ? keys[0] : keys))));
}

/** Proves one batch in one system; checks that the circuit's public signals are the ones the JS state transition computed. */
export async function proveBatch(
  witness: BatchWitness,
  options: { circuit?: RollupCircuit; system?: ProofSystem; singleThread?: boolean } = {},
): Promise<{ proof: BatchProof; publicSignals: string[] }> {
  const p = artifactPaths(options.circuit);
  const system = options.system ?? "groth16";
  const out =
    system === "groth16"
      ? await groth16.fullProve(witness.input, p.wasm, p.zkey(system), undefined, undefined, {
          singleThread: options.singleThread ?? false,
        })
      : await plonk.fullProve(witness.input, p.wasm, p.zkey(system));
  const expected = publicSignals(witness);
  if (out.publicSignals.join() !== expected.join())
    throw new Error(`the circuit's public signals ${out.publicSignals} differ from the state transition's ${expected}`);
  return out;
}

/**
 * The validators' check of one proof. They recompute every public input
 * themselves: the old root from the last proven state, the commitment from the
 * finalized bytes; only the new root is the prover's claim. Never throws:
 * a malformed proof is an invalid one.
 */
export async function verifyBatch(
  verificationKey: object,
  inputs: { oldRoot: bigint; newRoot: bigint; commitment: bigint },
  proof: BatchProof,
  system: ProofSystem = "groth16",
): Promise<boolean> {
  const signals = publicSignals(inputs);
  try {
    return system === "groth16"
      ? await groth16.verify(verificationKey, signals, proof as Groth16Proof)
      : await plonk.verify(verificationKey, signals, proof as PlonkProof);
  } catch {
    return false; // snarkjs throws on a malformed proof object: to a verifier that is just an invalid proof
  }
}

/** The bytes of a `submit-proof`: the bundle as JSON. */
export function encodeProofBundle(bundle: ProofBundle): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(bundle));
}

/** The bundle in a `submit-proof`, or null when the bytes are not a JSON object keyed by known systems. */
export function decodeProofBundle(bytes: Uint8Array): ProofBundle | null {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
  const out: ProofBundle = {};
  for (const [k, proof] of Object.entries(v)) {
    if (!PROOF_SYSTEMS.includes(k as ProofSystem) || typeof proof !== "object" || proof === null) return null;
    out[k as ProofSystem] = proof as BatchProof;
  }
  return out;
}

/** snarkjs keeps a multi-threaded curve (worker threads) in a global: end it so the process can exit. */
export async function shutdownSnarkjs(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  if (g.curve_bn128) {
    await g.curve_bn128.terminate();
    g.curve_bn128 = null;
  }
}
