/**
 * A snarkjs Groth16 proof and its public signals as the arguments of
 * `IGroth16BatchVerifier` (contracts/IGroth16BatchVerifier.sol): the proof as
 * [a.x, a.y, b.x1, b.x0, b.y1, b.y0, c.x, c.y] — the EVM pairing precompile
 * takes an Fq2 element imaginary part first, snarkjs writes it real part first
 * — and the 3 public inputs (oldRoot, newRoot, batchCommitment).
 */
import type { Groth16Proof } from "@ordo/prover";

/** BN254 base field order: every proof coordinate is below it. */
export const BN254_BASE_FIELD = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** BN254 scalar field order: every public input is below it. */
export const BN254_SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

export type Groth16ProofCalldata = readonly [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
export type PublicInputsCalldata = readonly [bigint, bigint, bigint];

const DECIMAL = /^(0|[1-9][0-9]*)$/;

function element(v: unknown, bound: bigint, what: string): bigint {
  if (typeof v !== "string" || !DECIMAL.test(v)) throw new Error(`${what} is not a decimal string: ${String(v)}`);
  const x = BigInt(v);
  if (x >= bound) throw new Error(`${what} is not below the field order ${bound}: ${v}`);
  return x;
}

/** An affine G1 point as snarkjs writes it: [x, y, "1"]. */
function g1(p: unknown, what: string): [bigint, bigint] {
  if (!Array.isArray(p) || p.length !== 3 || p[2] !== "1")
    throw new Error(`${what} is not an affine G1 point [x, y, "1"]: ${JSON.stringify(p)}`);
  return [element(p[0], BN254_BASE_FIELD, `${what}.x`), element(p[1], BN254_BASE_FIELD, `${what}.y`)];
}

/** An affine G2 point as snarkjs writes it, [[x0, x1], [y0, y1], ["1", "0"]], in the precompile's order x1, x0, y1, y0. */
function g2(p: unknown, what: string): [bigint, bigint, bigint, bigint] {
  const pair = (c: unknown): c is unknown[] => Array.isArray(c) && c.length === 2;
  if (
    !Array.isArray(p) ||
    p.length !== 3 ||
    !pair(p[0]) ||
    !pair(p[1]) ||
    !pair(p[2]) ||
    p[2][0] !== "1" ||
    p[2][1] !== "0"
  )
    throw new Error(`${what} is not an affine G2 point [[x0, x1], [y0, y1], ["1", "0"]]: ${JSON.stringify(p)}`);
  const f = (v: unknown, w: string) => element(v, BN254_BASE_FIELD, `${what}.${w}`);
  return [f(p[0][1], "x1"), f(p[0][0], "x0"), f(p[1][1], "y1"), f(p[1][0], "y0")];
}

/** The `uint256[8] proof` argument of `verifyProof` for a snarkjs Groth16 proof; throws on a malformed proof. */
export function proofToCalldata(proof: Groth16Proof): Groth16ProofCalldata {
  if (typeof proof !== "object" || proof === null) throw new Error("a Groth16 proof is an object");
  if (proof.protocol !== "groth16" || proof.curve !== "bn128")
    throw new Error(`not a Groth16 proof over bn128: protocol ${proof.protocol}, curve ${proof.curve}`);
  return [...g1(proof.pi_a, "pi_a"), ...g2(proof.pi_b, "pi_b"), ...g1(proof.pi_c, "pi_c")] as const;
}

/** The `uint256[3] input` argument of `verifyProof` for snarkjs public signals; throws unless 3 field elements. */
export function publicInputsToCalldata(signals: readonly string[]): PublicInputsCalldata {
  if (!Array.isArray(signals) || signals.length !== 3)
    throw new Error(
      `the circuit has 3 public inputs (oldRoot, newRoot, batchCommitment), got ${JSON.stringify(signals)}`,
    );
  const f = (i: number) => element(signals[i], BN254_SCALAR_FIELD, `public input ${i}`);
  return [f(0), f(1), f(2)] as const;
}
