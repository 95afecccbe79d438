/**
 * Secret key files stay private: every key a node or the CLI writes is a 0600 file in a 0700 directory, and every
 * reader refuses a key file that group or others may access. The one place both rules live (the BLS key, the libp2p
 * peer key, system/prover keys and L1 private key files all go through here). Not enforced on Windows, whose ACLs
 * POSIX mode bits do not describe.
 */
import { chmod, mkdir, stat, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { OrdoError } from "@ordo/core";

/** Whether key file modes are written and checked on this platform. */
export const KEY_FILE_MODES_ENFORCED = process.platform !== "win32";

/** The mode of a key file: read and write by its owner only. */
export const KEY_FILE_MODE = 0o600;
/** The mode of a directory a key file is created in. */
export const KEY_DIR_MODE = 0o700;

/** A path as a shell word, so the suggested command can be pasted as it is. */
function shellWord(path: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}

/**
 * Throws `OrdoError(code)` when a key file's `mode` lets group or others read, write or execute it (`mode & 0o077`),
 * with a message that says how to fix it, e.g. `BLS key file validator-0/bls.key is readable by other users (mode
 * 0644); run: chmod 600 validator-0/bls.key`. A no-op on Windows.
 */
export function assertKeyFileModePrivate(path: string, mode: number, what: string, code = "KEY_FILE_INSECURE"): void {
  if (!KEY_FILE_MODES_ENFORCED || (mode & 0o077) === 0) return;
  const access = [(mode & 0o044) !== 0 ? "readable" : "", (mode & 0o022) !== 0 ? "writable" : ""]
    .filter((a) => a !== "")
    .join(" and ");
  const octal = (mode & 0o777).toString(8).padStart(4, "0");
  const fix = `chmod 600 ${shellWord(path)}`;
  throw new OrdoError(
    code,
    `${what} ${path} is ${access || "accessible"} by other users (mode ${octal}); run: ${fix}`,
    { fix },
  );
}

/** `assertKeyFileModePrivate` on the file at `path` (its `stat` errors are the caller's to report). */
export async function assertKeyFilePrivate(path: string, what: string, code = "KEY_FILE_INSECURE"): Promise<void> {
  assertKeyFileModePrivate(path, Number((await stat(path)).mode), what, code);
}

/**
 * Creates `dir` and its missing parents with mode 0700 (whatever the umask). A directory that already exists keeps
 * its mode: the key files in it are 0600 either way, and the operator's own directories are not ours to change.
 */
export async function makeKeyDir(dir: string): Promise<void> {
  const target = resolve(dir);
  const first = await mkdir(target, { recursive: true, mode: KEY_DIR_MODE });
  if (first === undefined || !KEY_FILE_MODES_ENFORCED) return;
  const top = resolve(first);
  for (let d = target; ; d = dirname(d)) {
    await chmod(d, KEY_DIR_MODE);
    if (d === top || dirname(d) === d) break;
  }
}

/**
 * Writes a secret key file: mode 0600 from its creation (never a moment with wider permissions), in a directory made
 * 0700 if it did not exist. Refuses to overwrite: an existing file fails with `EEXIST`.
 */
export async function writeKeyFile(path: string, contents: string | Uint8Array): Promise<void> {
  await makeKeyDir(dirname(path));
  await writeFile(path, contents, { mode: KEY_FILE_MODE, flag: "wx" });
  // The umask may have taken bits away from 0600 (never added any); make it exactly 0600.
  if (KEY_FILE_MODES_ENFORCED) await chmod(path, KEY_FILE_MODE);
}
