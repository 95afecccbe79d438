pragma circom 2.1.0;

// Ordo reference rollup: templates. The entry point with concrete parameters
// is rollup_batch.circom. Semantics (must match src/rollup-state.mjs exactly):
//
//   leaf(account)   = Poseidon(balance, nonce)          (empty account: balance 0, nonce 0)
//   node            = Poseidon(left, right)             binary tree of depth D, leaf index bits LSB-first
//   transfer {from, to, amount, nonce} (from,to < 2^32; amount,nonce < 2^64) is VALID iff
//       from < 2^D  and  to < 2^D
//       and nonce == accounts[from].nonce
//       and accounts[from].balance >= amount
//       and (after the debit) accounts[to].balance + amount < 2^64
//   valid   -> accounts[from].balance -= amount; accounts[from].nonce += 1;
//              then accounts[to].balance += amount   (self-transfer: only the nonce changes)
//   invalid -> no effect at all (state root unchanged), but still committed.
//
// NO SIGNATURES: authorization is out of scope for this reference rollup.

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";

// Root of the tree obtained by placing `leaf` at the position given by
// `pathBits` (LSB = bottom level; 0 = current node is the left child).
// pathBits MUST already be constrained boolean by the caller.
template MerkleRoot(D) {
    signal input leaf;
    signal input pathBits[D];
    signal input siblings[D];
    signal output root;

    component h[D];
    signal cur[D + 1];
    signal left[D];
    cur[0] <== leaf;
    for (var i = 0; i < D; i++) {
        left[i] <== cur[i] + pathBits[i] * (siblings[i] - cur[i]);
        h[i] = Poseidon(2);
        h[i].inputs[0] <== left[i];
        h[i].inputs[1] <== cur[i] + siblings[i] - left[i];
        cur[i + 1] <== h[i].out;
    }
    root <== cur[D];
}

// One transaction slot. If enabled == 0 (padding slot) it is a no-op.
// If enabled == 1 the transfer is applied when valid and is a proven no-op when
// invalid; the prover cannot choose: every input of the validity predicate is
// either a committed tx field or a leaf authenticated against the current root.
template TransferStep(D) {
    signal input enabled;           // boolean, constrained by the caller
    signal input rootIn;
    signal output rootOut;
    signal output applied;

    // committed transaction fields
    signal input from;
    signal input to;
    signal input amount;
    signal input nonce;

    // witness: sender leaf + path against rootIn,
    // recipient leaf + path against the root AFTER the sender update
    signal input senderBalance;
    signal input senderNonce;
    signal input senderSiblings[D];
    signal input recipientBalance;
    signal input recipientNonce;
    signal input recipientSiblings[D];

    assert(D >= 1 && D < 32);

    // --- field ranges: exactly the values the 25-byte encoding can carry ---
    component fromBits = Num2Bits(32);
    fromBits.in <== from;
    component toBits = Num2Bits(32);
    toBits.in <== to;
    component amountBits = Num2Bits(64);
    amountBits.in <== amount;
    component nonceBits = Num2Bits(64);
    nonceBits.in <== nonce;

    // --- index within the tree: bits D..31 all zero ---
    var fromHigh = 0;
    var toHigh = 0;
    for (var i = D; i < 32; i++) {
        fromHigh += fromBits.out[i];
        toHigh += toBits.out[i];
    }
    component fromHighZero = IsZero();
    fromHighZero.in <== fromHigh;
    component toHighZero = IsZero();
    toHighZero.in <== toHigh;
    signal fromInRange <== fromHighZero.out;
    signal toInRange <== toHighZero.out;

    signal fromPath[D];
    signal toPath[D];
    for (var i = 0; i < D; i++) {
        fromPath[i] <== fromBits.out[i];
        toPath[i] <== toBits.out[i];
    }

    // --- authenticate the sender leaf (whenever the sender index exists) ---
    component senderLeafOld = Poseidon(2);
    senderLeafOld.inputs[0] <== senderBalance;
    senderLeafOld.inputs[1] <== senderNonce;
    component senderRootOld = MerkleRoot(D);
    senderRootOld.leaf <== senderLeafOld.out;
    senderRootOld.pathBits <== fromPath;
    senderRootOld.siblings <== senderSiblings;
    signal senderCheck <== enabled * fromInRange;
    component senderAuth = ForceEqualIfEnabled();
    senderAuth.enabled <== senderCheck;
    senderAuth.in[0] <== senderRootOld.root;
    senderAuth.in[1] <== rootIn;

    // --- sender-side validity ---
    component nonceEq = IsEqual();
    nonceEq.in[0] <== nonce;
    nonceEq.in[1] <== senderNonce;
    // balances in the tree are < 2^64 (inductive invariant), amount < 2^64 (range-checked)
    component balLt = LessThan(64);
    balLt.in[0] <== senderBalance;
    balLt.in[1] <== amount;
    signal bothInRange <== senderCheck * toInRange;
    signal nonceOk <== bothInRange * nonceEq.out;
    signal preValid <== nonceOk * (1 - balLt.out);

    // --- debit + nonce bump (applied tentatively when preValid) ---
    signal debit <== amount * preValid;
    component senderLeafNew = Poseidon(2);
    senderLeafNew.inputs[0] <== senderBalance - debit;
    senderLeafNew.inputs[1] <== senderNonce + preValid;
    component senderRootNew = MerkleRoot(D);
    senderRootNew.leaf <== senderLeafNew.out;
    senderRootNew.pathBits <== fromPath;
    senderRootNew.siblings <== senderSiblings;

    // --- authenticate the recipient leaf against the post-debit root ---
    component recipientLeafOld = Poseidon(2);
    recipientLeafOld.inputs[0] <== recipientBalance;
    recipientLeafOld.inputs[1] <== recipientNonce;
    component recipientRootOld = MerkleRoot(D);
    recipientRootOld.leaf <== recipientLeafOld.out;
    recipientRootOld.pathBits <== toPath;
    recipientRootOld.siblings <== recipientSiblings;
    component recipientAuth = ForceEqualIfEnabled();
    recipientAuth.enabled <== preValid;
    recipientAuth.in[0] <== recipientRootOld.root;
    recipientAuth.in[1] <== senderRootNew.root;

    // --- recipient overflow: balance + amount must stay < 2^64 ---
    component sumBits = Num2Bits(65);
    sumBits.in <== recipientBalance + amount;
    signal valid <== preValid * (1 - sumBits.out[64]);

    // --- credit ---
    signal credit <== amount * valid;
    component recipientLeafNew = Poseidon(2);
    recipientLeafNew.inputs[0] <== recipientBalance + credit;
    recipientLeafNew.inputs[1] <== recipientNonce;
    component recipientRootNew = MerkleRoot(D);
    recipientRootNew.leaf <== recipientLeafNew.out;
    recipientRootNew.pathBits <== toPath;
    recipientRootNew.siblings <== recipientSiblings;

    // valid: fully updated root; invalid or padding: untouched root
    rootOut <== rootIn + valid * (recipientRootNew.root - rootIn);
    applied <== valid;
}

// A batch of up to B finalized transfers taking oldRoot to newRoot.
//
//   batchCommitment = Poseidon(count, c_count),  c_0 = 0,
//   c_{i+1} = Poseidon(c_i, from_i, to_i, amount_i, nonce_i)    for i < count
//
// Slots i >= count are padding: not committed, no effect on the state.
template RollupBatch(D, B) {
    // public (declared first so publicSignals = [oldRoot, newRoot, batchCommitment])
    signal input oldRoot;
    signal input newRoot;
    signal input batchCommitment;

    signal input count;
    signal input from[B];
    signal input to[B];
    signal input amount[B];
    signal input nonce[B];
    signal input senderBalance[B];
    signal input senderNonce[B];
    signal input senderSiblings[B][D];
    signal input recipientBalance[B];
    signal input recipientNonce[B];
    signal input recipientSiblings[B][D];

    assert(B >= 1 && B < 256);

    // 0 <= count <= B
    component countBits = Num2Bits(8);
    countBits.in <== count;
    component countLe = LessEqThan(8);
    countLe.in[0] <== count;
    countLe.in[1] <== B;
    countLe.out === 1;

    component slotOn[B];
    component step[B];
    component txHash[B];
    signal root[B + 1];
    signal chain[B + 1];
    root[0] <== oldRoot;
    chain[0] <== 0;
    for (var i = 0; i < B; i++) {
        slotOn[i] = LessThan(8);        // enabled_i = (i < count)
        slotOn[i].in[0] <== i;
        slotOn[i].in[1] <== count;

        step[i] = TransferStep(D);
        step[i].enabled <== slotOn[i].out;
        step[i].rootIn <== root[i];
        step[i].from <== from[i];
        step[i].to <== to[i];
        step[i].amount <== amount[i];
        step[i].nonce <== nonce[i];
        step[i].senderBalance <== senderBalance[i];
        step[i].senderNonce <== senderNonce[i];
        step[i].senderSiblings <== senderSiblings[i];
        step[i].recipientBalance <== recipientBalance[i];
        step[i].recipientNonce <== recipientNonce[i];
        step[i].recipientSiblings <== recipientSiblings[i];
        root[i + 1] <== step[i].rootOut;

        txHash[i] = Poseidon(5);
        txHash[i].inputs[0] <== chain[i];
        txHash[i].inputs[1] <== from[i];
        txHash[i].inputs[2] <== to[i];
        txHash[i].inputs[3] <== amount[i];
        txHash[i].inputs[4] <== nonce[i];
        chain[i + 1] <== chain[i] + slotOn[i].out * (txHash[i].out - chain[i]);
    }

    newRoot === root[B];

    component commit = Poseidon(2);
    commit.inputs[0] <== count;
    commit.inputs[1] <== chain[B];
    batchCommitment === commit.out;
}
