/**
 * The on-disk formats the CLI reads and writes: a validator's keys, the genesis
 * file, and a node's config. Every reader validates what it reads and says
 * what to do about a bad file.
 */
import { readFile, stat } from "node:fs/promises";
import {
  blstBackend,
  fromHex,
  generateValidatorKey,
  InvalidConfigError,
  isValidEpochSchedule,
  OrdoError,
  proofOfPossessionDigest,
  toHex,
  type ValidatorKey,
  ValidatorSet,
} from "@ordo/core";
import { generateSystemKey, type SystemKey, systemPublicKey } from "@ordo/prover";
import { assertKeyFileModePrivate, writeKeyFile } from "./key-file-mode.js";

export interface GenesisValidator {
  publicKey: string;
  proofOfPossession: string;
  stake: string;
  peerId: string;
  /** Multiaddrs other validators dial, with the `/p2p/<peerId>` suffix or without. */
  addrs: string[];
}

export interface GenesisFile {
  chainId: number;
  timestampMs: number;
  validators: GenesisValidator[];
  /** Blocks per epoch (≥ 2); absent: one endless epoch. Each epoch's last block commits to the next committee. */
  epochLength?: number;
  /**
   * Committees chosen by staking (with `epochLength`): free balances (decimal) by validator BLS public key
   * (0x-hex), for top-ups; genesis validators start bonded with their stakes. Members stay genesis validators.
   */
  staking?: { balances: Record<string, string> };
  /** The prover market's genesis: spendable balances (decimal strings) by account (0x-hex ed25519 public key). */
  market?: {
    balances: Record<string, string>;
    config?: { commitWindow?: number; revealWindow?: number; slotInterval?: number; unbondingDelay?: number };
  };
}

/** The market's block-count settings from a genesis file. */
export function marketConfig(file: GenesisFile): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(file.market?.config ?? {})) {
    if (!["commitWindow", "revealWindow", "slotInterval", "unbondingDelay"].includes(name))
      throw new InvalidConfigError(`genesis "market.config": unknown setting ${name}`);
    if (!Number.isSafeInteger(v) || (v as number) < 1)
      throw new InvalidConfigError(`genesis "market.config.${name}" must be a positive integer`);
    out[name] = v as number;
  }
  return out;
}

/** An ed25519 key for system transactions (prover market): the 32-byte seed as hex, 0600. */
export async function createSystemKeyFile(path: string): Promise<SystemKey> {
  const key = generateSystemKey();
  await writeSecretFile(path, `${toHex(key.secretKey)}\n`);
  return key;
}

/**
 * Reads a system key file, or creates one if `create` and it does not exist. Refuses (`KEY_FILE_INSECURE`) a file
 * that group or others may access.
 */
export async function readSystemKeyFile(path: string, create = false): Promise<SystemKey> {
  const missing = (e: unknown) =>
    new OrdoError("KEY_FILE_MISSING", `cannot read system key file ${path}: ${(e as Error).message}`, {
      fix: "pass the prover's key, e.g. DIR/prover-0/system.key from `ordo genesis create`",
    });
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (e) {
    if (create && (e as NodeJS.ErrnoException).code === "ENOENT") return createSystemKeyFile(path);
    throw missing(e);
  }
  // Checked before the secret is read.
  assertKeyFileModePrivate(path, Number(info.mode), "system key file");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw missing(e);
  }
  const hex = text.trim();
  if (!/^0x[0-9a-f]{64}$/.test(hex))
    throw new OrdoError("KEY_FILE_INVALID", `system key file ${path} is not a 32-byte hex seed`);
  const secretKey = fromHex(hex);
  return { secretKey, publicKey: systemPublicKey(secretKey) };
}

/** The market balances of a genesis file, as bigints (empty when it has none). */
export function marketBalances(file: GenesisFile): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const [account, amount] of Object.entries(file.market?.balances ?? {})) {
    if (!/^0x[0-9a-f]{64}$/.test(account) || !/^[0-9]{1,30}$/.test(amount))
      throw new InvalidConfigError(
        `genesis "market.balances": ${account} = ${amount} is not an account and a decimal amount`,
      );
    out[account] = BigInt(amount);
  }
  return out;
}

/** The staking genesis of a file (balances as bigints by `toHex` key), or null when it has none. */
export function stakingBalances(file: GenesisFile): Map<string, bigint> | null {
  if (!file.staking) return null;
  if (file.epochLength === undefined)
    throw new InvalidConfigError('genesis "staking" needs "epochLength": committees change only at epoch boundaries');
  const out = new Map<string, bigint>();
  const validators = new Set(file.validators.map((v) => v.publicKey.toLowerCase()));
  for (const [key, amount] of Object.entries(file.staking.balances ?? {})) {
    if (!/^0x[0-9a-f]{96}$/.test(key) || !/^[0-9]{1,28}$/.test(amount))
      throw new InvalidConfigError(
        `genesis "staking.balances": ${key} = ${amount} is not a BLS public key and a decimal amount`,
      );
    // A committee member must be a peer the nodes know: only genesis validators may hold stake.
    if (!validators.has(key))
      throw new InvalidConfigError(`genesis "staking.balances": ${key} is not a genesis validator's key`, {
        fix: 'fund only keys listed in "validators"; a validator outside the genesis file cannot join yet',
      });
    out.set(key, BigInt(amount));
  }
  return out;
}

export interface NodeConfigFile {
  /** Path of the genesis file, relative to the config file. */
  genesis: string;
  /** This validator's index in the genesis validator list. */
  self: number;
  dataDir: string;
  blsKeyFile: string;
  peerKeyFile: string;
  listen: string;
  api: { host: string; port: number };
  baseTimeoutMs?: number;
  /** The embedded DA layer (every validator) and, on the validator that posts, the DA poster. */
  da?: DaConfig;
}

/** An external DA layer the poster also posts to (paths relative to the config file). */
export type ExternalDaLayerConfig = {
  type: "ethereum-blobs";
  rpcUrl: string;
  privateKeyFile: string;
  /** Where blobs are read back; absent: the node itself (anvil's `anvil_getBlobsByTransactionHash`). */
  beaconUrl?: string;
  /** Blocks before a blob transaction counts as final (default 64). */
  confirmations?: number;
};

export interface DaConfig {
  /** Data and parity shards per block (k + m ≤ 256). */
  k: number;
  m: number;
  /** Present on the validator that posts every committed block's DA payload. */
  poster?: {
    /** `{"kind": "all", "layers": [...]}` or `{"kind": "k-of-n", "k": K}` over the embedded layer and `layers`. */
    policy: { kind: "all"; layers: string[] } | { kind: "k-of-n"; k: number };
    layers: ExternalDaLayerConfig[];
  };
}

/**
 * Writes a file only the owner can read: mode 0600, in a directory created 0700 (see `writeKeyFile`). Refuses to
 * overwrite an existing file.
 */
export async function writeSecretFile(path: string, contents: string | Uint8Array): Promise<void> {
  await writeKeyFile(path, contents);
}

/** A BLS validator key file: the 32-byte secret key as hex. */
export async function createBlsKeyFile(path: string, ikm: Uint8Array): Promise<ValidatorKey> {
  const key = generateValidatorKey(blstBackend, ikm);
  await writeSecretFile(path, `${toHex(key.secretKey)}\n`);
  return key;
}

/** Reads a BLS key file; refuses (`KEY_FILE_INSECURE`) one that group or others may access. */
export async function readBlsKeyFile(path: string): Promise<ValidatorKey> {
  const info = await stat(path).catch((e: unknown) => {
    throw new OrdoError("KEY_FILE_MISSING", `cannot read BLS key file ${path}: ${(e as Error).message}`, {
      fix: "create one with `ordo keys generate --out DIR`",
    });
  });
  assertKeyFileModePrivate(path, Number(info.mode), "BLS key file");
  const text = (await readFile(path, "utf8")).trim();
  let secretKey: Uint8Array;
  try {
    secretKey = fromHex(text);
  } catch {
    throw new OrdoError("KEY_FILE_INVALID", `BLS key file ${path} is not hex`, {
      fix: "regenerate it with `ordo keys generate`",
    });
  }
  if (secretKey.length !== 32)
    throw new OrdoError("KEY_FILE_INVALID", `BLS key file ${path} holds ${secretKey.length} bytes, not 32`);
  const publicKey = blstBackend.publicKey(secretKey);
  // The proof of possession is a deterministic signature, so it is recomputed rather than stored.
  return { secretKey, publicKey, proofOfPossession: blstBackend.sign(secretKey, proofOfPossessionDigest(publicKey)) };
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new InvalidConfigError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InvalidConfigError(`${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Reads and checks a genesis file: shapes, keys, stakes and every proof of possession. */
export async function readGenesis(path: string): Promise<{ file: GenesisFile; validators: ValidatorSet }> {
  const raw = (await readJson(path, "genesis file")) as Partial<GenesisFile>;
  if (!raw || typeof raw !== "object" || !Array.isArray(raw.validators))
    throw new InvalidConfigError(`genesis file ${path} has no "validators" list`, {
      fix: "create one with `ordo genesis create --validators 4 --out DIR`",
    });
  if (!Number.isSafeInteger(raw.chainId) || (raw.chainId as number) < 0)
    throw new InvalidConfigError(`genesis file ${path}: "chainId" must be a non-negative integer`);
  if (!Number.isSafeInteger(raw.timestampMs))
    throw new InvalidConfigError(`genesis file ${path}: "timestampMs" must be an integer`);
  if (raw.epochLength !== undefined && !isValidEpochSchedule({ length: raw.epochLength }))
    throw new InvalidConfigError(`genesis file ${path}: "epochLength" must be an integer of at least 2`, {
      fix: "remove it for one endless epoch, or give the number of blocks per epoch",
    });
  const validators = ValidatorSet.create(
    {
      epoch: 0,
      validators: raw.validators.map((v, i) => {
        try {
          return {
            publicKey: fromHex(v.publicKey),
            proofOfPossession: fromHex(v.proofOfPossession),
            stake: BigInt(v.stake),
          };
        } catch (e) {
          throw new InvalidConfigError(`genesis file ${path}: validator ${i} is malformed (${(e as Error).message})`);
        }
      }),
    },
    blstBackend,
  );
  // Refuse a malformed market genesis at start, not at the first block.
  marketBalances(raw as GenesisFile);
  marketConfig(raw as GenesisFile);
  stakingBalances(raw as GenesisFile);
  return { file: raw as GenesisFile, validators };
}

export async function readNodeConfig(path: string): Promise<NodeConfigFile> {
  const raw = (await readJson(path, "node config")) as Partial<NodeConfigFile>;
  const need = (ok: boolean, field: string) => {
    if (!ok)
      throw new InvalidConfigError(`node config ${path}: "${field}" is missing or invalid`, {
        fix: "see `ordo node start --help`",
      });
  };
  need(typeof raw.genesis === "string", "genesis");
  need(Number.isInteger(raw.self) && (raw.self as number) >= 0, "self");
  need(typeof raw.dataDir === "string", "dataDir");
  need(typeof raw.blsKeyFile === "string", "blsKeyFile");
  need(typeof raw.peerKeyFile === "string", "peerKeyFile");
  need(typeof raw.listen === "string", "listen");
  need(typeof raw.api?.host === "string" && Number.isInteger(raw.api?.port), "api");
  if (raw.da !== undefined) {
    const { k, m, poster } = raw.da;
    need(Number.isInteger(k) && Number.isInteger(m) && k >= 1 && m >= 1 && k + m <= 256, "da.k/da.m");
    if (poster !== undefined) {
      const p = poster.policy;
      need(
        (p?.kind === "all" && Array.isArray(p.layers)) || (p?.kind === "k-of-n" && Number.isInteger(p.k) && p.k >= 1),
        "da.poster.policy",
      );
      need(
        Array.isArray(poster.layers) &&
          poster.layers.every(
            (l) => l?.type === "ethereum-blobs" && typeof l.rpcUrl === "string" && typeof l.privateKeyFile === "string",
          ),
        "da.poster.layers",
      );
    }
  }
  return raw as NodeConfigFile;
}
