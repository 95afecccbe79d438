/** `ordo genesis create`: a local network's genesis file, keys and node configs. */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { toHex } from "@ordo/core";
import { accountOf } from "@ordo/prover";
import { loadOrCreatePeerKey, peerIdOf } from "../p2p/peer-key.js";
import { createBlsKeyFile, createSystemKeyFile, type GenesisFile, type NodeConfigFile } from "./files.js";
import { makeKeyDir } from "./key-file-mode.js";
import { int, UsageError } from "./usage.js";

export const GENESIS_CREATE_HELP = `Usage: ordo genesis create --validators N --out DIR [--chain-id ID] [--base-port P] [--api-port P] [--provers K] [--epoch-length B]

Creates DIR/genesis.json and, for each validator i, DIR/validator-i/ with its
keys and node.json (P2P on 127.0.0.1:<base-port + i>, API on
127.0.0.1:<api-port + i>). Also creates K prover keys (DIR/prover-j/system.key)
and a rollup operator key (DIR/rollup-operator/system.key), each funded with
1,000,000 in the prover market's genesis. Defaults: chain id 1, P2P ports from
9000, API ports from 8000, 3 provers. With --epoch-length B, consensus changes
epoch every B blocks (each epoch's last block commits to the next committee,
which light clients and the L1 follow) and committees come from staking: each
validator starts bonded with 100 and holds 1000 more to bond (\`ordo staking\`).
Without it, one endless epoch.

Every key file (bls.key, peer.key, system.key) is written with mode 0600 in a
0700 directory (DIR itself is made 0700 if it does not exist yet), and the
commands that read one refuse it if group or others may access it. Each API
listens on 127.0.0.1 only: to serve other machines, change "api.host" in
node.json.
`;

export async function genesisCreate(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      validators: { type: "string" },
      out: { type: "string" },
      "chain-id": { type: "string" },
      "base-port": { type: "string" },
      "api-port": { type: "string" },
      provers: { type: "string" },
      "epoch-length": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return void process.stdout.write(GENESIS_CREATE_HELP);
  if (!values.out) throw new UsageError("--out DIR is required");
  const n = int("validators", values.validators, 4, 1, 100);
  const chainId = int("chain-id", values["chain-id"], 1, 0, Number.MAX_SAFE_INTEGER);
  const basePort = int("base-port", values["base-port"], 9000, 1, 65535 - n);
  const apiPort = int("api-port", values["api-port"], 8000, 1, 65535 - n);
  const out = resolve(values.out);
  // It holds every validator's and prover's keys: 0700 when created here (each key's own directory is 0700 anyway).
  await makeKeyDir(out);
  const provers = int("provers", values.provers, 3, 0, 100);
  const epochLength = int("epoch-length", values["epoch-length"], 0, 0, Number.MAX_SAFE_INTEGER);
  if (epochLength === 1) throw new UsageError("--epoch-length must be 0 (one endless epoch) or at least 2");
  const genesis: GenesisFile = {
    chainId,
    timestampMs: Date.now(),
    validators: [],
    // With epochs, committees come from staking; each validator gets a free balance to top up its bond with.
    ...(epochLength > 0 ? { epochLength, staking: { balances: {} } } : {}),
    // Windows of several blocks: a prover's sealed bid or reveal takes a few blocks to be sequenced.
    market: { balances: {}, config: { commitWindow: 12, revealWindow: 12, slotInterval: 6 } },
  };
  for (const name of [...Array.from({ length: provers }, (_, j) => `prover-${j}`), "rollup-operator"]) {
    const key = await createSystemKeyFile(join(out, name, "system.key"));
    (genesis.market as { balances: Record<string, string> }).balances[accountOf(key.publicKey)] = "1000000";
  }
  for (let i = 0; i < n; i++) {
    const dir = join(out, `validator-${i}`);
    const key = await createBlsKeyFile(join(dir, "bls.key"), randomBytes(32));
    const peerKey = await loadOrCreatePeerKey(join(dir, "peer.key"));
    const peerId = peerIdOf(peerKey);
    genesis.validators.push({
      publicKey: toHex(key.publicKey),
      proofOfPossession: toHex(key.proofOfPossession),
      stake: "100",
      peerId,
      addrs: [`/ip4/127.0.0.1/tcp/${basePort + i}/p2p/${peerId}`],
    });
    if (genesis.staking) genesis.staking.balances[toHex(key.publicKey)] = "1000";
    const config: NodeConfigFile = {
      genesis: "../genesis.json",
      self: i,
      dataDir: "data",
      blsKeyFile: "bls.key",
      peerKeyFile: "peer.key",
      listen: `/ip4/127.0.0.1/tcp/${basePort + i}`,
      api: { host: "127.0.0.1", port: apiPort + i },
      // Every validator keeps its shards of the embedded DA layer; validator 0 posts each block.
      da: { k: 8, m: 8, ...(i === 0 ? { poster: { policy: { kind: "k-of-n", k: 1 }, layers: [] } } : {}) },
    };
    await writeFile(join(dir, "node.json"), `${JSON.stringify(config, null, 2)}\n`);
  }
  await writeFile(join(out, "genesis.json"), `${JSON.stringify(genesis, null, 2)}\n`);
  process.stdout.write(
    `created a ${n}-validator network in ${out} (genesis.json, validator-0..${n - 1}/node.json${provers > 0 ? `, prover-0..${provers - 1}/system.key` : ""}, rollup-operator/system.key)\n`,
  );
}
