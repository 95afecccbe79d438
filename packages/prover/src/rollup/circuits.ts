/**
 * The rollup circuits this package ships (`circuits/`, keys in `artifacts/<name>/`)
 * and the proof systems each is proven with. A rollup names one when it
 * registers; validators verify a batch in every system its circuit lists.
 */

export type ProofSystem = "groth16" | "plonk";
export const PROOF_SYSTEMS: readonly ProofSystem[] = ["groth16", "plonk"];

export interface RollupCircuit {
  /** What `register-rollup` names, and the artifacts' folder. */
  readonly name: string;
  /** Accounts are the 2^depth leaves of the state tree. */
  readonly depth: number;
  /** Transfers per proof. */
  readonly batchSize: number;
  /** Each batch needs one valid proof in every one of these systems. */
  readonly systems: readonly ProofSystem[];
}

/** The reference rollup: 64 accounts, 2 transfers per Groth16 proof (15,087 constraints). */
export const REFERENCE_CIRCUIT: RollupCircuit = Object.freeze({
  name: "rollup_batch",
  depth: 6,
  batchSize: 2,
  systems: Object.freeze(["groth16"] as const),
});

/**
 * The multi-proof rollup: every batch is proven twice, with Groth16 and with
 * PLONK, so a soundness bug in one system or its setup alone cannot forge a
 * state root. Smaller than the reference (16 accounts, 1 transfer per batch)
 * because PLONK needs about 4× the powers of tau and proves ~10× slower here:
 * at this size its 14,624 gates fit the same 2^14 powers of tau.
 */
export const MULTI_PROOF_CIRCUIT: RollupCircuit = Object.freeze({
  name: "rollup_batch_d4b1",
  depth: 4,
  batchSize: 1,
  systems: Object.freeze(["groth16", "plonk"] as const),
});

export const CIRCUITS: readonly RollupCircuit[] = [REFERENCE_CIRCUIT, MULTI_PROOF_CIRCUIT];

export function circuitByName(name: string): RollupCircuit | undefined {
  return CIRCUITS.find((c) => c.name === name);
}
