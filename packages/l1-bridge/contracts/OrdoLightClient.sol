// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IOrdoLightClient} from "./IOrdoLightClient.sol";

/// Ordo's finality, checked on an EVM chain: it holds Ordo's current committee (BLS12-381 G1 keys and stakes,
/// committed by hash), accepts a finality certificate — a quorum certificate whose signed `committedHash` is the
/// hash of the header it finalizes — when signers with more than 2/3 of the stake signed it, and keeps the
/// finalized headers' namespace roots for the rollup bridge. BLS is checked with the EIP-2537 precompiles:
/// signer keys summed with G1ADD, the vote digest hashed to G2 (RFC 9380 expand_message_xmd with SHA-256, then
/// MAP_FP2_TO_G2 twice and G2ADD), then one PAIRING_CHECK of two pairs.
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

    /// The quorum certificate whose vote commits `header`: the certified block's round and hash.
    struct Certificate {
        uint64 epoch;
        uint64 round;
        bytes32 blockHash;
        bytes signerBitmap;
        /// The aggregate signature, a 256-byte EIP-2537 G2 point.
        bytes signature;
    }

    struct Finalized {
        bytes32 headerHash;
        bytes32 namespaceRoot;
        uint64 timestampMs;
    }

    // sha256("ORDO/v1/vote"), sha256("ORDO/v1/validator-set"): the domain tags of the core package's signed digests.
    bytes32 internal constant VOTE_TAG = 0xbe35daa64e6e779f590f08d5fea7f3d705cd06c7d8db28b5f1cd879555ee4372;
    bytes32 internal constant VALIDATOR_SET_TAG = 0x6a83c659b877743d3ff365321d7b3f1d523bd7c5e794c8373696c65bb607dec6;
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
    uint64 public override currentEpoch;
    /// keccak256(abi.encode(publicKeys, stakes)) of the current committee (EIP-2537 keys): what callers must pass.
    bytes32 public committeeHash;
    /// the core package's `hashValidatorSet` of the current committee: what every header of this epoch carries.
    bytes32 public validatorSetHash;
    uint256 public totalStake;
    uint256 public committeeSize;

    mapping(uint64 height => Finalized) internal finalized;
    uint64 public latestHeight;
    uint64 public latestTimestampMs;
    /// When (L1 seconds) the light client last learned a newer finalized header.
    uint256 public lastUpdatedAt;

    event CommitteeChanged(uint64 indexed epoch, bytes32 validatorSetHash, uint256 size, uint256 totalStake);
    event HeaderFinalized(uint64 indexed height, bytes32 headerHash, bytes32 namespaceRoot, uint64 epoch);

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
    error BadSignerBitmap();
    error InsufficientStake(uint256 signed, uint256 total);
    error InvalidSignature();
    error InvalidPoint();

    constructor(uint64 chainId_, uint64 epoch, bytes[] memory publicKeys, uint96[] memory stakes) {
        ordoChainId = chainId_;
        _setCommittee(epoch, publicKeys, stakes);
        lastUpdatedAt = block.timestamp;
    }

    // ------------------------------------------------------------------ finality

    /// Verifies `certificate` — a quorum of the current committee over the vote whose `committedHash` is the hash
    /// of the last of `headers` — and stores every header as finalized: the last by the certificate, each one
    /// before it as the parent its successor names (consensus commits a block with its ancestors, so a
    /// certificate exists only for the block each commit ends at). `headers` ascend by one height at a time.
    /// `publicKeys` and `stakes` are the whole current committee, in index order.
    function submitFinalityCertificate(
        BlockHeader[] calldata headers,
        Certificate calldata certificate,
        bytes[] calldata publicKeys,
        uint96[] calldata stakes
    ) external {
        uint256 n = headers.length;
        if (n == 0) revert EmptyHeaders();
        BlockHeader calldata head = headers[n - 1];
        if (head.chainId != ordoChainId) revert WrongChain(ordoChainId, head.chainId);
        if (certificate.epoch < currentEpoch) revert StaleEpoch(currentEpoch, certificate.epoch);
        if (certificate.epoch > currentEpoch) revert UnknownEpoch(currentEpoch, certificate.epoch);
        if (head.validatorSetHash != validatorSetHash) revert WrongValidatorSet(validatorSetHash, head.validatorSetHash);
        if (finalized[head.height].headerHash != bytes32(0)) revert AlreadyFinalized(head.height);
        bytes32 headHash = sha256(abi.encode(head));
        bytes32 digest = sha256(
            abi.encode(VOTE_TAG, ordoChainId, certificate.epoch, certificate.round, certificate.blockHash, headHash)
        );
        _verifyQuorum(digest, certificate.signerBitmap, certificate.signature, publicKeys, stakes);
        _store(head, headHash, certificate.epoch);
        bytes32 childParent = head.parentHash;
        for (uint256 i = n - 1; i > 0; i--) {
            BlockHeader calldata h = headers[i - 1];
            if (h.height + 1 != headers[i].height) revert NotAChain(h.height);
            bytes32 hash = sha256(abi.encode(h));
            if (hash != childParent) revert NotAChain(h.height);
            childParent = h.parentHash;
            bytes32 known = finalized[h.height].headerHash;
            if (known == bytes32(0)) _store(h, hash, certificate.epoch);
            else if (known != hash) revert ConflictingHeader(h.height); // two finalized headers: a safety failure
        }
    }

    function _store(BlockHeader calldata h, bytes32 hash, uint64 epoch) internal {
        finalized[h.height] = Finalized(hash, h.namespaceRoot, h.timestampMs);
        if (h.height > latestHeight) {
            latestHeight = h.height;
            latestTimestampMs = h.timestampMs;
            lastUpdatedAt = block.timestamp;
        }
        emit HeaderFinalized(h.height, hash, h.namespaceRoot, epoch);
    }

    /// Moves to the next epoch's committee, certified by the current one: signers with more than 2/3 of the
    /// current stake signed the new set's `hashValidatorSet` (as the core package computes it).
    function submitCommitteeChange(
        uint64 newEpoch,
        bytes[] calldata newPublicKeys,
        uint96[] calldata newStakes,
        bytes calldata signerBitmap,
        bytes calldata signature,
        bytes[] calldata publicKeys,
        uint96[] calldata stakes
    ) external {
        if (newEpoch != currentEpoch + 1) revert UnknownEpoch(currentEpoch, newEpoch);
        bytes32 newSetHash = _ordoValidatorSetHash(newEpoch, newPublicKeys, newStakes);
        _verifyQuorum(newSetHash, signerBitmap, signature, publicKeys, stakes);
        _setCommittee(newEpoch, newPublicKeys, newStakes);
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

    function finalizedNamespaceRoot(uint64 height) external view override returns (bytes32) {
        return finalized[height].namespaceRoot;
    }

    function finalizedHeaderHash(uint64 height) external view returns (bytes32) {
        return finalized[height].headerHash;
    }

    /// Seconds since the light client last learned a newer finalized header: a rollup's escape hatch can open
    /// when this grows past its bound.
    function staleness() external view returns (uint256) {
        return block.timestamp - lastUpdatedAt;
    }

    // ------------------------------------------------------------------ committee

    function _setCommittee(uint64 epoch, bytes[] memory publicKeys, uint96[] memory stakes) internal {
        uint256 n = publicKeys.length;
        if (n == 0 || n != stakes.length) revert InvalidCommittee("keys and stakes must be non-empty and equal in length");
        uint256 total;
        for (uint256 i = 0; i < n; i++) {
            if (publicKeys[i].length != 128) revert InvalidCommittee("a public key is not 128 bytes");
            if (stakes[i] == 0) revert InvalidCommittee("a stake is zero");
            total += stakes[i];
        }
        currentEpoch = epoch;
        committeeHash = keccak256(abi.encode(publicKeys, stakes));
        validatorSetHash = _ordoValidatorSetHash(epoch, publicKeys, stakes);
        totalStake = total;
        committeeSize = n;
        emit CommitteeChanged(epoch, validatorSetHash, n, total);
    }

    /// the core package's `hashValidatorSet`: sha256(abi.encode(tag, epoch, compressed 48-byte keys, stakes)).
    function _ordoValidatorSetHash(uint64 epoch, bytes[] memory publicKeys, uint96[] memory stakes)
        internal
        view
        returns (bytes32)
    {
        bytes[] memory compressed = new bytes[](publicKeys.length);
        for (uint256 i = 0; i < publicKeys.length; i++) compressed[i] = _compressG1(publicKeys[i]);
        return sha256(abi.encode(VALIDATOR_SET_TAG, epoch, compressed, stakes));
    }

    /// The ZCash compressed form of an EIP-2537 G1 point: x with the compression flag, and the sign flag when y
    /// is the larger of (y, p - y). Checks that both coordinates are canonical field elements.
    function _compressG1(bytes memory point) internal pure returns (bytes memory out) {
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
        out = new bytes(48);
        assembly {
            // x is 48 bytes: the low 16 bytes of xHi, then xLo.
            mstore(add(out, 32), shl(128, xHi))
            mstore(add(out, 48), xLo)
            mstore8(add(out, 32), or(byte(0, mload(add(out, 32))), flags))
        }
    }

    function _lt(uint256 aHi, uint256 aLo, uint256 bHi, uint256 bLo) internal pure returns (bool) {
        return aHi < bHi || (aHi == bHi && aLo < bLo);
    }

    // ------------------------------------------------------------------ BLS

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
        bytes memory message = _hashToG2(abi.encodePacked(digest));
        // e(aggregate, H(m)) · e(-G1, signature) == 1
        bytes memory ok = _precompile(PAIRING, bytes.concat(aggregate, message, NEG_G1, signature), 32);
        if (uint256(bytes32(ok)) != 1) revert InvalidSignature();
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
