// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// Poseidon over BN254 with circomlib's constants, as circomlibjs's `poseidonContract.createCode(n)` deploys it (its
/// ABI says pure; view here, which is what a STATICCALL to another contract is).
interface IPoseidon2 {
    function poseidon(uint256[2] calldata input) external view returns (uint256);
}

interface IPoseidon5 {
    function poseidon(uint256[5] calldata input) external view returns (uint256);
}

/// The reference rollup's batch commitment, recomputed from a namespace's finalized transactions exactly as the
/// prover package does (`batchCommitment(chunkBatches(transfersFromFinalized(blobs), B)[index])`):
/// - a transaction is a transfer iff it is exactly 25 bytes starting with 0x01 (`0x01 | from u32 | to u32 |
///   amount u64 | nonce u64`, big-endian); any other transaction is skipped, as the prover skips what it cannot
///   decode;
/// - the transfers, in block order, are cut into consecutive chunks of `batchSize`; batch `index` is chunk `index`;
/// - commitment = Poseidon2(n, c_n), c_0 = 0, c_{i+1} = Poseidon5(c_i, from, to, amount, nonce).
library BatchCommitment {
    uint256 internal constant TRANSFER_BYTES = 25;
    bytes1 internal constant TRANSFER_TAG = 0x01;

    /// Batch `index` has no transfer: the block's transfers make fewer batches.
    error EmptyBatch(uint256 index, uint256 transfers);

    /// The commitment of batch `index`, and whether the block holds transfers after it (so a later batch of the same
    /// height exists). Reverts `EmptyBatch` when the batch has no transfer.
    function compute(
        bytes[] calldata transactions,
        uint256 index,
        uint256 batchSize,
        IPoseidon2 poseidon2,
        IPoseidon5 poseidon5
    ) internal view returns (uint256 commitment, bool more) {
        uint256 first = index * batchSize; // index < 2^32, batchSize < 2^8: no overflow
        uint256 end = first + batchSize;
        uint256 seen; // transfers decoded so far
        uint256 chain; // c_i
        for (uint256 i = 0; i < transactions.length; i++) {
            bytes calldata t = transactions[i];
            if (t.length != TRANSFER_BYTES || t[0] != TRANSFER_TAG) continue;
            if (seen >= end) {
                more = true; // a transfer after the batch: no need to look further
                break;
            }
            if (seen >= first) {
                chain = poseidon5.poseidon(
                    [
                        chain,
                        uint256(uint32(bytes4(t[1:5]))),
                        uint256(uint32(bytes4(t[5:9]))),
                        uint256(uint64(bytes8(t[9:17]))),
                        uint256(uint64(bytes8(t[17:25])))
                    ]
                );
            }
            seen++;
        }
        if (seen <= first) revert EmptyBatch(index, seen);
        commitment = poseidon2.poseidon([seen - first, chain]);
    }
}
