/**
 * OrdoRollupBridge on a real anvil, with the real light client (BLS finality certificates and quorum checks),
 * the real Groth16 verifier and real proofs of the reference rollup circuit.
 */
import { randomBytes } from "node:crypto";
import {
  type BatchStatement,
  type BlockHeader,
  type BlockPayload,
  blstBackend,
  createBitmap,
  DOMAIN,
  generateValidatorKey,
  hashBatchStatement,
  hashHeader,
  hashValidatorSet,
  namespaceRoot,
  proofAttestationDigest,
  proveNamespace,
  toHex,
  type ValidatorKey,
  verifyNamespaceInclusion,
  voteDigest,
} from "@ordo/core";
import {
  batchCommitment,
  chunkBatches,
  encodeTransfer,
  type Groth16Proof,
  proveBatch,
  REFERENCE_CIRCUIT,
  RollupTracker,
  referenceRollupGenesis,
  shutdownSnarkjs,
  type TrackedBatch,
  transfersFromFinalized,
  verifyingKeyHash,
} from "@ordo/prover";
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  getContract,
  type Hex,
  http,
  isAddressEqual,
  type TransactionReceipt,
  zeroAddress,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANVIL_DEV_PRIVATE_KEY, type Anvil, startAnvil } from "../src/anvil.js";
import { OrdoLightClientAbi } from "../src/generated/OrdoLightClient.js";
import { OrdoRollupBridgeAbi } from "../src/generated/OrdoRollupBridge.js";
import { RollupBatchVerifierAbi, RollupBatchVerifierBytecode } from "../src/generated/RollupBatchVerifier.js";
import { type Groth16ProofCalldata, proofToCalldata } from "../src/groth16-calldata.js";
import { committeeArgs, deployLightClient, finalityCertificateArgs, g2ToEip2537 } from "../src/light-client.js";
import {
  attestedBatchArgs,
  BridgePath,
  deployRollupBridge,
  type ProvenBatchArgs,
  provenBatchArgs,
  statementsRoot,
} from "../src/rollup-bridge.js";

const PORT = 27645;
const CHAIN = 7;
const EPOCH = 1;
/** Rollup A: the proven path (Groth16). Rollups B and C: the attested path. */
const A = 1;
const B = 2;
const C = 3;
const JUNK = 9;
const STAKES = [10n, 20n, 30n, 40n];

const bls = blstBackend;
const account = privateKeyToAccount(ANVIL_DEV_PRIVATE_KEY);
const chain = { ...foundry, rpcUrls: { default: { http: [`http://127.0.0.1:${PORT}`] } } };
const pub = createPublicClient({ chain, transport: http() });
const wallet = createWalletClient({ account, chain, transport: http() });
/** The bridge's ABI with the light client's errors, which `verifyQuorum` reverts with through the bridge (the bridge
 * declares the same `StaleEpoch`). */
const ABI = [
  ...OrdoRollupBridgeAbi,
  ...OrdoLightClientAbi.filter((x) => x.type === "error" && x.name !== "StaleEpoch"),
];

const keys: ValidatorKey[] = STAKES.map(() => generateValidatorKey(bls, new Uint8Array(randomBytes(32))));
const validators = keys.map((k, i) => ({
  publicKey: k.publicKey,
  stake: STAKES[i]!,
  proofOfPossession: k.proofOfPossession,
}));
const committee = committeeArgs(validators);

let anvil: Anvil;
let lightClient: Address;
let verifier: Address;
let bridgeAddress: Address;
let poseidons: { poseidon2: Address; poseidon5: Address };
const bridge = () => getContract({ address: bridgeAddress, abi: ABI, client: { public: pub, wallet } });
/** Gas used per transaction, reported at the end. */
const gas: string[] = [];

beforeAll(async () => {
  anvil = await startAnvil({ port: PORT });
  const clients = { public: pub, wallet };
  lightClient = await deployLightClient(clients, { ordoChainId: CHAIN, epoch: EPOCH, committee });
  const hash = await wallet.deployContract({ abi: RollupBatchVerifierAbi, bytecode: RollupBatchVerifierBytecode });
  verifier = (await pub.waitForTransactionReceipt({ hash })).contractAddress!;
  const deployment = await deployRollupBridge(clients, { lightClient });
  bridgeAddress = deployment.bridge;
  poseidons = { poseidon2: deployment.poseidon2, poseidon5: deployment.poseidon5 };
}, 60_000);

afterAll(async () => {
  if (gas.length > 0) console.log(`gas (whole transaction, 21,000 base and calldata included):\n${gas.join("\n")}`);
  await anvil?.stop();
  await shutdownSnarkjs();
});

async function mined(hash: Promise<Hex>): Promise<TransactionReceipt> {
  const receipt = await pub.waitForTransactionReceipt({ hash: await hash });
  expect(receipt.status).toBe("success");
  return receipt;
}

/** The custom error (name and arguments) a simulated call reverts with. */
async function revertOf(p: Promise<unknown>): Promise<{ name: string; args: readonly unknown[] }> {
  try {
    await p;
  } catch (e) {
    const revert = e instanceof BaseError ? e.walk((x) => x instanceof ContractFunctionRevertedError) : null;
    if (revert instanceof ContractFunctionRevertedError && revert.data)
      return { name: revert.data.errorName, args: revert.data.args ?? [] };
    throw e;
  }
  throw new Error("the call did not revert");
}

const sign = (digest: Uint8Array, signers: number[]) => ({
  signerBitmap: toHex(createBitmap(keys.length, signers)),
  signature: g2ToEip2537(bls.aggregateSignatures(signers.map((i) => bls.sign(keys[i]!.secretKey, digest)))),
});

/** Finalizes a block with `payload` at `height` in the light client: a QC of all 4 validators commits its header. */
async function finalize(height: number, payload: BlockPayload): Promise<void> {
  const header: BlockHeader = {
    chainId: CHAIN,
    epoch: EPOCH,
    round: height + 1,
    height,
    parentHash: new Uint8Array(randomBytes(32)),
    namespaceRoot: namespaceRoot(payload),
    payloadHash: new Uint8Array(randomBytes(32)),
    validatorSetHash: hashValidatorSet({ epoch: EPOCH, validators }),
    proposer: 0,
    timestampMs: 1_700_000_000_000 + height,
  };
  const qc = {
    epoch: EPOCH,
    round: height + 2,
    blockHash: new Uint8Array(randomBytes(32)),
    committedHash: hashHeader(header),
  };
  const digest = voteDigest(CHAIN, qc.epoch, qc.round, qc.blockHash, qc.committedHash);
  const signature = bls.aggregateSignatures(keys.map((k) => bls.sign(k.secretKey, digest)));
  const qcFull = { ...qc, signers: createBitmap(keys.length, [0, 1, 2, 3]), signature };
  const lc = getContract({ address: lightClient, abi: OrdoLightClientAbi, client: { public: pub, wallet } });
  await mined(lc.write.submitFinalityCertificate(finalityCertificateArgs([header], qcFull, committee)));
}

const transfer = (from: number, to: number, amount: bigint, nonce: bigint) =>
  encodeTransfer({ from, to, amount, nonce });
const junk = (n: number) => new Uint8Array(randomBytes(n));

describe("the libraries, through the bridge's views", () => {
  it("rebuild a namespace's leaf from its transactions and check its path exactly as the core package", async () => {
    const c = bridge();
    for (let leaves = 1; leaves <= 7; leaves++) {
      const payload: BlockPayload = {
        groups: Array.from({ length: leaves }, (_, g) => ({
          namespace: 3 * g + 1,
          // Up to 5 transactions of 0 to 69 bytes (an empty transaction too).
          transactions: Array.from({ length: 1 + ((g * 7 + leaves) % 5) }, (_, t) => junk((g * 13 + t * 29) % 70)),
        })),
      };
      const root = namespaceRoot(payload);
      for (const group of payload.groups) {
        const proof = proveNamespace(payload, group.namespace);
        if (proof.kind !== "inclusion") throw new Error("expected an inclusion proof");
        const check = async (txs: Uint8Array[], leafIndex = proof.leafIndex, leafCount = proof.leafCount) => {
          const onChain = await c.read.verifyNamespaceInclusion([
            toHex(root),
            group.namespace,
            txs.map(toHex),
            leafIndex,
            leafCount,
            proof.path.map(toHex),
          ]);
          const inCore = verifyNamespaceInclusion(root, group.namespace, txs, { ...proof, leafIndex, leafCount });
          expect(onChain).toBe(inCore);
          return onChain;
        };
        const txs = group.transactions;
        expect(await check(txs)).toBe(true);
        expect(await check(txs.slice(0, -1))).toBe(false); // one missing
        expect(await check([...txs, junk(25)])).toBe(false); // one extra
        if (txs.length > 1) expect(await check([...txs].reverse())).toBe(false); // reordered
        if (leaves > 1) expect(await check(txs, proof.leafIndex ^ 1)).toBe(false); // another position
        if (leaves > 2) expect(await check(txs, proof.leafIndex, proof.leafCount + 8)).toBe(false); // inconsistent count
      }
    }
  });

  it("decode transfers, chunk them and compute the Poseidon commitment exactly as the prover package", async () => {
    const c = bridge();
    const max = (1n << 64n) - 1n;
    const blobs = [
      transfer(0, 1, 5n, 0n),
      junk(24),
      transfer(0xffff_ffff, 2, max, max),
      new Uint8Array([0x02, ...junk(24)]), // 25 bytes, another tag
      transfer(3, 0xffff_ffff, 0n, 7n),
      junk(26),
      transfer(4, 4, 1n, 1n),
      new Uint8Array(0),
      transfer(5, 6, 123_456n, 2n),
    ];
    const transfers = transfersFromFinalized(blobs);
    expect(transfers).toHaveLength(5);
    for (const size of [1, 2, 3, 5, 8]) {
      const chunks = chunkBatches(transfers, size);
      for (const [index, chunk] of chunks.entries()) {
        const [commitment, more] = await c.read.batchCommitment([blobs.map(toHex), index, size]);
        expect(commitment).toBe(batchCommitment(chunk));
        expect(more).toBe(index < chunks.length - 1);
      }
      const empty = await revertOf(c.read.batchCommitment([blobs.map(toHex), chunks.length, size]));
      expect(empty).toEqual({ name: "EmptyBatch", args: [BigInt(chunks.length), 5n] });
    }
    // A namespace without a single transfer makes no batch.
    expect((await revertOf(c.read.batchCommitment([[toHex(junk(25))], 0, 2]))).name).toBe("EmptyBatch");
  });

  it("hash statements and the attestation digest as the TS mirror", async () => {
    const c = bridge();
    expect(await c.read.ATTESTATION_TAG()).toBe(toHex(DOMAIN.proofAttestation));
    expect(await c.read.ordoChainId()).toBe(BigInt(CHAIN));
    const s = {
      namespace: 0xfeed_beef,
      height: Number.MAX_SAFE_INTEGER,
      index: 0xffff_fffe,
      oldRoot: 1n,
      newRoot: 2n ** 250n,
      commitment: 3n,
    };
    expect(await c.read.statementLeaf([s.namespace, { ...s, height: BigInt(s.height) }])).toBe(
      toHex(hashBatchStatement(s)),
    );
    const root = statementsRoot([s, { ...s, index: 1 }, { ...s, index: 2 }]);
    expect(await c.read.attestationDigest([toHex(root), 12n])).toBe(toHex(proofAttestationDigest(CHAIN, 12, root)));
  });
});

describe("registration", () => {
  it("refuses Poseidon contracts that do not give circomlib's answers", async () => {
    const clients = { public: pub, wallet };
    // Swapped: each reverts on the other's selector.
    const swapped = { lightClient, poseidon2: poseidons.poseidon5, poseidon5: poseidons.poseidon2 };
    await expect(deployRollupBridge(clients, swapped)).rejects.toThrow();
    // The right ones, given explicitly: no new Poseidon deployment.
    await expect(deployRollupBridge(clients, { lightClient, ...poseidons })).resolves.toBeDefined();
  });

  it("registers a rollup once, recording its verifier's key hash", async () => {
    const c = bridge();
    const genesis = referenceRollupGenesis().root;
    const receipt = await mined(c.write.registerRollup([A, genesis, verifier, false, REFERENCE_CIRCUIT.batchSize]));
    gas.push(`registerRollup (proven path, reads the key hash): ${receipt.gasUsed}`);
    const r = await c.read.rollup([A]);
    expect(r.admin).toBe(account.address);
    expect(r.stateRoot).toBe(genesis);
    expect(isAddressEqual(r.verifier, verifier)).toBe(true);
    expect(r.verifyingKeyHash).toBe(verifyingKeyHash(REFERENCE_CIRCUIT));
    expect(r.started).toBe(false);
    await mined(c.write.registerRollup([B, genesis, zeroAddress, true, 2]));
    await mined(c.write.registerRollup([C, genesis, zeroAddress, true, 2]));

    const sim = (ns: number, v: Address, attested: boolean, size: number, root = genesis) =>
      revertOf(c.simulate.registerRollup([ns, root, v, attested, size], { account }));
    expect((await sim(A, verifier, true, 2)).name).toBe("RollupExists");
    expect((await sim(0, verifier, false, 2)).name).toBe("ReservedNamespace");
    expect((await sim(50, zeroAddress, false, 2)).name).toBe("NoPathAccepted");
    expect((await sim(50, verifier, false, 0)).name).toBe("InvalidBatchSize");
    expect((await sim(50, verifier, false, 2, 2n ** 255n)).name).toBe("NotAFieldElement");
    expect(await revertOf(c.read.stateRoot([50]))).toEqual({ name: "UnknownRollup", args: [50] });
  });
});

/** A's finalized blocks: a transfer chain in namespace A among other namespaces' transactions. */
const blocks = new Map<number, BlockPayload>();
const trackerA = new RollupTracker(A);
/** A's batches in order, with their real Groth16 proofs. */
const batchesA: { batch: TrackedBatch; proof: Groth16ProofCalldata }[] = [];

function blockOf(transactions: Uint8Array[]): BlockPayload {
  return {
    groups: [
      { namespace: A, transactions },
      { namespace: B, transactions: [junk(40)] },
      { namespace: JUNK, transactions: [junk(25), junk(3)] },
    ],
  };
}

/** `n` valid transfers among accounts 0–15 of the reference genesis, each sender's nonce in order. */
function transfers(n: number, nonces: bigint[]): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const from = (i * 5) % 16;
    const tx = transfer(from, (from + 1 + i) % 16, BigInt(10 + i), nonces[from]!);
    nonces[from]! += 1n;
    return tx;
  });
}

const args = (i: number, over: Partial<ProvenBatchArgs> = {}): ProvenBatchArgs => {
  const { batch } = batchesA[i]!;
  return {
    ...provenBatchArgs({
      payload: blocks.get(batch.height)!,
      namespace: A,
      height: batch.height,
      index: batch.index,
      oldRoot: batch.oldRoot,
      newRoot: batch.newRoot,
    }),
    ...over,
  };
};
const proofOf = (i: number) => batchesA[i]!.proof;

describe("the proven path", () => {
  beforeAll(async () => {
    const nonces = new Array<bigint>(16).fill(0n);
    // Height 10: 3 transfers (and an undecodable transaction) make batches (10,0) and (10,1); height 11: 4 make
    // 2; height 12: 7 make 4; height 13: 14 make 7. Batches are then submitted k = 1, 2, 4 and 8 at a time.
    const plan: [number, Uint8Array[]][] = [
      [10, (([t0, t1, t2]) => [t0!, junk(30), t1!, t2!])(transfers(3, nonces))],
      [11, transfers(4, nonces)],
      [12, transfers(7, nonces)],
      [13, transfers(14, nonces)],
    ];
    for (const [height, txs] of plan) {
      blocks.set(height, blockOf(txs));
      await finalize(height, blocks.get(height)!);
      for (const batch of trackerA.finalize(height, txs)) {
        const { proof } = await proveBatch(trackerA.witness(batch.height, batch.index)!);
        batchesA.push({ batch, proof: proofToCalldata(proof as Groth16Proof) });
      }
    }
    expect(batchesA.map((b) => `${b.batch.height}/${b.batch.index}`).slice(0, 4)).toEqual([
      "10/0",
      "10/1",
      "11/0",
      "11/1",
    ]);
    // A block with namespace A that the light client never finalizes.
    blocks.set(20, blockOf(transfers(2, [...nonces])));
  }, 300_000);

  const submit = (batches: ProvenBatchArgs[], proofs: Groth16ProofCalldata[]) =>
    bridge().simulate.submitProvenBatches([A, batches, proofs], { account });

  it("rejects, with its custom error, each way a submission can be wrong", async () => {
    const c = bridge();
    const reject = async (batches: ProvenBatchArgs[], proofs: Groth16ProofCalldata[]) =>
      revertOf(submit(batches, proofs));
    // A height the light client never finalized (the transactions and proof are otherwise those of batch 0).
    const unfinal = {
      ...provenBatchArgs({ payload: blocks.get(20)!, namespace: A, height: 20, index: 0, oldRoot: 0n, newRoot: 0n }),
      oldRoot: args(0).oldRoot,
      newRoot: args(0).newRoot,
    };
    expect(await reject([unfinal], [proofOf(0)])).toEqual({ name: "BatchNotFinal", args: [20n] });
    // The namespace's transactions with one missing.
    const missing = args(0);
    expect(await reject([{ ...missing, transactions: missing.transactions.slice(0, -1) }], [proofOf(0)])).toEqual({
      name: "NamespaceProofInvalid",
      args: [10n],
    });
    // Batch (10,1) before (10,0).
    expect(await reject([args(1)], [proofOf(1)])).toEqual({ name: "BatchOutOfOrder", args: [10n, 1] });
    // An old root that is not the chain's.
    const genesis = await c.read.stateRoot([A]);
    expect(await reject([args(0, { oldRoot: args(1).oldRoot })], [proofOf(0)])).toEqual({
      name: "RootChainBroken",
      args: [genesis, args(1).oldRoot],
    });
    // A tampered proof: C of another valid proof (a valid curve point).
    const [p0, p1] = [proofOf(0), proofOf(1)];
    const tampered: Groth16ProofCalldata = [p0[0], p0[1], p0[2], p0[3], p0[4], p0[5], p1[6], p1[7]];
    expect((await reject([args(0)], [tampered])).name).toBe("InvalidProof");
    // A tampered public input: a wrong new root.
    expect((await reject([args(0, { newRoot: args(1).newRoot })], [proofOf(0)])).name).toBe("InvalidProof");
    // Two batches, the second proof bad: the one batched check rejects both.
    expect((await reject([args(0), args(1)], [proofOf(0), proofOf(0)])).name).toBe("InvalidProof");
    expect((await reject([], [])).name).toBe("EmptySubmission");
    expect((await reject([args(0)], [])).name).toBe("LengthMismatch");
    expect(await revertOf(bridge().simulate.submitProvenBatches([B, [args(0)], [proofOf(0)]], { account }))).toEqual({
      name: "PathNotAccepted",
      args: [BridgePath.Proven],
    });
    expect(
      (await revertOf(bridge().simulate.submitProvenBatches([77, [args(0)], [proofOf(0)]], { account }))).name,
    ).toBe("UnknownRollup");
    expect(await c.read.stateRoot([A])).toBe(genesis);
  });

  it("advances the root through chained batches, k = 1, 2, 4 and 8 per call", async () => {
    const c = bridge();
    let next = 0;
    for (const k of [1, 2, 4, 8]) {
      const ids = Array.from({ length: k }, (_, j) => next + j);
      if (k === 2) {
        // (11,0) while (10,1) is still to come: a batch of the same block cannot be skipped.
        expect(await revertOf(submit([args(2)], [proofOf(2)]))).toEqual({ name: "BatchOutOfOrder", args: [11n, 0] });
      }
      const receipt = await mined(c.write.submitProvenBatches([A, ids.map((i) => args(i)), ids.map(proofOf)]));
      gas.push(
        `submitProvenBatches k=${k}: ${receipt.gasUsed} (${receipt.gasUsed / BigInt(k)} per batch, ${k + 3} pairings)`,
      );
      const events = await c.getEvents.StateRootAdvanced({}, { blockHash: receipt.blockHash });
      expect(events.map((e) => [e.args.height, e.args.index, e.args.newRoot, e.args.path])).toEqual(
        ids.map((i) => [BigInt(batchesA[i]!.batch.height), batchesA[i]!.batch.index, batchesA[i]!.batch.newRoot, 0]),
      );
      next += k;
      expect(await c.read.stateRoot([A])).toBe(batchesA[next - 1]!.batch.newRoot);
      // A replay of the last batch.
      expect((await revertOf(submit([args(next - 1)], [proofOf(next - 1)]))).name).toBe("BatchOutOfOrder");
    }
    const r = await c.read.rollup([A]);
    expect([r.height, r.index, r.heightOpen]).toEqual([13n, 6, false]);
  });
});

describe("the attested path", () => {
  /** B's batches (and C's), computed by the validators' tracker; their proofs are what validators checked. */
  const trackerB = new RollupTracker(B);
  const trackerC = new RollupTracker(C);
  let queueB: BatchStatement[] = [];
  const statement = (ns: number, b: TrackedBatch): BatchStatement => ({
    namespace: ns,
    height: b.height,
    index: b.index,
    oldRoot: b.oldRoot,
    newRoot: b.newRoot,
    commitment: b.commitment,
  });
  const takeB = (n: number) => {
    const out = queueB.slice(0, n);
    queueB = queueB.slice(n);
    return out;
  };

  beforeAll(() => {
    const nonces = new Array<bigint>(16).fill(0n);
    // 100 batches of B: 50 transfers at each of 4 heights.
    for (const height of [30, 31, 32, 33])
      queueB.push(...trackerB.finalize(height, transfers(50, nonces)).map((b) => statement(B, b)));
    expect(queueB).toHaveLength(100);
  });

  /** `attestStatementsRoot`'s arguments for `root`, signed by `signers` (over `signedDigest` when given). */
  const attest = (root: Uint8Array, signers = [1, 2, 3], epoch = EPOCH, signedDigest?: Uint8Array) => {
    const { signerBitmap, signature } = sign(signedDigest ?? proofAttestationDigest(CHAIN, epoch, root), signers);
    return [toHex(root), BigInt(epoch), signerBitmap, signature, committee.publicKeys, committee.stakes] as const;
  };

  it("rejects a stale epoch, too little stake and a wrong signature", async () => {
    const c = bridge();
    const root = statementsRoot(queueB.slice(0, 1));
    const sim = (a: ReturnType<typeof attest>) => revertOf(c.simulate.attestStatementsRoot(a, { account }));
    expect(await sim(attest(root, [1, 2, 3], EPOCH + 1))).toEqual({ name: "StaleEpoch", args: [1n, 2n] });
    // 60 of 100 is not more than 2/3 (the light client's error, bubbled up).
    expect(await sim(attest(root, [0, 1, 2]))).toEqual({ name: "InsufficientStake", args: [60n, 100n] });
    // The right signers over another root's digest.
    const other = proofAttestationDigest(CHAIN, EPOCH, statementsRoot(queueB.slice(1, 2)));
    expect((await sim(attest(root, [1, 2, 3], EPOCH, other))).name).toBe("InvalidSignature");
    // The digest of another chain.
    expect((await sim(attest(root, [1, 2, 3], EPOCH, proofAttestationDigest(CHAIN + 1, EPOCH, root)))).name).toBe(
      "InvalidSignature",
    );
    expect((await c.read.attestation([toHex(root)]))[0]).toBe(false);
  });

  it("advances with one attestation and one call, then only under an attested root, in order and chained", async () => {
    const c = bridge();
    const [first] = takeB(1);
    const [ns, root, statements, paths, indexes, count] = attestedBatchArgs([first!], B);
    const a = attest(statementsRoot([first!]));
    const attestation = {
      statementsRoot: a[0],
      epoch: a[1],
      signerBitmap: a[2],
      signature: a[3],
      publicKeys: a[4],
      stakes: a[5],
    };
    // Not yet attested.
    expect(
      await revertOf(c.simulate.submitAttestedBatches([ns, root, statements, paths, indexes, count], { account })),
    ).toEqual({
      name: "RootNotAttested",
      args: [root],
    });
    const receipt = await mined(c.write.attestAndSubmit([ns, attestation, statements, paths, indexes, count]));
    gas.push(`attestAndSubmit (1 statement, 1 BLS check): ${receipt.gasUsed}`);
    expect(await c.read.stateRoot([B])).toBe(first!.newRoot);
    expect(await c.read.attestation([root])).toEqual([true, BigInt(EPOCH)]);
    const [event] = await c.getEvents.StateRootAdvanced({ namespace: B }, { blockHash: receipt.blockHash });
    expect(event?.args.path).toBe(BridgePath.Attested);

    // A root holding B's next 3 statements, a broken one and a foreign one.
    const [s1, s2, s3] = queueB.slice(0, 3) as [BatchStatement, BatchStatement, BatchStatement];
    const broken = { ...s2, oldRoot: s2.oldRoot + 1n };
    const tree = [s1, s2, s3, broken];
    const [, treeRoot, ss, ps, is, n] = attestedBatchArgs(tree, B);
    await mined(c.write.attestStatementsRoot(attest(statementsRoot(tree))));
    const sim = (pick: number[], over: { statements?: typeof ss; paths?: typeof ps } = {}) =>
      revertOf(
        c.simulate.submitAttestedBatches(
          [
            B,
            treeRoot,
            pick.map((i) => (over.statements ?? ss)[i]!),
            pick.map((i) => (over.paths ?? ps)[i]!),
            pick.map((i) => is[i]!),
            n,
          ],
          { account },
        ),
      );
    // A statement not under the attested root (its new root changed).
    expect(await sim([0], { statements: [{ ...ss[0]!, newRoot: 5n }] })).toEqual({
      name: "StatementNotAttested",
      args: [0n],
    });
    // A path of another leaf.
    expect(await sim([0], { paths: [ps[1]!] })).toEqual({ name: "StatementNotAttested", args: [0n] });
    expect(await sim([1])).toEqual({ name: "BatchOutOfOrder", args: [BigInt(s2.height), s2.index] });
    expect(await sim([0, 3])).toEqual({ name: "RootChainBroken", args: [s1.newRoot, broken.oldRoot] });
    expect(await sim([0, 2])).toEqual({ name: "BatchOutOfOrder", args: [BigInt(s3.height), s3.index] });
    expect(
      await revertOf(c.simulate.submitAttestedBatches([A, treeRoot, [ss[0]!], [ps[0]!], [is[0]!], n], { account })),
    ).toEqual({ name: "PathNotAccepted", args: [BridgePath.Attested] });
    await mined(c.write.submitAttestedBatches([B, treeRoot, ss.slice(0, 3), ps.slice(0, 3), is.slice(0, 3), n]));
    takeB(3);
    expect(await c.read.stateRoot([B])).toBe(s3.newRoot);
  });

  it("lets two rollups advance under one BLS check", async () => {
    const c = bridge();
    const [b] = takeB(1);
    const cBatch = trackerC.finalize(40, transfers(2, new Array<bigint>(16).fill(0n)))[0]!;
    const tree = [statement(C, cBatch), b!];
    const receipt = await mined(c.write.attestStatementsRoot(attest(statementsRoot(tree))));
    gas.push(`attestStatementsRoot (one BLS quorum check, 3 of 4 signers): ${receipt.gasUsed}`);
    for (const ns of [B, C]) {
      const r = await mined(c.write.submitAttestedBatches([...attestedBatchArgs(tree, ns)]));
      gas.push(`submitAttestedBatches, 1 statement of a 2-leaf root: ${r.gasUsed}`);
    }
    expect(await c.read.stateRoot([C])).toBe(cBatch.newRoot);
    expect(await c.read.stateRoot([B])).toBe(b!.newRoot);
  });

  it("measures gas per attested batch for 1, 16 and 64 statements under one root", async () => {
    const c = bridge();
    for (const n of [1, 16, 64]) {
      const tree = takeB(n);
      const attestReceipt = await mined(c.write.attestStatementsRoot(attest(statementsRoot(tree))));
      const submitReceipt = await mined(c.write.submitAttestedBatches([...attestedBatchArgs(tree, B)]));
      const total = attestReceipt.gasUsed + submitReceipt.gasUsed;
      gas.push(
        `attested, ${n} statements under one root: attest ${attestReceipt.gasUsed} + submit ${submitReceipt.gasUsed} = ${total} (${total / BigInt(n)} per batch)`,
      );
      expect(await c.read.stateRoot([B])).toBe(tree.at(-1)!.newRoot);
    }
  });
});
