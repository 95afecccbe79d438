/** The part of circomlibjs (an untyped JavaScript package) this package uses. */
declare module "circomlibjs" {
  export const poseidonContract: {
    /** The creation bytecode (0x-prefixed hex) of a contract computing Poseidon over `nInputs` (1–8) field elements. */
    createCode(nInputs: number): string;
    /** Its ABI: `poseidon(uint256[nInputs])` and `poseidon(bytes32[nInputs])`. */
    generateABI(nInputs: number): unknown[];
  };
}
