// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// What the rollup bridge reads of Ordo's light client (OrdoLightClient.sol).
interface IOrdoLightClient {
    /// Ordo's chain id (every certificate and attestation is bound to it).
    function ordoChainId() external view returns (uint64);

    /// The epoch of the committee the light client currently follows.
    function currentEpoch() external view returns (uint64);

    /// The `namespaceRoot` of the finalized Ordo block at `height`, or zero when the light client holds none.
    function finalizedNamespaceRoot(uint64 height) external view returns (bytes32);

    /// Reverts (with the light client's custom errors) unless `signature` is a BLS12-381 aggregate signature
    /// (min-pk, ciphersuite BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_) over the 32 bytes `digest` by signers of
    /// the current committee holding more than 2/3 of its stake. Points use the EIP-2537 uncompressed encodings:
    /// `signature` is a 256-byte G2 point, each of `publicKeys` a 128-byte G1 point. `publicKeys` and `stakes`
    /// are the whole current committee, in index order (checked against the committee hash the light client
    /// holds); bit i of `signerBitmap` (LSB first within each byte) marks validator i as a signer.
    function verifyQuorum(
        bytes32 digest,
        bytes calldata signerBitmap,
        bytes calldata signature,
        bytes[] calldata publicKeys,
        uint96[] calldata stakes
    ) external view;
}
