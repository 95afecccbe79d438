/**
 * `npm run bench:l1`: gas of Ordo's L1 contracts on a real anvil (Prague).
 *
 * 1. A finality certificate for committees of 4, 16, 64 and 100 validators
 *    (every validator signs, and with just over 2/3 signing), against the
 *    baseline of a committee of 1: a single BLS verification.
 */
import "@ordo/core";
import { randomBytes } from "node:crypto";
import {
  type BlockHeader,
  blstBackend,
  createBitmap,
  generateValidatorKey,
  hashHeader,
  hashValidatorSet,
  voteDigest,
} from "@ordo/core";
import { createPublicClient, createWalletClient, defineChain, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ANVIL_DEV_PRIVATE_KEY, startAnvil } from "../src/anvil.js";
import { OrdoLightClientAbi } from "../src/generated/OrdoLightClient.js";
import { committeeArgs, deployLightClient, finalityCertificateArgs } from "../src/light-client.js";

const bls = blstBackend;
const CHAIN = 7;
const anvil = await startAnvil({ port: 27945 });
const chain = defineChain({
  id: anvil.chainId,
  name: "anvil",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [anvil.rpcUrl] } },
});
const account = privateKeyToAccount(ANVIL_DEV_PRIVATE_KEY);
const clients = {
  public: createPublicClient({ chain, transport: http(anvil.rpcUrl) }),
  wallet: createWalletClient({ chain, transport: http(anvil.rpcUrl), account }),
};

/** Gas used by one `submitFinalityCertificate` for a committee of `n` with `signing` signers. */
async function certificateGas(n: number, signing: number): Promise<{ gas: bigint; calldataBytes: number }> {
  const keys = Array.from({ length: n }, () => generateValidatorKey(bls, new Uint8Array(randomBytes(32))));
  const validators = keys.map((k) => ({ publicKey: k.publicKey, stake: 100n, proofOfPossession: k.proofOfPossession }));
  const committee = committeeArgs(validators);
  const address = await deployLightClient(clients as never, { ordoChainId: CHAIN, epoch: 0, committee });
  const header: BlockHeader = {
    chainId: CHAIN,
    epoch: 0,
    round: 10,
    height: 9,
    parentHash: new Uint8Array(randomBytes(32)),
    namespaceRoot: new Uint8Array(randomBytes(32)),
    payloadHash: new Uint8Array(randomBytes(32)),
    validatorSetHash: hashValidatorSet({ epoch: 0, validators }),
    proposer: 0,
    timestampMs: Date.now(),
  };
  const qc = { epoch: 0, round: 11, blockHash: new Uint8Array(randomBytes(32)), committedHash: hashHeader(header) };
  const digest = voteDigest(CHAIN, 0, qc.round, qc.blockHash, qc.committedHash);
  const signers = Array.from({ length: signing }, (_, i) => i);
  const signature = bls.aggregateSignatures(signers.map((i) => bls.sign(keys[i]?.secretKey as Uint8Array, digest)));
  const args = finalityCertificateArgs([header], { ...qc, signers: createBitmap(n, signers), signature }, committee);
  const hash = await clients.wallet.writeContract({
    address,
    abi: OrdoLightClientAbi,
    functionName: "submitFinalityCertificate",
    args,
    chain,
    account,
  });
  const receipt = await clients.public.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`the certificate for n = ${n} reverted`);
  const tx = await clients.public.getTransaction({ hash });
  return { gas: receipt.gasUsed, calldataBytes: (tx.input.length - 2) / 2 };
}

try {
  console.log(`bench:l1 on anvil (Prague), node ${process.version}\n`);
  console.log("finality certificate | validators | signers | gas | calldata bytes | vs 1 validator");
  const base = await certificateGas(1, 1);
  console.log(`baseline: one BLS verification | 1 | 1 | ${base.gas} | ${base.calldataBytes} | 1.00×`);
  for (const n of [4, 16, 64, 100])
    for (const signing of [n, Math.floor((2 * n) / 3) + 1]) {
      const r = await certificateGas(n, signing);
      console.log(
        `certificate | ${n} | ${signing} | ${r.gas} | ${r.calldataBytes} | ${(Number(r.gas) / Number(base.gas)).toFixed(2)}×`,
      );
      if (signing === Math.floor((2 * n) / 3) + 1) break;
    }
} finally {
  await anvil.stop();
}
