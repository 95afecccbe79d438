/**
 * OrdoLightClient on a real anvil: BLS finality certificates checked with the EIP-2537 precompiles, and committee
 * changes followed through the epoch-change transaction of finalized blocks.
 */
import { randomBytes } from "node:crypto";
import {
  type BlockHeader,
  type BlockPayload,
  createBitmap,
  type EpochSchedule,
  encodeEpochChange,
  epochEndHeight,
  epochStartHeight,
  hashHeader,
  type NamespaceGroup,
  namespaceRoot,
  proveTransaction,
  type TransactionInclusionProof,
  toHex,
  type Validator,
  type ValidatorSetData,
  verifyTransactionInclusion,
  voteDigest,
} from "@ordo/core";
import { type Address, BaseError, ContractFunctionRevertedError, parseEventLogs } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANVIL_DEV_PRIVATE_KEY, type Anvil, startAnvil } from "../src/anvil.js";
import { type BridgeClients, evmClients } from "../src/deploy.js";
import { OrdoLightClientAbi } from "../src/generated/OrdoLightClient.js";
import { deployLightClient, epochChangeArgs, finalityCertificateArgs } from "../src/light-client.js";
import { all, CHAIN, type Committee, certify, committee, header } from "./fixtures/committee.js";

let anvil: Anvil;
let clients: BridgeClients;

beforeAll(async () => {
  anvil = await startAnvil({ port: 27745 });
  clients = evmClients(anvil.rpcUrl, anvil.chainId, ANVIL_DEV_PRIVATE_KEY);
}, 30_000);
afterAll(async () => anvil?.stop());

async function deploy(c: Committee): Promise<Address> {
  return deployLightClient(clients as never, { ordoChainId: CHAIN, epoch: c.epoch, committee: c.args });
}

async function submit(address: Address, args: ReturnType<typeof finalityCertificateArgs>): Promise<void> {
  const { request } = await clients.public.simulateContract({
    address,
    abi: OrdoLightClientAbi,
    functionName: "submitFinalityCertificate",
    args,
    account: clients.wallet.account,
  });
  const hash = await clients.wallet.writeContract(request as never);
  const receipt = await clients.public.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe("success");
}

/** The custom error name a call reverts with. */
async function revertOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BaseError) {
      const revert = e.walk((x) => x instanceof ContractFunctionRevertedError);
      if (revert instanceof ContractFunctionRevertedError) return revert.data?.errorName ?? "(no error data)";
    }
    throw e;
  }
  throw new Error("the call did not revert");
}

const SCHEDULE: EpochSchedule = { length: 10 };
const rand = (n: number) => new Uint8Array(randomBytes(n));

const simFinality = (address: Address, args: ReturnType<typeof finalityCertificateArgs>) =>
  clients.public.simulateContract({
    address,
    abi: OrdoLightClientAbi,
    functionName: "submitFinalityCertificate",
    args,
    account: clients.wallet.account,
  });

const simEpochChange = (address: Address, args: ReturnType<typeof epochChangeArgs>) =>
  clients.public.simulateContract({
    address,
    abi: OrdoLightClientAbi,
    functionName: "submitEpochChange",
    args,
    account: clients.wallet.account,
  });

interface EpochChangeBlock {
  payload: BlockPayload;
  header: BlockHeader;
  /** The epoch-change transaction: `encodeEpochChange` of `next`. */
  tx: Uint8Array;
  proof: TransactionInclusionProof;
}

/**
 * A block of `from`'s epoch (by default its last) whose namespace 0 holds the commitment to `next` (after another
 * system transaction, beside two rollups' transactions), its header over the real namespace root, and the proof.
 */
function epochChangeBlock(
  from: Committee,
  next: Committee,
  o: { height?: number; alone?: boolean; groups?: NamespaceGroup[] } = {},
): EpochChangeBlock {
  const tx = encodeEpochChange({ nextEpoch: next.epoch, validatorSetHash: next.setHash });
  const groups =
    o.groups ??
    (o.alone
      ? [{ namespace: 0, transactions: [tx] }]
      : [
          { namespace: 0, transactions: [rand(70), tx] },
          { namespace: 3, transactions: [rand(40)] },
          { namespace: 1_000, transactions: [rand(12), rand(300), rand(1)] },
        ]);
  const payload: BlockPayload = { groups };
  const h = {
    ...header(from, o.height ?? epochEndHeight(SCHEDULE, from.epoch)),
    namespaceRoot: namespaceRoot(payload),
  };
  const at = (groups[0] as NamespaceGroup).transactions.indexOf(tx);
  return { payload, header: h, tx, proof: proveTransaction(payload, 0, Math.max(at, 0)) };
}

/** Submits the epoch change of `block` to `next`; checks its event. */
async function changeEpoch(address: Address, block: EpochChangeBlock, next: Committee): Promise<void> {
  const { request } = await simEpochChange(address, epochChangeArgs(block.header.height, next, block.proof));
  const hash = await clients.wallet.writeContract(request as never);
  const receipt = await clients.public.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe("success");
  const [changed] = parseEventLogs({ abi: OrdoLightClientAbi, logs: receipt.logs, eventName: "EpochChanged" });
  expect(changed?.args).toEqual({ epoch: BigInt(next.epoch), height: BigInt(block.header.height) });
}

const read = <T>(address: Address, functionName: string, args: readonly unknown[] = []) =>
  clients.public.readContract({ address, abi: OrdoLightClientAbi, functionName, args } as never) as Promise<T>;

describe("OrdoLightClient", () => {
  it("derives the committee's Ordo validator-set hash on chain (compressing the EIP-2537 keys)", async () => {
    const c = committee(3, [10n, 20n, 30n, 40n]);
    const lc = await deploy(c);
    expect(await read(lc, "validatorSetHash")).toBe(toHex(c.setHash));
    expect(await read(lc, "currentEpoch")).toBe(3n);
    expect(await read(lc, "totalStake")).toBe(100n);
  });

  it("accepts a certificate signed by more than 2/3 of the stake and stores the header's namespace root", async () => {
    const c = committee(0, [10n, 20n, 30n, 40n]);
    const lc = await deploy(c);
    const h = header(c, 5);
    await submit(lc, finalityCertificateArgs([h], certify(c, h, [1, 2, 3]), c.args));
    expect(await read(lc, "finalizedNamespaceRoot", [5n])).toBe(toHex(h.namespaceRoot));
    expect(await read(lc, "isFinalized", [5n])).toBe(true);
    expect(await read(lc, "isFinalized", [4n])).toBe(false);
    expect(await read(lc, "latestHeight")).toBe(5n);
    // An older height is still final: it may arrive later (a proof may need it).
    const h3 = header(c, 3);
    await submit(lc, finalityCertificateArgs([h3], certify(c, h3, [0, 1, 2, 3]), c.args));
    expect(await read(lc, "finalizedNamespaceRoot", [3n])).toBe(toHex(h3.namespaceRoot));
    expect(await read(lc, "latestHeight")).toBe(5n);
  });

  it("rejects a wrong signature, too little stake, a tampered header, a replay, and a foreign committee", async () => {
    const c = committee(0, [10n, 20n, 30n, 40n]);
    const lc = await deploy(c);
    const h = header(c, 9);
    const good = certify(c, h, [1, 2, 3]);
    const sim = (args: ReturnType<typeof finalityCertificateArgs>) =>
      clients.public.simulateContract({
        address: lc,
        abi: OrdoLightClientAbi,
        functionName: "submitFinalityCertificate",
        args,
        account: clients.wallet.account,
      });
    // Signed by the right keys, over another message.
    const other = certify(c, h, [1, 2, 3], { digest: voteDigest(CHAIN, 0, 99, new Uint8Array(32), hashHeader(h)) });
    expect(await revertOf(sim(finalityCertificateArgs([h], { ...good, signature: other.signature }, c.args)))).toBe(
      "InvalidSignature",
    );
    // 60 of 100 is not more than 2/3.
    expect(await revertOf(sim(finalityCertificateArgs([h], certify(c, h, [0, 1, 2]), c.args)))).toBe(
      "InsufficientStake",
    );
    // Exactly 2/3 is not enough either.
    const even = committee(0, [1n, 1n, 1n]);
    const lcEven = await deploy(even);
    const he = header(even, 1);
    expect(
      await revertOf(
        clients.public.simulateContract({
          address: lcEven,
          abi: OrdoLightClientAbi,
          functionName: "submitFinalityCertificate",
          args: finalityCertificateArgs([he], certify(even, he, [0, 1]), even.args),
          account: clients.wallet.account,
        }),
      ),
    ).toBe("InsufficientStake");
    // The bitmap claims a signer whose signature is not in the aggregate.
    expect(
      await revertOf(sim(finalityCertificateArgs([h], { ...good, signers: createBitmap(4, [0, 1, 2, 3]) }, c.args))),
    ).toBe("InvalidSignature");
    // Any header field changed after signing.
    expect(
      await revertOf(sim(finalityCertificateArgs([{ ...h, namespaceRoot: new Uint8Array(32) }], good, c.args))),
    ).toBe("InvalidSignature");
    expect(await revertOf(sim(finalityCertificateArgs([{ ...h, height: 10 }], good, c.args)))).toBe("InvalidSignature");
    expect(await revertOf(sim(finalityCertificateArgs([{ ...h, chainId: 8 }], good, c.args)))).toBe("WrongChain");
    expect(
      await revertOf(sim(finalityCertificateArgs([{ ...h, validatorSetHash: new Uint8Array(32) }], good, c.args))),
    ).toBe("WrongValidatorSet");
    // Another committee's keys (or stakes) in place of the one the light client holds.
    const foreign = committee(0, [10n, 20n, 30n, 40n]);
    expect(await revertOf(sim(finalityCertificateArgs([h], good, foreign.args)))).toBe("SummaryMismatch");
    expect(await revertOf(sim(finalityCertificateArgs([h], good, { ...c.args, stakes: [10n, 20n, 30n, 41n] })))).toBe(
      "SummaryMismatch",
    );
    // Non-signers must be committee members (by Merkle path), each counted once, with their own stake.
    const args = finalityCertificateArgs([h], certify(c, h, [1, 2, 3]), c.args);
    const [headersArg, cert, summary] = args;
    const ns0 = cert.nonSigners[0] as (typeof cert.nonSigners)[number];
    const withNonSigners = (nonSigners: (typeof cert.nonSigners)[number][]) =>
      [headersArg, { ...cert, nonSigners }, summary] as const;
    expect(await revertOf(sim(withNonSigners([ns0, ns0]) as never))).toBe("BadNonSigner");
    expect(await revertOf(sim(withNonSigners([{ ...ns0, stake: 1n }]) as never))).toBe("BadNonSigner");
    expect(await revertOf(sim(withNonSigners([{ ...ns0, path: [...ns0.path].reverse() }]) as never))).toBe(
      "BadNonSigner",
    );
    expect(await revertOf(sim(withNonSigners([{ ...ns0, index: 9n }]) as never))).toBe("BadNonSigner");
    // Leaving a real non-signer out claims its stake and key: the signature no longer matches.
    expect(await revertOf(sim(withNonSigners([]) as never))).toBe("InvalidSignature");
    await submit(lc, finalityCertificateArgs([h], good, c.args));
    expect(await revertOf(sim(finalityCertificateArgs([h], good, c.args)))).toBe("AlreadyFinalized");
  });

  it("follows three epoch changes in a row, each proven from a block the outgoing committee finalized", async () => {
    const cs = [
      committee(0, [10n, 20n, 30n, 40n]),
      committee(1, [5n, 5n, 5n, 5n, 5n]),
      committee(2, [2n ** 95n + 7n]), // a stake past 64 bits: uint96 in the set hash
      committee(3, [1n, 2n, 3n, 4n, 5n, 6n, 7n]),
    ] as const;
    const lc = await deploy(cs[0]);
    for (let e = 0; e < 3; e++) {
      const from = cs[e] as Committee;
      const next = cs[e + 1] as Committee;
      // Epoch 1's last block holds nothing but the commitment: namespace 0 is its only leaf, both paths empty.
      const block = epochChangeBlock(from, next, { alone: e === 1 });
      expect(verifyTransactionInclusion(block.header.namespaceRoot, 0, block.tx, block.proof)).toBe(true);
      expect(block.header.height).toBe(epochEndHeight(SCHEDULE, e));
      if (e === 0) {
        // The last block finalized with its parent by one certificate.
        const parent = header(from, block.header.height - 1);
        const tip = { ...block.header, parentHash: hashHeader(parent) };
        const changing = { ...block, header: tip };
        await submit(lc, finalityCertificateArgs([parent, tip], certify(from, tip, [1, 2, 3]), from.args));
        await changeEpoch(lc, changing, next);
      } else {
        await submit(lc, finalityCertificateArgs([block.header], certify(from, block.header, all(from)), from.args));
        await changeEpoch(lc, block, next);
      }
      expect(await read(lc, "currentEpoch")).toBe(BigInt(next.epoch));
      expect(await read(lc, "validatorSetHash")).toBe(toHex(next.setHash));
      expect(await read(lc, "committeeSize")).toBe(BigInt(next.keys.length));
      expect(await read(lc, "totalStake")).toBe(next.validators.reduce((a, v) => a + v.stake, 0n));

      // The new committee finalizes the next epoch's blocks...
      const first = header(next, epochStartHeight(SCHEDULE, next.epoch));
      await submit(lc, finalityCertificateArgs([first], certify(next, first, all(next)), next.args));
      expect(await read(lc, "finalizedNamespaceRoot", [BigInt(first.height)])).toBe(toHex(first.namespaceRoot));
      // ...and the old one no longer does: not under its own epoch, nor claiming the new one.
      const old = header(from, first.height + 1);
      expect(
        await revertOf(simFinality(lc, finalityCertificateArgs([old], certify(from, old, all(from)), from.args))),
      ).toBe("StaleEpoch");
      const claimed = header(next, first.height + 1);
      const byOld = certify({ ...from, epoch: next.epoch }, claimed, all(from));
      const forged = { ...byOld, signers: createBitmap(next.keys.length, all(next)) };
      expect(await revertOf(simFinality(lc, finalityCertificateArgs([claimed], forged, next.args)))).toBe(
        "InvalidSignature",
      );
      expect(await revertOf(simFinality(lc, finalityCertificateArgs([claimed], byOld, from.args)))).toBe(
        "SummaryMismatch",
      );
    }
  });

  it("rejects an epoch change that is not final, not proven, for another committee or epoch, or replayed", async () => {
    const c0 = committee(0, [10n, 20n, 30n, 40n]);
    const c1 = committee(1, [3n, 4n, 5n]);
    const lc = await deploy(c0);
    const block = epochChangeBlock(c0, c1);
    const height = block.header.height;
    const good = epochChangeArgs(height, c1, block.proof);
    const reject = (args: ReturnType<typeof epochChangeArgs>) => revertOf(simEpochChange(lc, args));

    // Not finalized yet.
    expect(await reject(good)).toBe("NotFinalized");
    // A finalized block that does not hold the commitment.
    const plain = header(c0, 7);
    await submit(lc, finalityCertificateArgs([plain], certify(c0, plain, all(c0)), c0.args));
    expect(await reject(epochChangeArgs(7, c1, block.proof))).toBe("EpochChangeNotProven");

    await submit(lc, finalityCertificateArgs([block.header], certify(c0, block.header, [1, 2, 3]), c0.args));
    // The proof of another transaction of namespace 0 (the other system transaction).
    expect(await reject(epochChangeArgs(height, c1, proveTransaction(block.payload, 0, 0)))).toBe(
      "EpochChangeNotProven",
    );
    // Tampered proofs.
    const flip = (h: Uint8Array) => h.map((b, i) => (i === 0 ? b ^ 1 : b));
    const p = block.proof;
    const tampered: TransactionInclusionProof[] = [
      { ...p, txPath: p.txPath.map((h, i) => (i === 0 ? flip(h) : h)) },
      { ...p, leafPath: p.leafPath.map((h, i) => (i === 0 ? flip(h) : h)) },
      { ...p, leafPath: [...p.leafPath, new Uint8Array(32)] },
      { ...p, txPath: p.txPath.slice(1) },
      { ...p, txIndex: 0 },
      { ...p, leafIndex: 1 },
      { ...p, leafCount: 1 },
      { ...p, leaf: { ...p.leaf, count: p.leaf.count + 1 } },
      { ...p, leaf: { ...p.leaf, txRoot: flip(p.leaf.txRoot) } },
    ];
    for (const proof of tampered) expect(await reject(epochChangeArgs(height, c1, proof))).toBe("EpochChangeNotProven");

    // The same 96 bytes in a rollup's namespace commit to nothing: only namespace 0 holds epoch changes.
    const tx = encodeEpochChange({ nextEpoch: 1, validatorSetHash: c1.setHash });
    const foreign = epochChangeBlock(c0, c1, {
      height: 8,
      groups: [
        { namespace: 0, transactions: [rand(50)] },
        { namespace: 5, transactions: [tx] },
      ],
    });
    await submit(lc, finalityCertificateArgs([foreign.header], certify(c0, foreign.header, all(c0)), c0.args));
    const in5 = proveTransaction(foreign.payload, 5, 0);
    expect(verifyTransactionInclusion(foreign.header.namespaceRoot, 5, tx, in5)).toBe(true);
    expect(await reject(epochChangeArgs(8, c1, in5))).toBe("EpochChangeNotProven");
    expect(await reject(epochChangeArgs(8, c1, { ...in5, leaf: { ...in5.leaf, namespace: 0 } }))).toBe(
      "EpochChangeNotProven",
    );

    // Another committee than the one committed to: one stake changed, the members reordered, one member fewer.
    const withSet = (validators: Validator[]): ValidatorSetData => ({ epoch: 1, validators });
    const v = c1.validators;
    const bumped = v.map((x, i) => (i === 2 ? { ...x, stake: x.stake + 1n } : x));
    for (const set of [bumped, [...v].reverse(), v.slice(0, 2), [...v, ...c0.validators.slice(0, 1)]])
      expect(await reject(epochChangeArgs(height, withSet(set), block.proof))).toBe("EpochChangeNotProven");
    // A malformed committee.
    const [h, keys, stakes, proofArg] = good;
    expect(await reject([h, [], [], proofArg])).toBe("InvalidCommittee");
    expect(await reject([h, keys, stakes.slice(1), proofArg])).toBe("InvalidCommittee");
    expect(await reject([h, keys, stakes.map((s, i) => (i === 0 ? 0n : s)), proofArg])).toBe("InvalidCommittee");
    expect(await reject([h, keys.map((k, i) => (i === 0 ? `${k}00` : k) as `0x${string}`), stakes, proofArg])).toBe(
      "InvalidCommittee",
    );

    // A finalized commitment to epoch 2's committee cannot skip epoch 1.
    const c2 = committee(2, [1n, 1n]);
    const skip = epochChangeBlock(c0, c2, { height: 9 });
    await submit(lc, finalityCertificateArgs([skip.header], certify(c0, skip.header, all(c0)), c0.args));
    expect(await reject(epochChangeArgs(9, c2, skip.proof))).toBe("EpochChangeNotProven");
    expect(await read(lc, "currentEpoch")).toBe(0n);

    await changeEpoch(lc, block, c1);
    expect(await read(lc, "currentEpoch")).toBe(1n);
    // Replayed: the commitment names epoch 1, the light client now wants epoch 2's.
    expect(await reject(good)).toBe("EpochChangeNotProven");
    expect(await read(lc, "currentEpoch")).toBe(1n);
    expect(await read(lc, "validatorSetHash")).toBe(toHex(c1.setHash));
  });

  it("finalizes a certified header's ancestors by their parent links, and refuses a broken chain", async () => {
    const c = committee(0, [10n, 20n, 30n, 40n]);
    const lc = await deploy(c);
    const chain = [header(c, 11)];
    for (let height = 12; height <= 14; height++)
      chain.push({ ...header(c, height), parentHash: hashHeader(chain[chain.length - 1] as BlockHeader) });
    const tip = chain[3] as BlockHeader;
    const qc = certify(c, tip, [1, 2, 3]);
    const sim = (headers: BlockHeader[]) =>
      clients.public.simulateContract({
        address: lc,
        abi: OrdoLightClientAbi,
        functionName: "submitFinalityCertificate",
        args: finalityCertificateArgs(headers, qc, c.args),
        account: clients.wallet.account,
      });
    const forged = { ...(chain[1] as BlockHeader), namespaceRoot: new Uint8Array(32) };
    expect(await revertOf(sim([chain[0] as BlockHeader, forged, chain[2] as BlockHeader, tip]))).toBe("NotAChain");
    expect(await revertOf(sim([chain[0] as BlockHeader, chain[2] as BlockHeader, tip]))).toBe("NotAChain");
    expect(await revertOf(sim([]))).toBe("EmptyHeaders");
    // Height 13 alone first (its own certificate), then the whole chain: the known ancestor is checked, not rewritten.
    const h13 = chain[2] as BlockHeader;
    await submit(lc, finalityCertificateArgs([h13], certify(c, h13, [0, 1, 2, 3]), c.args));
    await submit(lc, finalityCertificateArgs(chain, qc, c.args));
    for (const h of chain)
      expect(await read(lc, "finalizedNamespaceRoot", [BigInt(h.height)])).toBe(toHex(h.namespaceRoot));
    expect(await read(lc, "latestHeight")).toBe(14n);
  });

  it("reports how far behind it is", async () => {
    const c = committee(0, [1n]);
    const lc = await deploy(c);
    await clients.public.request({ method: "evm_increaseTime" as never, params: [120] as never });
    await clients.public.request({ method: "evm_mine" as never, params: [] as never });
    expect(await read<bigint>(lc, "staleness")).toBeGreaterThanOrEqual(120n);
    const h = header(c, 1);
    await submit(lc, finalityCertificateArgs([h], certify(c, h, [0]), c.args));
    expect(await read<bigint>(lc, "staleness")).toBeLessThan(5n);
  });
});
