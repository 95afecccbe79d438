pragma circom 2.1.0;

// Ordo reference rollup, concrete instance: tree depth D = 6 (64 accounts),
// batch size B = 2 transfers per proof. Public: oldRoot, newRoot, batchCommitment.
// Change the parameters here; scripts/setup-circuit.mjs reads them back for the manifest
// and src/rollup-state.mjs takes them as constructor/function arguments.
include "rollup.circom";

component main {public [oldRoot, newRoot, batchCommitment]} = RollupBatch(6, 2);
