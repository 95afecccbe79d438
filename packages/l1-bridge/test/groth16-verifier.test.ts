/** RollupBatchVerifier on a real anvil: real Groth16 proofs of the reference rollup circuit, one at a time and batched. */
import {
  buildWitnessInput,
  type Groth16Proof,
  proveBatch,
  REFERENCE_CIRCUIT,
  referenceRollupGenesis,
  shutdownSnarkjs,
  verifyingKeyHash,
} from "@ordo/prover";
import fc from "fast-check";
import {
  type Address,
  createPublicClient,
  createWalletClient,
  decodeFunctionResult,
  encodeFunctionData,
  http,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANVIL_DEV_PRIVATE_KEY, type Anvil, startAnvil } from "../src/anvil.js";
import { RollupBatchVerifierAbi, RollupBatchVerifierBytecode } from "../src/generated/RollupBatchVerifier.js";
import {
  type Groth16ProofCalldata,
  type PublicInputsCalldata,
  proofToCalldata,
  publicInputsToCalldata,
  BN254_BASE_FIELD as Q,
  BN254_SCALAR_FIELD as R,
} from "../src/groth16-calldata.js";

const PORT = 27545;
const BATCHES = 4;

let anvil: Anvil;
let client: PublicClient;
let verifier: Address;
const account = privateKeyToAccount(ANVIL_DEV_PRIVATE_KEY);
/** A chain of BATCHES real proofs from the reference genesis: batch i+1's oldRoot is batch i's newRoot. */
const proofs: Groth16ProofCalldata[] = [];
const inputs: PublicInputsCalldata[] = [];
const snarkProofs: Groth16Proof[] = [];

beforeAll(async () => {
  anvil = await startAnvil({ port: PORT });
  const chain = { ...foundry, rpcUrls: { default: { http: [anvil.rpcUrl] } } };
  client = createPublicClient({ chain, transport: http(anvil.rpcUrl) });
  const wallet = createWalletClient({ account, chain, transport: http(anvil.rpcUrl) });
  const hash = await wallet.deployContract({ abi: RollupBatchVerifierAbi, bytecode: RollupBatchVerifierBytecode });
  const receipt = await client.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress) throw new Error("the verifier was not deployed");
  verifier = receipt.contractAddress;

  let state = referenceRollupGenesis();
  for (let i = 0; i < BATCHES; i++) {
    const w = buildWitnessInput(state, [
      { from: i, to: i + 1, amount: 100n + BigInt(i), nonce: 0n },
      { from: i + 8, to: i, amount: 7n, nonce: 0n },
    ]);
    const { proof, publicSignals } = await proveBatch(w);
    snarkProofs.push(proof as Groth16Proof);
    proofs.push(proofToCalldata(proof as Groth16Proof));
    inputs.push(publicInputsToCalldata(publicSignals));
    state = w.state;
  }
}, 180_000);

afterAll(async () => {
  await anvil?.stop();
  await shutdownSnarkjs();
});

const verifyProof = (proof: Groth16ProofCalldata, input: PublicInputsCalldata) =>
  client.readContract({
    address: verifier,
    abi: RollupBatchVerifierAbi,
    functionName: "verifyProof",
    args: [proof, input],
  });
const verifyProofs = (ps: readonly Groth16ProofCalldata[], is: readonly PublicInputsCalldata[]) =>
  client.readContract({ address: verifier, abi: RollupBatchVerifierAbi, functionName: "verifyProofs", args: [ps, is] });

/** `p` with word `i` replaced by `v`. */
const withWord = <T extends readonly bigint[]>(p: T, i: number, v: bigint): T =>
  p.map((x, j) => (j === i ? v : x)) as unknown as T;
/** The first `k` proofs of the chain, repeated. */
const take = <T>(xs: readonly T[], k: number): T[] => Array.from({ length: k }, (_, i) => xs[i % xs.length]!);

describe("groth16 calldata", () => {
  it("orders a snarkjs proof's words as the pairing precompile takes them", () => {
    const s = snarkProofs[0]!;
    const [bx, by] = [s.pi_b[0]!, s.pi_b[1]!];
    expect(proofs[0]).toEqual(
      [s.pi_a[0], s.pi_a[1], bx[1], bx[0], by[1], by[0], s.pi_c[0], s.pi_c[1]].map((v) => BigInt(v!)),
    );
  });

  it("refuses malformed proofs and public inputs", () => {
    const s = snarkProofs[0]!;
    const bad: unknown[] = [
      null,
      { ...s, protocol: "plonk" },
      { ...s, curve: "bls12381" },
      { ...s, pi_a: s.pi_a.slice(0, 2) },
      { ...s, pi_a: [s.pi_a[0], s.pi_a[1], "2"] },
      { ...s, pi_b: s.pi_b.slice(0, 2) },
      { ...s, pi_b: [s.pi_b[0], [s.pi_b[1]![0]], s.pi_b[2]] },
      { ...s, pi_c: [s.pi_c[0], "0x12", "1"] },
      { ...s, pi_c: [s.pi_c[0], Q.toString(), "1"] },
      { ...s, pi_c: [s.pi_c[0], 5, "1"] },
    ];
    for (const b of bad) expect(() => proofToCalldata(b as Groth16Proof)).toThrow(Error);
    expect(publicInputsToCalldata(["0", "1", (R - 1n).toString()])).toEqual([0n, 1n, R - 1n]);
    for (const b of [
      [],
      ["1", "2"],
      ["1", "2", "3", "4"],
      ["1", "2", R.toString()],
      ["1", "-2", "3"],
      ["1", "02", "3"],
    ])
      expect(() => publicInputsToCalldata(b)).toThrow(Error);
  });
});

describe("RollupBatchVerifier", () => {
  it("holds the reference circuit's verifying key hash", async () => {
    const onChain = await client.readContract({
      address: verifier,
      abi: RollupBatchVerifierAbi,
      functionName: "verifyingKeyHash",
    });
    expect(onChain).toBe(verifyingKeyHash(REFERENCE_CIRCUIT));
  });

  it("accepts each real proof with its public inputs", async () => {
    expect(inputs[1]![0]).toBe(inputs[0]![1]); // a chain: each batch starts at the last one's new root
    for (let i = 0; i < BATCHES; i++) expect(await verifyProof(proofs[i]!, inputs[i]!)).toBe(true);
  });

  it("accepts k real proofs in one multi-pairing (k = 1, 4, and 32 with repeats)", async () => {
    expect(await verifyProofs(proofs.slice(0, 1), inputs.slice(0, 1))).toBe(true);
    expect(await verifyProofs(proofs.slice(1, 2), inputs.slice(1, 2))).toBe(true);
    expect(await verifyProofs(proofs, inputs)).toBe(true);
    expect(await verifyProofs(take(proofs, 32), take(inputs, 32))).toBe(true);
  });

  it("rejects tampered proofs", async () => {
    const [p, input] = [proofs[0]!, inputs[0]!];
    const bad: Groth16ProofCalldata[] = [
      withWord(p, 1, Q - p[1]), // -A: still on the curve
      withWord(p, 6, p[6] + 1n), // C off the curve
      withWord(p, 0, p[0] + Q), // A.x not canonical (the same point mod Q)
      withWord(p, 3, p[3] + 1n), // B off the curve: the pairing precompile fails
      withWord(p, 2, Q), // B.x1 out of range
      withWord(withWord(p, 0, proofs[1]![0]), 1, proofs[1]![1]), // another proof's A
      withWord(withWord(p, 6, proofs[1]![6]), 7, proofs[1]![7]), // another proof's C
      withWord(withWord(p, 0, 0n), 1, 0n), // A at infinity
    ];
    for (const b of bad) {
      expect(await verifyProof(b, input)).toBe(false);
      expect(await verifyProofs([b], [input])).toBe(false);
    }
  });

  it("rejects tampered public inputs and inputs not below the scalar field order", async () => {
    const [p, input] = [proofs[1]!, inputs[1]!];
    const bad: PublicInputsCalldata[] = [
      withWord(input, 1, input[1] + 1n), // newRoot + 1
      withWord(input, 0, inputs[0]![0]), // another batch's oldRoot
      [input[1], input[0], input[2]], // oldRoot and newRoot swapped
      withWord(input, 2, input[2] + R), // the same commitment mod R, not canonical
      withWord(input, 0, R),
      withWord(input, 1, 2n ** 256n - 1n),
    ];
    for (const b of bad) {
      expect(await verifyProof(p, b)).toBe(false);
      expect(await verifyProofs([proofs[0]!, p], [inputs[0]!, b])).toBe(false);
    }
  });

  it("rejects empty batches and mismatched lengths", async () => {
    expect(await verifyProofs([], [])).toBe(false);
    expect(await verifyProofs(proofs, inputs.slice(0, 3))).toBe(false);
    expect(await verifyProofs(proofs.slice(0, 1), inputs.slice(0, 2))).toBe(false);
    expect(await verifyProofs([], inputs.slice(0, 1))).toBe(false);
  });

  it("rejects a batch with one bad proof among good ones, wherever it is", async () => {
    const k = 8;
    for (const at of [0, 3, k - 1]) {
      const ps = take(proofs, k);
      const is = take(inputs, k);
      is[at] = withWord(is[at]!, 1, is[at]![1] + 1n);
      expect(await verifyProofs(ps, is), `bad input at ${at}`).toBe(false);
      const ps2 = take(proofs, k);
      ps2[at] = withWord(ps2[at]!, 1, Q - ps2[at]![1]);
      expect(await verifyProofs(ps2, take(inputs, k)), `bad proof at ${at}`).toBe(false);
      const ps3 = take(proofs, k);
      ps3[at] = proofs[(at + 1) % BATCHES]!; // a valid proof of another batch
      expect(await verifyProofs(ps3, take(inputs, k)), `misplaced proof at ${at}`).toBe(false);
    }
  });

  it("never accepts nor reverts on random proofs (property)", async () => {
    const real = proofs.flatMap((p) => [...p]);
    const word = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
      fc.bigInt({ min: 0n, max: Q - 1n }),
      fc.constantFrom(...real),
    );
    // One word always random, so a mix of real words cannot rebuild a real proof.
    const proof = fc
      .tuple(fc.array(word, { minLength: 8, maxLength: 8 }), fc.nat({ max: 7 }), fc.bigInt({ min: 0n, max: Q - 1n }))
      .map(([ws, i, v]) => withWord(ws as unknown as Groth16ProofCalldata, i, v));
    // A real point A with a random rest, so calls also reach ecMul and the pairing with valid G1 points.
    const withRealA = fc
      .tuple(
        fc.nat({ max: BATCHES - 1 }),
        fc.array(fc.bigInt({ min: 0n, max: Q - 1n }), { minLength: 6, maxLength: 6 }),
      )
      .map(([j, rest]) => [proofs[j]![0], proofs[j]![1], ...rest] as unknown as Groth16ProofCalldata);
    const anyProof = fc.oneof(proof, withRealA);
    await fc.assert(
      fc.asyncProperty(anyProof, fc.nat({ max: BATCHES - 1 }), async (p, j) => {
        expect(await verifyProof(p, inputs[j]!)).toBe(false);
        expect(await verifyProofs([proofs[0]!, p], [inputs[0]!, inputs[j]!])).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it("reverts, rather than answering false, when given too little gas", async () => {
    const args = [proofs[0]!, inputs[0]!] as const;
    const gas = await client.estimateContractGas({
      address: verifier,
      abi: RollupBatchVerifierAbi,
      functionName: "verifyProof",
      args,
      account,
    });
    const data = encodeFunctionData({ abi: RollupBatchVerifierAbi, functionName: "verifyProof", args });
    const call = async (g: bigint) => {
      const { data: out } = await client.call({ account, to: verifier, data, gas: g });
      return decodeFunctionResult({ abi: RollupBatchVerifierAbi, functionName: "verifyProof", data: out! });
    };
    expect(await call(gas)).toBe(true);
    await expect(call(gas - 20_000n)).rejects.toThrow();
  });

  it("measures gas for k = 1, 4, 16, 32", async () => {
    // What no verifier of this design can avoid: the transaction's 21,000, its calldata (16 gas a nonzero byte,
    // 4 a zero byte) and the precompiles (EIP-1108): k + 3 pairings; an ecMul and an ecAdd for each public input
    // term and for r_i·C_i (i > 0), an ecMul for r_i·A_i (i > 0), and two for (sum r_i)·alpha and ·IC0 (k > 1).
    const floor = (data: `0x${string}`, pairs: number, muls: number, adds: number) => {
      const bytes = Buffer.from(data.slice(2), "hex");
      const calldata = bytes.reduce((g, b) => g + (b === 0 ? 4 : 16), 0);
      return BigInt(21_000 + calldata + 45_000 + 34_000 * pairs + 6_000 * muls + 150 * adds);
    };
    const rows: { call: string; k: number; gas: bigint; floor: bigint }[] = [];
    const single = [proofs[0]!, inputs[0]!] as const;
    rows.push({
      call: "verifyProof",
      k: 1,
      gas: await client.estimateContractGas({
        address: verifier,
        abi: RollupBatchVerifierAbi,
        functionName: "verifyProof",
        args: single,
        account,
      }),
      floor: floor(
        encodeFunctionData({ abi: RollupBatchVerifierAbi, functionName: "verifyProof", args: single }),
        4,
        3,
        3,
      ),
    });
    for (const k of [1, 4, 16, 32]) {
      const args = [take(proofs, k), take(inputs, k)] as const;
      const data = encodeFunctionData({ abi: RollupBatchVerifierAbi, functionName: "verifyProofs", args });
      rows.push({
        call: "verifyProofs",
        k,
        gas: await client.estimateContractGas({
          address: verifier,
          abi: RollupBatchVerifierAbi,
          functionName: "verifyProofs",
          args,
          account,
        }),
        floor: floor(data, k + 3, 3 + 2 * (k - 1) + (k > 1 ? 2 : 0), 3 + (k - 1)),
      });
    }
    const n = (x: bigint, w: number) => x.toLocaleString("en-US").padStart(w);
    console.log(
      [
        "RollupBatchVerifier, eth_estimateGas (whole transaction: 21,000 and calldata included)",
        "call          k         gas  gas/proof  tx+calldata+precompiles  rest",
        ...rows.map(
          (r) =>
            `${r.call.padEnd(13)} ${String(r.k).padStart(2)}  ${n(r.gas, 10)}  ${n(r.gas / BigInt(r.k), 9)}  ${n(r.floor, 23)}  ${n(r.gas - r.floor, 6)}`,
        ),
      ].join("\n"),
    );
    for (const r of rows) {
      expect(r.gas).toBeGreaterThan(r.floor);
      expect(r.gas - r.floor).toBeLessThan(15_000n + 5_000n * BigInt(r.k));
    }
  });
});
