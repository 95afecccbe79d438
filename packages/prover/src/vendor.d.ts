/** The parts of circomlibjs and snarkjs (untyped JavaScript packages) this package uses. */
declare module "circomlibjs" {
  export interface Poseidon {
    (inputs: bigint[]): Uint8Array;
    F: { toObject(element: Uint8Array): bigint };
  }
  export function buildPoseidon(): Promise<Poseidon>;
}

declare module "snarkjs" {
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
  export const groth16: {
    fullProve(
      input: object,
      wasmFile: string,
      zkeyFile: string,
      logger?: unknown,
      wtnsCalcOptions?: unknown,
      proverOptions?: { singleThread?: boolean },
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    prove(
      zkeyFile: string,
      witness: { type: "mem"; data?: Uint8Array },
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(verificationKey: object, publicSignals: string[], proof: Groth16Proof): Promise<boolean>;
  };
  export interface PlonkProof {
    A: string[];
    B: string[];
    C: string[];
    Z: string[];
    T1: string[];
    T2: string[];
    T3: string[];
    Wxi: string[];
    Wxiw: string[];
    eval_a: string;
    eval_b: string;
    eval_c: string;
    eval_s1: string;
    eval_s2: string;
    eval_zw: string;
    protocol: string;
    curve: string;
  }
  export const plonk: {
    fullProve(
      input: object,
      wasmFile: string,
      zkeyFile: string,
    ): Promise<{ proof: PlonkProof; publicSignals: string[] }>;
    verify(verificationKey: object, publicSignals: string[], proof: PlonkProof): Promise<boolean>;
  };
  export const wtns: {
    calculate(input: object, wasmFile: string, out: { type: "mem"; data?: Uint8Array }): Promise<void>;
  };
}
