import { DecodeError, packWire } from "@ordo/core";
import fc from "fast-check";
import { pack } from "msgpackr";
import { describe, expect, it } from "vitest";
import {
  accountOf,
  decodeSystemTransaction,
  encodeSystemTransaction,
  generateSystemKey,
  type SystemTransactionBody,
  signSystemTransaction,
  systemPublicKey,
  verifySystemTransaction,
} from "../src/index.js";

const CHAIN = 9;
const key = generateSystemKey();
const bodies: SystemTransactionBody[] = [
  { kind: "register-prover", bond: 1_000n },
  { kind: "unbond", amount: (1n << 64n) - 1n },
  {
    kind: "register-rollup",
    namespace: 7,
    circuit: "rollup_batch",
    verifyingKeyHash: `0x${"ab".repeat(32)}`,
    feeDeposit: 5n,
    deadlineBlocks: 60,
    maxFee: 100n,
  },
  { kind: "commit-bid", slot: 3, sealed: new Uint8Array(32).fill(1) },
  { kind: "reveal-bid", slot: 3, price: 42n, salt: new Uint8Array(32).fill(2) },
  { kind: "submit-proof", job: 12, proof: new TextEncoder().encode('{"pi_a":[]}') },
];

describe("system transactions", () => {
  it("round-trip every kind, signed by the sender for this chain only", () => {
    expect(systemPublicKey(key.secretKey)).toEqual(key.publicKey);
    expect(accountOf(key.publicKey)).toMatch(/^0x[0-9a-f]{64}$/);
    for (const [nonce, body] of bodies.entries()) {
      const tx = signSystemTransaction(CHAIN, key, nonce, body);
      const decoded = decodeSystemTransaction(encodeSystemTransaction(tx));
      expect(decoded).toEqual(tx);
      expect(verifySystemTransaction(CHAIN, decoded)).toBe(true);
      expect(verifySystemTransaction(CHAIN + 1, decoded)).toBe(false);
      expect(verifySystemTransaction(CHAIN, { ...decoded, nonce: nonce + 1 })).toBe(false);
      expect(verifySystemTransaction(CHAIN, { ...decoded, from: generateSystemKey().publicKey })).toBe(false);
    }
  });

  it("refuses malformed and non-canonical encodings with DecodeError", () => {
    const good = encodeSystemTransaction(signSystemTransaction(CHAIN, key, 0, bodies[0] as SystemTransactionBody));
    expect(() => decodeSystemTransaction(good.subarray(0, good.length - 1))).toThrow(DecodeError);
    expect(() => decodeSystemTransaction(new Uint8Array([...good, 0]))).toThrow(DecodeError);
    // The same array written by msgpackr with a non-minimal header for the nonce.
    const fields = [1, 1, key.publicKey, 0, new Uint8Array(8), new Uint8Array(64)];
    expect(() => decodeSystemTransaction(packWire(fields))).not.toThrow();
    const w = packWire(fields); // [fixarray, 1, 1, bin8 header (2) + 32 key bytes, nonce at byte 37, ...]
    const loose = Uint8Array.from([...w.subarray(0, 37), 0xcc, 0x00, ...w.subarray(38)]);
    expect(() => decodeSystemTransaction(loose)).toThrow(/canonical/);
    expect(() => decodeSystemTransaction(pack({ kind: "unbond" }))).toThrow(DecodeError);
    expect(() => decodeSystemTransaction(packWire([1, 9, key.publicKey, 0, new Uint8Array(64)]))).toThrow(/kind/);
  });

  it("property: any bytes or MessagePack value decodes or throws DecodeError, never anything else", () => {
    const check = (bytes: Uint8Array) => {
      try {
        decodeSystemTransaction(bytes);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => check(b)),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.anything(), (v) => {
        let b: Uint8Array;
        try {
          b = pack(v);
        } catch {
          return;
        }
        check(b);
      }),
      { numRuns: 1000 },
    );
    // Mutations of valid transactions: flip a byte anywhere.
    const valid = bodies.map((body, i) => encodeSystemTransaction(signSystemTransaction(CHAIN, key, i, body)));
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), (which, at, x) => {
        const b = (valid[which] as Uint8Array).slice();
        b[at % b.length] = ((b[at % b.length] as number) ^ x) & 0xff;
        check(b);
      }),
      { numRuns: 2000 },
    );
  });
});
