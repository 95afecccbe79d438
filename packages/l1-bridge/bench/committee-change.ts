/**
 * L1 gas per committee change, on a real anvil (Prague):
 * `npx tsx --conditions=source packages/l1-bridge/bench/committee-change.ts`.
 *
 * A committee change is two transactions: the finality certificate of the
 * epoch's last block (whose namespace 0 holds the epoch-change commitment,
 * beside another system transaction and two rollups' transactions), then
 * `submitEpochChange` with the next committee (as many validators, fresh keys)
 * and the transaction's inclusion proof. Measured for committees of 4, 16, 64
 * and 100, every validator signing, against the baseline of one plain
 * finality certificate (an ordinary block, 4 validators, all signing) in the
 * same run. Every figure is a receipt's `gasUsed`: the whole transaction, its
 * 21,000 base and calldata included (what a relayer pays).
 *
 * Prints a Markdown table to stdout; `main()` also returns the figures.
 */
import "@ordo/core";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type BlockHeader,
  type BlockPayload,
  blstBackend,
  createBitmap,
  type EpochSchedule,
  encodeEpochChange,
  epochEndHeight,
  generateValidatorKey,
  hashHeader,
  hashValidatorSet,
  namespaceRoot,
  proveTransaction,
  toHex,
  type Validator,
  type ValidatorKey,
  voteDigest,
} from "@ordo/core";
import type { Address, Hex } from "viem";
import { ANVIL_DEV_PRIVATE_KEY, startAnvil } from "../src/anvil.js";
import { evmClients } from "../src/deploy.js";
import { OrdoLightClientAbi } from "../src/generated/OrdoLightClient.js";
import {
  type CommitteeArgs,
  committeeArgs,
  deployLightClient,
  epochChangeArgs,
  finalityCertificateArgs,
} from "../src/light-client.js";

const bls = blstBackend;
const CHAIN = 7;
const PORT = 27995;
const SIZES = [4, 16, 64, 100];
const BASELINE_SIZE = 4;
const SCHEDULE: EpochSchedule = { length: 100 };

export interface CommitteeChangeRow {
  validators: number;
  /** The finality certificate of the epoch's last block. */
  certificateGas: bigint;
  /** `submitEpochChange`. */
  epochChangeGas: bigint;
  total: bigint;
  /** Calldata bytes of `submitEpochChange` (the new committee's keys and stakes, and the proof). */
  epochChangeCalldataBytes: number;
}

export interface CommitteeChangeResult {
  /** One plain finality certificate (an ordinary block, committee of `BASELINE_SIZE`, all signing). */
  baseline: bigint;
  rows: CommitteeChangeRow[];
  markdown: string;
}

interface Committee {
  epoch: number;
  keys: ValidatorKey[];
  validators: Validator[];
  args: CommitteeArgs;
  setHash: Uint8Array;
}

function makeCommittee(epoch: number, n: number): Committee {
  const keys = Array.from({ length: n }, () => generateValidatorKey(bls, new Uint8Array(randomBytes(32))));
  const validators = keys.map((k) => ({ publicKey: k.publicKey, stake: 100n, proofOfPossession: k.proofOfPossession }));
  return { epoch, keys, validators, args: committeeArgs(validators), setHash: hashValidatorSet({ epoch, validators }) };
}

const rand = (n: number) => new Uint8Array(randomBytes(n));
const fmt = (x: bigint | number) => x.toLocaleString("en-US");
const ratio = (x: bigint, base: bigint) => `${(Number(x) / Number(base)).toFixed(2)}×`;

function header(c: Committee, height: number, root: Uint8Array): BlockHeader {
  return {
    chainId: CHAIN,
    epoch: c.epoch,
    round: height + 1,
    height,
    parentHash: rand(32),
    namespaceRoot: root,
    payloadHash: rand(32),
    validatorSetHash: c.setHash,
    proposer: 0,
    timestampMs: 1_700_000_000_000 + height,
  };
}

/** A Markdown table: a header row, an alignment row (numbers right-aligned), the rows. */
function markdownTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[], pad: (s: string, w: number) => string) =>
    `| ${cells.map((c, i) => pad(c, widths[i] as number)).join(" | ")} |`;
  return [
    line(head, (s, w) => s.padEnd(w)),
    `| ${widths.map((w, i) => (i === 0 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`,
    ...rows.map((r) => line(r, (s, w) => s.padStart(w))),
  ].join("\n");
}

export async function main(o: { port?: number; sizes?: number[] } = {}): Promise<CommitteeChangeResult> {
  const anvil = await startAnvil({ port: o.port ?? PORT });
  try {
    const clients = evmClients(anvil.rpcUrl, anvil.chainId, ANVIL_DEV_PRIVATE_KEY);
    const { chain, account } = clients.wallet;

    async function gasOf(hash: Hex, what: string): Promise<{ gas: bigint; calldataBytes: number }> {
      const receipt = await clients.public.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`${what} reverted`);
      const tx = await clients.public.getTransaction({ hash });
      return { gas: receipt.gasUsed, calldataBytes: (tx.input.length - 2) / 2 };
    }

    /** Submits the certificate of `h` by every member of `c`; its gas. */
    async function certificate(address: Address, c: Committee, h: BlockHeader): Promise<bigint> {
      const qc = { epoch: c.epoch, round: h.round + 1, blockHash: rand(32), committedHash: hashHeader(h) };
      const digest = voteDigest(CHAIN, qc.epoch, qc.round, qc.blockHash, qc.committedHash);
      const signature = bls.aggregateSignatures(c.keys.map((k) => bls.sign(k.secretKey, digest)));
      const signers = createBitmap(c.keys.length, c.keys.keys());
      const hash = await clients.wallet.writeContract({
        address,
        abi: OrdoLightClientAbi,
        functionName: "submitFinalityCertificate",
        args: finalityCertificateArgs([h], { ...qc, signers, signature }, c.args),
        chain,
        account,
      });
      return (await gasOf(hash, `the certificate of height ${h.height}`)).gas;
    }

    const deploy = (c: Committee) =>
      deployLightClient(clients, { ordoChainId: CHAIN, epoch: c.epoch, committee: c.args });

    // The baseline: an ordinary block's certificate, the first one the light client takes (as in the rows).
    const base = makeCommittee(0, BASELINE_SIZE);
    const baseline = await certificate(await deploy(base), base, header(base, 1, rand(32)));

    const rows: CommitteeChangeRow[] = [];
    for (const n of o.sizes ?? SIZES) {
      const current = makeCommittee(0, n);
      const next = makeCommittee(1, n);
      const address = await deploy(current);
      const height = epochEndHeight(SCHEDULE, current.epoch);
      const payload: BlockPayload = {
        groups: [
          {
            namespace: 0,
            transactions: [rand(180), encodeEpochChange({ nextEpoch: next.epoch, validatorSetHash: next.setHash })],
          },
          { namespace: 1, transactions: [rand(120), rand(120)] },
          { namespace: 9, transactions: [rand(64)] },
        ],
      };
      const certificateGas = await certificate(address, current, header(current, height, namespaceRoot(payload)));
      const hash = await clients.wallet.writeContract({
        address,
        abi: OrdoLightClientAbi,
        functionName: "submitEpochChange",
        args: epochChangeArgs(height, next, proveTransaction(payload, 0, 1)),
        chain,
        account,
      });
      const change = await gasOf(hash, `the epoch change of ${n} validators`);
      const [epoch, setHash] = await Promise.all([
        clients.public.readContract({ address, abi: OrdoLightClientAbi, functionName: "currentEpoch" }),
        clients.public.readContract({ address, abi: OrdoLightClientAbi, functionName: "validatorSetHash" }),
      ]);
      if (epoch !== 1n || setHash !== toHex(next.setHash)) throw new Error(`n = ${n}: the committee did not change`);
      rows.push({
        validators: n,
        certificateGas,
        epochChangeGas: change.gas,
        total: certificateGas + change.gas,
        epochChangeCalldataBytes: change.calldataBytes,
      });
    }

    const table = markdownTable(
      ["validators", "certificate gas", "epoch-change gas", "total", "total vs one plain certificate"],
      [
        ["baseline: one plain certificate", fmt(baseline), "—", fmt(baseline), "1.00×"],
        ...rows.map((r) => [
          String(r.validators),
          fmt(r.certificateGas),
          fmt(r.epochChangeGas),
          fmt(r.total),
          ratio(r.total, baseline),
        ]),
      ],
    );
    const notes = [
      `Every validator signs; the next committee has as many validators as the current one. Baseline: one finality certificate of an ordinary block by a committee of ${BASELINE_SIZE}.`,
      `gas = a receipt's gasUsed (21,000 base and calldata included). submitEpochChange calldata: ${rows
        .map((r) => `${fmt(r.epochChangeCalldataBytes)} bytes at ${r.validators}`)
        .join(", ")}.`,
    ];
    const markdown = `## L1 gas per committee change (anvil, Prague)\n\n${table}\n\n${notes.join("\n")}\n`;
    console.log(markdown);
    return { baseline, rows, markdown };
  } finally {
    await anvil.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
