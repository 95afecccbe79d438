/**
 * The embedded DA layer's wire messages, under the node's framing rules
 * (`[version = 1, tag, ...fields]`, canonical MessagePack, tags 32–36 so no
 * consensus (1–8) or dissemination (16–21) frame decodes as one):
 *
 * | message       | encoding                                                                                  |
 * | ------------- | ----------------------------------------------------------------------------------------- |
 * | ShardPush     | `[1, 32, height, payloadHash, payloadLength, shardRoot, k, m, [[index, shard, [path]]...]]` |
 * | ShardAck      | `[1, 33, height, shardRoot, signer, signature]`                                            |
 * | ShardRequest  | `[1, 34, height, shardRoot]`                                                               |
 * | ShardResponse | `[1, 35, height, payloadHash, payloadLength, shardRoot, k, m, [[index, shard, [path]]...]]` |
 * | Certificate   | `[1, 36, height, payloadHash, payloadLength, shardRoot, k, m, signers, signature]`          |
 *
 * Decoding is total: the size is checked first, every field validated, and the
 * input must be the canonical encoding of what it decodes to; every failure is
 * a `DecodeError`.
 */
import { DecodeError, packWire, type Wire } from "@ordo/core";
import type { DaCertificate } from "@ordo/da-client";
import { unpack } from "msgpackr";

export const DA_TAG = { push: 32, ack: 33, request: 34, response: 35, certificate: 36 } as const;
/** Largest DA frame: a validator's shards of a block (the transport's frame limit is far above). */
export const MAX_DA_FRAME_BYTES = 64 * 1024 * 1024;
const MAX_SHARDS = 256;

export interface ShardWithPath {
  index: number;
  shard: Uint8Array;
  path: Uint8Array[];
}

export interface ShardSet {
  height: number;
  payloadHash: Uint8Array;
  payloadLength: number;
  shardRoot: Uint8Array;
  k: number;
  m: number;
  shards: ShardWithPath[];
}

export type DaMessage =
  | ({ kind: "push" } & ShardSet)
  | { kind: "ack"; height: number; shardRoot: Uint8Array; signer: number; signature: Uint8Array }
  | { kind: "request"; height: number; shardRoot: Uint8Array }
  | ({ kind: "response" } & ShardSet)
  | ({ kind: "certificate" } & DaCertificate);

/** True for a frame of this codec (`[1, 32..36, ...]`), by its first three bytes. */
export function isDaFrame(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 3 &&
    ((bytes[0] as number) & 0xf0) === 0x90 &&
    bytes[1] === 1 &&
    (bytes[2] as number) >= 32 &&
    (bytes[2] as number) <= 36
  );
}

function shardSetWire(s: ShardSet): Wire[] {
  return [
    s.height,
    s.payloadHash,
    s.payloadLength,
    s.shardRoot,
    s.k,
    s.m,
    s.shards.map((x) => [x.index, x.shard, x.path] as Wire),
  ];
}

export function encodeDaMessage(msg: DaMessage): Uint8Array {
  switch (msg.kind) {
    case "push":
    case "response":
      return packWire([1, DA_TAG[msg.kind], ...shardSetWire(msg)]);
    case "ack":
      return packWire([1, DA_TAG.ack, msg.height, msg.shardRoot, msg.signer, msg.signature]);
    case "request":
      return packWire([1, DA_TAG.request, msg.height, msg.shardRoot]);
    case "certificate":
      return packWire([
        1,
        DA_TAG.certificate,
        msg.height,
        msg.payloadHash,
        msg.payloadLength,
        msg.shardRoot,
        msg.k,
        msg.m,
        msg.signers,
        msg.signature,
      ]);
  }
}

function fail(problem: string): never {
  throw new DecodeError(`da frame: ${problem}`);
}

function uint(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > max) fail(`${what} is not in 0..${max}`);
  return v;
}

function bytes(v: unknown, what: string, length?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(`${what} is not bytes`);
  if (length !== undefined && v.length !== length) fail(`${what} has ${v.length} bytes, not ${length}`);
  return new Uint8Array(v);
}

function array(v: unknown, what: string, max: number): unknown[] {
  if (!Array.isArray(v) || v.length > max) fail(`${what} is not a list of at most ${max}`);
  return v;
}

function shardSet(f: unknown[]): ShardSet {
  if (f.length !== 7) fail(`a shard set has ${f.length} fields, not 7`);
  const k = uint(f[4], "k", MAX_SHARDS);
  const m = uint(f[5], "m", MAX_SHARDS);
  if (k < 1 || m < 1 || k + m > MAX_SHARDS) fail(`k = ${k}, m = ${m} is not a code`);
  return {
    height: uint(f[0], "height"),
    payloadHash: bytes(f[1], "payloadHash", 32),
    payloadLength: uint(f[2], "payloadLength", MAX_DA_FRAME_BYTES * 8),
    shardRoot: bytes(f[3], "shardRoot", 32),
    k,
    m,
    shards: array(f[6], "shards", k + m).map((x, i) => {
      const t = array(x, `shards[${i}]`, 3);
      if (t.length !== 3) fail(`shards[${i}] is not [index, shard, path]`);
      return {
        index: uint(t[0], `shards[${i}].index`, k + m - 1),
        shard: bytes(t[1], `shards[${i}].shard`),
        path: array(t[2], `shards[${i}].path`, 16).map((p, j) => bytes(p, `shards[${i}].path[${j}]`, 32)),
      };
    }),
  };
}

export function decodeDaMessage(input: Uint8Array): DaMessage {
  if (!(input instanceof Uint8Array)) fail("not bytes");
  if (input.length > MAX_DA_FRAME_BYTES) fail(`${input.length} bytes is over the limit`);
  let raw: unknown;
  try {
    raw = unpack(input);
  } catch {
    fail("not MessagePack");
  }
  if (!Array.isArray(raw) || raw.length < 2 || raw[0] !== 1) fail("not a version-1 frame");
  const f = raw.slice(2);
  let msg: DaMessage;
  switch (raw[1]) {
    case DA_TAG.push:
      msg = { kind: "push", ...shardSet(f) };
      break;
    case DA_TAG.response:
      msg = { kind: "response", ...shardSet(f) };
      break;
    case DA_TAG.ack:
      if (f.length !== 4) fail("an ack has 4 fields");
      msg = {
        kind: "ack",
        height: uint(f[0], "height"),
        shardRoot: bytes(f[1], "shardRoot", 32),
        signer: uint(f[2], "signer", 0xffff),
        signature: bytes(f[3], "signature", 96),
      };
      break;
    case DA_TAG.request:
      if (f.length !== 2) fail("a request has 2 fields");
      msg = { kind: "request", height: uint(f[0], "height"), shardRoot: bytes(f[1], "shardRoot", 32) };
      break;
    case DA_TAG.certificate: {
      if (f.length !== 8) fail("a certificate has 8 fields");
      const set = shardSet([...f.slice(0, 6), []]);
      msg = {
        kind: "certificate",
        height: set.height,
        payloadHash: set.payloadHash,
        payloadLength: set.payloadLength,
        shardRoot: set.shardRoot,
        k: set.k,
        m: set.m,
        signers: bytes(f[6], "signers"),
        signature: bytes(f[7], "signature", 96),
      };
      break;
    }
    default:
      fail(`unknown tag ${String(raw[1])}`);
  }
  // One message, one encoding.
  const again = encodeDaMessage(msg);
  if (again.length !== input.length || !again.every((b, i) => b === input[i])) fail("not in canonical form");
  return msg;
}
