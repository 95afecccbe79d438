import fc from "fast-check";
import { encodeAbiParameters, hexToBytes } from "viem";
import { describe, expect, it } from "vitest";
import {
  BLOCK_HEADER_ABI,
  type BlockHeader,
  DOMAIN,
  encodeHeaderAbi,
  hashBatchStatement,
  hashHeader,
  hashTransaction,
  PROPOSAL_DIGEST_ABI,
  proofAttestationDigest,
  proposalDigest,
  sha256,
  TIMEOUT_DIGEST_ABI,
  TRANSACTION_ABI,
  timeoutDigest,
  toHex,
  VOTE_DIGEST_ABI,
  voteDigest,
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

const uint = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const b32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const viemHash = (types: readonly { type: string }[], values: unknown[]) =>
  toHex(sha256(hexToBytes(encodeAbiParameters(types, values))));

describe("hand-written ABI words equal viem's encodeAbiParameters", () => {
  it("for headers", () => {
    fc.assert(
      fc.property(
        uint,
        uint,
        uint,
        uint,
        b32,
        b32,
        b32,
        b32,
        fc.integer({ min: 0, max: 0xffffffff }),
        uint,
        (c, e, r, h, p, n, y, v, pr, t) => {
          const hdr = {
            chainId: c,
            epoch: e,
            round: r,
            height: h,
            parentHash: p,
            namespaceRoot: n,
            payloadHash: y,
            validatorSetHash: v,
            proposer: pr,
            timestampMs: t,
          };
          const values = [
            BigInt(c),
            BigInt(e),
            BigInt(r),
            BigInt(h),
            toHex(p),
            toHex(n),
            toHex(y),
            toHex(v),
            pr,
            BigInt(t),
          ];
          expect(toHex(hashHeader(hdr))).toBe(viemHash(BLOCK_HEADER_ABI, values));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("for vote, timeout and proposal digests", () => {
    fc.assert(
      fc.property(uint, uint, uint, uint, b32, b32, (c, e, r, q, h, k) => {
        expect(toHex(voteDigest(c, e, r, h, k))).toBe(
          viemHash(VOTE_DIGEST_ABI, [toHex(DOMAIN.vote), BigInt(c), BigInt(e), BigInt(r), toHex(h), toHex(k)]),
        );
        expect(toHex(timeoutDigest(c, e, r, q))).toBe(
          viemHash(TIMEOUT_DIGEST_ABI, [toHex(DOMAIN.timeout), BigInt(c), BigInt(e), BigInt(r), BigInt(q)]),
        );
        expect(toHex(proposalDigest(h))).toBe(viemHash(PROPOSAL_DIGEST_ABI, [toHex(DOMAIN.proposal), toHex(h)]));
      }),
      { numRuns: 200 },
    );
  });

  it("for batch statements and proof attestations (what the L1 bridge recomputes)", () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const field = fc.bigInt({ min: 0n, max: (1n << 254n) - 1n });
    fc.assert(
      fc.property(u32, uint, u32, field, field, field, uint, uint, b32, (ns, h, i, o, n, c, chain, epoch, root) => {
        expect(
          toHex(hashBatchStatement({ namespace: ns, height: h, index: i, oldRoot: o, newRoot: n, commitment: c })),
        ).toBe(
          viemHash(
            [
              { type: "uint32" },
              { type: "uint64" },
              { type: "uint32" },
              { type: "uint256" },
              { type: "uint256" },
              { type: "uint256" },
            ],
            [ns, BigInt(h), i, o, n, c],
          ),
        );
        expect(toHex(proofAttestationDigest(chain, epoch, root))).toBe(
          viemHash(
            [{ type: "bytes32" }, { type: "uint64" }, { type: "uint64" }, { type: "bytes32" }],
            [toHex(DOMAIN.proofAttestation), BigInt(chain), BigInt(epoch), toHex(root)],
          ),
        );
      }),
      { numRuns: 100 },
    );
  });
});

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
