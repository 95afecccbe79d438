/**
 * `ordo devnet` — the README's first quick-start line — starts a network with its prover market and its L1,
 * reports on it, proves a rollup's transfers, carries their state root to the L1 by both bridge paths (the L1
 * light client following the committee changes of epochs every 40 blocks), posts their blocks to the embedded
 * DA layer and as EIP-4844 blobs to the L1, and stops cleanly on Ctrl-C.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { OrdoLightClientAbi, OrdoRollupBridgeAbi } from "@ordo/l1-bridge";
import { encodeTransfer } from "@ordo/prover";
import { type Address, createPublicClient, http } from "viem";
import { afterAll, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("starts 4 validators, 3 provers and an L1; proves rollup transfers and lands their root on the L1 by both paths; posts their blocks to DA, blobs included; exits 0 on SIGINT", async () => {
  dir = await mkdtemp(join(tmpdir(), "ordo-devnet-e2e-"));
  const child = spawn(
    process.execPath,
    [
      "--conditions=source",
      "--import",
      "tsx",
      join(ROOT, "packages/sequencer/src/cli/ordo.ts"),
      "devnet",
      "--base-port",
      "24000",
      "--api-port",
      "24100",
      "--interval-ms",
      "500",
      // Short epochs, so the run crosses several: the relayer must move the L1 light client along.
      "--epoch-length",
      "40",
      "--dir",
      dir,
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const until = async (re: RegExp, ms: number) => {
    const deadline = Date.now() + ms;
    while (!re.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(out).toMatch(re);
  };
  await until(/height \d+ .*validators up 4\/4/, 120_000);
  expect(out).toMatch(/validator 3: http:\/\/127\.0\.0\.1:24103/);
  expect(out).toMatch(/l1: anvil http:\/\/127\.0\.0\.1:24645/);
  expect(out).toMatch(
    /height \d+ \(epoch \d+\) +tx\/s [\d.]+ +p50 submit→final (\d+ ms|n\/a) +validators up 4\/4 +provers up 3\/3 +rollups proven 1: \d+\/\d+ 2: \d+\/\d+ +l1 finalized \d+/,
  );
  // The hint the devnet prints is a working transfer for rollup 1; the provers prove it.
  const hint = /prove a transfer: curl -X POST -H 'content-type: application\/json' -d '([^']+)' (\S+)/.exec(out);
  expect(hint).not.toBeNull();
  const [, body, url] = hint as RegExpExecArray;
  const r = await fetch(url as string, { method: "POST", headers: { "content-type": "application/json" }, body });
  expect(r.status).toBe(202);
  const firstHash = ((await r.json()) as { hash: string }).hash;
  await until(/rollups proven 1: 1\/1/, 90_000);
  // A second batch, so the relayer's second submission for rollup 1 goes by the other path.
  const second = await fetch(url as string, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: encodeTransfer({ from: 1, to: 6, amount: 50n, nonce: 0n }),
  });
  expect(second.status).toBe(202);
  await until(/rollups proven 1: 2\/2/, 90_000);

  // The L1 follows: rollup 1's root on the bridge becomes the root the prover market accepted, by both paths.
  const deployment = JSON.parse(await readFile(join(dir, "l1-deployment.json"), "utf8")) as { bridge: Address };
  const l1 = createPublicClient({ transport: http("http://127.0.0.1:24645") });
  const provenRoot = async () =>
    BigInt(
      (
        (await (await fetch("http://127.0.0.1:24100/v1/market")).json()) as {
          rollups: { namespace: number; provenRoot: string }[];
        }
      ).rollups.find((x) => x.namespace === 1)?.provenRoot ?? "0",
    );
  const deadline = Date.now() + 90_000;
  let onL1 = 0n;
  while (Date.now() < deadline) {
    onL1 = await l1.readContract({
      address: deployment.bridge,
      abi: OrdoRollupBridgeAbi,
      functionName: "stateRoot",
      args: [1],
    });
    if (onL1 === (await provenRoot())) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  expect(onL1).toBe(await provenRoot());
  const advanced = await l1.getContractEvents({
    address: deployment.bridge,
    abi: OrdoRollupBridgeAbi,
    eventName: "StateRootAdvanced",
    fromBlock: 0n,
  });
  const paths = advanced.filter((e) => e.args.namespace === 1).map((e) => e.args.path);
  expect(new Set(paths)).toEqual(new Set([0, 1])); // Proven and Attested
  expect(advanced.filter((e) => e.args.namespace === 1).at(-1)?.args.newRoot).toBe(onL1);
  // Epochs: the validators moved on, and the L1 light client followed each committee change the chain committed to.
  const status = (await (await fetch("http://127.0.0.1:24100/v1/status")).json()) as { epoch: number };
  expect(status.epoch).toBeGreaterThanOrEqual(1);
  const lightClient = (JSON.parse(await readFile(join(dir, "l1-deployment.json"), "utf8")) as { lightClient: Address })
    .lightClient;
  const changes = await l1.getContractEvents({
    address: lightClient,
    abi: OrdoLightClientAbi,
    eventName: "EpochChanged",
    fromBlock: 0n,
  });
  expect(changes.length).toBeGreaterThanOrEqual(1);
  expect(changes.map((e) => Number(e.args.epoch))).toEqual(changes.map((_, i) => i + 1));

  // DA: validator 0 posted the transfer's block to the embedded layer and, as EIP-4844 blobs, to the L1: a type-3
  // transaction in an L1 block whose versioned hashes are the receipt's.
  const height = (
    (await (await fetch(`http://127.0.0.1:24100/v1/transactions/${firstHash}`)).json()) as { height: number }
  ).height;
  type Da = {
    embedded: { certificate: unknown };
    posting: {
      layers: Record<string, { state: string; receipts: { ref: { txHash: string; versionedHashes: string[] } }[] }>;
    };
  };
  let da: Da | null = null;
  const daDeadline = Date.now() + 120_000;
  while (Date.now() < daDeadline) {
    da = (await (await fetch(`http://127.0.0.1:24100/v1/blocks/${height}/da`)).json()) as Da;
    if (da.posting?.layers["ethereum-blobs"]?.state === "posted" && da.embedded.certificate) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  const blob = da?.posting.layers["ethereum-blobs"]?.receipts[0]?.ref;
  expect(blob?.txHash).toMatch(/^0x[0-9a-f]{64}$/);
  const tx = await l1.getTransaction({ hash: blob?.txHash as `0x${string}` });
  expect(tx.type).toBe("eip4844");
  expect(tx.blobVersionedHashes).toEqual(blob?.versionedHashes);
  expect(tx.blockNumber).not.toBeNull();

  child.kill("SIGINT");
  expect(await exited).toBe(0);
}, 400_000);
