/** `ordo prover start --help` (kept apart so `ordo --help` does not load the prover). */
export const PROVER_START_HELP = `Usage: ordo prover start --key FILE --node URL[,URL...] [--price P] [--bond B]
                         [--max-jobs N] [--metrics-port PORT] [--invalid-proofs]

Runs a prover: bonds B (default 10000) from the key's market balance, bids P
(default 10) per job on every rollup slot it can hold, and proves the jobs it is
bound to, in every proof system the rollup's circuit requires (Groth16, and
PLONK for multi-proof rollups), in a separate process. A step whose transaction
does not land in a few blocks (a bid, a reveal, a proof) is sent again while its
window is open.

  --key FILE            an ed25519 system key file (created, 0600, if missing;
                        the devnet's are DIR/prover-j/system.key)
  --node URL[,URL...]   validators' API URLs, comma-separated. The prover
                        follows one at a time and fails over to the next (one
                        log line each time) when it does not answer or is more
                        than 5 blocks behind the highest of the others (checked
                        when a request fails, every 10 s, and while its height
                        stands still)
  --max-jobs N          bid on no new slot while N of its jobs are being proven
                        (default 1): a prover that takes more than it can
                        prove before the deadlines is slashed for each miss
  --metrics-port PORT   serve Prometheus metrics on 127.0.0.1:PORT/metrics
  --invalid-proofs      submit proofs that do not verify (to see slashing)
`;
