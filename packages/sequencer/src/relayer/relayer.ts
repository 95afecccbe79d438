/**
 * The relayer: carries Ordo to the L1. It posts finality certificates at a
 * cadence and whenever a proof needs a height the light client lacks, and
 * advances each rollup's state root on the bridge with the batches the prover
 * market proved — by the proven path (Groth16 proofs verified on the L1, many
 * per call) or the attested path (validators' BLS attestation of the proofs
 * they verified, aggregated here).
 *
 * It never double-posts: every post is preceded by a read of the L1 state it
 * would change and a simulation, and a transaction it sent is recorded in the
 * state file before it waits for the receipt, so after a restart it first
 * settles that transaction. Nonces are its own (one account, one relayer),
 * resynchronized from the L1 on a nonce error. A failing round backs off
 * exponentially.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { type BatchStatement, blstBackend, createBitmap, toHex } from "@ordo/core";
import {
  attestedBatchArgs,
  type CommitteeArgs,
  committeeArgs,
  epochChangeArgs,
  evmClients,
  finalityCertificateArgs,
  g2ToEip2537,
  OrdoLightClientAbi,
  OrdoRollupBridgeAbi,
  proofToCalldata,
} from "@ordo/l1-bridge";
import type { Groth16Proof } from "@ordo/prover";
import type { Logger } from "pino";
import type { Account, Chain, Hex, PublicClient, WalletClient } from "viem";
import type { L1Deployment, L1Rollup } from "./l1-deployment.js";
import { type FinalityProof, NodeApiError, type NodeClient, type RollupBatchInfo } from "./node-client.js";

export interface RelayerOptions {
  /** Validators' APIs: data from the first that answers, attestations from each. */
  nodes: NodeClient[];
  l1RpcUrl: string;
  l1PrivateKey: Hex;
  deployment: L1Deployment;
  /** Where progress survives restarts. */
  stateFile: string;
  /** Post the latest finality certificate at least this often (ms). */
  cadenceMs: number;
  /** How often to look for work (ms). */
  pollMs: number;
  /** For a rollup that accepts both paths: every Nth submission goes by the proven path, the rest attested. */
  provenEvery: number;
  /** Most batches in one bridge call. */
  maxBatchesPerCall: number;
  log: Logger;
}

interface RelayerState {
  /** Submissions made per rollup (picks the path for rollups that accept both). */
  submissions: Record<string, number>;
  /** A transaction sent and not yet seen mined: settled first after a restart. */
  pending: { hash: Hex; what: string } | null;
  lastCadenceAt: number;
  /** Heights up to here were checked for rollup data before the L1 left their epoch. */
  scannedHeight: number;
}

export interface RelayerCounters {
  certificatesPosted: number;
  /** Committee changes moved onto the L1 light client (`submitEpochChange`). */
  epochChanges: number;
  provenSubmissions: number;
  attestedSubmissions: number;
  batchesAdvanced: number;
  gasUsed: bigint;
  failures: number;
}

export class Relayer {
  readonly counters: RelayerCounters = {
    certificatesPosted: 0,
    epochChanges: 0,
    provenSubmissions: 0,
    attestedSubmissions: 0,
    batchesAdvanced: 0,
    gasUsed: 0n,
    failures: 0,
  };
  private readonly o: RelayerOptions;
  private readonly chain: Chain;
  private readonly account: Account;
  private readonly public: PublicClient;
  private readonly wallet: WalletClient;
  private state: RelayerState = { submissions: {}, pending: null, lastCadenceAt: 0, scannedHeight: 0 };
  private nonce: number | null = null;
  /** The validator this round reads from (chosen by `round`). */
  private node: NodeClient | null = null;
  /** The committee as the contracts take it, per epoch (fetched once: it changes only with the epoch). */
  private readonly committees = new Map<
    number,
    Awaited<ReturnType<NodeClient["validators"]>> & { args: CommitteeArgs }
  >();
  /** Per rollup: the node's position of the L1's last batch, where the next search starts. */
  private readonly positions = new Map<number, { height: number; index: number; position: number }>();
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(o: RelayerOptions) {
    this.o = o;
    const clients = evmClients(o.l1RpcUrl, o.deployment.l1ChainId, o.l1PrivateKey);
    this.public = clients.public;
    this.wallet = clients.wallet;
    this.chain = clients.wallet.chain as Chain;
    this.account = clients.wallet.account as Account;
  }

  async start(): Promise<void> {
    await this.resume();
    this.loop = this.run();
  }

  /** Loads the saved progress and settles a transaction a previous run sent but did not see mined. */
  async resume(): Promise<void> {
    this.state = await loadState(this.o.stateFile);
    await this.settlePending();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.round();
        failures = 0;
      } catch (e) {
        failures++;
        this.counters.failures++;
        if (/nonce/i.test(String(e))) this.nonce = null;
        this.o.log.warn({ err: String(e).slice(0, 500), failures }, "relayer round failed; backing off");
      }
      const wait = failures === 0 ? this.o.pollMs : Math.min(30_000, 500 * 2 ** failures);
      for (let t = 0; t < wait && !this.stopped; t += 100) await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** One pass: settle what is in flight, post certificates due, advance every rollup. */
  async round(): Promise<void> {
    await this.settlePending();
    // One validator for the whole round (asked once whether it answers); a failing call fails the round.
    this.node = await this.anyNode();
    const node = this.node;
    if (Date.now() - this.state.lastCadenceAt >= this.o.cadenceMs) {
      const { committedHeight } = await node.status();
      const latest = Number(await this.readLightClient("latestHeight"));
      if (committedHeight > latest) await this.ensureFinalized(committedHeight);
      this.state.lastCadenceAt = Date.now();
      await this.save();
    }
    for (const rollup of this.o.deployment.rollups) await this.advance(rollup);
  }

  /** The first validator that answers. */
  private async anyNode(): Promise<NodeClient> {
    for (const n of this.o.nodes)
      try {
        await n.status();
        return n;
      } catch {
        // try the next
      }
    throw new Error(`no validator answers (${this.o.nodes.map((n) => n.url).join(", ")})`);
  }

  private async readLightClient(functionName: "latestHeight" | "isFinalized", args: readonly unknown[] = []) {
    return this.public.readContract({
      address: this.o.deployment.lightClient,
      abi: OrdoLightClientAbi,
      functionName,
      args,
    } as never) as Promise<bigint | boolean>;
  }

  private roundNode(): NodeClient {
    if (!this.node) throw new Error("no validator chosen: call round()");
    return this.node;
  }

  /**
   * The committee of `epoch` (default: the node's current one) with its contract form: from `/v1/validators`
   * for the current epoch, or as an epoch change the L1 followed delivered it.
   */
  private async committee(
    epoch?: number,
  ): Promise<Awaited<ReturnType<NodeClient["validators"]>> & { args: CommitteeArgs }> {
    const node = this.roundNode();
    const wanted = epoch ?? (await node.status()).epoch;
    let c = this.committees.get(wanted);
    if (!c) {
      // Taken from the node, checked by the L1: a wrong committee only makes the certificate revert in simulation.
      const v = await node.validators(wanted);
      if (v.epoch !== wanted) throw new Error(`asked for the committee of epoch ${wanted}, got epoch ${v.epoch}'s`);
      c = { ...v, args: committeeArgs(v.validators) };
      this.committees.set(v.epoch, c);
    }
    return c;
  }

  private async lightClientEpoch(): Promise<number> {
    return Number(
      await this.public.readContract({
        address: this.o.deployment.lightClient,
        abi: OrdoLightClientAbi,
        functionName: "currentEpoch",
      }),
    );
  }

  /**
   * Moves the L1 light client to `epoch` the way the chain did: for each epoch it is behind, the finality of
   * that epoch's last block (by that epoch's committee), then `submitEpochChange` with the commitment's proof.
   */
  private async followEpochs(epoch: number): Promise<void> {
    for (let at = await this.lightClientEpoch(); at < epoch; at++) {
      const { finality, change } = await this.roundNode().epochChange(at);
      await this.finalizeRollupHeights(change.height, at);
      await this.postCertificate(change.height, finality, at);
      await this.send(`epoch change ${at} → ${at + 1} (block ${change.height})`, {
        address: this.o.deployment.lightClient,
        abi: OrdoLightClientAbi,
        functionName: "submitEpochChange",
        args: epochChangeArgs(change.height, change.newSet, change.proof),
      });
      this.committees.set(at + 1, { ...change.newSet, args: committeeArgs(change.newSet.validators) });
      this.counters.epochChanges++;
    }
  }

  /**
   * Once the L1 moves past epoch `epoch`, no certificate of that epoch's committee can reach it: first finalize
   * every height up to `end` (the epoch's last block) where a registered rollup has transactions, which its
   * batches will point at later.
   */
  private async finalizeRollupHeights(end: number, epoch: number): Promise<void> {
    const from = this.state.scannedHeight + 1;
    const heights = new Set<number>();
    for (const rollup of this.o.deployment.rollups)
      for (const h of await this.roundNode().heightsWithTransactions(rollup.namespace, from, end)) heights.add(h);
    for (const h of [...heights].sort((a, b) => a - b)) {
      if ((await this.readLightClient("isFinalized", [BigInt(h)])) === true) continue;
      const proof = await this.roundNode().finality(h);
      // A height of an epoch the L1 never held (before it was deployed) can no longer be finalized there.
      if (proof.certificate.epoch !== epoch) {
        this.o.log.warn({ height: h, epoch: proof.certificate.epoch }, "rollup data in an epoch the L1 has passed");
        continue;
      }
      await this.postCertificate(h, proof, epoch);
    }
    this.state.scannedHeight = Math.max(this.state.scannedHeight, end);
    await this.save();
  }

  /**
   * Posts the finality certificate that covers `height`, unless the light client has it. Rollup heights below it
   * go first, in order: a height's certificate ends at a later block, and once that block is final on the L1 the
   * contract refuses the certificate (AlreadyFinalized), so an earlier height left behind could never follow.
   */
  private async ensureFinalized(height: number): Promise<void> {
    if ((await this.readLightClient("isFinalized", [BigInt(height)])) === true) return;
    const proof = await this.roundNode().finality(height);
    await this.followEpochs(proof.certificate.epoch);
    if (height - 1 > this.state.scannedHeight) await this.finalizeRollupHeights(height - 1, proof.certificate.epoch);
    await this.postCertificate(height, proof, proof.certificate.epoch);
  }

  private async postCertificate(height: number, proof: FinalityProof, epoch: number): Promise<void> {
    if ((await this.readLightClient("isFinalized", [BigInt(height)])) === true) return;
    const committee = await this.committee(epoch);
    const args = finalityCertificateArgs(proof.headers, proof.certificate, committee.args);
    await this.send(`finality certificate for heights ${height}..${proof.headers.at(-1)?.height}`, {
      address: this.o.deployment.lightClient,
      abi: OrdoLightClientAbi,
      functionName: "submitFinalityCertificate",
      args,
    });
    this.counters.certificatesPosted++;
  }

  /** The next run of proven batches after the L1's last, in order. */
  private async nextBatches(rollup: L1Rollup): Promise<RollupBatchInfo[]> {
    const r = (await this.public.readContract({
      address: this.o.deployment.bridge,
      abi: OrdoRollupBridgeAbi,
      functionName: "rollup",
      args: [rollup.namespace],
    })) as { height: bigint; index: number; started: boolean; stateRoot: bigint };
    const node = this.roundNode();
    const out: RollupBatchInfo[] = [];
    // Start where the L1's last batch was found last time (the node's list only grows), else from the beginning.
    const known = this.positions.get(rollup.namespace);
    let from = known && BigInt(known.height) === r.height && known.index === r.index ? known.position : 0;
    let seen = !r.started;
    for (;;) {
      const page = await node.rollupBatches(rollup.namespace, from);
      for (const b of page) {
        if (!seen) {
          seen = BigInt(b.height) === r.height && b.index === r.index;
          if (seen) this.positions.set(rollup.namespace, { height: b.height, index: b.index, position: b.position });
          continue;
        }
        if (!b.proven || out.length >= this.o.maxBatchesPerCall) return out;
        out.push(b);
      }
      if (page.length < 256) return out;
      from += page.length;
    }
  }

  private async advance(rollup: L1Rollup): Promise<void> {
    const batches = await this.nextBatches(rollup);
    if (batches.length === 0) return;
    const done = this.state.submissions[rollup.namespace] ?? 0;
    const proven = rollup.proven && (!rollup.attested || done % this.o.provenEvery === 0);
    if (proven) await this.submitProven(rollup, batches);
    else await this.submitAttested(rollup, batches);
    this.state.submissions[rollup.namespace] = done + 1;
    const last = batches[batches.length - 1] as RollupBatchInfo;
    this.positions.set(rollup.namespace, { height: last.height, index: last.index, position: last.position });
    this.counters.batchesAdvanced += batches.length;
    await this.save();
  }

  private async submitProven(rollup: L1Rollup, batches: RollupBatchInfo[]): Promise<void> {
    const node = this.roundNode();
    const args = [];
    const proofs = [];
    for (const b of batches) {
      await this.ensureFinalized(b.height);
      const block = await node.namespaceBlock(rollup.namespace, b.height);
      if (block.proof.kind !== "inclusion")
        throw new Error(`rollup ${rollup.namespace} has no transactions at ${b.height}`);
      const groth16 = b.proofs?.groth16;
      if (!groth16) throw new Error(`batch ${b.height}/${b.index} has no Groth16 proof`);
      args.push({
        height: BigInt(b.height),
        index: b.index,
        oldRoot: b.oldRoot,
        newRoot: b.newRoot,
        transactions: block.transactions.map((t) => toHex(t)),
        leafIndex: block.proof.leafIndex,
        leafCount: block.proof.leafCount,
        path: block.proof.path as Hex[],
      });
      proofs.push(proofToCalldata(groth16 as Groth16Proof));
    }
    await this.send(`${batches.length} proven batch(es) of rollup ${rollup.namespace}`, {
      address: this.o.deployment.bridge,
      abi: OrdoRollupBridgeAbi,
      functionName: "submitProvenBatches",
      args: [rollup.namespace, args, proofs],
    });
    this.counters.provenSubmissions++;
  }

  /** Collects attestations until signers hold more than 2/3 of the stake, aggregates them, and submits. */
  private async submitAttested(rollup: L1Rollup, batches: RollupBatchInfo[]): Promise<void> {
    const committee = await this.committee();
    // The bridge takes attestations of the light client's current epoch: bring it to the validators' epoch first.
    await this.followEpochs(committee.epoch);
    const total = committee.validators.reduce((s, v) => s + v.stake, 0n);
    const wanted = batches.map((b) => ({ namespace: rollup.namespace, height: b.height, index: b.index }));
    const signatures = new Map<number, Uint8Array>();
    let signed = 0n;
    let epoch = committee.epoch;
    let digest: Uint8Array | null = null;
    for (const node of this.o.nodes) {
      if (signed * 3n > total * 2n) break;
      try {
        const a = await node.attest(wanted);
        const key = committee.validators[a.validator]?.publicKey;
        // Each signature is checked here, so one bad validator cannot spoil the aggregate.
        if (a.epoch !== committee.epoch) continue; // a validator in another epoch signs for another committee
        if (!key || signatures.has(a.validator) || !blstBackend.verify(key, a.digest, a.signature)) continue;
        if (digest && toHex(digest) !== toHex(a.digest)) continue;
        digest = a.digest;
        epoch = a.epoch;
        signatures.set(a.validator, a.signature);
        signed += committee.validators[a.validator]?.stake ?? 0n;
      } catch (e) {
        if (!(e instanceof NodeApiError)) this.o.log.debug({ node: node.url, err: String(e) }, "no attestation");
      }
    }
    if (signed * 3n <= total * 2n)
      throw new Error(`attestations from ${signatures.size} validators hold ${signed} of ${total} stake: not a quorum`);
    const statements: BatchStatement[] = batches.map((b) => ({
      namespace: rollup.namespace,
      height: b.height,
      index: b.index,
      oldRoot: b.oldRoot,
      newRoot: b.newRoot,
      commitment: b.commitment,
    }));
    const signers = [...signatures.keys()].sort((a, b) => a - b);
    const aggregate = blstBackend.aggregateSignatures(signers.map((i) => signatures.get(i) as Uint8Array));
    const full = committee.args;
    const [namespace, statementsRoot, statementArgs, paths, leafIndexes, leafCount] = attestedBatchArgs(
      statements,
      rollup.namespace,
    );
    const attestation = {
      statementsRoot,
      epoch: BigInt(epoch),
      signerBitmap: toHex(createBitmap(committee.validators.length, signers)),
      signature: g2ToEip2537(aggregate),
      publicKeys: full.publicKeys,
      stakes: full.stakes,
    };
    await this.send(`${batches.length} attested batch(es) of rollup ${rollup.namespace}`, {
      address: this.o.deployment.bridge,
      abi: OrdoRollupBridgeAbi,
      functionName: "attestAndSubmit",
      args: [namespace, attestation, statementArgs, paths, leafIndexes, leafCount],
    });
    this.counters.attestedSubmissions++;
  }

  /**
   * Simulates (a call that would revert is never sent), sends with the relayer's own nonce, records the
   * transaction before waiting, and waits for it to be mined.
   */
  private async send(
    what: string,
    call: { address: Hex; abi: readonly unknown[]; functionName: string; args: readonly unknown[] },
  ) {
    const { request } = await this.public.simulateContract({ ...call, account: this.account } as never);
    if (this.nonce === null)
      this.nonce = await this.public.getTransactionCount({ address: this.account.address, blockTag: "pending" });
    const hash = await this.wallet.writeContract({
      ...(request as object),
      nonce: this.nonce,
      account: this.account,
      chain: this.chain,
    } as never);
    this.nonce++;
    this.state.pending = { hash, what };
    await this.save();
    await this.settlePending();
  }

  /** Waits for the recorded transaction, logs its outcome and clears it. */
  private async settlePending(): Promise<void> {
    const p = this.state.pending;
    if (!p) return;
    const receipt = await this.public.waitForTransactionReceipt({ hash: p.hash, timeout: 60_000 });
    this.counters.gasUsed += receipt.gasUsed;
    this.state.pending = null;
    await this.save();
    if (receipt.status !== "success") throw new Error(`${p.what}: transaction ${p.hash} reverted`);
    this.o.log.info(
      { what: p.what, tx: p.hash, gas: Number(receipt.gasUsed), block: Number(receipt.blockNumber) },
      "posted",
    );
  }

  private async save(): Promise<void> {
    const tmp = `${this.o.stateFile}.partial`;
    await writeFile(tmp, JSON.stringify(this.state));
    await rename(tmp, this.o.stateFile);
  }
}

async function loadState(path: string): Promise<RelayerState> {
  try {
    const s = JSON.parse(await readFile(path, "utf8")) as Partial<RelayerState>;
    return {
      submissions: s.submissions ?? {},
      pending: s.pending && /^0x[0-9a-f]{64}$/.test(s.pending.hash) ? s.pending : null,
      lastCadenceAt: typeof s.lastCadenceAt === "number" ? s.lastCadenceAt : 0,
      scannedHeight: typeof s.scannedHeight === "number" ? s.scannedHeight : 0,
    };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT")
      return { submissions: {}, pending: null, lastCadenceAt: 0, scannedHeight: 0 };
    throw new Error(`cannot read the relayer state ${path}: ${(e as Error).message}`);
  }
}
