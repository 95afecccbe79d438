// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IOrdoLightClient} from "./IOrdoLightClient.sol";
import {Sha256Merkle} from "./NamespaceInclusion.sol";

/// Ordo's finality, checked on an EVM chain: it holds Ordo's current committee (BLS12-381 G1 keys and stakes,
/// committed by hash), accepts a finality certificate — a quorum certificate whose signed `committedHash` is the
/// hash of the header it finalizes — when signers with more than 2/3 of the stake signed it, and keeps the
/// finalized headers' namespace roots for the rollup bridge. BLS is checked with the EIP-2537 precompiles:
/// the signers' key is the committee's aggregate key minus the non-signers' keys (G1ADD of negated points; each
/// non-signer proven by a Merkle path to the committee root), so a certificate carries no key of a signer; the
/// vote digest is hashed to G2 (RFC 9380 expand_message_xmd with SHA-256, MAP_FP2_TO_G2 twice, G2ADD); then one
/// PAIRING_CHECK of two pairs.
///
/// Committees change with epochs: epoch e's last block carries, in the system namespace 0, the transaction
/// `abi.encode(EPOCH_CHANGE_TAG, uint64 e + 1, hashValidatorSet(next committee))` (the core package's
/// `encodeEpochChange`). Once that block is finalized here (by epoch e's committee, through the certificate path),
/// `submitEpochChange` proves the transaction is in it and moves to the committee it names.
contract OrdoLightClient is IOrdoLightClient {
    /// Ordo's block header; `abi.encode` of it is the preimage of the header hash (sha256), as in the core package.
    struct BlockHeader {
        uint64 chainId;
        uint64 epoch;
        uint64 round;
        uint64 height;
        bytes32 parentHash;
        bytes32 namespaceRoot;
        bytes32 payloadHash;
        bytes32 validatorSetHash;
        uint32 proposer;
        uint64 timestampMs;
    }

    /// A committee member whose signature is not in the aggregate, with its Merkle path to the committee root.
    struct NonSigner {
        uint256 index;
        /// 128-byte EIP-2537 G1 point.
        bytes publicKey;
        uint256 stake;
        bytes32[] path;
    }

    /// The quorum certificate whose vote commits a header: the certified block's round and hash, the aggregate
    /// signature (a 256-byte EIP-2537 G2 point), and the members who did not sign, by ascending index.
    struct Certificate {
        uint64 epoch;
        uint64 round;
        bytes32 blockHash;
        bytes signature;
        NonSigner[] nonSigners;
    }

    /// A namespace's leaf of the sorted namespace tree (the core package's `NamespaceLeaf`): its leaf hash is
    /// sha256(abi.encode(namespace, count, txRoot)).
    struct NamespaceLeaf {
        uint32 namespace;
        /// The namespace's transactions in the block: the size of the tree `txRoot` is the root of.
        uint32 count;
        /// Merkle root of the namespace's transaction ids sha256(abi.encode(uint32 namespace, bytes data)).
        bytes32 txRoot;
    }

    /// The core package's `TransactionInclusionProof`: the transaction's id at `txIndex` of its namespace's
    /// transaction tree (`txPath` up to `leaf.txRoot`), and the namespace's leaf at `leafIndex` of the block's
    /// `leafCount` leaves (`leafPath` up to the namespace root). Paths list siblings from the bottom up, skipping
    /// the levels where the node is carried up.
    struct TransactionProof {
        NamespaceLeaf leaf;
        uint32 leafIndex;
        uint32 leafCount;
        bytes32[] leafPath;
        uint32 txIndex;
        bytes32[] txPath;
    }

    /// What the light client keeps of the current committee for certificates, passed in calldata and checked
    /// against one stored hash (cheaper than reading four slots of aggregate key).
    struct CommitteeSummary {
        /// Merkle root (the core package's rules) of leaves sha256(publicKey ‖ uint256 stake), in index order.
        bytes32 root;
        uint256 size;
        uint256 totalStake;
        /// The sum of every member's key: 128-byte EIP-2537 G1 point.
        bytes aggregateKey;
    }

    // sha256("ORDO/v1/vote"), sha256("ORDO/v1/validator-set"): the domain tags of the core package's signed digests.
    bytes32 internal constant VOTE_TAG = 0xbe35daa64e6e779f590f08d5fea7f3d705cd06c7d8db28b5f1cd879555ee4372;
    bytes32 internal constant VALIDATOR_SET_TAG = 0x6a83c659b877743d3ff365321d7b3f1d523bd7c5e794c8373696c65bb607dec6;
    /// sha256("ORDO/v1/epoch-change"): the first word of an epoch-change commitment (the core package's
    /// `DOMAIN.epochChange`).
    bytes32 internal constant EPOCH_CHANGE_TAG = 0x86461e9bc6b520ec70b94fd4bb3bd2e1882680b95f0bf478c461e9ca3c4cebb9;
    /// Namespace 0 holds the system transactions, the epoch-change commitment among them.
    uint32 internal constant SYSTEM_NAMESPACE = 0;
    bytes internal constant DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

    // The BLS12-381 base field modulus p and (p - 1) / 2, as (high 16 bytes, low 32 bytes).
    uint256 internal constant P_HI = 0x1a0111ea397fe69a4b1ba7b6434bacd7;
    uint256 internal constant P_LO = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;
    uint256 internal constant HALF_P_HI = 0x0d0088f51cbff34d258dd3db21a5d66b;
    uint256 internal constant HALF_P_LO = 0xb23ba5c279c2895fb39869507b587b120f55ffff58a9ffffdcff7fffffffd555;
    // -G1, the negated generator, in the EIP-2537 encoding (64-byte big-endian coordinates).
    bytes internal constant NEG_G1 =
        hex"0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb00000000000000000000000000000000114d1d6855d545a8aa7d76c8cf2e21f267816aef1db507c96655b9d5caac42364e6f38ba0ecb751bad54dcd6b939c2ca";

    address internal constant SHA256 = address(0x02);
    address internal constant MODEXP = address(0x05);
    address internal constant G1ADD = address(0x0b);
    address internal constant G2ADD = address(0x0d);
    address internal constant PAIRING = address(0x0f);
    address internal constant MAP_FP2_TO_G2 = address(0x11);

    uint64 public immutable override ordoChainId;
    // One slot: read and written by every certificate.
    uint64 public override currentEpoch;
    uint64 public latestHeight;
    uint64 public latestTimestampMs;
    /// When (L1 seconds) the light client last learned a newer finalized header.
    uint64 public lastUpdatedAt;
    /// keccak256(abi.encode(publicKeys, stakes)) of the current committee (EIP-2537 keys): what `verifyQuorum`
    /// callers pass in full.
    bytes32 public committeeHash;
    /// keccak256(abi.encode(CommitteeSummary)) of the current committee: what certificates pass.
    bytes32 public summaryHash;
    /// The core package's `hashValidatorSet` of the current committee: what every header of this epoch carries.
    bytes32 public validatorSetHash;
    uint256 public totalStake;
    uint256 public committeeSize;

    /// One slot per finalized height: its namespace root (what the rollup bridge reads).
    mapping(uint64 height => bytes32) internal namespaceRoots;

    event CommitteeChanged(
        uint64 indexed epoch, bytes32 validatorSetHash, bytes32 root, uint256 size, uint256 totalStake, bytes aggregateKey
    );
    event HeaderFinalized(uint64 indexed height, bytes32 namespaceRoot, uint64 epoch);
    /// The committee of `epoch` was taken from the epoch-change commitment of the finalized block at `height`.
    event EpochChanged(uint64 indexed epoch, uint64 height);

    error WrongChain(uint64 expected, uint64 got);
    error StaleEpoch(uint64 current, uint64 got);
    error UnknownEpoch(uint64 current, uint64 got);
    error AlreadyFinalized(uint64 height);
    error EmptyHeaders();
    error NotAChain(uint64 height);
    error ConflictingHeader(uint64 height);
    error WrongValidatorSet(bytes32 expected, bytes32 got);
    error CommitteeMismatch();
    error InvalidCommittee(string reason);
    /// `submitEpochChange` names a height the light client holds no finalized header of.
    error NotFinalized(uint64 height);
    /// The block at `height` does not hold, in namespace 0, the epoch-change commitment to `validatorSetHash` for
    /// `nextEpoch` (the set's hash as the contract computed it from the keys and stakes given): a wrong or tampered
    /// proof, another committee than the one committed to, or a change already applied.
    error EpochChangeNotProven(uint64 height, uint64 nextEpoch, bytes32 validatorSetHash);
    error BadSignerBitmap();
    error BadNonSigner(uint256 index);
    error SummaryMismatch();
    error InsufficientStake(uint256 signed, uint256 total);
    error InvalidSignature();
    error InvalidPoint();

    constructor(uint64 chainId_, uint64 epoch, bytes[] memory publicKeys, uint96[] memory stakes) {
        ordoChainId = chainId_;
        _checkCommittee(publicKeys, stakes);
        _setCommittee(epoch, publicKeys, stakes, _ordoValidatorSetHash(epoch, publicKeys, stakes));
        lastUpdatedAt = uint64(block.timestamp);
    }

    // ------------------------------------------------------------------ finality

    /// Verifies `certificate` — a quorum of the current committee over the vote whose `committedHash` is the hash
    /// of the last of `headers` — and stores every header as finalized: the last by the certificate, each one
    /// before it as the parent its successor names (consensus commits a block with its ancestors, so a
    /// certificate exists only for the block each commit ends at). `headers` ascend by one height at a time.
    function submitFinalityCertificate(
        BlockHeader[] calldata headers,
        Certificate calldata certificate,
        CommitteeSummary calldata committee
    ) external {
        uint256 n = headers.length;
        if (n == 0) revert EmptyHeaders();
        BlockHeader calldata head = headers[n - 1];
        uint64 epoch = currentEpoch;
        if (head.chainId != ordoChainId) revert WrongChain(ordoChainId, head.chainId);
        if (certificate.epoch < epoch) revert StaleEpoch(epoch, certificate.epoch);
        if (certificate.epoch > epoch) revert UnknownEpoch(epoch, certificate.epoch);
        if (head.validatorSetHash != validatorSetHash) revert WrongValidatorSet(validatorSetHash, head.validatorSetHash);
        if (namespaceRoots[head.height] != bytes32(0)) revert AlreadyFinalized(head.height);
        bytes32 headHash = sha256(abi.encode(head));
        bytes32 digest = sha256(
            abi.encode(VOTE_TAG, ordoChainId, certificate.epoch, certificate.round, certificate.blockHash, headHash)
        );
        _verifyCertificate(digest, certificate, committee);
        uint64 latest = latestHeight;
        _store(head.height, head.namespaceRoot, epoch);
        bytes32 childParent = head.parentHash;
        for (uint256 i = n - 1; i > 0; i--) {
            BlockHeader calldata h = headers[i - 1];
            if (h.height + 1 != headers[i].height || sha256(abi.encode(h)) != childParent) revert NotAChain(h.height);
            childParent = h.parentHash;
            bytes32 known = namespaceRoots[h.height];
            if (known == bytes32(0)) _store(h.height, h.namespaceRoot, epoch);
            else if (known != _stored(h.namespaceRoot)) revert ConflictingHeader(h.height); // a safety failure
        }
        if (head.height > latest) {
            latestHeight = head.height;
            latestTimestampMs = head.timestampMs;
            lastUpdatedAt = uint64(block.timestamp);
        }
    }

    function _store(uint64 height, bytes32 namespaceRoot, uint64 epoch) internal {
        namespaceRoots[height] = _stored(namespaceRoot);
        emit HeaderFinalized(height, namespaceRoot, epoch);
    }

    /// A zero root would read as "not finalized" (only an empty namespace tree has it): stored as a marker.
    function _stored(bytes32 namespaceRoot) internal pure returns (bytes32) {
        return namespaceRoot == bytes32(0) ? EMPTY_ROOT : namespaceRoot;
    }

    /// Moves to the next epoch's committee: the one committed to by the epoch-change transaction of a block this
    /// light client finalized. `newPublicKeys` (128-byte EIP-2537 G1 points) and `newStakes` are that committee in
    /// index order; the contract computes its `hashValidatorSet` for `currentEpoch + 1`, rebuilds the 96-byte
    /// transaction `abi.encode(EPOCH_CHANGE_TAG, currentEpoch + 1, setHash)` and checks, with `proof`, that it is in
    /// namespace 0 of the block at `height`.
    ///
    /// The light client keeps no epoch per height (one slot per finalized height, its namespace root), so it does
    /// not check that `height` is the last block of the current epoch. The commitment names its epoch instead:
    /// only a commitment to `currentEpoch + 1` is accepted, so one from an older epoch's block, or the same change
    /// submitted twice, no longer matches once `currentEpoch` has moved on. That a finalized block holds such a
    /// transaction only at an epoch's end, and only the real next committee's, is what consensus guarantees (the
    /// outgoing committee certified the block); the contract takes it from the certificate as it takes the header.
    function submitEpochChange(
        uint64 height,
        bytes[] calldata newPublicKeys,
        uint96[] calldata newStakes,
        TransactionProof calldata proof
    ) external {
        bytes32 root = namespaceRoots[height];
        if (root == bytes32(0)) revert NotFinalized(height);
        // One copy to memory, shared by the checks, the set hash and the install (each calldata argument passed
        // to a memory parameter would be copied again).
        bytes[] memory keys = newPublicKeys;
        uint96[] memory stakes = newStakes;
        _checkCommittee(keys, stakes);
        uint64 nextEpoch = currentEpoch + 1;
        bytes32 setHash = _ordoValidatorSetHash(nextEpoch, keys, stakes);
        // The transaction's id, as the core package's `hashTransaction(0, encodeEpochChange(...))`.
        bytes32 txId = sha256(abi.encode(SYSTEM_NAMESPACE, abi.encode(EPOCH_CHANGE_TAG, nextEpoch, setHash)));
        NamespaceLeaf calldata leaf = proof.leaf;
        // An empty block's stored root is EMPTY_ROOT, a keccak256 value no sha256 path leads to: the proof fails.
        // The tx tree's size is `leaf.count`, which the leaf hash commits to, so `txIndex` is proven too.
        if (
            leaf.namespace != SYSTEM_NAMESPACE
                || !Sha256Merkle.verify(txId, proof.txIndex, leaf.count, proof.txPath, leaf.txRoot)
                || !Sha256Merkle.verify(
                    sha256(abi.encode(leaf.namespace, leaf.count, leaf.txRoot)),
                    proof.leafIndex,
                    proof.leafCount,
                    proof.leafPath,
                    root
                )
        ) revert EpochChangeNotProven(height, nextEpoch, setHash);
        _setCommittee(nextEpoch, keys, stakes, setHash);
        emit EpochChanged(nextEpoch, height);
    }

    function verifyQuorum(
        bytes32 digest,
        bytes calldata signerBitmap,
        bytes calldata signature,
        bytes[] calldata publicKeys,
        uint96[] calldata stakes
    ) external view override {
        _verifyQuorum(digest, signerBitmap, signature, publicKeys, stakes);
    }

    /// The stored root of a finalized block whose namespace tree is empty (its real root is zero).
    bytes32 internal constant EMPTY_ROOT = keccak256("ordo/empty-namespace-root");

    function finalizedNamespaceRoot(uint64 height) external view override returns (bytes32) {
        bytes32 root = namespaceRoots[height];
        return root == EMPTY_ROOT ? bytes32(0) : root;
    }

    function isFinalized(uint64 height) external view returns (bool) {
        return namespaceRoots[height] != bytes32(0);
    }

    /// Seconds since the light client last learned a newer finalized header: a rollup's escape hatch can open
    /// when this grows past its bound.
    function staleness() external view returns (uint256) {
        return block.timestamp - lastUpdatedAt;
    }

    // ------------------------------------------------------------------ committee

    /// The committee's shape: at least one member, a stake per key, 128-byte keys, no zero stake.
    function _checkCommittee(bytes[] memory publicKeys, uint96[] memory stakes) internal pure {
        uint256 n = publicKeys.length;
        if (n == 0 || n != stakes.length) revert InvalidCommittee("keys and stakes must be non-empty and equal in length");
        for (uint256 i = 0; i < n; i++) {
            if (publicKeys[i].length != 128) revert InvalidCommittee("a public key is not 128 bytes");
            if (stakes[i] == 0) revert InvalidCommittee("a stake is zero");
        }
    }

    /// Installs a committee that passed `_checkCommittee`; `setHash` is its `_ordoValidatorSetHash` for `epoch`.
    function _setCommittee(uint64 epoch, bytes[] memory publicKeys, uint96[] memory stakes, bytes32 setHash) internal {
        uint256 n = publicKeys.length;
        uint256 total;
        bytes32[] memory leaves = new bytes32[](n);
        // Two buffers reused for every member, no allocation per key: `pair` is G1ADD's input (the running sum,
        // then the key) and takes its output back in its first half; `leaf` is sha256(key ‖ uint256 stake)'s input.
        // Starting from the identity, every key goes through G1ADD, which refuses a point off the curve: the
        // compressed keys the set hash commits to fix x and the sign of y, so a key passing both is the one
        // committed to (a single member's too).
        bytes memory pair = new bytes(256);
        bytes memory leaf = new bytes(160);
        for (uint256 i = 0; i < n; i++) {
            bytes memory key = publicKeys[i];
            uint256 stake = stakes[i];
            total += stake;
            bool ok;
            assembly ("memory-safe") {
                mcopy(add(pair, 160), add(key, 32), 128)
                mcopy(add(leaf, 32), add(key, 32), 128)
                mstore(add(leaf, 160), stake)
                ok := staticcall(gas(), 0x0b, add(pair, 32), 256, add(pair, 32), 128)
                ok := and(ok, eq(returndatasize(), 128))
            }
            if (!ok) revert InvalidPoint();
            leaves[i] = sha256(leaf);
        }
        bytes memory aggregate = new bytes(128);
        assembly ("memory-safe") {
            mcopy(add(aggregate, 32), add(pair, 32), 128)
        }
        currentEpoch = epoch;
        committeeHash = keccak256(abi.encode(publicKeys, stakes));
        bytes32 root = Sha256Merkle.root(leaves);
        summaryHash = keccak256(abi.encode(CommitteeSummary(root, n, total, aggregate)));
        validatorSetHash = setHash;
        totalStake = total;
        committeeSize = n;
        emit CommitteeChanged(epoch, validatorSetHash, root, n, total, aggregate);
    }

    /// The core package's `verifyMerkleProof` walk: the root that `leaf` at `index` of `count` and `path` give.
    function _rootFromPath(bytes32 leaf, uint256 index, uint256 count, bytes32[] calldata path)
        internal
        pure
        returns (bytes32 node)
    {
        node = leaf;
        uint256 used;
        for (uint256 m = count; m > 1; m = m / 2 + (m % 2)) {
            if (!(index == m - 1 && m % 2 == 1)) {
                if (used == path.length) revert BadNonSigner(index);
                bytes32 sibling = path[used++];
                node = index % 2 == 1 ? sha256(abi.encodePacked(sibling, node)) : sha256(abi.encodePacked(node, sibling));
            }
            index /= 2;
        }
        if (used != path.length) revert BadNonSigner(index);
    }

    /// The core package's `hashValidatorSet`: sha256(abi.encode(tag, uint64 epoch, bytes[] compressed 48-byte keys,
    /// uint96[] stakes)), the encoding written word by word (no array of compressed keys to allocate and encode).
    /// `publicKeys` and `stakes` are of equal length (checked by `_checkCommittee`).
    function _ordoValidatorSetHash(uint64 epoch, bytes[] memory publicKeys, uint96[] memory stakes)
        internal
        view
        returns (bytes32)
    {
        uint256 n = publicKeys.length;
        // Head: tag, epoch, offset of the keys (0x80), offset of the stakes. Keys: n, n offsets (from the first
        // offset word), n elements of (length 48, 48 bytes padded to 64). Stakes: n, n words.
        uint256 stakesAt = 0x80 + 32 + 128 * n;
        bytes memory enc = new bytes(stakesAt + 32 + 32 * n);
        _put(enc, 0, VALIDATOR_SET_TAG);
        _put(enc, 0x20, bytes32(uint256(epoch)));
        _put(enc, 0x40, bytes32(uint256(0x80)));
        _put(enc, 0x60, bytes32(stakesAt));
        _put(enc, 0x80, bytes32(n));
        _put(enc, stakesAt, bytes32(n));
        for (uint256 i = 0; i < n; i++) {
            uint256 element = 0x80 + 32 + 32 * n + 96 * i;
            (bytes32 head, bytes32 tail) = _compressG1(publicKeys[i]);
            _put(enc, 0x80 + 32 + 32 * i, bytes32(element - 0x80 - 32));
            _put(enc, element, bytes32(uint256(48)));
            _put(enc, element + 32, head);
            _put(enc, element + 64, tail);
            _put(enc, stakesAt + 32 + 32 * i, bytes32(uint256(stakes[i])));
        }
        return sha256(enc);
    }

    /// Writes the 32-byte `word` at byte `at` of `b` (`at + 32 <= b.length`, which the caller guarantees).
    function _put(bytes memory b, uint256 at, bytes32 word) private pure {
        assembly ("memory-safe") {
            mstore(add(add(b, 32), at), word)
        }
    }

    /// The ZCash compressed form of an EIP-2537 G1 point: x with the compression flag, and the sign flag when y
    /// is the larger of (y, p - y). Checks that both coordinates are canonical field elements. The 48 bytes come
    /// as two words: `head` (bytes 0–31) and `tail` (bytes 32–47, then 16 zero bytes).
    function _compressG1(bytes memory point) internal pure returns (bytes32 head, bytes32 tail) {
        if (point.length != 128) revert InvalidPoint();
        uint256 xHi;
        uint256 xLo;
        uint256 yHi;
        uint256 yLo;
        assembly {
            xHi := mload(add(point, 32))
            xLo := mload(add(point, 64))
            yHi := mload(add(point, 96))
            yLo := mload(add(point, 128))
        }
        // Each coordinate is 64 bytes whose top 16 are zero, and below p.
        if (xHi >> 128 != 0 || yHi >> 128 != 0 || !_lt(xHi, xLo, P_HI, P_LO) || !_lt(yHi, yLo, P_HI, P_LO)) {
            revert InvalidPoint();
        }
        uint256 flags = 0x80 | (_lt(HALF_P_HI, HALF_P_LO, yHi, yLo) ? 0x20 : 0);
        // x is 48 bytes: the low 16 bytes of xHi, then xLo; the flags go in the top bits of the first byte (zero in
        // x, which is below p < 2^381).
        head = bytes32((flags << 248) | (xHi << 128) | (xLo >> 128));
        tail = bytes32(xLo << 128);
    }

    function _lt(uint256 aHi, uint256 aLo, uint256 bHi, uint256 bLo) internal pure returns (bool) {
        return aHi < bHi || (aHi == bHi && aLo < bLo);
    }

    // ------------------------------------------------------------------ BLS

    /// Signers' key = aggregate − Σ non-signers' keys; signed stake = total − Σ their stakes (> 2/3 of total).
    function _verifyCertificate(bytes32 digest, Certificate calldata certificate, CommitteeSummary calldata committee)
        internal
        view
    {
        if (keccak256(abi.encode(committee)) != summaryHash) revert SummaryMismatch();
        if (certificate.signature.length != 256) revert InvalidPoint();
        bytes memory key = committee.aggregateKey;
        uint256 signed = committee.totalStake;
        uint256 next; // non-signers by strictly ascending index: none counted twice
        for (uint256 k = 0; k < certificate.nonSigners.length; k++) {
            NonSigner calldata ns = certificate.nonSigners[k];
            if (ns.index < next || ns.index >= committee.size || ns.stake > signed) revert BadNonSigner(ns.index);
            next = ns.index + 1;
            bytes32 leaf = sha256(abi.encodePacked(ns.publicKey, ns.stake));
            if (_rootFromPath(leaf, ns.index, committee.size, ns.path) != committee.root) revert BadNonSigner(ns.index);
            signed -= ns.stake;
            key = _precompile(G1ADD, bytes.concat(key, _negateG1(ns.publicKey)), 128);
        }
        if (signed * 3 <= committee.totalStake * 2) revert InsufficientStake(signed, committee.totalStake);
        _pairingCheck(key, digest, certificate.signature);
    }

    /// -P for an EIP-2537 G1 point P = (x, y): (x, p - y), and the identity (all zero) stays itself.
    function _negateG1(bytes calldata point) internal pure returns (bytes memory out) {
        if (point.length != 128) revert InvalidPoint();
        out = point;
        uint256 yHi;
        uint256 yLo;
        assembly {
            yHi := mload(add(out, 96))
            yLo := mload(add(out, 128))
        }
        if (yHi == 0 && yLo == 0) return out;
        if (!_lt(yHi, yLo, P_HI, P_LO)) revert InvalidPoint();
        // (P_HI, P_LO) - (yHi, yLo) with a borrow from the high word.
        uint256 lo;
        uint256 hi;
        unchecked {
            lo = P_LO - yLo;
            hi = P_HI - yHi - (yLo > P_LO ? 1 : 0);
        }
        assembly {
            mstore(add(out, 96), hi)
            mstore(add(out, 128), lo)
        }
    }

    /// e(key, H(digest)) · e(-G1, signature) == 1, or reverts `InvalidSignature`.
    function _pairingCheck(bytes memory key, bytes32 digest, bytes calldata signature) internal view {
        bytes memory message = _hashToG2(abi.encodePacked(digest));
        bytes memory ok = _precompile(PAIRING, bytes.concat(key, message, NEG_G1, signature), 32);
        if (uint256(bytes32(ok)) != 1) revert InvalidSignature();
    }

    function _verifyQuorum(
        bytes32 digest,
        bytes calldata signerBitmap,
        bytes calldata signature,
        bytes[] calldata publicKeys,
        uint96[] calldata stakes
    ) internal view {
        if (keccak256(abi.encode(publicKeys, stakes)) != committeeHash) revert CommitteeMismatch();
        uint256 n = publicKeys.length;
        if (signerBitmap.length != (n + 7) / 8) revert BadSignerBitmap();
        // No bits past the committee: a bitmap has one encoding.
        if (n % 8 != 0 && uint8(signerBitmap[n / 8]) >> (n % 8) != 0) revert BadSignerBitmap();
        if (signature.length != 256) revert InvalidPoint();
        bytes memory aggregate;
        uint256 signed;
        for (uint256 i = 0; i < n; i++) {
            if (uint8(signerBitmap[i / 8]) & (1 << (i % 8)) == 0) continue;
            signed += stakes[i];
            aggregate = aggregate.length == 0 ? publicKeys[i] : _precompile(G1ADD, bytes.concat(aggregate, publicKeys[i]), 128);
        }
        if (signed * 3 <= totalStake * 2) revert InsufficientStake(signed, totalStake);
        _pairingCheck(aggregate, digest, signature);
    }

    /// RFC 9380 hash_to_curve for G2 with this ciphersuite's DST: two field elements of Fp2 from
    /// expand_message_xmd(SHA-256), each mapped by MAP_FP2_TO_G2 (which also clears the cofactor), then added.
    function _hashToG2(bytes memory message) internal view returns (bytes memory) {
        bytes memory uniform = _expandMessageXmd(message, 256);
        bytes memory q0 = _precompile(MAP_FP2_TO_G2, bytes.concat(_fieldElement(uniform, 0), _fieldElement(uniform, 64)), 256);
        bytes memory q1 =
            _precompile(MAP_FP2_TO_G2, bytes.concat(_fieldElement(uniform, 128), _fieldElement(uniform, 192)), 256);
        return _precompile(G2ADD, bytes.concat(q0, q1), 256);
    }

    /// expand_message_xmd with SHA-256 (b_in_bytes 32, s_in_bytes 64), len_in_bytes ≤ 255 · 32.
    function _expandMessageXmd(bytes memory message, uint256 length) internal pure returns (bytes memory out) {
        uint256 ell = (length + 31) / 32;
        bytes memory dstPrime = bytes.concat(DST, bytes1(uint8(DST.length)));
        bytes32 b0 = sha256(bytes.concat(new bytes(64), message, bytes2(uint16(length)), bytes1(0), dstPrime));
        bytes32 bi = sha256(bytes.concat(b0, bytes1(uint8(1)), dstPrime));
        out = new bytes(ell * 32);
        assembly {
            mstore(add(out, 32), bi)
        }
        for (uint256 i = 2; i <= ell; i++) {
            bi = sha256(bytes.concat(b0 ^ bi, bytes1(uint8(i)), dstPrime));
            assembly {
                mstore(add(out, mul(i, 32)), bi)
            }
        }
    }

    /// The 64 bytes at `offset` of `uniform`, read as a big-endian integer, reduced mod p (MODEXP with exponent
    /// 1), as a 64-byte EIP-2537 field element.
    function _fieldElement(bytes memory uniform, uint256 offset) internal view returns (bytes memory) {
        // MODEXP input: the lengths of base, exponent and modulus, then base, exponent (1), modulus (16 zero
        // bytes, then p's 48).
        bytes memory input = bytes.concat(
            bytes32(uint256(64)), bytes32(uint256(1)), bytes32(uint256(64)), _slice64(uniform, offset), bytes1(0x01), _modulus()
        );
        return _precompile(MODEXP, input, 64);
    }

    function _modulus() internal pure returns (bytes memory) {
        return bytes.concat(bytes16(0), bytes16(uint128(P_HI)), bytes32(P_LO));
    }

    function _slice64(bytes memory b, uint256 offset) internal pure returns (bytes memory out) {
        out = new bytes(64);
        assembly {
            mstore(add(out, 32), mload(add(add(b, 32), offset)))
            mstore(add(out, 64), mload(add(add(b, 64), offset)))
        }
    }

    function _precompile(address target, bytes memory input, uint256 outLength) internal view returns (bytes memory out) {
        bool ok;
        (ok, out) = target.staticcall(input);
        if (!ok || out.length != outLength) revert InvalidPoint();
    }
}
