/** Poseidon over the BN254 scalar field, with circomlib's constants (circomlibjs, single-threaded WASM). */
import { buildPoseidon } from "circomlibjs";

/** The BN254 (bn128) scalar field: what the circuit's signals live in. */
export const FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

const poseidon = await buildPoseidon();

/** Poseidon of field elements. Refuses values outside the field (circomlibjs would silently reduce them). */
export function poseidonHash(inputs: readonly bigint[]): bigint {
  for (const x of inputs)
    if (typeof x !== "bigint" || x < 0n || x >= FIELD)
      throw new RangeError(`poseidon input is not a field element: ${x}`);
  return poseidon.F.toObject(poseidon([...inputs]));
}

/** An account leaf: Poseidon(balance, nonce). */
export const leafHash = (balance: bigint, nonce: bigint): bigint => poseidonHash([balance, nonce]);
