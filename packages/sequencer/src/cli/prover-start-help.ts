/** `ordo prover start --help` (kept apart so `ordo --help` does not load the prover). */
export const PROVER_START_HELP = `Usage: ordo prover start --key FILE --node URL [--price P] [--bond B]
                         [--metrics-port PORT] [--invalid-proofs]

Runs a prover: bonds B (default 10000) from the key's market balance, bids P
(default 10) per job on every rollup slot it can hold, and proves the jobs it is
bound to, in every proof system the rollup's circuit requires (Groth16, and
PLONK for multi-proof rollups), in a separate process.

  --key FILE            an ed25519 system key file (created, 0600, if missing;
                        the devnet's are DIR/prover-j/system.key)
  --node URL            a validator's API URL
  --metrics-port PORT   serve Prometheus metrics on 127.0.0.1:PORT/metrics
  --invalid-proofs      submit proofs that do not verify (to see slashing)
`;
