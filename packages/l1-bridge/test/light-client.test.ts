/** OrdoLightClient on a real anvil: BLS finality certificates checked with the EIP-2537 precompiles. */
import { randomBytes } from "node:crypto";
import {
  type BlockHeader,
  blstBackend,
  createBitmap,
  generateValidatorKey,
  hashHeader,
  hashValidatorSet,
  type QuorumCertificate,
  toHex,
  type Validator,
  type ValidatorKey,
  voteDigest,
} from "@ordo/core";
import { type Address, BaseError, ContractFunctionRevertedError } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANVIL_DEV_PRIVATE_KEY, type Anvil, startAnvil } from "../src/anvil.js";
import { type BridgeClients, evmClients } from "../src/deploy.js";
import { OrdoLightClientAbi } from "../src/generated/OrdoLightClient.js";
import {
  type CommitteeArgs,
  committeeArgs,
  deployLightClient,
  finalityCertificateArgs,
  g2ToEip2537,
} from "../src/light-client.js";

const bls = blstBackend;
const CHAIN = 7;
let anvil: Anvil;
let clients: BridgeClients;

beforeAll(async () => {
  anvil = await startAnvil({ port: 27745 });
  clients = evmClients(anvil.rpcUrl, anvil.chainId, ANVIL_DEV_PRIVATE_KEY);
}, 30_000);
afterAll(async () => anvil?.stop());

interface Committee {
  epoch: number;
  keys: ValidatorKey[];
  validators: Validator[];
  args: CommitteeArgs;
  setHash: Uint8Array;
}

function committee(epoch: number, stakes: bigint[]): Committee {
  const keys = stakes.map(() => generateValidatorKey(bls, new Uint8Array(randomBytes(32))));
  const validators = keys.map((k, i) => ({
    publicKey: k.publicKey,
    stake: stakes[i] as bigint,
    proofOfPossession: k.proofOfPossession,
  }));
  return { epoch, keys, validators, args: committeeArgs(validators), setHash: hashValidatorSet({ epoch, validators }) };
}

function header(c: Committee, height: number): BlockHeader {
  return {
    chainId: CHAIN,
    epoch: c.epoch,
    round: height + 3,
    height,
    parentHash: new Uint8Array(randomBytes(32)),
    namespaceRoot: new Uint8Array(randomBytes(32)),
    payloadHash: new Uint8Array(randomBytes(32)),
    validatorSetHash: c.setHash,
    proposer: height % c.keys.length,
    timestampMs: 1_700_000_000_000 + height,
  };
}

/** The QC of `h`'s child: signers in `signers` sign the vote whose committedHash is `h`'s hash. */
function certify(c: Committee, h: BlockHeader, signers: number[], digest?: Uint8Array): QuorumCertificate {
  const qc = {
    epoch: c.epoch,
    round: h.round + 2,
    blockHash: new Uint8Array(randomBytes(32)),
    committedHash: hashHeader(h),
  };
  const message = digest ?? voteDigest(CHAIN, qc.epoch, qc.round, qc.blockHash, qc.committedHash);
  const signature = bls.aggregateSignatures(
    signers.map((i) => bls.sign((c.keys[i] as ValidatorKey).secretKey, message)),
  );
  return { ...qc, signers: createBitmap(c.keys.length, signers), signature };
}

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
    const other = certify(c, h, [1, 2, 3], voteDigest(CHAIN, 0, 99, new Uint8Array(32), hashHeader(h)));
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

  it("follows a committee change certified by the outgoing committee, then rejects the old epoch's certificates", async () => {
    const c0 = committee(0, [10n, 20n, 30n, 40n]);
    const c1 = committee(1, [5n, 5n, 5n, 5n, 5n]);
    const lc = await deploy(c0);
    const change = (signers: number[], next: Committee = c1) => {
      const signature = bls.aggregateSignatures(
        signers.map((i) => bls.sign((c0.keys[i] as ValidatorKey).secretKey, next.setHash)),
      );
      return clients.public.simulateContract({
        address: lc,
        abi: OrdoLightClientAbi,
        functionName: "submitCommitteeChange",
        args: [
          BigInt(next.epoch),
          next.args.publicKeys,
          next.args.stakes,
          toHex(createBitmap(4, signers)),
          g2ToEip2537(signature),
          c0.args.publicKeys,
          c0.args.stakes,
        ],
        account: clients.wallet.account,
      });
    };
    expect(await revertOf(change([2, 3], committee(2, [1n])))).toBe("UnknownEpoch");
    expect(await revertOf(change([0, 1, 2]))).toBe("InsufficientStake");
    const { request } = await change([1, 2, 3]);
    await clients.public.waitForTransactionReceipt({ hash: await clients.wallet.writeContract(request as never) });
    expect(await read(lc, "currentEpoch")).toBe(1n);
    expect(await read(lc, "validatorSetHash")).toBe(toHex(c1.setHash));
    const h = header(c1, 20);
    await submit(lc, finalityCertificateArgs([h], certify(c1, h, [0, 1, 2, 3]), c1.args));
    expect(await read(lc, "finalizedNamespaceRoot", [20n])).toBe(toHex(h.namespaceRoot));
    const old = header(c0, 21);
    expect(
      await revertOf(
        clients.public.simulateContract({
          address: lc,
          abi: OrdoLightClientAbi,
          functionName: "submitFinalityCertificate",
          args: finalityCertificateArgs([old], certify(c0, old, [1, 2, 3]), c0.args),
          account: clients.wallet.account,
        }),
      ),
    ).toBe("StaleEpoch");
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
