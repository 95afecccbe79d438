import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { concatBytes, sha256, toHex, ZERO_HASH } from "../src/index.js";
import { merkleProof, merkleRoot, verifyMerkleProof } from "../src/tree/merkle.js";

const leafOf = (i: number): Uint8Array => sha256(new TextEncoder().encode(`leaf ${i}`.padEnd(96, ".")));
const leavesOf = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => leafOf(i));
const node = (a: Uint8Array, b: Uint8Array): Uint8Array => sha256(concatBytes(a, b));

/** The tree rule written as plainly as possible: pair up each level, carry an odd last node. */
function referenceRoot(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return ZERO_HASH;
  let level = leaves;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const right = level[i + 1];
      next.push(right === undefined ? level[i]! : node(level[i]!, right));
    }
    level = next;
  }
  return level[0]!;
}

/** Left/right position of a node at each level where it has a sibling, bottom-up. */
function pathShape(index: number, count: number): string {
  let shape = "";
  for (let m = count, i = index; m > 1; m = Math.ceil(m / 2), i = Math.floor(i / 2))
    if (!(i === m - 1 && m % 2 === 1)) shape += i % 2 === 0 ? "L" : "R";
  return shape;
}

function flipByte(bytes: Uint8Array, at = 0): Uint8Array {
  const copy = bytes.slice();
  const k = at % copy.length;
  copy[k] = (copy[k] as number) ^ 0x01;
  return copy;
}

const leafArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
// Distinct leaves: with repeated leaves, identical subtrees legitimately let a proof verify at another index.
const treeArb = fc
  .uniqueArray(leafArb, { minLength: 1, maxLength: 70, selector: (leaf) => toHex(leaf) })
  .chain((leaves) => fc.tuple(fc.constant(leaves), fc.nat({ max: leaves.length - 1 })));

describe("merkleRoot", () => {
  it("returns 32 zero bytes for the empty tree", () => {
    expect(merkleRoot([])).toEqual(ZERO_HASH);
  });

  it("returns a single leaf unchanged as the root", () => {
    const [a] = leavesOf(1);
    expect(merkleRoot([a!])).toEqual(a);
  });

  it("hashes two leaves as sha256(left ‖ right)", () => {
    const [a, b] = leavesOf(2) as [Uint8Array, Uint8Array];
    expect(merkleRoot([a, b])).toEqual(node(a, b));
    expect(merkleRoot([b, a])).toEqual(node(b, a));
  });

  it("carries an odd last node up unchanged instead of duplicating it", () => {
    const [a, b, c, d, e] = leavesOf(5) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    expect(merkleRoot([a, b, c])).toEqual(node(node(a, b), c));
    expect(merkleRoot([a, b, c, d, e])).toEqual(node(node(node(a, b), node(c, d)), e));
    expect(merkleRoot([a, b, c])).not.toEqual(merkleRoot([a, b, c, c]));
  });

  it("matches the level-by-level reference for every size from 0 to 70", () => {
    for (let n = 0; n <= 70; n++) expect(merkleRoot(leavesOf(n))).toEqual(referenceRoot(leavesOf(n)));
  });

  it("matches the reference on random leaves", () => {
    fc.assert(
      fc.property(fc.array(leafArb, { maxLength: 100 }), (leaves) => {
        expect(merkleRoot(leaves)).toEqual(referenceRoot(leaves));
      }),
    );
  });

  it("leaves the input array untouched", () => {
    const leaves = leavesOf(9);
    const before = leaves.slice();
    merkleRoot(leaves);
    merkleProof(leaves, 4);
    expect(leaves).toEqual(before);
  });

  it("rejects leaves that are not 32-byte hashes", () => {
    expect(() => merkleRoot([new Uint8Array(31)])).toThrow(TypeError);
    expect(() => merkleRoot([leafOf(0), new Uint8Array(64)])).toThrow(TypeError);
  });

  it("computes the root of 100k leaves", () => {
    const leaves = Array.from({ length: 100_000 }, (_, i) => {
      const h = new Uint8Array(32);
      new DataView(h.buffer).setUint32(0, i);
      return h;
    });
    expect(merkleRoot(leaves)).toEqual(referenceRoot(leaves));
  });
});

describe("merkleProof / verifyMerkleProof", () => {
  it("verifies every leaf of every tree size up to 40", () => {
    for (let n = 1; n <= 40; n++) {
      const leaves = leavesOf(n);
      const root = merkleRoot(leaves);
      for (let i = 0; i < n; i++) {
        const proof = merkleProof(leaves, i);
        expect(proof).toHaveLength(pathShape(i, n).length);
        expect(verifyMerkleProof(leaves[i]!, i, n, proof, root)).toBe(true);
      }
    }
  });

  it("skips the levels where the node is carried up", () => {
    const [a, b, c, d, e] = leavesOf(5) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    expect(merkleProof([a, b, c], 2)).toEqual([node(a, b)]);
    expect(merkleProof([a, b, c], 0)).toEqual([b, c]);
    expect(merkleProof([a, b, c, d, e], 4)).toEqual([node(node(a, b), node(c, d))]);
    expect(merkleProof([a], 0)).toEqual([]);
  });

  it("throws when asked for a proof of an index outside the tree", () => {
    const leaves = leavesOf(3);
    for (const bad of [-1, 3, 1.5, Number.NaN]) expect(() => merkleProof(leaves, bad)).toThrow(RangeError);
    expect(() => merkleProof([], 0)).toThrow(RangeError);
  });

  it("rejects a different leaf, a flipped root byte and a flipped path byte", () => {
    const leaves = leavesOf(11);
    const root = merkleRoot(leaves);
    const proof = merkleProof(leaves, 6);
    expect(verifyMerkleProof(leaves[7]!, 6, 11, proof, root)).toBe(false);
    expect(verifyMerkleProof(leaves[6]!, 6, 11, proof, flipByte(root, 31))).toBe(false);
    for (let k = 0; k < proof.length; k++) {
      const tampered = proof.slice();
      tampered[k] = flipByte(tampered[k]!, 5);
      expect(verifyMerkleProof(leaves[6]!, 6, 11, tampered, root)).toBe(false);
    }
  });

  it("rejects every other index under the same count", () => {
    const leaves = leavesOf(13);
    const root = merkleRoot(leaves);
    for (let i = 0; i < 13; i++)
      for (let j = 0; j < 13; j++)
        expect(verifyMerkleProof(leaves[i]!, j, 13, merkleProof(leaves, i), root)).toBe(i === j);
  });

  it("rejects proofs with a sibling too many or too few", () => {
    const leaves = leavesOf(8);
    const root = merkleRoot(leaves);
    const proof = merkleProof(leaves, 3);
    expect(verifyMerkleProof(leaves[3]!, 3, 8, [...proof, leafOf(99)], root)).toBe(false);
    expect(verifyMerkleProof(leaves[3]!, 3, 8, proof.slice(0, -1), root)).toBe(false);
    expect(verifyMerkleProof(leaves[3]!, 3, 8, [], root)).toBe(false);
  });

  it("rejects an index at or past the count and counts whose tree shape differs from the proof", () => {
    const leaves = leavesOf(6);
    const root = merkleRoot(leaves);
    const proof = merkleProof(leaves, 5);
    expect(verifyMerkleProof(leaves[5]!, 5, 5, proof, root)).toBe(false);
    expect(verifyMerkleProof(leaves[5]!, 6, 6, proof, root)).toBe(false);
    expect(verifyMerkleProof(leaves[5]!, 5, 7, proof, root)).toBe(false);
    expect(verifyMerkleProof(leaves[5]!, 5, 0x1_0000_0000, proof, root)).toBe(false);
  });

  it("does not bind the count: a count giving the same path shape also verifies (root does not commit to it)", () => {
    const [a, b, c] = leavesOf(3) as [Uint8Array, Uint8Array, Uint8Array];
    const root = merkleRoot([a, b, c]);
    expect(pathShape(0, 3)).toBe(pathShape(0, 4));
    expect(verifyMerkleProof(a, 0, 4, merkleProof([a, b, c], 0), root)).toBe(true);
  });

  it("accepts a tampered count exactly when it gives the same path shape", () => {
    fc.assert(
      fc.property(treeArb, fc.nat({ max: 150 }), ([leaves, index], count) => {
        const n = leaves.length;
        const proof = merkleProof(leaves, index);
        const expected = index < count && pathShape(index, count) === pathShape(index, n);
        expect(verifyMerkleProof(leaves[index]!, index, count, proof, merkleRoot(leaves))).toBe(expected);
      }),
    );
  });

  it("verifies the proof of a random leaf and rejects any tampering", () => {
    fc.assert(
      fc.property(treeArb, fc.nat(), fc.nat({ max: 255 }), ([leaves, index], pick, at) => {
        const n = leaves.length;
        const leaf = leaves[index]!;
        const root = merkleRoot(leaves);
        const proof = merkleProof(leaves, index);
        expect(verifyMerkleProof(leaf, index, n, proof, root)).toBe(true);
        expect(verifyMerkleProof(flipByte(leaf, at), index, n, proof, root)).toBe(false);
        expect(verifyMerkleProof(leaf, index, n, proof, flipByte(root, at))).toBe(false);
        if (proof.length > 0) {
          const tampered = proof.slice();
          const k = pick % proof.length;
          tampered[k] = flipByte(tampered[k]!, at);
          expect(verifyMerkleProof(leaf, index, n, tampered, root)).toBe(false);
          expect(verifyMerkleProof(leaf, index, n, proof.slice(1), root)).toBe(false);
        }
        expect(verifyMerkleProof(leaf, index, n, [...proof, root], root)).toBe(false);
        const other = (index + 1 + (pick % n)) % n;
        if (other !== index) expect(verifyMerkleProof(leaf, other, n, proof, root)).toBe(false);
      }),
    );
  });

  it("returns false instead of throwing on malformed input", () => {
    const leaves = leavesOf(5);
    const root = merkleRoot(leaves);
    const proof = merkleProof(leaves, 1);
    const leaf = leaves[1]!;
    const junk: unknown[] = [undefined, null, 0, -1, 1.5, Number.NaN, Infinity, "1", {}, [], new Uint8Array(31)];
    for (const x of junk) {
      expect(verifyMerkleProof(x as Uint8Array, 1, 5, proof, root)).toBe(false);
      expect(verifyMerkleProof(leaf, x as number, 5, proof, root)).toBe(false);
      expect(verifyMerkleProof(leaf, 1, x as number, proof, root)).toBe(false);
      expect(verifyMerkleProof(leaf, 1, 5, x as Uint8Array[], root)).toBe(false);
      expect(verifyMerkleProof(leaf, 1, 5, [x as Uint8Array, ...proof.slice(1)], root)).toBe(false);
      expect(verifyMerkleProof(leaf, 1, 5, proof, x as Uint8Array)).toBe(false);
    }
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), fc.anything(), (a, b, c, d) => {
        expect(verifyMerkleProof(a as Uint8Array, b as number, c as number, d as Uint8Array[], root)).toBe(false);
      }),
    );
  });
});
