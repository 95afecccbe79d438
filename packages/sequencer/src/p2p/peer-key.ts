/**
 * The validator's persistent libp2p identity: an Ed25519 private key kept in a
 * file as libp2p protobuf bytes, readable by its owner only. The peer id that
 * other validators list in the genesis/peer list is derived from it, so losing
 * or regenerating the file changes the node's network identity.
 */
import { readFile, stat } from "node:fs/promises";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { OrdoError } from "@ordo/core";
import { assertKeyFileModePrivate, writeKeyFile } from "../cli/key-file-mode.js";

/** Largest key file accepted (an RSA-4096 protobuf is ~2.4 KB; Ed25519 is 68 bytes). */
const MAX_KEY_FILE_BYTES = 16 * 1024;

/** Generates a fresh Ed25519 libp2p private key (not persisted). */
export async function generatePeerKey(): Promise<PrivateKey> {
  return generateKeyPair("Ed25519");
}

/** The libp2p peer id (base58 string, `12D3KooW…`) of a private key. */
export function peerIdOf(privateKey: PrivateKey): string {
  return peerIdFromPrivateKey(privateKey).toString();
}

/**
 * Loads the libp2p private key at `path`, or creates one (Ed25519, file mode
 * 0600, parent directories 0700) if the file does not exist.
 *
 * Throws `OrdoError` with code:
 * - `PEER_KEY_INSECURE_PERMISSIONS` if the file is readable or writable by group or others;
 * - `PEER_KEY_INVALID` if the file is not a libp2p private key in protobuf form;
 * - `PEER_KEY_IO` if it cannot be read or written.
 */
export async function loadOrCreatePeerKey(path: string): Promise<PrivateKey> {
  const existing = await statOrUndefined(path);
  if (existing === undefined) {
    const created = await createKeyFile(path);
    if (created !== undefined) return created;
    // Another process created it between our stat and our exclusive create: load theirs.
  }
  return loadKeyFile(path);
}

async function createKeyFile(path: string): Promise<PrivateKey | undefined> {
  const key = await generatePeerKey();
  try {
    // 0600 in a 0700 directory; fails (EEXIST) rather than overwrite an identity that appeared meanwhile.
    await writeKeyFile(path, privateKeyToProtobuf(key));
  } catch (err) {
    if (errorCode(err) === "EEXIST") return undefined;
    throw ioError(path, "create", err);
  }
  return key;
}

async function loadKeyFile(path: string): Promise<PrivateKey> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (err) {
    throw ioError(path, "read", err);
  }
  if (!info.isFile()) {
    throw new OrdoError("PEER_KEY_INVALID", `peer key path ${path} is not a regular file`, {
      fix: `point the node at a key file, or remove ${path} so that a new key is generated`,
    });
  }
  assertKeyFileModePrivate(path, Number(info.mode), "peer key file", "PEER_KEY_INSECURE_PERMISSIONS");
  if (Number(info.size) > MAX_KEY_FILE_BYTES) {
    throw invalidKey(path, `the file is ${info.size} bytes, larger than any libp2p private key`);
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    throw ioError(path, "read", err);
  }
  try {
    return privateKeyFromProtobuf(bytes);
  } catch (err) {
    throw invalidKey(path, err instanceof Error ? err.message : String(err), err);
  }
}

async function statOrUndefined(path: string): Promise<Awaited<ReturnType<typeof stat>> | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    if (errorCode(err) === "ENOENT") return undefined;
    throw ioError(path, "read", err);
  }
}

function invalidKey(path: string, details: string, cause?: unknown): OrdoError {
  return new OrdoError("PEER_KEY_INVALID", `peer key file ${path} is not a libp2p private key (protobuf)`, {
    details,
    fix: `restore the key file from a backup, or move it away so that a new identity is generated (the node's peer id then changes and the peer list must be updated)`,
    cause,
  });
}

function ioError(path: string, what: "read" | "create", cause: unknown): OrdoError {
  return new OrdoError("PEER_KEY_IO", `cannot ${what} peer key file ${path}`, {
    details: cause instanceof Error ? cause.message : String(cause),
    fix: `check that the directory exists and that the node's user owns ${path}`,
    cause,
  });
}

function errorCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String(err.code) : undefined;
}
