/**
 * `node:crypto` for the browser bundle: the subset `@ordo/core` imports
 * (`createHash("sha256")`, `hkdfSync("sha256", …)`), on `@noble/hashes`, plus
 * `randomBytes` on Web Crypto. Anything else is missing on purpose, so that
 * esbuild fails the build when core starts importing more.
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

const encoder = new TextEncoder();

/** Node accepts strings (UTF-8) as well as bytes; core only passes bytes. */
function toBytes(data) {
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError("node:crypto shim: data must be a string, an ArrayBuffer or a typed array");
}

function checkAlgorithm(algorithm) {
  if (String(algorithm).toLowerCase() !== "sha256")
    throw new Error(`node:crypto shim: only sha256 is bundled, not ${String(algorithm)}`);
}

function toHex(bytes) {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export function createHash(algorithm) {
  checkAlgorithm(algorithm);
  const state = sha256.create();
  const hash = {
    update(data) {
      state.update(toBytes(data));
      return hash;
    },
    /** Bytes (Node gives a Buffer; core reads only its bytes), or hex when asked. */
    digest(encoding) {
      const out = state.digest();
      if (encoding === undefined) return out;
      if (encoding === "hex") return toHex(out);
      throw new Error(`node:crypto shim: digest encoding ${String(encoding)} is not bundled`);
    },
  };
  return hash;
}

/** As Node's: an ArrayBuffer of `length` bytes. */
export function hkdfSync(digest, ikm, salt, info, length) {
  checkAlgorithm(digest);
  const okm = hkdf(sha256, toBytes(ikm), toBytes(salt), toBytes(info), length);
  return okm.buffer.slice(okm.byteOffset, okm.byteOffset + okm.byteLength);
}

export function randomBytes(size) {
  const out = new Uint8Array(size);
  // getRandomValues fills at most 65,536 bytes per call.
  for (let i = 0; i < size; i += 65_536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(size, i + 65_536)));
  return out;
}
