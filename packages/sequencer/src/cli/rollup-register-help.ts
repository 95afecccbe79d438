/** `ordo rollup register --help` (kept apart so `ordo --help` does not load the prover). */
export const ROLLUP_REGISTER_HELP = `Usage: ordo rollup register --key FILE --node URL --namespace NS [--circuit NAME]
                            [--fee-deposit F] [--deadline-blocks D] [--max-fee M] [--wait]

Registers namespace NS (1..4294967295) as a rollup proven by the prover market,
paying F (default 100000) from the key's market balance as the fee deposit
that pays its provers. Each batch must be proven within D blocks (default 400)
for at most M per job (default 100).

  --circuit NAME   rollup_batch (default): Groth16, 64 accounts, 2 transfers per batch
                   rollup_batch_d4b1: Groth16 + PLONK, 16 accounts, 1 transfer per batch
  --key FILE       the operator's ed25519 system key (the devnet's is
                   DIR/rollup-operator/system.key)
  --node URL       a validator's API URL
  --wait           wait until the validators have executed the registration
`;
