import fc from "fast-check";
import { encodeAbiParameters, hexToBytes } from "viem";
import { describe, expect, it } from "vitest";
import {
  type BlockPayload,
  concatBytes,
  hashNamespaceLeaf,
  hashTransaction,
  MAX_NAMESPACE,
  merkleProof,
  merkleRoot,
  NAMESPACE_LEAF_ABI,
  type NamespaceAbsenceProof,
  type NamespaceInclusionProof,
  type NamespaceLeaf,
  type NamespaceProof,
  type NeighbourProof,
  namespaceLeaves,
  namespaceRoot,
  namespaceRootFromLeaves,
  OrdoError,
  proveNamespace,
  proveTransaction,
  sha256,
  type TransactionInclusionProof,
  toHex,
  validatePayloadOrder,
  verifyNamespaceAbsence,
  verifyNamespaceInclusion,
  verifyNamespaceProof,
  verifyTransactionInclusion,
  ZERO_HASH,
} from "../src/index.js";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const node = (a: Uint8Array, b: Uint8Array): Uint8Array => sha256(concatBytes(a, b));

function flipByte(data: Uint8Array, at = 0): Uint8Array {
  const copy = data.slice();
  const k = at % copy.length;
  copy[k] = (copy[k] as number) ^ 0x01;
  return copy;
}

/** Same path shape logic as in merkle.test.ts: which tree positions a (index, count) pair can denote. */
function pathShape(index: number, count: number): string {
  let shape = "";
  for (let m = count, i = index; m > 1; m = Math.ceil(m / 2), i = Math.floor(i / 2))
    if (!(i === m - 1 && m % 2 === 1)) shape += i % 2 === 0 ? "L" : "R";
  return shape;
}

function asAbsence(proof: NamespaceProof): NamespaceAbsenceProof {
  if (proof.kind !== "absence") throw new Error(`expected an absence proof, got ${proof.kind}`);
  return proof;
}

function asInclusion(proof: NamespaceProof): NamespaceInclusionProof {
  if (proof.kind !== "inclusion") throw new Error(`expected an inclusion proof, got ${proof.kind}`);
  return proof;
}

const payload: BlockPayload = {
  groups: [
    { namespace: 0, transactions: [bytes("system")] },
    { namespace: 7, transactions: [bytes("a"), bytes("b"), bytes("c")] },
    { namespace: 9, transactions: [new Uint8Array(0)] },
    { namespace: 1000, transactions: [bytes("x"), bytes("y")] },
    { namespace: MAX_NAMESPACE, transactions: [bytes("last")] },
  ],
};
const root = namespaceRoot(payload);

/** Random payloads: namespaces biased to the edges and to small clashing values; 0..20 txs, empty groups dropped. */
const namespaceArb = fc.oneof(
  fc.constantFrom(0, 1, MAX_NAMESPACE - 1, MAX_NAMESPACE),
  fc.integer({ min: 0, max: 40 }),
  fc.integer({ min: 0, max: MAX_NAMESPACE }),
);
const payloadArb: fc.Arbitrary<BlockPayload> = fc
  .uniqueArray(
    fc.record({
      namespace: namespaceArb,
      transactions: fc.array(fc.uint8Array({ maxLength: 70 }), { maxLength: 20 }),
    }),
    { selector: (g) => g.namespace, maxLength: 10 },
  )
  .map((groups) => ({
    groups: groups.filter((g) => g.transactions.length > 0).sort((a, b) => a.namespace - b.namespace),
  }));

/** A namespace that is often present, often right next to a present one, sometimes anywhere. */
const scenarioArb = payloadArb.chain((p) => {
  const present = p.groups.map((g) => g.namespace);
  const near = present.flatMap((ns) => [ns - 1, ns + 1]).filter((ns) => ns >= 0 && ns <= MAX_NAMESPACE);
  const picks = [...present, ...near, 0, MAX_NAMESPACE];
  return fc.tuple(fc.constant(p), fc.oneof(fc.constantFrom(...picks), namespaceArb));
});

/** A genuine leaf of the payload with its path, usable as either neighbour of an absence proof. */
function neighbourAt(p: BlockPayload, index: number): NeighbourProof {
  const leaves = namespaceLeaves(p);
  return { leaf: leaves[index]!, index, path: merkleProof(leaves.map(hashNamespaceLeaf), index) };
}

const txsOf = (p: BlockPayload, ns: number): Uint8Array[] =>
  p.groups.find((g) => g.namespace === ns)?.transactions ?? [];

describe("namespace leaves and root", () => {
  it("hashes a leaf as sha256 of viem's abi.encode(uint32, uint32, bytes32)", () => {
    const cases: NamespaceLeaf[] = [
      { namespace: 0, count: 1, txRoot: ZERO_HASH },
      { namespace: MAX_NAMESPACE, count: MAX_NAMESPACE, txRoot: sha256(bytes("r")) },
      { namespace: 0x01020304, count: 20, txRoot: new Uint8Array(32).fill(0xff) },
    ];
    for (const leaf of cases) {
      const encoded = hexToBytes(
        encodeAbiParameters(NAMESPACE_LEAF_ABI, [leaf.namespace, leaf.count, toHex(leaf.txRoot)]),
      );
      expect(encoded).toHaveLength(96);
      expect(hashNamespaceLeaf(leaf)).toEqual(sha256(encoded));
    }
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_NAMESPACE }),
        fc.integer({ min: 1, max: MAX_NAMESPACE }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (namespace, count, txRoot) => {
          const encoded = encodeAbiParameters(NAMESPACE_LEAF_ABI, [namespace, count, toHex(txRoot)]);
          expect(hashNamespaceLeaf({ namespace, count, txRoot })).toEqual(sha256(hexToBytes(encoded)));
        },
      ),
    );
  });

  it("builds one leaf per group: its namespace, tx count and the merkle root of its tx ids in block order", () => {
    const leaves = namespaceLeaves(payload);
    expect(leaves.map((l) => [l.namespace, l.count])).toEqual([
      [0, 1],
      [7, 3],
      [9, 1],
      [1000, 2],
      [MAX_NAMESPACE, 1],
    ]);
    const ids = ["a", "b", "c"].map((s) => hashTransaction(7, bytes(s)));
    expect(leaves[1]!.txRoot).toEqual(merkleRoot(ids));
    expect(leaves[1]!.txRoot).toEqual(node(node(ids[0]!, ids[1]!), ids[2]!));
    expect(leaves[0]!.txRoot).toEqual(hashTransaction(0, bytes("system")));
  });

  it("roots the tree at merkleRoot of the leaf hashes", () => {
    const hashes = namespaceLeaves(payload).map(hashNamespaceLeaf);
    expect(root).toEqual(merkleRoot(hashes));
    expect(namespaceRootFromLeaves(namespaceLeaves(payload))).toEqual(root);
    const [h0, h1, h2, h3, h4] = hashes as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    expect(root).toEqual(node(node(node(h0, h1), node(h2, h3)), h4));
  });

  it("gives the empty payload the zero root and a one-namespace payload its leaf hash", () => {
    expect(namespaceRoot({ groups: [] })).toEqual(ZERO_HASH);
    const single = { groups: [{ namespace: 5, transactions: [bytes("t")] }] };
    expect(namespaceRoot(single)).toEqual(hashNamespaceLeaf(namespaceLeaves(single)[0]!));
  });

  it("changes the root when transactions are reordered or moved to another namespace", () => {
    const reordered = structuredClone(payload);
    reordered.groups[1]!.transactions.reverse();
    expect(namespaceRoot(reordered)).not.toEqual(root);
    const moved = structuredClone(payload);
    moved.groups[1]!.namespace = 8;
    expect(namespaceRoot(moved)).not.toEqual(root);
  });
});

describe("validatePayloadOrder", () => {
  const tx = [bytes("t")];
  it("accepts the empty payload and groups in strictly increasing namespace order", () => {
    expect(validatePayloadOrder({ groups: [] })).toBeNull();
    expect(validatePayloadOrder(payload)).toBeNull();
  });

  it("reports unsorted or duplicate namespaces, empty groups and namespaces outside uint32", () => {
    const bad: unknown[] = [
      {
        groups: [
          { namespace: 2, transactions: tx },
          { namespace: 1, transactions: tx },
        ],
      },
      {
        groups: [
          { namespace: 2, transactions: tx },
          { namespace: 2, transactions: tx },
        ],
      },
      { groups: [{ namespace: 2, transactions: [] }] },
      { groups: [{ namespace: -1, transactions: tx }] },
      { groups: [{ namespace: 2 ** 32, transactions: tx }] },
      { groups: [{ namespace: 1.5, transactions: tx }] },
      { groups: [{ namespace: "1", transactions: tx }] },
      { groups: [{ namespace: 1, transactions: ["not bytes"] }] },
      { groups: [null] },
      { groups: "nope" },
      null,
    ];
    for (const p of bad) expect(validatePayloadOrder(p as BlockPayload)).toEqual(expect.any(String));
  });

  it("makes the root and proofs refuse an invalid payload with an INVALID_PAYLOAD error", () => {
    const unsorted = { groups: [...payload.groups].reverse() };
    for (const f of [() => namespaceRoot(unsorted), () => proveNamespace(unsorted, 7), () => namespaceLeaves(unsorted)])
      expect(f).toThrow(expect.objectContaining({ code: "INVALID_PAYLOAD" }));
    expect(() => namespaceRoot(unsorted)).toThrow(OrdoError);
  });
});

describe("namespace inclusion proofs", () => {
  it("prove the complete transaction list of each present namespace", () => {
    for (const [leafIndex, g] of payload.groups.entries()) {
      const proof = asInclusion(proveNamespace(payload, g.namespace));
      expect(proof).toMatchObject({ kind: "inclusion", namespace: g.namespace, leafIndex, leafCount: 5 });
      expect(verifyNamespaceInclusion(root, g.namespace, g.transactions, proof)).toBe(true);
      expect(verifyNamespaceProof(root, g.namespace, g.transactions, proof)).toBe(true);
    }
  });

  it("fail when a transaction is omitted, added, reordered or modified", () => {
    const proof = proveNamespace(payload, 7);
    const [a, b, c] = payload.groups[1]!.transactions as [Uint8Array, Uint8Array, Uint8Array];
    for (const txs of [[a, b], [a, b, c, c], [b, a, c], [a, b, flipByte(c)], [a, b, c, bytes("d")], []])
      expect(verifyNamespaceProof(root, 7, txs, proof)).toBe(false);
  });

  it("fail for another namespace, another root or an altered path", () => {
    const proof = asInclusion(proveNamespace(payload, 7));
    const txs = payload.groups[1]!.transactions;
    expect(verifyNamespaceInclusion(root, 8, txs, { ...proof, namespace: 8 })).toBe(false);
    expect(verifyNamespaceInclusion(root, 8, txs, proof)).toBe(false);
    expect(verifyNamespaceInclusion(flipByte(root), 7, txs, proof)).toBe(false);
    expect(
      verifyNamespaceInclusion(root, 7, txs, { ...proof, path: [flipByte(proof.path[0]!), ...proof.path.slice(1)] }),
    ).toBe(false);
    expect(verifyNamespaceInclusion(root, 7, txs, { ...proof, leafIndex: 2 })).toBe(false);
  });

  it("are plain data: a structured clone still verifies", () => {
    const proof = structuredClone(proveNamespace(payload, 1000));
    expect(verifyNamespaceProof(root, 1000, payload.groups[3]!.transactions, proof)).toBe(true);
  });
});

describe("namespace absence proofs", () => {
  it("use both neighbours for a namespace between two present ones", () => {
    const proof = asAbsence(proveNamespace(payload, 8));
    expect(proof.left).toMatchObject({ index: 1, leaf: { namespace: 7 } });
    expect(proof.right).toMatchObject({ index: 2, leaf: { namespace: 9 } });
    expect(verifyNamespaceAbsence(root, 8, proof)).toBe(true);
    expect(verifyNamespaceProof(root, 8, [], proof)).toBe(true);
  });

  it("use only the first leaf for a namespace below all, only the last for one above all", () => {
    const p = { groups: payload.groups.slice(1, 4) };
    const r = namespaceRoot(p);
    const below = asAbsence(proveNamespace(p, 0));
    expect(below.left).toBeUndefined();
    expect(below.right).toMatchObject({ index: 0, leaf: { namespace: 7 } });
    expect(verifyNamespaceAbsence(r, 0, below)).toBe(true);
    const above = asAbsence(proveNamespace(p, MAX_NAMESPACE));
    expect(above.right).toBeUndefined();
    expect(above.left).toMatchObject({ index: 2, leaf: { namespace: 1000 } });
    expect(verifyNamespaceAbsence(r, MAX_NAMESPACE, above)).toBe(true);
  });

  it("prove absence from an empty block by its zero root alone", () => {
    const proof = asAbsence(proveNamespace({ groups: [] }, 3));
    expect(proof).toEqual({ kind: "absence", namespace: 3, leafCount: 0 });
    expect(verifyNamespaceAbsence(ZERO_HASH, 3, proof)).toBe(true);
    expect(verifyNamespaceAbsence(ZERO_HASH, 3, { ...proof, left: null, right: null } as never)).toBe(true);
    expect(verifyNamespaceAbsence(root, 3, proof)).toBe(false);
    const neighbour = asAbsence(proveNamespace(payload, 3)).left!;
    expect(verifyNamespaceAbsence(ZERO_HASH, 3, { ...proof, left: neighbour })).toBe(false);
  });

  it("fail when given transactions, another namespace or a present namespace", () => {
    const proof = asAbsence(proveNamespace(payload, 8));
    expect(verifyNamespaceProof(root, 8, [bytes("a")], proof)).toBe(false);
    expect(verifyNamespaceAbsence(root, 9, proof)).toBe(false);
    // Relabel the proof for a neighbour's namespace: neighbours must be strictly below and above.
    expect(verifyNamespaceAbsence(root, 7, { ...proof, namespace: 7 })).toBe(false);
    expect(verifyNamespaceAbsence(root, 9, { ...proof, namespace: 9 })).toBe(false);
  });

  it("fail when neighbours are swapped, not adjacent, or one is dropped", () => {
    const proof = asAbsence(proveNamespace(payload, 8));
    const { left, right } = proof;
    expect(verifyNamespaceAbsence(root, 8, { ...proof, left: right, right: left })).toBe(false);
    expect(verifyNamespaceAbsence(root, 8, { ...proof, left: undefined })).toBe(false);
    expect(verifyNamespaceAbsence(root, 8, { ...proof, right: undefined })).toBe(false);
    expect(verifyNamespaceAbsence(root, 8, { kind: "absence", namespace: 8, leafCount: 5 })).toBe(false);
    // Skipping over present namespace 9 (leaves 1 and 3) to claim it is absent.
    const skip = { ...asAbsence(proveNamespace(payload, 8)), namespace: 9 };
    skip.right = asAbsence(proveNamespace(payload, 999)).right!;
    expect(skip.right.index).toBe(3);
    expect(verifyNamespaceAbsence(root, 9, skip)).toBe(false);
  });

  it("fail with an edge proof that is not at the edge or has the wrong leaf count", () => {
    const between = asAbsence(proveNamespace(payload, 8));
    expect(verifyNamespaceAbsence(root, 8, { ...between, left: undefined })).toBe(false);
    const above: NamespaceAbsenceProof = {
      kind: "absence",
      namespace: MAX_NAMESPACE,
      leafCount: 5,
      left: asAbsence(proveNamespace(payload, 1001)).left!,
    };
    expect(verifyNamespaceAbsence(root, MAX_NAMESPACE, above)).toBe(false);
    const p = { groups: payload.groups.slice(0, 3) };
    const last = asAbsence(proveNamespace(p, 100));
    expect(verifyNamespaceAbsence(namespaceRoot(p), 100, last)).toBe(true);
    expect(verifyNamespaceAbsence(namespaceRoot(p), 100, { ...last, leafCount: 4 })).toBe(false);
    expect(verifyNamespaceAbsence(namespaceRoot(p), 100, { ...last, leafCount: 0 })).toBe(false);
  });
});

describe("transaction inclusion proofs", () => {
  it("prove each transaction at its position in its namespace", () => {
    for (const g of payload.groups)
      for (const [txIndex, tx] of g.transactions.entries()) {
        const proof = proveTransaction(payload, g.namespace, txIndex);
        expect(proof).toMatchObject({ kind: "transaction", txIndex, leaf: { namespace: g.namespace } });
        expect(verifyTransactionInclusion(root, g.namespace, tx, proof)).toBe(true);
      }
  });

  it("fail for another transaction, index, namespace, leaf or root", () => {
    const proof = proveTransaction(payload, 7, 1);
    const tx = bytes("b");
    expect(verifyTransactionInclusion(root, 7, bytes("a"), proof)).toBe(false);
    expect(verifyTransactionInclusion(root, 7, tx, { ...proof, txIndex: 0 })).toBe(false);
    expect(verifyTransactionInclusion(root, 8, tx, proof)).toBe(false);
    expect(verifyTransactionInclusion(root, 8, tx, { ...proof, leaf: { ...proof.leaf, namespace: 8 } })).toBe(false);
    expect(verifyTransactionInclusion(root, 7, tx, { ...proof, leaf: { ...proof.leaf, count: 4 } })).toBe(false);
    expect(verifyTransactionInclusion(flipByte(root), 7, tx, proof)).toBe(false);
    expect(verifyTransactionInclusion(root, 7, tx, { ...proof, leafIndex: 2 })).toBe(false);
  });

  it("cannot be made for an absent namespace or an out-of-range index", () => {
    expect(() => proveTransaction(payload, 8, 0)).toThrow(expect.objectContaining({ code: "NAMESPACE_ABSENT" }));
    expect(() => proveTransaction(payload, 7, 3)).toThrow(expect.objectContaining({ code: "INDEX_OUT_OF_RANGE" }));
    expect(() => proveTransaction(payload, 7, -1)).toThrow(OrdoError);
    expect(() => proveNamespace(payload, -1)).toThrow(expect.objectContaining({ code: "INVALID_NAMESPACE" }));
  });
});

describe("properties over random payloads", () => {
  it("proofs for present and absent namespaces verify, and say which one they are", () => {
    fc.assert(
      fc.property(scenarioArb, ([p, ns]) => {
        const r = namespaceRoot(p);
        const txs = txsOf(p, ns);
        const proof = proveNamespace(p, ns);
        expect(proof.kind).toBe(txs.length > 0 ? "inclusion" : "absence");
        expect(verifyNamespaceProof(r, ns, txs, proof)).toBe(true);
        if (proof.kind === "inclusion") expect(verifyNamespaceInclusion(r, ns, txs, proof)).toBe(true);
        else expect(verifyNamespaceAbsence(r, ns, proof)).toBe(true);
      }),
    );
  });

  it("an inclusion proof fails after any change to the root, path, index or transaction list", () => {
    const present = payloadArb
      .filter((p) => p.groups.length > 0)
      .chain((p) => fc.tuple(fc.constant(p), fc.constantFrom(...p.groups.map((g) => g.namespace))));
    fc.assert(
      fc.property(present, fc.nat(), fc.nat({ max: 255 }), ([p, ns], pick, at) => {
        const r = namespaceRoot(p);
        const txs = txsOf(p, ns);
        const proof = asInclusion(proveNamespace(p, ns));
        const fails = (t: Uint8Array[], pr: NamespaceInclusionProof, rt = r, n = ns) =>
          expect(verifyNamespaceProof(rt, n, t, pr)).toBe(false);
        fails(txs, proof, flipByte(r, at));
        if (proof.path.length > 0) {
          const path = proof.path.slice();
          const k = pick % path.length;
          path[k] = flipByte(path[k]!, at);
          fails(txs, { ...proof, path });
        }
        fails(txs, { ...proof, leafIndex: (proof.leafIndex + 1 + (pick % proof.leafCount)) % (proof.leafCount + 1) });
        const k = pick % txs.length;
        fails(txs.toSpliced(k, 1), proof);
        fails(txs.toSpliced(k, 0, txs[k]!), proof);
        fails([...txs, new Uint8Array(at % 40)], proof);
        const modified = txs.slice();
        modified[k] = modified[k]!.length > 0 ? flipByte(modified[k]!, at) : new Uint8Array([at]);
        fails(modified, proof);
        const j = (k + 1) % txs.length;
        if (toHex(txs[j]!) !== toHex(txs[k]!)) {
          const swapped = txs.slice();
          [swapped[j], swapped[k]] = [txs[k]!, txs[j]!];
          fails(swapped, proof);
        }
        const other = ns === MAX_NAMESPACE ? ns - 1 : ns + 1;
        fails(txs, { ...proof, namespace: other }, r, other);
        // A present namespace has no absence proof: borrow the neighbours of a nearby absent namespace.
        const absent = p.groups.some((g) => g.namespace === other) ? undefined : asAbsence(proveNamespace(p, other));
        if (absent) expect(verifyNamespaceAbsence(r, ns, { ...absent, namespace: ns })).toBe(false);
      }),
    );
  });

  it("an inclusion proof with a tampered leaf count verifies only if it names the same tree position", () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat({ max: 25 }), ([p, ns], leafCount) => {
        const proof = proveNamespace(p, ns);
        if (proof.kind !== "inclusion") return;
        const ok = verifyNamespaceInclusion(namespaceRoot(p), ns, txsOf(p, ns), { ...proof, leafCount });
        const same =
          proof.leafIndex < leafCount &&
          pathShape(proof.leafIndex, leafCount) === pathShape(proof.leafIndex, proof.leafCount);
        expect(ok).toBe(same);
      }),
    );
  });

  it("an absence proof fails after any change to the root, neighbours, indexes or leaf count", () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat(), fc.nat({ max: 255 }), ([p, ns], pick, at) => {
        const proof = proveNamespace(p, ns);
        if (proof.kind !== "absence") return;
        const r = namespaceRoot(p);
        const fails = (pr: NamespaceAbsenceProof, rt = r) => expect(verifyNamespaceAbsence(rt, ns, pr)).toBe(false);
        fails(proof, flipByte(r, at));
        const { left, right, leafCount } = proof;
        if (!left && !right) {
          fails({ ...proof, leafCount: 1 + (pick % 5) });
          return;
        }
        for (const side of ["left", "right"] as const) {
          const n = proof[side];
          if (!n) continue;
          if (n.path.length > 0) {
            const path = n.path.slice();
            const k = pick % path.length;
            path[k] = flipByte(path[k]!, at);
            fails({ ...proof, [side]: { ...n, path } });
          }
          fails({ ...proof, [side]: { ...n, index: (n.index + 1 + (pick % leafCount)) % (leafCount + 1) } });
          fails({ ...proof, [side]: { ...n, leaf: { ...n.leaf, count: n.leaf.count + 1 } } });
          fails({ ...proof, [side]: { ...n, leaf: { ...n.leaf, txRoot: flipByte(n.leaf.txRoot, at) } } });
          fails({ ...proof, [side]: { ...n, leaf: { ...n.leaf, namespace: ns } } });
          // Relabelled for the neighbour's own (present) namespace.
          expect(verifyNamespaceAbsence(r, n.leaf.namespace, { ...proof, namespace: n.leaf.namespace })).toBe(false);
        }
        if (left && right) {
          fails({ ...proof, left: right, right: left });
          fails({ ...proof, left: undefined });
          fails({ ...proof, right: undefined });
        }
        // Any other genuine leaf as a neighbour skips a leaf or is on the wrong side.
        const k = pick % leafCount;
        const other = neighbourAt(p, k);
        if (k !== left?.index) fails({ ...proof, left: other });
        if (k !== right?.index) fails({ ...proof, right: other });
        // A changed leaf count must still describe the same positions for both neighbours (and keep edges at the edge).
        const count = pick % (2 * leafCount + 2);
        const samePositions = [left, right].every(
          (n) => !n || (n.index < count && pathShape(n.index, count) === pathShape(n.index, leafCount)),
        );
        const edgesHold = right ? true : left!.index === count - 1;
        expect(verifyNamespaceAbsence(r, ns, { ...proof, leafCount: count })).toBe(
          count > 0 && samePositions && edgesHold,
        );
      }),
    );
  });

  it("a transaction proof verifies for a random transaction and fails after any tampering", () => {
    const txCase = payloadArb
      .filter((p) => p.groups.length > 0)
      .chain((p) =>
        fc
          .constantFrom(...p.groups)
          .chain((g) => fc.tuple(fc.constant(p), fc.constant(g), fc.nat(g.transactions.length - 1))),
      );
    fc.assert(
      fc.property(txCase, fc.nat(), fc.nat({ max: 255 }), ([p, g, txIndex], pick, at) => {
        const r = namespaceRoot(p);
        const ns = g.namespace;
        const tx = g.transactions[txIndex]!;
        const proof = proveTransaction(p, ns, txIndex);
        expect(verifyTransactionInclusion(r, ns, tx, proof)).toBe(true);
        const fails = (pr: TransactionInclusionProof, data = tx, rt = r, n = ns) =>
          expect(verifyTransactionInclusion(rt, n, data, pr)).toBe(false);
        fails(proof, tx, flipByte(r, at));
        fails(proof, tx.length > 0 ? flipByte(tx, at) : new Uint8Array([at]));
        fails(proof, tx, r, ns === 0 ? 1 : ns - 1);
        const count = g.transactions.length;
        const otherTx = (txIndex + 1 + (pick % count)) % count;
        if (toHex(g.transactions[otherTx]!) !== toHex(tx)) fails({ ...proof, txIndex: otherTx });
        fails({ ...proof, txIndex: count });
        fails({ ...proof, leaf: { ...proof.leaf, count: count + 1 } });
        fails({ ...proof, leafIndex: (proof.leafIndex + 1 + (pick % proof.leafCount)) % (proof.leafCount + 1) });
        for (const key of ["txPath", "leafPath"] as const) {
          const path = proof[key].slice();
          if (path.length === 0) continue;
          const k = pick % path.length;
          path[k] = flipByte(path[k]!, at);
          fails({ ...proof, [key]: path });
        }
      }),
    );
  });

  it("verifiers return false and never throw on malformed proofs", () => {
    const inclusion = proveNamespace(payload, 7);
    const absence = proveNamespace(payload, 8);
    const txProof = proveTransaction(payload, 7, 0);
    const txs = payload.groups[1]!.transactions;
    const all = (proof: unknown, data: unknown = txs) => [
      verifyNamespaceProof(root, 7, data as Uint8Array[], proof as NamespaceProof),
      verifyNamespaceProof(root, 8, data as Uint8Array[], proof as NamespaceProof),
      verifyNamespaceInclusion(root, 7, data as Uint8Array[], proof as NamespaceInclusionProof),
      verifyNamespaceAbsence(root, 8, proof as NamespaceAbsenceProof),
      verifyTransactionInclusion(
        root,
        7,
        (data as Uint8Array[])?.[0] as Uint8Array,
        proof as TransactionInclusionProof,
      ),
    ];
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (proof, data) => {
        expect(all(proof, data)).toEqual([false, false, false, false, false]);
      }),
    );
    // Replace one field of a valid proof (or of a nested neighbour / leaf) by anything at all.
    const paths = [
      ...Object.keys(inclusion).map((k) => [inclusion, k]),
      ...Object.keys(absence).map((k) => [absence, k]),
      ...["leaf", "index", "path"].map((k) => [absence, `left.${k}`]),
      ...["namespace", "count", "txRoot"].map((k) => [absence, `right.leaf.${k}`]),
      ...Object.keys(txProof).map((k) => [txProof, k]),
      ...["namespace", "count", "txRoot"].map((k) => [txProof, `leaf.${k}`]),
    ] as [object, string][];
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.anything({ withTypedArray: true }), ([proof, path], value) => {
        const copy = structuredClone(proof) as Record<string, unknown>;
        const keys = path.split(".");
        let target = copy;
        for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
        target[keys.at(-1)!] = value;
        expect(() => all(copy)).not.toThrow();
        expect(() => all(copy, [])).not.toThrow();
      }),
    );
    expect(all(null)).toEqual([false, false, false, false, false]);
    expect(verifyNamespaceProof(root, 7, txs, { ...inclusion, kind: "absence" } as NamespaceProof)).toBe(false);
    expect(verifyNamespaceProof(root, 8, [], { ...absence, kind: "inclusion" } as NamespaceProof)).toBe(false);
    expect(verifyTransactionInclusion(root, 7, txs[0]!, { ...txProof, kind: "inclusion" } as never)).toBe(false);
  });
});
