pragma circom 2.1.0;

// Ordo multi-proof rollup: tree depth D = 4 (16 accounts), batch size B = 1, proven with
// both Groth16 and PLONK. Sized so that its PLONK circuit (compiled --O1) fits the same 2^14
// powers of tau as the reference circuit. Public: oldRoot, newRoot, batchCommitment.
include "rollup.circom";

component main {public [oldRoot, newRoot, batchCommitment]} = RollupBatch(4, 1);
