/** `ordo l1 deploy --help` and `ordo relayer start --help` (kept apart so `ordo --help` loads neither). */
export const L1_DEPLOY_HELP = `Usage: ordo l1 deploy --l1 URL --node URL --out FILE [--l1-key FILE] [--rollup NS:CIRCUIT:PATHS ...]

Deploys Ordo's L1 contracts for a running network to the EVM node at --l1:
the light client (trusting the network's current committee, read from the
validator at --node), the reference circuit's Groth16 verifier, the rollup
bridge and its Poseidon contracts; registers each --rollup on the bridge
(default 1:rollup_batch:proven+attested and 2:rollup_batch_d4b1:attested;
PATHS is proven, attested or proven+attested; only rollup_batch has an L1
verifier); and writes the addresses to FILE (what the relayer reads).

  --l1-key FILE   a file holding the deployer's 0x-hex private key (refused
                  unless only its owner may access it: chmod 600); default
                  the environment's ORDO_L1_KEY
`;

export const RELAYER_START_HELP = `Usage: ordo relayer start --l1 URL --deployment FILE --node URL[,URL...] --state FILE
                          [--l1-key FILE] [--cadence-ms MS] [--poll-ms MS] [--proven-every N]
                          [--max-batches K]

Carries Ordo to the L1: posts finality certificates every --cadence-ms
(default 10000) and whenever a proof needs a height the light client lacks,
and advances each registered rollup's state root on the bridge with the
batches the prover market proved, up to K (default 16) per call. A rollup that
accepts both paths gets every Nth submission (default 2) by the proven path
(Groth16 on the L1) and the others by the attested path (an aggregate of the
validators' BLS attestations, collected from every --node). Progress and any
transaction in flight are kept in --state, so a restarted relayer resumes
without posting anything twice.

  --l1-key FILE   a file holding the relayer's 0x-hex private key (refused
                  unless only its owner may access it: chmod 600); default
                  the environment's ORDO_L1_KEY
`;
