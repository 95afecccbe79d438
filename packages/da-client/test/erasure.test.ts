import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cauchyMatrix, GF_POLY, type GfMatrix, gfInv, gfMul, invertMatrix } from "../src/erasure/gf256.js";
import { createScalarKernel, createSimdKernel, getDefaultKernel, type Kernel } from "../src/erasure/kernel.js";
import { encodeShardsWith, rebuildPayloadWith } from "../src/erasure/reed-solomon.js";
import { encodeShards, LENGTH_PREFIX_BYTES, rebuildPayload, SHARD_ALIGNMENT, shardSize } from "../src/index.js";

/** Deterministic bytes (xorshift32), so a failure reproduces. */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A seeded generator of integers in [0, n), for erasure patterns. */
function rng(seed: number): (n: number) => number {
  let x = seed | 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** The shards with the ones at `erased` replaced by null. */
function erase(shards: readonly Uint8Array[], erased: Iterable<number>): (Uint8Array | null)[] {
  const out: (Uint8Array | null)[] = [...shards];
  for (const i of erased) out[i] = null;
  return out;
}

/** `count` distinct indices of [0, n), chosen by `next`. */
function randomSubset(n: number, count: number, next: (n: number) => number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = next(i + 1);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, count);
}

/** Every subset of [0, n), by bit mask. */
function* subsets(n: number): Generator<number[]> {
  for (let mask = 0; mask < 1 << n; mask++) {
    const set: number[] = [];
    for (let i = 0; i < n; i++) if (mask & (1 << i)) set.push(i);
    yield set;
  }
}

/** Byte equality through Buffer.equals: vitest's toEqual walks a typed array element by element, slowly. */
function expectBytes(actual: Uint8Array | null | undefined, expected: Uint8Array, label = ""): void {
  expect(actual, label).toBeInstanceOf(Uint8Array);
  const a = Buffer.from(actual!.buffer, actual!.byteOffset, actual!.length);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.length);
  if (a.equals(b)) return;
  let at = 0;
  while (at < a.length && a[at] === b[at]) at++;
  expect.fail(`${label}: ${a.length} bytes against ${b.length} expected, first difference at byte ${at}`);
}

/** Carry-less multiplication reduced by the polynomial: a second GF(2^8) product, independent of the tables. */
function slowMul(a: number, b: number): number {
  let product = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) product ^= a << i;
  for (let bit = 14; bit >= 8; bit--) if (product & (1 << bit)) product ^= GF_POLY << (bit - 8);
  return product;
}

function multiplyMatrices(a: GfMatrix, b: GfMatrix): GfMatrix {
  return a.map((row) => Uint8Array.from(b[0]!, (_, c) => row.reduce((acc, x, t) => acc ^ gfMul(x, b[t]![c]!), 0)));
}

const simd = createSimdKernel();
const scalar = createScalarKernel();
const kernels: Kernel[] = simd ? [simd, scalar] : [scalar];

describe("GF(2^8)", () => {
  it("multiplies as carry-less multiplication modulo 0x11d, for every pair", () => {
    const wrong: string[] = [];
    for (let a = 0; a < 256; a++)
      for (let b = 0; b < 256; b++) if (gfMul(a, b) !== slowMul(a, b)) wrong.push(`${a}·${b}`);
    expect(wrong).toEqual([]);
  });

  it("inverts every non-zero element, and refuses 0", () => {
    for (let a = 1; a < 256; a++) expect(gfMul(a, gfInv(a))).toBe(1);
    expect(() => gfInv(0)).toThrow(/no inverse/);
  });

  it("inverts square submatrices of the Cauchy matrix, and refuses a singular matrix", () => {
    const c = cauchyMatrix(6, 6);
    for (const size of [1, 3, 6]) {
      const sub = c.slice(0, size).map((row) => row.slice(6 - size));
      const product = multiplyMatrices(sub, invertMatrix(sub));
      product.forEach((row, i) => {
        row.forEach((x, j) => {
          expect(x).toBe(i === j ? 1 : 0);
        });
      });
    }
    expect(() => invertMatrix([Uint8Array.of(1, 2), Uint8Array.of(2, 4)])).toThrow(/singular/);
  });
});

describe("kernels", () => {
  it("WebAssembly SIMD is available on this Node, and is the default", () => {
    expect(simd).not.toBeNull();
    expect(getDefaultKernel().name).toBe("wasm-simd");
  });

  it("parity shard k + i is Σ_j C[i][j] · data shard j, byte by byte, with either kernel", () => {
    for (const [k, m] of [
      [1, 1],
      [3, 3],
      [10, 4],
      [16, 16],
      [1, 255],
      [200, 56],
    ] as const) {
      const payload = bytes(k * 300 + 5, k * 31 + m);
      const c = cauchyMatrix(k, m);
      // The wire format's coefficients: C[i][j] = 1 / ((k + i) XOR j).
      c.forEach((row, i) => {
        row.forEach((x, j) => {
          expect(slowMul(x, (k + i) ^ j)).toBe(1);
        });
      });
      for (const kernel of kernels) {
        const shards = encodeShardsWith(kernel, payload, k, m);
        for (let i = 0; i < m; i++) {
          const expected = new Uint8Array(shards[0]!.length);
          for (let j = 0; j < k; j++) {
            const data = shards[j]!;
            for (let b = 0; b < expected.length; b++) expected[b] = expected[b]! ^ slowMul(c[i]![j]!, data[b]!);
          }
          expectBytes(shards[k + i], expected, `${kernel.name} ${k}+${m} parity ${i}`);
        }
      }
    }
  });

  it("give the same shards, for sizes around the stripe and block boundaries", () => {
    if (!simd) return;
    for (const [k, m] of [
      [8, 8],
      [16, 16],
      [5, 3],
    ] as const) {
      for (const length of [0, 56, 57, 64 * k - 8, 64 * k - 7, 16 * 1024 * k, 16 * 1024 * k + 1]) {
        const payload = bytes(length, length + k);
        const expected = encodeShardsWith(scalar, payload, k, m);
        encodeShardsWith(simd, payload, k, m).forEach((shard, i) => {
          expectBytes(shard, expected[i]!, `${k}+${m} length ${length} shard ${i}`);
        });
      }
    }
  });
});

describe("shard format", () => {
  it("sizes shards as ceil((length + 8) / k) rounded up to a multiple of 64", () => {
    expect(SHARD_ALIGNMENT).toBe(64);
    expect(shardSize(0, 1)).toBe(64);
    expect(shardSize(56, 1)).toBe(64);
    expect(shardSize(57, 1)).toBe(128);
    expect(shardSize(0, 16)).toBe(64);
    expect(shardSize(1 << 20, 16)).toBe(65_536 + 64);
    expect(shardSize(16 * 64 - 8, 16)).toBe(64);
  });

  it("is systematic: the data shards are the 8-byte little-endian length, the payload, then zeros", () => {
    const payload = bytes(1000, 7);
    const shards = encodeShards(payload, 4, 2);
    expect(shards).toHaveLength(6);
    const size = shardSize(1000, 4);
    for (const shard of shards) expect(shard.length).toBe(size);
    const framed = new Uint8Array(4 * size);
    shards.slice(0, 4).forEach((shard, j) => {
      framed.set(shard, j * size);
    });
    expect(new DataView(framed.buffer).getBigUint64(0, true)).toBe(1000n);
    expectBytes(framed.subarray(LENGTH_PREFIX_BYTES, LENGTH_PREFIX_BYTES + 1000), payload);
    expect(framed.subarray(LENGTH_PREFIX_BYTES + 1000).every((b) => b === 0)).toBe(true);
  });

  it("rejects codes outside k, m ≥ 1, k + m ≤ 256", () => {
    const payload = bytes(10, 1);
    for (const [k, m] of [
      [0, 1],
      [1, 0],
      [200, 57],
      [2.5, 2],
      [Number.NaN, 1],
    ]) {
      expect(() => encodeShards(payload, k!, m!)).toThrow(/k ≥ 1, m ≥ 1, k \+ m ≤ 256/);
      expect(() => rebuildPayload([], k!, m!)).toThrow(/k ≥ 1, m ≥ 1, k \+ m ≤ 256/);
    }
  });
});

describe("rebuild", () => {
  it("rebuilds from every subset of at least k shards (3+3, 2+4, 4+2, 1+1, 5+3), for sizes 0 to several shards", () => {
    for (const [k, m] of [
      [3, 3],
      [2, 4],
      [4, 2],
      [1, 1],
      [5, 3],
    ] as const) {
      for (const length of [0, 1, k - 1, k, 64 * k - 8, 64 * k - 7, 64 * k, 777]) {
        const payload = bytes(length, length * 7 + k);
        const shards = encodeShards(payload, k, m);
        for (const erased of subsets(k + m)) {
          const partial = erase(shards, erased);
          if (erased.length <= m) {
            expectBytes(rebuildPayload(partial, k, m), payload, `${k}+${m} length ${length} erased ${erased}`);
          } else {
            expect(() => rebuildPayload(partial, k, m)).toThrow(/shards present, at least k = /);
          }
        }
      }
    }
  });

  it("rebuilds from random subsets of k shards for large codes, with either kernel", () => {
    const next = rng(42);
    for (const [k, m, length] of [
      [8, 8, 100_000],
      [16, 16, 100_003],
      [10, 4, 54_321],
      [1, 255, 1000],
      [255, 1, 40_000],
      [128, 128, 30_000],
      [32, 7, 5],
    ] as const) {
      const payload = bytes(length, k * 1000 + m);
      for (const kernel of kernels) {
        const shards = encodeShardsWith(kernel, payload, k, m);
        const trials = kernel.name === "scalar" ? 2 : 6;
        for (let t = 0; t < trials; t++) {
          const erased = randomSubset(k + m, next(m + 1), next);
          expectBytes(rebuildPayloadWith(kernel, erase(shards, erased), k, m), payload, `${k}+${m} erased ${erased}`);
        }
        // The worst case: min(k, m) data shards missing.
        const worst = Array.from({ length: Math.min(k, m) }, (_, i) => i);
        expectBytes(rebuildPayloadWith(kernel, erase(shards, worst), k, m), payload);
      }
    }
  });

  it("rebuilds a 1 MiB payload, 8+8 and 16+16, from the data shards, from parity only, and from a mix", () => {
    const payload = bytes(1 << 20, 99);
    for (const [k, m] of [
      [8, 8],
      [16, 16],
    ] as const) {
      const shards = encodeShards(payload, k, m);
      const data = Array.from({ length: k }, (_, i) => i);
      const parity = Array.from({ length: m }, (_, i) => k + i);
      expectBytes(rebuildPayload(erase(shards, parity), k, m), payload);
      expectBytes(rebuildPayload(erase(shards, data), k, m), payload);
      const mixed = [...data.filter((i) => i % 2 === 1), ...parity.filter((i) => i % 2 === 0)];
      expectBytes(rebuildPayload(erase(shards, mixed), k, m), payload);
    }
  });

  it("property: a random payload survives the erasure of any ≤ m shards", () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 })).chain(([k, m]) =>
          fc.tuple(
            fc.constant(k),
            fc.constant(m),
            fc.uint8Array({ maxLength: 5000 }),
            fc.shuffledSubarray(
              Array.from({ length: k + m }, (_, i) => i),
              { maxLength: m },
            ),
          ),
        ),
        ([k, m, payload, erased]) => {
          const shards = encodeShards(payload, k, m);
          expectBytes(rebuildPayload(erase(shards, erased), k, m), payload);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("accepts a payload that is a view into a larger buffer (a pooled Buffer)", () => {
    const backing = bytes(4096, 5);
    const payload = Buffer.from(backing.buffer, 1001, 2000);
    const shards = encodeShards(payload, 4, 4);
    expectBytes(rebuildPayload(erase(shards, [0, 1, 2, 3]), 4, 4), new Uint8Array(payload));
  });
});

describe("errors", () => {
  const shards = encodeShards(bytes(3000, 3), 6, 3);

  it("throws when fewer than k shards are present", () => {
    expect(() => rebuildPayload(erase(shards, [0, 2, 4, 8]), 6, 3)).toThrow(
      "erasure code: 5 shards present, at least k = 6 needed",
    );
    expect(() => rebuildPayload(new Array<Uint8Array | null>(9).fill(null), 6, 3)).toThrow(/0 shards present/);
  });

  it("throws when the shards' sizes differ", () => {
    const partial = erase(shards, [1]);
    partial[7] = new Uint8Array(shards[7]!.length + 64);
    expect(() => rebuildPayload(partial, 6, 3)).toThrow(/shard sizes differ \(shard 0 has \d+ bytes, shard 7 \d+\)/);
  });

  it("throws on a shard size that is not a positive multiple of 64", () => {
    const odd = shards.map((s) => s.subarray(0, 100));
    expect(() => rebuildPayload(odd, 6, 3)).toThrow(/invalid shard size 100/);
    expect(() =>
      rebuildPayload(
        shards.map(() => new Uint8Array(0)),
        6,
        3,
      ),
    ).toThrow(/invalid shard size 0/);
  });

  it("throws when the shard slots are not k + m", () => {
    expect(() => rebuildPayload(shards.slice(0, 8), 6, 3)).toThrow(/expected 9 shard slots/);
  });

  it("throws when the recovered length does not fit the shards (wrong k, or shards of different payloads)", () => {
    // The same shards read as a 5+4 code: the prefix says 3000 bytes, which needs other shard sizes for k = 5.
    expect(() => rebuildPayload(shards, 5, 4)).toThrow(/recovered payload length does not fit/);
    // Shard 0 of a much longer payload, of the same shard size, mixed in: its length prefix does not fit.
    const other = encodeShards(bytes(3000, 4), 6, 3);
    const garbled = erase(other, [0]);
    garbled[0] = new Uint8Array(shards[0]!.length).fill(0xff);
    expect(() => rebuildPayload(garbled, 6, 3)).toThrow(/recovered payload length does not fit/);
  });
});

describe("no aliasing", () => {
  it("gives every shard its own buffer, none of them the payload's", () => {
    const payload = bytes(10_000, 11);
    const shards = encodeShards(payload, 8, 8);
    const buffers = new Set<ArrayBufferLike>([payload.buffer, ...shards.map((s) => s.buffer)]);
    expect(buffers.size).toBe(17);
    for (const shard of shards) expect(shard.byteOffset).toBe(0);
  });

  it("mutating the payload or one shard after encoding changes nothing else", () => {
    const payload = bytes(10_000, 12);
    const original = Uint8Array.from(payload);
    const shards = encodeShards(payload, 4, 4);
    const copies = shards.map((s) => Uint8Array.from(s));
    payload.fill(0xaa);
    shards[0]!.fill(0x55);
    shards[5]!.fill(0x55);
    for (let i = 0; i < shards.length; i++) if (i !== 0 && i !== 5) expectBytes(shards[i], copies[i]!, `shard ${i}`);
    expectBytes(rebuildPayload(erase(shards, [0, 5]), 4, 4), original);
  });

  it("a later encode or rebuild does not overwrite earlier results (the npm package's buffer-reuse bug)", () => {
    const a = bytes(50_000, 13);
    const b = bytes(50_000, 14);
    const shardsA = encodeShards(a, 16, 16);
    const copiesA = shardsA.map((s) => Uint8Array.from(s));
    const rebuiltA = rebuildPayload(erase(shardsA, [0, 1, 2, 3, 4, 5, 6, 7]), 16, 16);
    const shardsB = encodeShards(b, 16, 16);
    const rebuiltB = rebuildPayload(erase(shardsB, [0, 1, 2, 3, 4, 5, 6, 7]), 16, 16);
    shardsA.forEach((shard, i) => {
      expectBytes(shard, copiesA[i]!, `shard ${i}`);
    });
    expectBytes(rebuiltA, a);
    expectBytes(rebuiltB, b);
    expect(rebuiltA.buffer).not.toBe(rebuiltB.buffer);
  });

  it("the rebuilt payload is its own buffer: mutating it or the shards afterwards changes nothing else", () => {
    const payload = bytes(5000, 15);
    const shards = encodeShards(payload, 3, 2);
    for (const erased of [[], [1], [0, 4]]) {
      const partial = erase(shards, erased);
      const rebuilt = rebuildPayload(partial, 3, 2);
      expect(partial.some((s) => s?.buffer === rebuilt.buffer)).toBe(false);
      rebuilt.fill(0);
      expectBytes(rebuildPayload(partial, 3, 2), payload);
    }
  });
});
