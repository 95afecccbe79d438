import fc from "fast-check";
import { encodeAbiParameters, hexToBytes } from "viem";
import { describe, expect, it } from "vitest";
import {
  type BlockHeader,
  encodeHeaderAbi,
  hashHeader,
  hashTransaction,
  sha256,
  TRANSACTION_ABI,
  toHex,
} from "../src/index.js";

const header: BlockHeader = {
  chainId: 1,
  epoch: 2,
  round: 3,
  height: 4,
  parentHash: new Uint8Array(32).fill(1),
  namespaceRoot: new Uint8Array(32).fill(2),
  payloadHash: new Uint8Array(32).fill(3),
  validatorSetHash: new Uint8Array(32).fill(4),
  proposer: 5,
  timestampMs: 1_700_000_000_000,
};

describe("canonical hashing", () => {
  it("hashes a header as sha256 over its 10 ABI words, as Solidity's abi.encode would", () => {
    const encoded = encodeHeaderAbi(header);
    expect(encoded.length).toBe(320);
    expect(encoded[31]).toBe(1);
    expect(toHex(hashHeader(header))).toBe(toHex(sha256(encoded)));
  });

  it("changes the header hash when any field changes", () => {
    const base = toHex(hashHeader(header));
    for (const [k, v] of Object.entries({ round: 9, height: 9, proposer: 9, timestampMs: 9, chainId: 9, epoch: 9 }))
      expect(toHex(hashHeader({ ...header, [k]: v }))).not.toBe(base);
    expect(toHex(hashHeader({ ...header, parentHash: new Uint8Array(32) }))).not.toBe(base);
  });

  it("writes transaction ids by hand exactly as viem's encodeAbiParameters(uint32, bytes)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ maxLength: 200 }), (ns, data) => {
        const viem = sha256(hexToBytes(encodeAbiParameters(TRANSACTION_ABI, [ns, toHex(data)])));
        expect(toHex(hashTransaction(ns, data))).toBe(toHex(viem));
      }),
      { numRuns: 300 },
    );
  });
});
