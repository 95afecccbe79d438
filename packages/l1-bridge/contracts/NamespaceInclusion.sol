// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// The core package's binary SHA-256 Merkle tree (packages/core/src/tree/merkle.ts): node = sha256(left ‖ right),
/// an odd last node is carried up unchanged, the empty tree's root is zero, and a proof lists the siblings from
/// the leaf up, skipping the levels where the node is carried up (they have no sibling).
library Sha256Merkle {
    /// Counts are uint32 in the core package; the bound also matches its `verifyMerkleProof`.
    uint256 internal constant MAX_COUNT = type(uint32).max;

    /// sha256(a ‖ b) through the 0x02 precompile, in the scratch space: no memory allocation per node.
    function hashPair(bytes32 a, bytes32 b) internal view returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            if iszero(staticcall(gas(), 0x02, 0x00, 0x40, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }

    /// The root of `nodes`, reduced in place (the array is overwritten).
    function root(bytes32[] memory nodes) internal view returns (bytes32) {
        uint256 n = nodes.length;
        if (n == 0) return bytes32(0);
        while (n > 1) {
            uint256 half = n >> 1;
            for (uint256 i = 0; i < half; i++) {
                nodes[i] = hashPair(nodes[2 * i], nodes[2 * i + 1]);
            }
            if (n & 1 == 1) nodes[half] = nodes[n - 1];
            n = half + (n & 1);
        }
        return nodes[0];
    }

    /// True when `path` leads from `leaf`, at `index` of a tree of `count` leaves, to `expected`. As in the core
    /// package, `count` is only checked for consistency with the path (the root does not commit to it).
    function verify(bytes32 leaf, uint256 index, uint256 count, bytes32[] calldata path, bytes32 expected)
        internal
        view
        returns (bool)
    {
        if (count > MAX_COUNT || index >= count) return false;
        bytes32 node = leaf;
        uint256 used;
        uint256 i = index;
        for (uint256 m = count; m > 1; m = (m >> 1) + (m & 1)) {
            // The last node of an odd level is carried up: the path has no sibling for this level.
            if (!(i == m - 1 && m & 1 == 1)) {
                if (used == path.length) return false;
                bytes32 sibling = path[used++];
                node = i & 1 == 1 ? hashPair(sibling, node) : hashPair(node, sibling);
            }
            i >>= 1;
        }
        return used == path.length && node == expected;
    }
}

/// Ordo's sorted namespace tree (packages/core/src/tree/namespace-tree.ts): a block's `namespaceRoot` is the
/// Sha256Merkle root over one leaf per namespace, `sha256(abi.encode(uint32 namespace, uint32 count,
/// bytes32 txRoot))`, where `txRoot` is the root of the namespace's transaction ids
/// `sha256(abi.encode(uint32 namespace, bytes data))` in block order.
library NamespaceInclusion {
    /// A transaction's id, as the core package's `hashTransaction`.
    function transactionId(uint32 namespace, bytes calldata data) internal pure returns (bytes32) {
        return sha256(abi.encode(namespace, data));
    }

    /// The namespace's leaf, rebuilt from its complete transaction list (non-empty, at most 2^32 - 1).
    function leafHash(uint32 namespace, bytes[] calldata transactions) internal view returns (bytes32) {
        uint256 n = transactions.length;
        bytes32[] memory ids = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            ids[i] = transactionId(namespace, transactions[i]);
        }
        return sha256(abi.encode(namespace, uint32(n), Sha256Merkle.root(ids)));
    }

    /// True when `transactions` are exactly the namespace's transactions, in block order, in the block whose
    /// `namespaceRoot` is `namespaceRoot`: the leaf commits to their count and their root, so a missing, extra,
    /// reordered or altered transaction fails. As the core package's `verifyNamespaceInclusion`.
    function verify(
        bytes32 namespaceRoot,
        uint32 namespace,
        bytes[] calldata transactions,
        uint256 leafIndex,
        uint256 leafCount,
        bytes32[] calldata path
    ) internal view returns (bool) {
        // A namespace's leaf exists only when it has transactions (a valid payload has no empty group).
        if (transactions.length == 0 || transactions.length > Sha256Merkle.MAX_COUNT) return false;
        return Sha256Merkle.verify(leafHash(namespace, transactions), leafIndex, leafCount, path, namespaceRoot);
    }
}
