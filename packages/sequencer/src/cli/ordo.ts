#!/usr/bin/env node
/**
 * `ordo`: the validator's command line. Every command has `--help`; errors say
 * what to do.
 */
import "@ordo/core";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { OrdoError, toHex } from "@ordo/core";
import { loadOrCreatePeerKey, peerIdOf } from "../p2p/peer-key.js";
import { createBlsKeyFile, type GenesisFile, type NodeConfigFile } from "./files.js";

const HELP: Record<string, string> = {
  root: `Usage: ordo <command> [options]

Commands:
  keys generate     create a validator's BLS key and libp2p peer key
  genesis create    create a local network: genesis file, keys and configs for N validators
  node start        start a validator from its config file

Run \`ordo <command> --help\` for a command's options.
`,
  "keys generate": `Usage: ordo keys generate --out DIR

Creates DIR/bls.key (BLS12-381 secret key, mode 0600) and DIR/peer.key
(libp2p Ed25519 key, mode 0600), and prints the public key, proof of
possession and peer id to put in a genesis file. Refuses to overwrite keys.
`,
  "genesis create": `Usage: ordo genesis create --validators N --out DIR [--chain-id ID] [--base-port P] [--api-port P]

Creates DIR/genesis.json and, for each validator i, DIR/validator-i/ with its
keys and node.json (P2P on 127.0.0.1:<base-port + i>, API on
127.0.0.1:<api-port + i>). Defaults: chain id 1, P2P ports from 9000, API
ports from 8000.
`,
  "node start": `Usage: ordo node start --config FILE

Starts a validator from FILE (JSON): {"genesis": "../genesis.json", "self": 0,
"dataDir": "data", "blsKeyFile": "bls.key", "peerKeyFile": "peer.key",
"listen": "/ip4/127.0.0.1/tcp/9000", "api": {"host": "127.0.0.1", "port": 8000}}.
Paths are relative to the config file. Logs are JSON lines (pino) on stdout.
`,
};

class UsageError extends Error {}

function int(name: string, v: string | undefined, dflt: number, lo: number, hi: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi)
    throw new UsageError(`--${name} must be an integer from ${lo} to ${hi}, got "${v}"`);
  return n;
}

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

async function genesisCreate(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      validators: { type: "string" },
      out: { type: "string" },
      "chain-id": { type: "string" },
      "base-port": { type: "string" },
      "api-port": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return void process.stdout.write(HELP["genesis create"] as string);
  if (!values.out) throw new UsageError("--out DIR is required");
  const n = int("validators", values.validators, 4, 1, 100);
  const chainId = int("chain-id", values["chain-id"], 1, 0, Number.MAX_SAFE_INTEGER);
  const basePort = int("base-port", values["base-port"], 9000, 1, 65535 - n);
  const apiPort = int("api-port", values["api-port"], 8000, 1, 65535 - n);
  const out = resolve(values.out);
  await mkdir(out, { recursive: true });
  const genesis: GenesisFile = { chainId, timestampMs: Date.now(), validators: [] };
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
    const config: NodeConfigFile = {
      genesis: "../genesis.json",
      self: i,
      dataDir: "data",
      blsKeyFile: "bls.key",
      peerKeyFile: "peer.key",
      listen: `/ip4/127.0.0.1/tcp/${basePort + i}`,
      api: { host: "127.0.0.1", port: apiPort + i },
    };
    await writeFile(join(dir, "node.json"), `${JSON.stringify(config, null, 2)}\n`);
  }
  await writeFile(join(out, "genesis.json"), `${JSON.stringify(genesis, null, 2)}\n`);
  process.stdout.write(`created a ${n}-validator network in ${out} (genesis.json, validator-0..${n - 1}/node.json)\n`);
}

async function main(argv: string[]): Promise<void> {
  const [a, b, ...rest] = argv;
  const command = `${a ?? ""} ${b ?? ""}`.trim();
  if (!a || a === "--help" || a === "help") return void process.stdout.write(HELP.root as string);
  switch (command) {
    case "keys generate":
      return keysGenerate(rest);
    case "genesis create":
      return genesisCreate(rest);
    case "node start": {
      const { nodeStart } = await import("./node-start.js");
      return nodeStart(rest, HELP["node start"] as string);
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
