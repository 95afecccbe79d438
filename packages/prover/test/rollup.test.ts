/** The rollup circuits: encoding, commitment, state transition, and real Groth16 and PLONK proofs with the committed artifacts. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { groth16, wtns } from "snarkjs";
import { afterAll, describe, expect, it } from "vitest";
import {
  AccountTree,
  applyTransfer,
  artifactPaths,
  BATCH_SIZE,
  type BatchProof,
  batchCommitment,
  buildWitnessInput,
  CIRCUITS,
  chunkBatches,
  DEPTH,
  decodeProofBundle,
  decodeTransfer,
  encodeProofBundle,
  encodeTransfer,
  FIELD,
  loadVerificationKey,
  MULTI_PROOF_CIRCUIT,
  poseidonHash,
  proveBatch,
  publicSignals,
  REFERENCE_CIRCUIT,
  referenceRollupGenesis,
  shutdownSnarkjs,
  TRANSFER_BYTES,
  type Transfer,
  transfersFromFinalized,
  U64_LIMIT,
  verifyBatch,
} from "../src/index.js";

afterAll(shutdownSnarkjs);

const paths = artifactPaths();
const verificationKey = loadVerificationKey() as { nPublic: number };
const manifestOf = (circuit = REFERENCE_CIRCUIT) =>
  JSON.parse(readFileSync(artifactPaths(circuit).manifest, "utf8")) as {
    depth: number;
    batchSize: number;
    constraints: number;
    provingSystems: string[];
    artifacts: Record<string, { sha256: string; bytes: number }>;
  };

const genesis = () =>
  new AccountTree(DEPTH, [
    { index: 0, balance: 1000n },
    { index: 1, balance: 50n },
    { index: 7, balance: 0n },
    { index: 63, balance: U64_LIMIT - 10n },
  ]);

async function proveAndVerify(state: AccountTree, transfers: Transfer[]) {
  const w = buildWitnessInput(state, transfers);
  const { proof, publicSignals: signals } = await proveBatch(w);
  expect(signals).toEqual(publicSignals(w));
  // The validators' side: the commitment comes from the finalized bytes, not from the prover.
  const commitment = batchCommitment(transfersFromFinalized(transfers.map(encodeTransfer)));
  expect(commitment).toBe(w.commitment);
  expect(await verifyBatch(verificationKey, { oldRoot: state.root, newRoot: w.newRoot, commitment }, proof)).toBe(true);
  return { w, proof };
}

describe("reference rollup", () => {
  it.each(CIRCUITS)("has artifacts for $name that match its manifest and the JS parameters", (circuit) => {
    const manifest = manifestOf(circuit);
    expect(manifest).toMatchObject({
      depth: circuit.depth,
      batchSize: circuit.batchSize,
      provingSystems: circuit.systems,
    });
    for (const system of circuit.systems)
      expect((loadVerificationKey(circuit, system) as { nPublic: number }).nPublic).toBe(3);
    const dir = dirname(artifactPaths(circuit).manifest);
    for (const [name, { sha256, bytes }] of Object.entries(manifest.artifacts)) {
      const data = readFileSync(join(dir, name));
      expect(data.length, name).toBe(bytes);
      expect(createHash("sha256").update(data).digest("hex"), name).toBe(sha256);
    }
    expect(Object.keys(manifest.artifacts).sort()).toEqual(
      ["circuit.wasm", ...circuit.systems.flatMap((s) => [`${s}.zkey`, `${s}.vkey.json`])].sort(),
    );
  });

  it("pins the reference circuit's size", () => {
    expect([REFERENCE_CIRCUIT.depth, REFERENCE_CIRCUIT.batchSize]).toEqual([DEPTH, BATCH_SIZE]);
    expect(manifestOf().constraints).toBe(15087);
  });

  it("encodes a transfer in 25 bytes, round-trips it, and refuses malformed bytes", () => {
    const tx = { from: 0xdeadbeef, to: 3, amount: U64_LIMIT - 1n, nonce: 258n };
    const b = encodeTransfer(tx);
    expect(b.length).toBe(TRANSFER_BYTES);
    expect(Buffer.from(b).toString("hex")).toBe("01deadbeef00000003ffffffffffffffff0000000000000102");
    expect(decodeTransfer(b)).toEqual(tx);
    expect(() => decodeTransfer(b.subarray(0, 24))).toThrow(RangeError);
    expect(() => decodeTransfer(new Uint8Array([...b, 0]))).toThrow(RangeError);
    const badTag = b.slice();
    badTag[0] = 2;
    expect(() => decodeTransfer(badTag)).toThrow(RangeError);
    expect(() => encodeTransfer({ ...tx, amount: U64_LIMIT })).toThrow(RangeError);
    expect(() => encodeTransfer({ ...tx, from: -1 })).toThrow(RangeError);
    const list = transfersFromFinalized([
      b,
      new Uint8Array(3),
      badTag,
      encodeTransfer({ from: 9, to: 9, amount: 0, nonce: 0 }),
    ]);
    expect(list).toEqual([tx, { from: 9, to: 9, amount: 0n, nonce: 0n }]);
    expect(chunkBatches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });

  it("commits to a batch's transfers, their order and their count (pinned vector)", () => {
    const a = { from: 1, to: 2, amount: 3n, nonce: 4n };
    const b = { from: 2, to: 1, amount: 3n, nonce: 0n };
    expect(batchCommitment([a])).toBe(poseidonHash([1n, poseidonHash([0n, 1n, 2n, 3n, 4n])]));
    expect(batchCommitment([a, b])).not.toBe(batchCommitment([b, a]));
    expect(batchCommitment([a])).not.toBe(batchCommitment([a, a]));
    expect(batchCommitment([a, b]).toString()).toBe(
      "8893320714789216057179434292216602547011361786731158051667277346207691481786",
    );
  });

  it("applies valid transfers and skips invalid ones deterministically, changing nothing", () => {
    const s = genesis();
    expect(applyTransfer(s, { from: 0, to: 1, amount: 100n, nonce: 0n })).toEqual({ applied: true });
    expect(s.getAccount(0)).toEqual({ balance: 900n, nonce: 1n });
    expect(applyTransfer(s, { from: 1, to: 1, amount: 150n, nonce: 0n })).toEqual({ applied: true });
    expect(s.getAccount(1)).toEqual({ balance: 150n, nonce: 1n });
    const root = s.root;
    for (const [tx, reason] of [
      [{ from: 1, to: 2, amount: 151n, nonce: 1n }, "insufficient-balance"],
      [{ from: 1, to: 2, amount: 1n, nonce: 0n }, "bad-nonce"],
      [{ from: 64, to: 2, amount: 1n, nonce: 0n }, "from-out-of-range"],
      [{ from: 1, to: 2 ** 32 - 1, amount: 1n, nonce: 1n }, "to-out-of-range"],
      [{ from: 0, to: 63, amount: 11n, nonce: 1n }, "recipient-overflow"],
    ] as const)
      expect(applyTransfer(s, tx)).toEqual({ applied: false, reason });
    expect(s.root).toBe(root);
    const fresh = new AccountTree(
      DEPTH,
      [0, 1, 7, 63].map((index) => ({ index, ...s.getAccount(index) })),
    );
    expect(fresh.root).toBe(s.root);
  });

  let full: { w: ReturnType<typeof buildWitnessInput>; proof: BatchProof } | undefined;

  it("proves a full batch with Groth16, and the proof verifies", async () => {
    const s = genesis();
    full = await proveAndVerify(s, [
      { from: 0, to: 7, amount: 400n, nonce: 0n },
      { from: 7, to: 1, amount: 399n, nonce: 0n },
    ]);
    expect(full.w.results).toEqual([{ applied: true }, { applied: true }]);
    expect(full.w.state.getAccount(7)).toEqual({ balance: 1n, nonce: 1n });
    expect(s.getAccount(7)).toEqual({ balance: 0n, nonce: 0n }); // the input state is untouched
  }, 60_000);

  it("binds a proof to its old root, new root and batch commitment", async () => {
    const { w, proof } = full as NonNullable<typeof full>;
    const good = { oldRoot: w.oldRoot, newRoot: w.newRoot, commitment: w.commitment };
    expect(await verifyBatch(verificationKey, { ...good, newRoot: w.newRoot + 1n }, proof)).toBe(false);
    expect(await verifyBatch(verificationKey, { ...good, oldRoot: w.newRoot }, proof)).toBe(false);
    const other = [
      { from: 0, to: 7, amount: 401n, nonce: 0n },
      { from: 7, to: 1, amount: 399n, nonce: 0n },
    ];
    expect(await verifyBatch(verificationKey, { ...good, commitment: batchCommitment(other) }, proof)).toBe(false);
    expect(await verifyBatch(verificationKey, { ...good, commitment: batchCommitment(other.slice(0, 1)) }, proof)).toBe(
      false,
    );
  }, 60_000);

  it("proves a partly filled batch whose invalid transfers are no-ops", async () => {
    const s = genesis();
    const { w } = await proveAndVerify(s, [{ from: 1, to: 0, amount: 51n, nonce: 0n }]);
    expect(w.results).toEqual([{ applied: false, reason: "insufficient-balance" }]);
    expect(w.newRoot).toBe(s.root);
  }, 60_000);

  it("cannot make a proof that applies an overdraft", async () => {
    const s = genesis();
    const tx = { from: 1, to: 0, amount: 51n, nonce: 0n };
    const w = buildWitnessInput(s, [tx]);
    // The root the state would have with the overdraft applied (the balance wraps around the field).
    const forced = s.clone();
    forced.writeLeafUnchecked(1, (50n - 51n + FIELD) % FIELD, 1n);
    forced.setAccount(0, { balance: 1051n, nonce: 0n });
    await expect(
      wtns.calculate({ ...w.input, newRoot: forced.root.toString() }, paths.wasm, { type: "mem" }),
    ).rejects.toThrow(/Assert Failed/);
    // Lying about the sender's balance fails the leaf's Merkle check.
    const lie = buildWitnessInput(
      new AccountTree(DEPTH, [
        { index: 0, balance: 1000n },
        { index: 1, balance: 51n },
        { index: 7, balance: 0n },
        { index: 63, balance: U64_LIMIT - 10n },
      ]),
      [tx],
    );
    await expect(
      wtns.calculate({ ...lie.input, oldRoot: s.root.toString() }, paths.wasm, { type: "mem" }),
    ).rejects.toThrow(/Assert Failed/);
    // And snarkjs's prover does not check the witness: a forged public signal gives a proof that fails.
    const witness: { type: "mem"; data?: Uint8Array } = { type: "mem" };
    await wtns.calculate(w.input, paths.wasm, witness);
    const forgedSignals = publicSignals({ oldRoot: w.oldRoot, newRoot: forced.root, commitment: w.commitment });
    const { proof } = await groth16.prove(paths.zkey("groth16"), witness);
    expect(await groth16.verify(verificationKey, forgedSignals, proof)).toBe(false);
  }, 60_000);

  it("proves a multi-proof batch with Groth16 and with PLONK; each verifies only its own statement", async () => {
    const c = MULTI_PROOF_CIRCUIT;
    const s = referenceRollupGenesis(c);
    const w = buildWitnessInput(s, [{ from: 2, to: 15, amount: 250n, nonce: 0n }], c.batchSize);
    expect(w.results).toEqual([{ applied: true }]);
    const inputs = { oldRoot: w.oldRoot, newRoot: w.newRoot, commitment: w.commitment };
    const bundle = encodeProofBundle({
      groth16: (await proveBatch(w, { circuit: c, system: "groth16" })).proof,
      plonk: (await proveBatch(w, { circuit: c, system: "plonk" })).proof,
    });
    const decoded = decodeProofBundle(bundle);
    for (const system of c.systems) {
      const proof = decoded?.[system] as BatchProof;
      const key = loadVerificationKey(c, system);
      expect(await verifyBatch(key, inputs, proof, system), system).toBe(true);
      expect(await verifyBatch(key, { ...inputs, newRoot: w.oldRoot }, proof, system), system).toBe(false);
    }
    // A proof of one system is no proof in the other, and a malformed proof is an invalid one, not an error.
    expect(await verifyBatch(loadVerificationKey(c, "plonk"), inputs, decoded?.groth16 as BatchProof, "plonk")).toBe(
      false,
    );
    expect(await verifyBatch(loadVerificationKey(c, "groth16"), inputs, decoded?.plonk as BatchProof, "groth16")).toBe(
      false,
    );
  }, 120_000);

  it("decodes a proof bundle only as a JSON object keyed by known proof systems", () => {
    expect(decodeProofBundle(encodeProofBundle({}))).toEqual({});
    for (const bad of ["[1]", "null", '"x"', '{"stark":{}}', '{"groth16":1}', "{", "\xff"])
      expect(decodeProofBundle(new TextEncoder().encode(bad)), bad).toBeNull();
    expect(decodeProofBundle(new Uint8Array([0xff, 0xfe]))).toBeNull();
  });
});
