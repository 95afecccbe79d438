#!/usr/bin/env node
/**
 * `ordo`: the validator's command line. Every command has `--help`; errors say
 * what to do.
 */
import "@ordo/core";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { OrdoError, toHex } from "@ordo/core";
import { loadOrCreatePeerKey, peerIdOf } from "../p2p/peer-key.js";
import { createBlsKeyFile } from "./files.js";
import { GENESIS_CREATE_HELP, genesisCreate } from "./genesis-create.js";
import { L1_DEPLOY_HELP, RELAYER_START_HELP } from "./l1-help.js";
import { LIGHT_VERIFY_HELP } from "./light-verify-help.js";
import { PROVER_START_HELP } from "./prover-start-help.js";
import { ROLLUP_REGISTER_HELP } from "./rollup-register-help.js";
import { STAKING_HELP } from "./staking.js";
import { UsageError } from "./usage.js";

const HELP: Record<string, string> = {
  root: `Usage: ordo <command> [options]

Commands:
  keys generate     create a validator's BLS key and libp2p peer key
  genesis create    create a local network: genesis file, keys and configs for N validators
  node start        start a validator from its config file
  devnet            start a whole local network (N validator processes) and watch it
  load              submit random transactions for K rollups at a steady rate
  prover start      run a prover: bond, bid, prove jobs of the prover market
  rollup register   register a namespace as a rollup proven by the prover market
  l1 deploy         deploy Ordo's L1 contracts (light client, verifier, bridge) for a network
  relayer start     carry finality and proven rollup state roots to the L1
  light verify      verify a height's finality (and a namespace's complete batch) from an untrusted node
  staking join      bond stake as a validator (or add to it)
  staking leave     unbond a validator's stake: it leaves the committee two epochs later

Run \`ordo <command> --help\` for a command's options.
`,
  "keys generate": `Usage: ordo keys generate --out DIR

Creates DIR/bls.key (BLS12-381 secret key, mode 0600) and DIR/peer.key
(libp2p Ed25519 key, mode 0600), and prints the public key, proof of
possession and peer id to put in a genesis file. Refuses to overwrite keys.
`,
  "genesis create": GENESIS_CREATE_HELP,
  "prover start": PROVER_START_HELP,
  "rollup register": ROLLUP_REGISTER_HELP,
  "l1 deploy": L1_DEPLOY_HELP,
  "relayer start": RELAYER_START_HELP,
  "light verify": LIGHT_VERIFY_HELP,
  "staking join": STAKING_HELP,
  "staking leave": STAKING_HELP,
  devnet: `Usage: ordo devnet [--validators N] [--provers K] [--base-port P] [--api-port P] [--dir DIR]
                   [--interval-ms MS] [--l1-port P] [--no-l1] [--epoch-length B]

Creates a fresh network (in DIR, or a temporary directory removed on exit),
starts each validator as its own process with its own data dir and ports
(P2P from 9000, API from 8000 by default), and waits for finality. Then it
registers two rollups with the prover market (namespace 1: the reference
circuit, Groth16; namespace 2: the multi-proof circuit, Groth16 + PLONK) and
starts K prover daemons (default 3; 0 for none), whose metrics are on ports
from API+100 and whose logs are in DIR/prover-j/prover.log. With the provers
it also starts an L1 — a real anvil on --l1-port (default API+545, so 8545) —
deploys Ordo's light client, Groth16 verifier and rollup bridge on it, and
runs a relayer (log in DIR/relayer.log) that posts finality certificates and
advances rollup 1 by both paths (proven and attested, alternately) and rollup
2 by attestations; --no-l1 leaves the L1 out. It prints the endpoints, then a
status line every few seconds: height, finalized tx/s, p50 submit-to-final
latency of a probe transaction, validators and provers up, each rollup's
proven/finalized batches, and the L1's finalized height and each rollup's
last batch on the L1. Consensus changes epoch every B blocks (default 600; 0
for one endless epoch): each epoch's last block commits to the next committee,
the relayer moves the L1 light client along, and \`ordo light verify\` follows
the changes from any validator. Ctrl-C stops every process cleanly.
`,
  load: `Usage: ordo load [--rate R] [--namespaces K] [--size BYTES] [--api URL,URL,...] [--seconds S]

Submits random transactions of BYTES bytes (default 256) for K rollups
(namespaces 1..K, default 3) at R per second (default 100), round-robin over
the given validator APIs (default the devnet's, 127.0.0.1:8000-8003), until
Ctrl-C or S seconds. Prints accepted / rejected (by error code) / failed every
2 s.
`,
  "node start": `Usage: ordo node start --config FILE

Starts a validator from FILE (JSON): {"genesis": "../genesis.json", "self": 0,
"dataDir": "data", "blsKeyFile": "bls.key", "peerKeyFile": "peer.key",
"listen": "/ip4/127.0.0.1/tcp/9000", "api": {"host": "127.0.0.1", "port": 8000}}.
Paths are relative to the config file. Logs are JSON lines (pino) on stdout;
ORDO_LOG_LEVEL=debug (default info) adds each message consensus refuses, with
the reason, and each round that times out.
`,
};

async function keysGenerate(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { out: { type: "string" }, help: { type: "boolean" } } });
  if (values.help) return void process.stdout.write(HELP["keys generate"] as string);
  if (!values.out) throw new UsageError("--out DIR is required");
  const key = await createBlsKeyFile(join(values.out, "bls.key"), randomBytes(32));
  const peerKey = await loadOrCreatePeerKey(join(values.out, "peer.key"));
  process.stdout.write(
    `${JSON.stringify({ publicKey: toHex(key.publicKey), proofOfPossession: toHex(key.proofOfPossession), peerId: peerIdOf(peerKey) }, null, 2)}\n`,
  );
}

async function main(argv: string[]): Promise<void> {
  const [a, b, ...rest] = argv;
  const command = `${a ?? ""} ${b ?? ""}`.trim();
  if (!a || a === "--help" || a === "help") return void process.stdout.write(HELP.root as string);
  if (a === "load") {
    const { load } = await import("./load.js");
    return load(argv.slice(1), HELP.load as string);
  }
  if (a === "devnet") {
    const { devnet } = await import("./devnet.js");
    return devnet(argv.slice(1), HELP.devnet as string, [process.argv[1] as string]);
  }
  switch (command) {
    case "keys generate":
      return keysGenerate(rest);
    case "genesis create":
      return genesisCreate(rest);
    case "node start": {
      const { nodeStart } = await import("./node-start.js");
      return nodeStart(rest, HELP["node start"] as string);
    }
    case "prover start": {
      const { proverStart } = await import("./prover-start.js");
      return proverStart(rest, HELP["prover start"] as string);
    }
    case "l1 deploy": {
      const { l1Deploy } = await import("./l1-commands.js");
      return l1Deploy(rest, HELP["l1 deploy"] as string);
    }
    case "relayer start": {
      const { relayerStart } = await import("./l1-commands.js");
      return relayerStart(rest, HELP["relayer start"] as string);
    }
    case "light verify": {
      const { lightVerify } = await import("./light-verify.js");
      return lightVerify(rest);
    }
    case "staking join":
    case "staking leave": {
      const { staking } = await import("./staking.js");
      return staking(b as string, rest);
    }
    case "rollup register": {
      const { rollupRegister } = await import("./rollup-register.js");
      return rollupRegister(rest, HELP["rollup register"] as string);
    }
    default:
      if (b === "--help" || b === undefined) {
        const sub = Object.keys(HELP).filter((k) => k.startsWith(`${a} `));
        if (sub.length > 0) return void process.stdout.write(sub.map((k) => HELP[k]).join("\n"));
      }
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (
    e instanceof UsageError ||
    (e instanceof Error &&
      e.name === "TypeError" &&
      "code" in e &&
      String((e as { code: unknown }).code).startsWith("ERR_PARSE_ARGS"))
  ) {
    process.stderr.write(`error: ${(e as Error).message}\nRun \`ordo --help\` for usage.\n`);
    process.exit(2);
  }
  if (e instanceof OrdoError) {
    process.stderr.write(`error [${e.code}]: ${e.message}${e.fix ? `\nfix: ${e.fix}` : ""}\n`);
    process.exit(1);
  }
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
