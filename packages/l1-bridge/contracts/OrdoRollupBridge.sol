// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BatchCommitment, IPoseidon2, IPoseidon5} from "./BatchCommitment.sol";
import {IGroth16BatchVerifier} from "./IGroth16BatchVerifier.sol";
import {IOrdoLightClient} from "./IOrdoLightClient.sol";
import {NamespaceInclusion, Sha256Merkle} from "./NamespaceInclusion.sol";

/// Keeps the state root of each Ordo rollup (one per namespace) and advances it batch by batch, along two paths:
///
/// - proven: the caller hands in each batch's transactions with their namespace inclusion proof against a block
///   Ordo's light client holds as finalized; the bridge recomputes the batch commitment from them, chains the
///   roots, and checks every Groth16 proof in one batched verifier call (k + 3 pairings for k proofs);
/// - attested: Ordo's committee signs (BLS, > 2/3 of the stake) the Merkle root of statements of batches whose
///   proofs the validators verified; once the root is attested, any rollup advances with Merkle paths alone, so
///   many rollups share one BLS check.
///
/// Either way a batch (height, index) must follow the last accepted one, and its old root must be the current
/// state root. Registration is first come, first served: fine for a devnet, see `registerRollup`.
contract OrdoRollupBridge {
    /// A batch proven with Groth16: its roots, and the namespace's complete transaction list in the block at `height`
    /// with the inclusion proof of the namespace's leaf (`proveNamespace` in the core package). `oldRoot` must be
    /// the current state root: it is carried so that a stale submission fails as `RootChainBroken`, not as an
    /// opaque `InvalidProof`.
    struct ProvenBatch {
        uint64 height;
        uint32 index;
        uint256 oldRoot;
        uint256 newRoot;
        bytes[] transactions;
        uint32 leafIndex;
        uint32 leafCount;
        bytes32[] path;
    }

    /// What validators attest of a batch whose proof they verified (the leaf adds the namespace).
    struct Statement {
        uint64 height;
        uint32 index;
        uint256 oldRoot;
        uint256 newRoot;
        uint256 commitment;
    }

    /// A committee signature over `attestationDigest(statementsRoot, epoch)`, as `IOrdoLightClient.verifyQuorum`
    /// takes it.
    struct Attestation {
        bytes32 statementsRoot;
        uint64 epoch;
        bytes signerBitmap;
        bytes signature;
        bytes[] publicKeys;
        uint96[] stakes;
    }

    struct Rollup {
        /// Who registered the namespace. It has no power in this version: the record names who to ask about it.
        address admin;
        /// The last accepted batch (meaningful once `started`).
        uint64 height;
        uint32 index;
        uint8 batchSize;
        bool acceptAttested;
        bool started;
        /// The proven path saw transfers after the last accepted batch in its block: the next batch must be
        /// (height, index + 1). False after an attested batch (the statement does not say).
        bool heightOpen;
        /// Zero when the proven path is not accepted.
        IGroth16BatchVerifier verifier;
        bytes32 verifyingKeyHash;
        uint256 stateRoot;
    }

    enum Path {
        Proven,
        Attested
    }

    /// sha256("ORDO/v1/proof-attestation"): the core package's `domainTag("proof-attestation")`.
    bytes32 public constant ATTESTATION_TAG = 0x5933a7363314fa1213832635538d3fcbb0eb90210c5b5ecdcf02c08f9a5ab410;
    /// The BN254 scalar field order: public inputs (and so state roots) are below it.
    uint256 public constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint32 public constant SYSTEM_NAMESPACE = 0;

    IOrdoLightClient public immutable lightClient;
    /// Read once: the light client's chain id never changes.
    uint64 public immutable ordoChainId;
    IPoseidon2 public immutable poseidon2;
    IPoseidon5 public immutable poseidon5;

    mapping(uint32 namespace => Rollup) internal rollups;
    /// Statement roots signed by a committee quorum, and the epoch of that committee.
    mapping(bytes32 statementsRoot => uint64 epochPlusOne) internal attested;

    event RollupRegistered(
        uint32 indexed namespace,
        address indexed admin,
        uint256 genesisRoot,
        IGroth16BatchVerifier verifier,
        bytes32 verifyingKeyHash,
        bool acceptAttested,
        uint8 batchSize
    );
    event StateRootAdvanced(
        uint32 indexed namespace, uint64 height, uint32 index, uint256 oldRoot, uint256 newRoot, Path path
    );
    event StatementsRootAttested(bytes32 indexed statementsRoot, uint64 epoch, bytes32 digest);

    error ZeroAddress();
    error PoseidonMismatch();
    error ReservedNamespace();
    error RollupExists(uint32 namespace);
    error UnknownRollup(uint32 namespace);
    error InvalidBatchSize();
    error NoPathAccepted();
    error PathNotAccepted(Path path);
    error NotAFieldElement(uint256 value);
    error EmptySubmission();
    error LengthMismatch();
    error BatchNotFinal(uint64 height);
    error NamespaceProofInvalid(uint64 height);
    error BatchOutOfOrder(uint64 height, uint32 index);
    error RootChainBroken(uint256 expected, uint256 got);
    error InvalidProof();
    error StaleEpoch(uint64 current, uint64 got);
    error RootNotAttested(bytes32 statementsRoot);
    /// Statement `position` of the call has no valid path under the attested root.
    error StatementNotAttested(uint256 position);

    constructor(IOrdoLightClient lightClient_, IPoseidon2 poseidon2_, IPoseidon5 poseidon5_) {
        if (address(lightClient_) == address(0) || address(poseidon2_) == address(0) || address(poseidon5_) == address(0))
        {
            revert ZeroAddress();
        }
        // Known answers of circomlib's Poseidon: a wrong or swapped contract would make every proof fail.
        if (
            poseidon2_.poseidon([uint256(1), 2]) != 0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a
                || poseidon5_.poseidon([uint256(1), 2, 3, 4, 5])
                    != 0x0dab9449e4a1398a15224c0b15a49d598b2174d305a316c918125f8feeb123c0
        ) revert PoseidonMismatch();
        lightClient = lightClient_;
        ordoChainId = lightClient_.ordoChainId();
        poseidon2 = poseidon2_;
        poseidon5 = poseidon5_;
    }

    // ------------------------------------------------------------------ registration

    /// Registers the rollup of `namespace` at `genesisRoot`. Anyone may register a namespace not yet registered,
    /// and becomes its admin: first come, first served, so on a public chain a namespace can be squatted (a
    /// production bridge ties registration to the namespace's owner on Ordo). `verifier` zero: the proven path is
    /// not accepted; its `verifyingKeyHash` is recorded, so anyone can check which circuit the rollup trusts.
    function registerRollup(
        uint32 namespace,
        uint256 genesisRoot,
        IGroth16BatchVerifier verifier,
        bool acceptAttested,
        uint8 batchSize
    ) external {
        if (namespace == SYSTEM_NAMESPACE) revert ReservedNamespace();
        Rollup storage r = rollups[namespace];
        if (r.admin != address(0)) revert RollupExists(namespace);
        if (batchSize == 0) revert InvalidBatchSize();
        if (address(verifier) == address(0) && !acceptAttested) revert NoPathAccepted();
        if (genesisRoot >= SNARK_SCALAR_FIELD) revert NotAFieldElement(genesisRoot);
        bytes32 vkHash = address(verifier) == address(0) ? bytes32(0) : verifier.verifyingKeyHash();
        r.admin = msg.sender;
        r.batchSize = batchSize;
        r.acceptAttested = acceptAttested;
        r.verifier = verifier;
        r.verifyingKeyHash = vkHash;
        r.stateRoot = genesisRoot;
        emit RollupRegistered(namespace, msg.sender, genesisRoot, verifier, vkHash, acceptAttested, batchSize);
    }

    // ------------------------------------------------------------------ proven path

    /// Advances the rollup through `batches`, in order, each proven by `proofs[i]` for the public inputs
    /// [oldRoot, newRoot, commitment], where oldRoot must be the chain's and the commitment is recomputed here from
    /// the finalized transactions. All proofs are checked in one `verifyProofs` call.
    function submitProvenBatches(uint32 namespace, ProvenBatch[] calldata batches, uint256[8][] calldata proofs)
        external
    {
        Rollup storage r = _rollup(namespace);
        IGroth16BatchVerifier verifier = r.verifier;
        if (address(verifier) == address(0)) revert PathNotAccepted(Path.Proven);
        uint256 k = batches.length;
        if (k == 0) revert EmptySubmission();
        if (proofs.length != k) revert LengthMismatch();
        uint256[3][] memory inputs = new uint256[3][](k);
        for (uint256 i = 0; i < k; i++) {
            ProvenBatch calldata b = batches[i];
            bytes32 namespaceRoot = lightClient.finalizedNamespaceRoot(b.height);
            if (namespaceRoot == bytes32(0)) revert BatchNotFinal(b.height);
            if (!NamespaceInclusion.verify(namespaceRoot, namespace, b.transactions, b.leafIndex, b.leafCount, b.path)) {
                revert NamespaceProofInvalid(b.height);
            }
            (uint256 commitment, bool more) =
                BatchCommitment.compute(b.transactions, b.index, r.batchSize, poseidon2, poseidon5);
            // State is written before the proofs are checked: a false verdict reverts all of it, and the verifier is
            // a view call (STATICCALL), so it cannot re-enter.
            _advance(r, namespace, b.height, b.index, b.oldRoot, b.newRoot, Path.Proven);
            r.heightOpen = more;
            inputs[i] = [b.oldRoot, b.newRoot, commitment];
        }
        if (!verifier.verifyProofs(proofs, inputs)) revert InvalidProof();
    }

    // ------------------------------------------------------------------ attested path

    /// Records `statementsRoot` as attested once the current committee's quorum signed
    /// `attestationDigest(statementsRoot, epoch)`; reverts with the light client's error otherwise.
    function attestStatementsRoot(
        bytes32 statementsRoot,
        uint64 epoch,
        bytes calldata signerBitmap,
        bytes calldata signature,
        bytes[] calldata publicKeys,
        uint96[] calldata stakes
    ) external {
        _attest(statementsRoot, epoch, signerBitmap, signature, publicKeys, stakes);
    }

    /// Advances the rollup through `statements` (in order) of batches of `namespace`, each under the attested
    /// `statementsRoot` at `leafIndexes[i]` (of `leafCount` leaves) with Merkle path `paths[i]`.
    function submitAttestedBatches(
        uint32 namespace,
        bytes32 statementsRoot,
        Statement[] calldata statements,
        bytes32[][] calldata paths,
        uint256[] calldata leafIndexes,
        uint256 leafCount
    ) public {
        Rollup storage r = _rollup(namespace);
        if (!r.acceptAttested) revert PathNotAccepted(Path.Attested);
        if (attested[statementsRoot] == 0) revert RootNotAttested(statementsRoot);
        uint256 k = statements.length;
        if (k == 0) revert EmptySubmission();
        if (paths.length != k || leafIndexes.length != k) revert LengthMismatch();
        for (uint256 i = 0; i < k; i++) {
            Statement calldata s = statements[i];
            bytes32 leaf = statementLeaf(namespace, s);
            if (!Sha256Merkle.verify(leaf, leafIndexes[i], leafCount, paths[i], statementsRoot)) {
                revert StatementNotAttested(i);
            }
            _advance(r, namespace, s.height, s.index, s.oldRoot, s.newRoot, Path.Attested);
            r.heightOpen = false;
        }
    }

    /// `attestStatementsRoot` and `submitAttestedBatches` in one transaction, for the first rollup of a root.
    function attestAndSubmit(
        uint32 namespace,
        Attestation calldata a,
        Statement[] calldata statements,
        bytes32[][] calldata paths,
        uint256[] calldata leafIndexes,
        uint256 leafCount
    ) external {
        _attest(a.statementsRoot, a.epoch, a.signerBitmap, a.signature, a.publicKeys, a.stakes);
        submitAttestedBatches(namespace, a.statementsRoot, statements, paths, leafIndexes, leafCount);
    }

    // ------------------------------------------------------------------ views

    function rollup(uint32 namespace) external view returns (Rollup memory) {
        return rollups[namespace];
    }

    function stateRoot(uint32 namespace) external view returns (uint256) {
        return _rollup(namespace).stateRoot;
    }

    /// The epoch of the committee that attested `statementsRoot`, and whether one did.
    function attestation(bytes32 statementsRoot) external view returns (bool isAttested, uint64 epoch) {
        uint64 e = attested[statementsRoot];
        return e == 0 ? (false, 0) : (true, e - 1);
    }

    /// What the committee signs: sha256(abi.encode(ATTESTATION_TAG, uint64 ordoChainId, uint64 epoch, bytes32 root)).
    function attestationDigest(bytes32 statementsRoot, uint64 epoch) public view returns (bytes32) {
        return sha256(abi.encode(ATTESTATION_TAG, ordoChainId, epoch, statementsRoot));
    }

    /// sha256(abi.encode(uint32 namespace, uint64 height, uint32 index, uint256 oldRoot, uint256 newRoot,
    /// uint256 commitment)): 192 bytes, so never mistaken for an inner node (64 bytes) of the statements tree.
    function statementLeaf(uint32 namespace, Statement calldata s) public pure returns (bytes32) {
        return sha256(abi.encode(namespace, s.height, s.index, s.oldRoot, s.newRoot, s.commitment));
    }

    /// The commitment the proven path would compute for batch `index` of `transactions` (a relayer's pre-check).
    function batchCommitment(bytes[] calldata transactions, uint32 index, uint8 batchSize)
        external
        view
        returns (uint256 commitment, bool more)
    {
        return BatchCommitment.compute(transactions, index, batchSize, poseidon2, poseidon5);
    }

    /// The namespace inclusion check of the proven path, against any root (a relayer's pre-check).
    function verifyNamespaceInclusion(
        bytes32 namespaceRoot,
        uint32 namespace,
        bytes[] calldata transactions,
        uint32 leafIndex,
        uint32 leafCount,
        bytes32[] calldata path
    ) external view returns (bool) {
        return NamespaceInclusion.verify(namespaceRoot, namespace, transactions, leafIndex, leafCount, path);
    }

    // ------------------------------------------------------------------ internals

    function _rollup(uint32 namespace) internal view returns (Rollup storage r) {
        r = rollups[namespace];
        if (r.admin == address(0)) revert UnknownRollup(namespace);
    }

    function _attest(
        bytes32 statementsRoot,
        uint64 epoch,
        bytes calldata signerBitmap,
        bytes calldata signature,
        bytes[] calldata publicKeys,
        uint96[] calldata stakes
    ) internal {
        // The digest binds the epoch, and the quorum is checked against the current committee: a signature of an
        // earlier committee cannot attest anything now.
        uint64 current = lightClient.currentEpoch();
        if (epoch != current) revert StaleEpoch(current, epoch);
        bytes32 digest = attestationDigest(statementsRoot, epoch);
        lightClient.verifyQuorum(digest, signerBitmap, signature, publicKeys, stakes);
        if (attested[statementsRoot] == 0) {
            attested[statementsRoot] = epoch + 1;
            emit StatementsRootAttested(statementsRoot, epoch, digest);
        }
    }

    /// Moves the rollup to (height, index) at `newRoot`. The batch must be the next one: the batch after the last
    /// in its block when the block holds more (`heightOpen`), else batch 0 of a later block; and chained.
    function _advance(
        Rollup storage r,
        uint32 namespace,
        uint64 height,
        uint32 index,
        uint256 oldRoot,
        uint256 newRoot,
        Path path
    ) internal {
        bool next = !r.started
            ? index == 0
            : height == r.height ? uint256(index) == uint256(r.index) + 1 : height > r.height && index == 0 && !r.heightOpen;
        if (!next) revert BatchOutOfOrder(height, index);
        if (oldRoot != r.stateRoot) revert RootChainBroken(r.stateRoot, oldRoot);
        if (newRoot >= SNARK_SCALAR_FIELD) revert NotAFieldElement(newRoot);
        r.height = height;
        r.index = index;
        r.started = true;
        r.stateRoot = newRoot;
        emit StateRootAdvanced(namespace, height, index, oldRoot, newRoot, path);
    }
}
