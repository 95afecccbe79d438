import {
  blstBackend,
  createBitmap,
  generateValidatorKey,
  sha256,
  type Transaction,
  toHex,
  type ValidatorKey,
  ValidatorSet,
} from "@ordo/core";
import { encodeAbiParameters, hexToBytes } from "viem";
import { describe, expect, it } from "vitest";
import {
  BATCH_ACK_DIGEST_ABI,
  BATCH_ACK_TAG,
  type Batch,
  type BatchCertificate,
  type BlockBatches,
  batchAckDigest,
  batchDigest,
  type DisseminationMessage,
  decodeDisseminationMessage,
  digestKey,
  encodeDisseminationMessage,
  QuorumStore,
  type QuorumStoreEffect,
  type QuorumStoreLimits,
} from "../src/dissemination/index.js";

const CHAIN_ID = 7;
const EPOCH = 3;
const N = 4;
const bls = blstBackend;
const keys: ValidatorKey[] = Array.from({ length: N }, (_, i) =>
  generateValidatorKey(bls, sha256(new Uint8Array([i, 99]))),
);
const validators = ValidatorSet.create(
  {
    epoch: EPOCH,
    validators: keys.map((k) => ({ publicKey: k.publicKey, stake: 10n, proofOfPossession: k.proofOfPossession })),
  },
  bls,
);

function store(self: number, limits: Partial<QuorumStoreLimits> = {}): QuorumStore {
  return new QuorumStore({
    chainId: CHAIN_ID,
    epoch: EPOCH,
    self,
    validators,
    bls,
    secretKey: (keys[self] as ValidatorKey).secretKey,
    limits,
  });
}

const tx = (namespace: number, size: number, fill = namespace): Transaction => ({
  namespace,
  data: new Uint8Array(size).fill(fill),
});

const ofType = <T extends QuorumStoreEffect["type"]>(effects: QuorumStoreEffect[], type: T) =>
  effects.filter((e): e is Extract<QuorumStoreEffect, { type: T }> => e.type === type);

/**
 * Four stores joined by an in-memory FIFO network. Messages go through the
 * codec. `persist-batch` is answered with `batchPersisted` at once unless
 * `autoPersist` is off for that node.
 */
class Net {
  readonly stores: QuorumStore[];
  readonly effects: QuorumStoreEffect[][] = Array.from({ length: N }, () => []);
  readonly queue: { from: number; to: number; bytes: Uint8Array }[] = [];
  drop: (from: number, to: number, m: DisseminationMessage) => boolean = () => false;
  autoPersist = [true, true, true, true];
  now = 1000;

  constructor(limits: Partial<QuorumStoreLimits> = {}) {
    this.stores = Array.from({ length: N }, (_, i) => store(i, limits));
  }

  node(i: number): QuorumStore {
    return this.stores[i] as QuorumStore;
  }

  apply(i: number, effects: QuorumStoreEffect[]): void {
    for (const e of effects) {
      (this.effects[i] as QuorumStoreEffect[]).push(e);
      if (e.type === "broadcast") {
        for (let to = 0; to < N; to++) if (to !== i) this.send(i, to, e.message);
      } else if (e.type === "send") this.send(i, e.to, e.message);
      else if (e.type === "persist-batch" && this.autoPersist[i]) this.apply(i, this.node(i).batchPersisted(e.digest));
    }
  }

  private send(from: number, to: number, m: DisseminationMessage): void {
    if (!this.drop(from, to, m)) this.queue.push({ from, to, bytes: encodeDisseminationMessage(m) });
  }

  run(): void {
    for (let k = 0; this.queue.length > 0 && k < 10_000; k++) {
      const { from, to, bytes } = this.queue.shift() as { from: number; to: number; bytes: Uint8Array };
      this.apply(to, this.node(to).onMessage(from, decodeDisseminationMessage(bytes), this.now));
    }
  }

  of<T extends QuorumStoreEffect["type"]>(i: number, type: T) {
    return ofType(this.effects[i] as QuorumStoreEffect[], type);
  }
}

/** Seals the transactions into one batch (by timeout) and returns its persist effect. */
function sealOne(s: QuorumStore, txs: Transaction[]): { batch: Batch; digest: Uint8Array } {
  expect(s.addTransactions(txs, 0)).toStrictEqual([]);
  const sealed = ofType(s.tick(1000), "persist-batch");
  expect(sealed).toHaveLength(1);
  return sealed[0] as { batch: Batch; digest: Uint8Array };
}

/** Seals one batch at `author` (by timeout), runs the network, returns the certificate formed. */
function certify(net: Net, author: number, txs: Transaction[]): BatchCertificate {
  const before = net.of(author, "certified").length;
  net.apply(author, net.node(author).addTransactions(txs, net.now));
  net.apply(author, net.node(author).tick(net.now + 1000));
  net.run();
  const certified = net.of(author, "certified");
  expect(certified.length).toBe(before + 1);
  return (certified[certified.length - 1] as { certificate: BatchCertificate }).certificate;
}

describe("batch ack digest", () => {
  it("is sha256(abi.encode(tag, chainId, epoch, digest, author, sequence, count, size))", () => {
    const digest = sha256(new Uint8Array([1, 2, 3]));
    const expected = sha256(
      hexToBytes(
        encodeAbiParameters(BATCH_ACK_DIGEST_ABI, [
          toHex(BATCH_ACK_TAG),
          7n,
          2n ** 40n,
          toHex(digest),
          5,
          2n ** 33n + 1n,
          12n,
          2n ** 53n - 1n,
        ]),
      ),
    );
    expect(batchAckDigest(7, 2 ** 40, digest, 5, 2 ** 33 + 1, 12, Number.MAX_SAFE_INTEGER)).toStrictEqual(expected);
    expect(BATCH_ACK_TAG).toStrictEqual(sha256(new TextEncoder().encode("ORDO/v1/batch-ack")));
  });
});

describe("sealing batches", () => {
  it("seals by size: a batch as soon as the next transaction would not fit", () => {
    const s = store(0, { maxBatchBytes: 1000, batchTimeoutMs: 50 });
    expect(s.addTransactions([tx(1, 400), tx(2, 400)], 0)).toStrictEqual([]);
    const effects = s.addTransactions([tx(3, 400)], 1);
    const persisted = ofType(effects, "persist-batch");
    expect(persisted).toHaveLength(1);
    const batch = persisted[0]?.batch as Batch;
    expect(batch).toMatchObject({ author: 0, sequence: 0, createdAtMs: 1 });
    expect(batch.transactions.map((t) => t.namespace)).toStrictEqual([1, 2]);
    expect(persisted[0]?.digest).toStrictEqual(batchDigest(batch));
    // Persist before you speak, the author too: broadcast only once the batch is durable.
    expect(ofType(effects, "broadcast")).toStrictEqual([]);
    expect(ofType(s.batchPersisted(batchDigest(batch)), "broadcast")).toStrictEqual([
      { type: "broadcast", message: { kind: "batch", batch } },
    ]);
    expect(s.pendingTransactions).toBe(1);
    expect(s.pendingBytes).toBe(400);
    // exactly full: sealed at once, sequence increments
    const exact = s.addTransactions([tx(4, 600)], 2);
    expect(ofType(exact, "persist-batch").map((e) => e.batch.sequence)).toStrictEqual([1]);
    expect(s.pendingTransactions).toBe(0);
  });

  it("seals by transaction count", () => {
    const s = store(0, { maxBatchTransactions: 3 });
    const effects = s.addTransactions([tx(1, 1), tx(1, 2), tx(1, 3), tx(1, 4), tx(1, 5), tx(1, 6), tx(1, 7)], 0);
    expect(ofType(effects, "persist-batch").map((e) => e.batch.transactions.length)).toStrictEqual([3, 3]);
    expect(s.pendingTransactions).toBe(1);
  });

  it("seals by timeout: tick finds the oldest pending transaction batchTimeoutMs old", () => {
    const s = store(0, { batchTimeoutMs: 50 });
    expect(s.nextDeadline()).toBeNull();
    s.addTransactions([tx(1, 10)], 100);
    s.addTransactions([tx(2, 10)], 130);
    expect(s.nextDeadline()).toBe(150);
    expect(s.tick(149)).toStrictEqual([]);
    const effects = s.tick(150);
    const sealed = ofType(effects, "persist-batch");
    expect(sealed).toHaveLength(1);
    expect(sealed[0]?.batch.transactions).toHaveLength(2);
    expect(sealed[0]?.batch.createdAtMs).toBe(150);
    expect(s.pendingTransactions).toBe(0);
  });

  it("drops transactions that can never be batched", () => {
    const s = store(0, { maxBatchBytes: 100 });
    const effects = s.addTransactions([tx(1, 101), { namespace: -1, data: new Uint8Array(1) }, tx(2, 5)], 0);
    expect(ofType(effects, "dropped-transaction").map((e) => e.reason)).toStrictEqual([
      expect.stringMatching(/exceeds maxBatchBytes/),
      expect.stringMatching(/namespace/),
    ]);
    expect(s.pendingTransactions).toBe(1);
  });

  it("stops sealing while its own window is full (back pressure) and resumes after commits", () => {
    const net = new Net({ maxPendingBatchesPerAuthor: 2, maxBatchTransactions: 1 });
    const a = net.node(0);
    expect(a.room()).toStrictEqual({ transactions: 2, bytes: 2 * 1024 * 1024 });
    net.apply(0, a.addTransactions([tx(1, 1), tx(1, 2), tx(1, 3)], net.now));
    net.run();
    expect(net.of(0, "persist-batch").map((e) => e.batch.sequence)).toStrictEqual([0, 1]);
    expect(a.pendingTransactions).toBe(1);
    expect(a.room().transactions).toBe(0);
    const certs = net.of(0, "certified").map((e) => e.certificate);
    expect(certs).toHaveLength(2);
    for (let i = 0; i < N; i++) net.apply(i, net.node(i).onCommitted({ certificates: [certs[0] as BatchCertificate] }));
    net.apply(0, a.tick(net.now));
    expect(net.of(0, "persist-batch").map((e) => e.batch.sequence)).toStrictEqual([0, 1, 2]);
  });
});

describe("acknowledging batches", () => {
  it("acks only after the node reports the batch persisted, and re-acks a resent batch", () => {
    const author = store(0);
    const sealed = sealOne(author, [tx(1, 10)]);
    const v = store(1);
    const effects = v.onBatch(0, sealed.batch, 0);
    expect(effects).toStrictEqual([{ type: "persist-batch", digest: sealed.digest, batch: sealed.batch }]);
    // resent before persistence: still nothing to say
    expect(v.onBatch(0, sealed.batch, 0)).toStrictEqual([]);
    const acked = v.batchPersisted(sealed.digest);
    expect(acked).toHaveLength(1);
    const send = acked[0] as Extract<QuorumStoreEffect, { type: "send" }>;
    expect(send.to).toBe(0);
    expect(send.message.kind).toBe("batch-ack");
    const ack = (send.message as Extract<DisseminationMessage, { kind: "batch-ack" }>).ack;
    expect(ack).toMatchObject({ author: 0, sequence: 0, signer: 1 });
    expect(
      bls.verify(validators.publicKey(1), batchAckDigest(CHAIN_ID, EPOCH, sealed.digest, 0, 0, 1, 10), ack.signature),
    ).toBe(true);
    expect(v.batchPersisted(sealed.digest)).toStrictEqual([]);
    // the author resends (it missed the ack): the same ack again
    expect(v.onBatch(0, sealed.batch, 0)).toStrictEqual(acked);
  });

  it("rejects batches from the wrong sender, replays, equivocation, far-ahead sequences and bad limits", () => {
    const v = store(1, { maxPendingBatchesPerAuthor: 4, maxBatchBytes: 100 });
    const batch = (sequence: number, data = 1, extra: Partial<Batch> = {}): Batch => ({
      author: 0,
      sequence,
      createdAtMs: 0,
      transactions: [tx(5, 10, data)],
      ...extra,
    });
    const reason = (effects: QuorumStoreEffect[]) => ofType(effects, "rejected")[0]?.reason;
    expect(reason(v.onBatch(2, batch(0), 0))).toMatch(/not the sender/);
    expect(reason(v.onBatch(0, batch(4), 0))).toMatch(/too far ahead/);
    // Ahead of a window that moved while this validator was down: dropped, but the honest sender keeps its score.
    expect(ofType(v.onBatch(0, batch(4), 0), "rejected")[0]?.blameless).toBe(true);
    expect(ofType(v.onBatch(2, batch(0), 0), "rejected")[0]?.blameless).toBeUndefined();
    expect(reason(v.onBatch(0, batch(0, 1, { transactions: [] }), 0))).toMatch(/1 to/);
    expect(reason(v.onBatch(0, batch(0, 1, { transactions: [tx(5, 101)] }), 0))).toMatch(/maxBatchBytes/);
    expect(
      reason(v.onBatch(0, batch(0, 1, { transactions: [{ namespace: 2 ** 32, data: new Uint8Array(1) }] }), 0)),
    ).toMatch(/namespace/);
    expect(reason(v.onBatch(0, batch(0, 1, { createdAtMs: 100_000 }), 0))).toMatch(/future/);
    expect(ofType(v.onBatch(0, batch(0), 0), "persist-batch")).toHaveLength(1);
    expect(reason(v.onBatch(0, batch(0, 2), 0))).toMatch(/equivocation/);
    // once committed, the sequence can never be used again
    v.onCommitted({
      certificates: [
        {
          digest: batchDigest(batch(0)),
          author: 0,
          sequence: 0,
          transactionCount: 1,
          byteSize: 10,
          signers: new Uint8Array([0]),
          signature: new Uint8Array(96),
        },
      ],
    });
    expect(reason(v.onBatch(0, batch(0), 0))).toMatch(/already committed/);
    expect(reason(v.onBatch(0, batch(0, 3), 0))).toMatch(/already committed/);
    // the window moved with the floor
    expect(ofType(v.onBatch(0, batch(4), 0), "persist-batch")).toHaveLength(1);
  });
});

describe("certificates", () => {
  it("a quorum of acks yields a certificate that every other validator verifies", () => {
    const net = new Net();
    const cert = certify(net, 0, [tx(1, 10), tx(2, 20)]);
    expect(cert).toMatchObject({ author: 0, sequence: 0, transactionCount: 2, byteSize: 30 });
    expect(cert.digest).toStrictEqual(net.of(0, "persist-batch")[0]?.digest);
    // optimistic: one aggregate verification, no individual ones
    expect(net.node(0).stats.verifications).toBe(1);
    expect(net.node(0).stats.certificatesFormed).toBe(1);
    for (let i = 1; i < N; i++) {
      expect(net.of(i, "certified").map((e) => e.certificate.digest)).toStrictEqual([cert.digest]);
      expect(net.node(i).getCertificate(cert.digest)).toBeDefined();
      expect(store(i).verifyCertificate(cert)).toBeNull();
      expect(net.of(i, "rejected")).toStrictEqual([]);
    }
    expect(net.node(0).getCertificate(cert.digest)).toStrictEqual(cert);
  });

  it("a forged ack is dropped and the certificate forms from the honest ones", () => {
    const author = store(0);
    const sealed = sealOne(author, [tx(1, 10)]);
    // own ack: 1 of 4; now durable, the batch goes out
    expect(author.batchPersisted(sealed.digest)).toStrictEqual([
      { type: "broadcast", message: { kind: "batch", batch: sealed.batch } },
    ]);
    const honestAck = (i: number) => {
      const v = store(i);
      v.onBatch(0, sealed.batch, 0);
      const send = v.batchPersisted(sealed.digest)[0] as Extract<QuorumStoreEffect, { type: "send" }>;
      return (send.message as Extract<DisseminationMessage, { kind: "batch-ack" }>).ack;
    };
    // validator 1 signs the wrong statement (as if for another sequence)
    const forged = {
      ...honestAck(1),
      signature: bls.sign(
        (keys[1] as ValidatorKey).secretKey,
        batchAckDigest(CHAIN_ID, EPOCH, sealed.digest, 0, 1, 1, 10),
      ),
    };
    expect(author.onAck(1, forged)).toStrictEqual([]); // 2 of 4: no quorum yet, nothing verified
    expect(author.stats.verifications).toBe(0);
    const afterTwo = author.onAck(2, honestAck(2)); // 3 of 4: aggregate fails, ack 1 is found and dropped
    expect(ofType(afterTwo, "rejected")).toStrictEqual([
      { type: "rejected", from: 1, reason: expect.stringMatching(/bad ack signature/) },
    ]);
    expect(ofType(afterTwo, "certified")).toStrictEqual([]);
    expect(ofType(author.onAck(1, honestAck(1)), "rejected")).toHaveLength(1); // no second chance for this batch
    const afterThree = author.onAck(3, honestAck(3));
    const cert = ofType(afterThree, "certified")[0]?.certificate as BatchCertificate;
    expect(cert.signers).toStrictEqual(createBitmap(N, [0, 2, 3]));
    expect(ofType(afterThree, "broadcast")).toStrictEqual([
      { type: "broadcast", message: { kind: "batch-certificate", certificate: cert } },
    ]);
    expect(store(1).verifyCertificate(cert)).toBeNull();
    expect(ofType(store(2).onCertificate(0, cert), "certified")).toHaveLength(1);
  });

  it("rejects acks from the wrong sender or for another author's batch", () => {
    const author = store(0);
    const sealed = sealOne(author, [tx(1, 10)]);
    const ack = { digest: sealed.digest, author: 0, sequence: 0, signer: 1, signature: new Uint8Array(96) };
    expect(ofType(author.onAck(2, ack), "rejected")[0]?.reason).toMatch(/not the sender/);
    expect(ofType(author.onAck(1, { ...ack, author: 3 }), "rejected")[0]?.reason).toMatch(/batch of validator 3/);
    expect(ofType(author.onAck(1, { ...ack, sequence: 5 }), "rejected")[0]?.reason).toMatch(/sequence/);
    expect(author.onAck(1, { ...ack, digest: new Uint8Array(32) })).toStrictEqual([]); // unknown: ignored
  });

  it("rejects a certificate with too little stake, a tampered digest or tampered fields", () => {
    const net = new Net();
    const cert = certify(net, 0, [tx(1, 10)]);
    const v = store(1);
    const reason = (c: BatchCertificate) => ofType(v.onCertificate(0, c), "rejected")[0]?.reason;
    // two of four signers (20 of 40 stake), with their genuine aggregate signature
    const digest = batchAckDigest(CHAIN_ID, EPOCH, cert.digest, 0, 0, 1, 10);
    const sigs = [0, 1].map((i) => bls.sign((keys[i] as ValidatorKey).secretKey, digest));
    const weak = { ...cert, signers: createBitmap(N, [0, 1]), signature: bls.aggregateSignatures(sigs) };
    expect(reason(weak)).toMatch(/too little stake/);
    const tampered = new Uint8Array(cert.digest);
    tampered[0] = (tampered[0] as number) ^ 1;
    expect(reason({ ...cert, digest: tampered })).toMatch(/invalid aggregate signature/);
    expect(reason({ ...cert, byteSize: 11 })).toMatch(/invalid aggregate signature/);
    expect(reason({ ...cert, sequence: 1 })).toMatch(/invalid aggregate signature/);
    expect(reason({ ...cert, signers: createBitmap(N, [0, 1, 2, 3]) })).toMatch(/invalid aggregate signature/);
    expect(reason({ ...cert, signers: new Uint8Array([0x1f]) })).toMatch(/bitmap/);
    expect(reason({ ...cert, author: 9 })).toMatch(/unknown author/);
    // the genuine one is accepted once, then ignored as known
    expect(ofType(v.onCertificate(0, cert), "certified")).toHaveLength(1);
    expect(v.onCertificate(0, cert)).toStrictEqual([]);
    // a certificate from another chain or epoch does not verify here
    const other = new QuorumStore({
      chainId: CHAIN_ID + 1,
      epoch: EPOCH,
      self: 1,
      validators,
      bls,
      secretKey: (keys[1] as ValidatorKey).secretKey,
    });
    expect(other.verifyCertificate(cert)).toMatch(/invalid aggregate signature/);
  });

  it("resends unacknowledged batches to the validators that did not ack, and certificates until committed", () => {
    const net = new Net({ retryMs: 500 });
    net.drop = (_from, to, m) => m.kind === "batch" && to === 3;
    net.autoPersist[2] = false;
    net.apply(0, net.node(0).addTransactions([tx(1, 10)], net.now));
    net.apply(0, net.node(0).tick(net.now + 50));
    net.run();
    expect(net.of(0, "certified")).toHaveLength(0); // acks from 0 and 1 only
    net.drop = () => false;
    expect(net.node(0).nextDeadline()).toBe(net.now + 50 + 500);
    const resent = net.node(0).tick(net.now + 550);
    expect(ofType(resent, "send").map((e) => e.to)).toStrictEqual([2, 3]);
    net.apply(0, resent);
    net.run();
    const cert = net.of(0, "certified")[0]?.certificate as BatchCertificate;
    expect(cert.signers).toStrictEqual(createBitmap(N, [0, 1, 3]));
    const again = net.node(0).tick(net.now + 1100);
    expect(again).toStrictEqual([{ type: "broadcast", message: { kind: "batch-certificate", certificate: cert } }]);
    net.node(0).onCommitted({ certificates: [cert] });
    expect(net.node(0).tick(net.now + 5000)).toStrictEqual([]);
    expect(net.node(0).nextDeadline()).toBeNull();
  });
});

describe("proposals", () => {
  /** Certificates: author 0 seals three batches, author 1 one, author 2 two. */
  function setup() {
    const net = new Net();
    const certs: BatchCertificate[] = [];
    certs.push(certify(net, 0, [tx(1, 100)]));
    certs.push(certify(net, 0, [tx(1, 100)]));
    certs.push(certify(net, 1, [tx(2, 100)]));
    certs.push(certify(net, 0, [tx(1, 100)]));
    certs.push(certify(net, 2, [tx(3, 100)]));
    certs.push(certify(net, 2, [tx(3, 100)]));
    return { net, certs };
  }
  const slot = (c: BatchCertificate) => `${c.author}/${c.sequence}`;

  it("pullPayload is fair across authors, oldest first, in sequence order within an author", () => {
    const { net } = setup();
    const leader = net.node(3);
    const all = leader.pullPayload({ maxBytes: 1e9, maxBatches: 100 }).certificates;
    expect(all.map(slot)).toStrictEqual(["0/0", "1/0", "2/0", "0/1", "2/1", "0/2"]);
    expect(leader.pullPayload({ maxBytes: 1e9, maxBatches: 3 }).certificates.map(slot)).toStrictEqual([
      "0/0",
      "1/0",
      "2/0",
    ]);
    expect(leader.pullPayload({ maxBytes: 250, maxBatches: 100 }).certificates.map(slot)).toStrictEqual(["0/0", "1/0"]);
    expect(leader.validatePayload({ certificates: all })).toBeNull();
  });

  it("pullPayload never returns a committed or excluded digest", () => {
    const { net, certs } = setup();
    const leader = net.node(1);
    const committed: BlockBatches = {
      system: [],
      certificates: [certs[0] as BatchCertificate, certs[2] as BatchCertificate],
    };
    const discarded = ofType(leader.onCommitted(committed), "discard-batch");
    expect(discarded.map((e) => toHex(e.digest))).toStrictEqual(committed.certificates.map((c) => toHex(c.digest)));
    const exclude = new Set([digestKey((certs[4] as BatchCertificate).digest)]);
    const pulled = leader.pullPayload({ maxBytes: 1e9, maxBatches: 100, exclude }).certificates;
    expect(pulled.map(slot)).toStrictEqual(["0/1", "2/1", "0/2"]);
    for (const c of pulled) {
      expect(exclude.has(digestKey(c.digest))).toBe(false);
      expect(leader.isCommittedSequence(c.author, c.sequence)).toBe(false);
    }
    // and validation refuses them
    expect(leader.validatePayload({ certificates: [certs[0] as BatchCertificate] })).toMatch(/already committed/);
    expect(leader.validatePayload({ certificates: [certs[4] as BatchCertificate] }, { exclude })).toMatch(/ancestor/);
    // committed batches are not accepted again either
    expect(leader.onCertificate(0, certs[0] as BatchCertificate)).toStrictEqual([]);
    expect(leader.pullPayload({ maxBytes: 1e9, maxBatches: 100 }).certificates.map(slot)).not.toContain("0/0");
  });

  it("validatePayload rejects duplicates, bad certificates and payloads over the limits", () => {
    const { net, certs } = setup();
    const v = net.node(2);
    const [a, b] = certs as [BatchCertificate, BatchCertificate];
    expect(v.validatePayload({ certificates: [] })).toBeNull();
    expect(v.validatePayload({ certificates: [a, b] })).toBeNull();
    expect(v.validatePayload({ certificates: [a, b, a] })).toMatch(/appears twice/);
    expect(v.validatePayload({ certificates: [a, { ...b, signature: a.signature }] })).toMatch(/certificate 1/);
    expect(v.validatePayload({ certificates: [a, b] }, { maxBatches: 1 })).toMatch(/exceed/);
    expect(v.validatePayload({ certificates: [a, b] }, { maxBytes: 150 })).toMatch(/exceed/);
  });

  it("transactionsOf gives the block's transactions in batch order, then transaction order", () => {
    const net = new Net();
    const c1 = certify(net, 1, [tx(5, 1, 1), tx(4, 1, 2)]);
    const c0 = certify(net, 0, [tx(9, 1, 3)]);
    const txs = net.node(2).transactionsOf({ certificates: [c1, c0] });
    expect(txs.map((t) => [t.namespace, t.data[0]])).toStrictEqual([
      [5, 1],
      [4, 2],
      [9, 3],
    ]);
    expect(() => store(2).transactionsOf({ certificates: [c1] })).toThrow(/not held/);
  });
});

describe("fetching missing batches", () => {
  it("detects missing batches, fetches them from the signers, and rejects a wrong batch", () => {
    const net = new Net();
    // validator 3 never sees the batch, only the certificate
    net.drop = (_from, to, m) => to === 3 && m.kind === "batch";
    const cert = certify(net, 0, [tx(1, 10), tx(2, 10)]);
    const other = certify(net, 1, [tx(3, 10)]);
    net.drop = () => false;
    const v = net.node(3);
    const payload: BlockBatches = { certificates: [other, cert], system: [] };
    expect(v.validatePayload(payload)).toBeNull();
    expect(v.missingBatches(payload)).toStrictEqual([other.digest, cert.digest]);
    // a response nobody asked for, or with a batch that hashes to no requested digest, is rejected
    const wrong: Batch = { author: 0, sequence: 0, createdAtMs: 0, transactions: [tx(1, 10)] };
    expect(ofType(v.onBatchResponse(0, { batches: [wrong] }), "rejected")[0]?.reason).toMatch(/not requested/);
    const requests = v.fetchMissing(payload, net.now);
    expect(requests.map((e) => e.type === "send" && [e.to, e.message])).toStrictEqual([
      [1, { kind: "batch-request", request: { digests: [other.digest] } }],
      [0, { kind: "batch-request", request: { digests: [cert.digest] } }],
    ]);
    expect(v.fetchMissing(payload, net.now)).toStrictEqual([]); // already being fetched
    expect(ofType(v.onBatchResponse(0, { batches: [wrong] }), "rejected")[0]?.reason).toMatch(/not requested/);
    // the author is down: after retryMs the next signer is asked
    const retry = v.tick(net.now + 1000);
    expect(retry.map((e) => e.type === "send" && e.to)).toStrictEqual([0, 1]);
    net.apply(
      3,
      retry.filter((e) => e.type === "send" && e.to === 1),
    );
    net.run();
    expect(v.missingBatches(payload)).toStrictEqual([other.digest]);
    expect(net.of(3, "persist-batch")).toHaveLength(1);
    net.apply(
      3,
      retry.filter((e) => e.type === "send" && e.to === 0),
    );
    net.run();
    expect(v.missingBatches(payload)).toStrictEqual([]);
    expect(v.transactionsOf(payload).map((t) => t.namespace)).toStrictEqual([3, 1, 2]);
    expect(net.of(3, "rejected")).toStrictEqual([]);
    // fetched batches are not acknowledged (they are certified already) and late duplicates are ignored
    expect(net.of(3, "send").filter((e) => e.message.kind === "batch-ack")).toStrictEqual([]);
    expect(v.onBatchResponse(1, { batches: [net.node(1).getBatch(other.digest) as Batch] })).toStrictEqual([]);
  });

  it("answers requests with the batches it holds, within limits", () => {
    const net = new Net();
    const cert = certify(net, 0, [tx(1, 10)]);
    const responder = net.node(2);
    const response = responder.onBatchRequest(3, { digests: [new Uint8Array(32), cert.digest, cert.digest] });
    expect(response).toStrictEqual([
      {
        type: "send",
        to: 3,
        message: { kind: "batch-response", response: { batches: [responder.getBatch(cert.digest)] } },
      },
    ]);
    const tooMany = { digests: Array.from({ length: 1025 }, () => new Uint8Array(32)) };
    expect(ofType(responder.onBatchRequest(3, tooMany), "rejected")).toHaveLength(1);
  });
});

describe("commit and restart", () => {
  it("onCommitted garbage-collects batches and certificates and keeps the floors", () => {
    const net = new Net();
    const c0 = certify(net, 0, [tx(1, 10)]);
    const c1 = certify(net, 0, [tx(1, 11)]);
    const v = net.node(1);
    // out of order: sequence 1 first, then 0
    expect(ofType(v.onCommitted({ certificates: [c1] }), "discard-batch")).toHaveLength(1);
    expect(v.watermarks()).toStrictEqual([{ author: 0, floor: 0, committed: [1] }]);
    expect(v.getBatch(c1.digest)).toBeUndefined();
    expect(v.getCertificate(c1.digest)).toBeUndefined();
    expect(v.onCommitted({ certificates: [c1] })).toStrictEqual([]); // a repeat is skipped
    v.onCommitted({ certificates: [c0] });
    expect(v.watermarks()).toStrictEqual([{ author: 0, floor: 2, committed: [] }]);
    expect(v.pullPayload({ maxBytes: 1e9, maxBatches: 10 }).certificates).toStrictEqual([]);
  });

  it("restore resumes sequences, re-collects acks for own batches and keeps commit state", () => {
    const net = new Net();
    const c0 = certify(net, 0, [tx(1, 10)]);
    for (let i = 0; i < N; i++) net.apply(i, net.node(i).onCommitted({ certificates: [c0] }));
    // batch 1: every ack is lost, then validator 0 restarts
    net.drop = (_from, _to, m) => m.kind === "batch-ack";
    net.apply(0, net.node(0).addTransactions([tx(2, 10)], net.now));
    net.apply(0, net.node(0).tick(net.now + 100));
    net.run();
    expect(net.of(0, "certified")).toHaveLength(1);
    net.drop = () => false;
    const discarded = new Set(net.of(0, "discard-batch").map((e) => toHex(e.digest)));
    const persisted = net.of(0, "persist-batch").filter((e) => !discarded.has(toHex(e.digest)));
    expect(persisted.map((e) => e.batch.sequence)).toStrictEqual([1]);
    const restarted = store(0);
    const effects = restarted.restore({
      batches: persisted.map((e) => e.batch),
      certificates: net.of(0, "certified").map((e) => e.certificate),
      watermarks: net.node(0).watermarks(),
    });
    expect(effects).toStrictEqual([]); // its own ack alone is no quorum
    expect(restarted.isCommittedSequence(0, 0)).toBe(true);
    net.stores[0] = restarted;
    net.effects[0] = [];
    // the unacknowledged batch is resent at once; validators that stored it ack again
    net.apply(0, restarted.tick(net.now + 200));
    net.run();
    const certified = net.of(0, "certified");
    expect(certified.map((e) => e.certificate.sequence)).toStrictEqual([1]);
    // and the next batch continues the sequence
    expect(restarted.addTransactions([tx(3, 10)], net.now + 300)).toStrictEqual([]);
    const next = ofType(restarted.tick(net.now + 1000), "persist-batch");
    expect(next.map((e) => e.batch.sequence)).toStrictEqual([2]);
  });

  it("after a restart, an own sequence sealed but never written is sealed again, so the window floor moves on", () => {
    const net = new Net();
    // Sequences 0 and 1 sealed; only 1 became durable before the crash (0 was never sent: not persisted).
    const s = store(0);
    s.addTransactions([tx(1, 10)], 0);
    const first = ofType(s.tick(1000), "persist-batch")[0]?.batch as Batch;
    s.addTransactions([tx(2, 10)], 1000);
    const second = ofType(s.tick(2000), "persist-batch")[0]?.batch as Batch;
    expect([first.sequence, second.sequence]).toStrictEqual([0, 1]);
    const restarted = store(0);
    restarted.restore({ nextSequence: 2, batches: [second] });
    net.stores[0] = restarted;
    // The next batch takes the hole at 0 (it was never sent, so reusing it is no equivocation), then 2 follows.
    expect(restarted.addTransactions([tx(3, 10)], 0)).toStrictEqual([]);
    const refill = ofType(restarted.tick(5000), "persist-batch").map((e) => e.batch.sequence);
    expect(refill).toStrictEqual([0]);
    expect(certify(net, 0, [tx(4, 10)]).sequence).toBe(2);
    expect(restarted.ownProgress()).toMatchObject({ floor: 0, nextSequence: 3 });
  });
});
