// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// Groth16 (BN254) verification of proofs of one circuit, whose verifying key the implementation holds.
/// A proof is [a.x, a.y, b.x1, b.x0, b.y1, b.y0, c.x, c.y] (the order the EVM pairing precompile takes G2
/// coordinates in); public inputs are field elements below the BN254 scalar field order, in circuit order.
interface IGroth16BatchVerifier {
    /// The sha256 of the verification key's canonical JSON (as `verifyingKeyHash` in the prover package computes it).
    function verifyingKeyHash() external view returns (bytes32);

    /// One proof: 4 pairings.
    function verifyProof(uint256[8] calldata proof, uint256[3] calldata input) external view returns (bool);

    /// k proofs in one multi-pairing of k + 3 pairings, over a random linear combination whose coefficients
    /// are derived (Fiat–Shamir) from all the proofs and inputs, so no prover can choose them.
    function verifyProofs(uint256[8][] calldata proofs, uint256[3][] calldata inputs) external view returns (bool);
}
