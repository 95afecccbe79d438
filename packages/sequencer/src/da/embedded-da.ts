/**
 * The embedded DA layer, as one validator runs it.
 *
 * - **Dispersal** (by the validator posting a height): the block's DA payload
 *   is erasure-coded into k + m shards, committed in a Merkle root, and each
 *   validator is sent its shards (j mod n = its index) with their paths over
 *   the P2P transport.
 * - **Custody**: a validator checks every shard it is sent against the root,
 *   and — since it committed the block itself — that the root is the one its
 *   own encoding of the payload gives; only then it stores the shards
 *   (LevelDB, synchronously) and answers with its BLS attestation
 *   (`daAttestationDigest`). A validator that did not store its shards never
 *   signs, so it cannot be counted toward a certificate.
 * - **Certificate**: attestations from more than 2/3 of the stake, aggregated.
 * - **Retrieval**: ask every validator for its shards, keep those whose path
 *   verifies (a corrupt shard is skipped), rebuild from any k, check the hash.
 */
import {
  type BlsBackend,
  bytesEqual,
  createBitmap,
  daAttestationDigest,
  isQuorum,
  sha256,
  type ValidatorSet,
} from "@ordo/core";
import {
  commitShards,
  type DaCertificate,
  encodeShards,
  rebuildPayload,
  shardPath,
  shardsOf,
  verifyDaCertificate,
  verifyShard,
} from "@ordo/da-client";
import type { Transport } from "../p2p/transport.js";
import type { NodeStore } from "../storage/node-store.js";
import { type DaMessage, decodeDaMessage, encodeDaMessage, type ShardSet } from "./da-codec.js";

export interface EmbeddedDaOptions {
  chainId: number;
  self: number;
  validators: ValidatorSet;
  bls: BlsBackend;
  secretKey: Uint8Array;
  transport: Transport;
  store: NodeStore;
  /** Data and parity shards per block. */
  k: number;
  m: number;
  /** The DA payload of a committed height, as this validator has it (null if not committed or not available). */
  payloadAt(height: number): Promise<Uint8Array | null>;
  log?: { warn(o: object, msg: string): void; debug(o: object, msg: string): void };
  now?: () => number;
}

export class DaUnavailableError extends Error {}

const key = (height: number, root: Uint8Array) => `${height}:${Buffer.from(root).toString("hex")}`;

export class EmbeddedDa {
  private readonly o: EmbeddedDaOptions;
  /** Dispersals waiting for attestations, by height and root. */
  private readonly collecting = new Map<
    string,
    { signatures: Map<number, Uint8Array>; done: (c: DaCertificate) => void; set: ShardSet }
  >();
  /** Retrievals waiting for shards. */
  private readonly gathering = new Map<string, (from: number, set: ShardSet) => void>();
  readonly counters = { shardsStored: 0, shardsRejected: 0, attestations: 0, certificates: 0, badFrames: 0 };

  constructor(o: EmbeddedDaOptions) {
    this.o = o;
  }

  private get n(): number {
    return this.o.validators.validators.length;
  }

  /** A DA frame from a peer (the node routes tags 32–36 here). Never throws. */
  onFrame(from: number, bytes: Uint8Array): void {
    let msg: DaMessage;
    try {
      msg = decodeDaMessage(bytes);
    } catch (e) {
      this.counters.badFrames++;
      this.o.transport.penalize(from, `bad DA frame: ${(e as Error).message}`);
      return;
    }
    void this.handle(from, msg).catch((e: unknown) => this.o.log?.warn({ from, err: String(e) }, "DA frame failed"));
  }

  private send(to: number, msg: DaMessage): void {
    const bytes = encodeDaMessage(msg);
    if (to === this.o.self) this.onFrame(to, bytes);
    else this.o.transport.send(to, bytes);
  }

  private async handle(from: number, msg: DaMessage): Promise<void> {
    switch (msg.kind) {
      case "push": {
        const { kind: _, ...set } = msg;
        return this.custody(from, set);
      }
      case "ack": {
        const c = this.collecting.get(key(msg.height, msg.shardRoot));
        if (!c || msg.signer !== from || c.signatures.has(from)) return;
        const digest = daAttestationDigest(this.o.chainId, msg.height, c.set.payloadHash, msg.shardRoot);
        const pk = this.o.validators.validators[from]?.publicKey;
        if (!pk || !this.o.bls.verify(pk, digest, msg.signature)) {
          this.o.transport.penalize(from, "a DA attestation that does not verify");
          return;
        }
        c.signatures.set(from, msg.signature);
        this.tryCertify(msg.height, msg.shardRoot);
        return;
      }
      case "request": {
        const stored = await this.storedShards(msg.height);
        const set: ShardSet =
          stored && bytesEqual(stored.shardRoot, msg.shardRoot)
            ? stored
            : {
                height: msg.height,
                payloadHash: new Uint8Array(32),
                payloadLength: 0,
                shardRoot: msg.shardRoot,
                k: this.o.k,
                m: this.o.m,
                shards: [],
              };
        this.send(from, { ...set, kind: "response" });
        return;
      }
      case "response":
        this.gathering.get(key(msg.height, msg.shardRoot))?.(from, msg);
        return;
      case "certificate": {
        const { kind: _, ...cert } = msg;
        // Kept only if it verifies: any validator can then serve and rebuild the payload.
        if (verifyDaCertificate(this.o.bls, this.o.chainId, this.o.validators, cert))
          await this.o.store.putDaRecord("certificate", cert.height, encodeDaMessage(msg));
        else this.o.transport.penalize(from, "a DA certificate that does not verify");
        return;
      }
    }
  }

  /** Checks and stores the shards a disperser sent this validator; attests only once they are stored. */
  private async custody(from: number, set: ShardSet): Promise<void> {
    const count = set.k + set.m;
    const mine = shardsOf(this.o.self, this.n, count);
    const sent = set.shards.map((s) => s.index).sort((a, b) => a - b);
    const ok =
      sent.length === mine.length &&
      sent.every((j, i) => j === mine[i]) &&
      set.shards.every((s) => verifyShard(set.shardRoot, s.index, count, s.shard, s.path));
    // The root must be the encoding of the block this validator committed: a disperser cannot commit to junk.
    // A validator a little behind waits for its own commit of the height (a few tries).
    let payload: Uint8Array | null = null;
    for (let attempt = 0; ok && payload === null && attempt < 20; attempt++) {
      payload = await this.o.payloadAt(set.height);
      if (payload === null) await new Promise((r) => setTimeout(r, 250));
    }
    const honest =
      payload !== null &&
      bytesEqual(sha256(payload), set.payloadHash) &&
      payload.length === set.payloadLength &&
      bytesEqual(commitShards(encodeShards(payload, set.k, set.m)).root, set.shardRoot);
    if (!honest) {
      this.counters.shardsRejected++;
      this.o.log?.debug({ from, height: set.height }, "DA shards refused");
      return;
    }
    await this.o.store.putDaRecord("shards", set.height, encodeDaMessage({ ...set, kind: "response" }));
    this.counters.shardsStored += set.shards.length;
    const digest = daAttestationDigest(this.o.chainId, set.height, set.payloadHash, set.shardRoot);
    this.counters.attestations++;
    this.send(from, {
      kind: "ack",
      height: set.height,
      shardRoot: set.shardRoot,
      signer: this.o.self,
      signature: this.o.bls.sign(this.o.secretKey, digest),
    });
  }

  private tryCertify(height: number, root: Uint8Array): void {
    const c = this.collecting.get(key(height, root));
    if (!c) return;
    const signers = [...c.signatures.keys()].sort((a, b) => a - b);
    const bitmap = createBitmap(this.n, signers);
    if (!isQuorum(this.o.validators.signedStake(bitmap), this.o.validators.totalStake)) return;
    this.collecting.delete(key(height, root));
    this.counters.certificates++;
    c.done({
      height,
      payloadHash: c.set.payloadHash,
      payloadLength: c.set.payloadLength,
      shardRoot: root,
      k: c.set.k,
      m: c.set.m,
      signers: bitmap,
      signature: this.o.bls.aggregateSignatures(signers.map((i) => c.signatures.get(i) as Uint8Array)),
    });
  }

  /** Dispersals in progress, by height and root: a second request for the same shards joins the first. */
  private readonly dispersing = new Map<string, Promise<DaCertificate>>();

  /** Erasure-codes `payload` (the DA payload of `height`), sends each validator its shards, resolves with the certificate. */
  disperse(height: number, payload: Uint8Array, timeoutMs = 30_000): Promise<DaCertificate> {
    const shards = encodeShards(payload, this.o.k, this.o.m);
    const commitment = commitShards(shards);
    const k = key(height, commitment.root);
    const running = this.dispersing.get(k);
    if (running) return running;
    const p = this.startDispersal(height, payload, shards, commitment, timeoutMs).finally(() =>
      this.dispersing.delete(k),
    );
    this.dispersing.set(k, p);
    return p;
  }

  private startDispersal(
    height: number,
    payload: Uint8Array,
    shards: Uint8Array[],
    commitment: ReturnType<typeof commitShards>,
    timeoutMs: number,
  ): Promise<DaCertificate> {
    const set: ShardSet = {
      height,
      payloadHash: sha256(payload),
      payloadLength: payload.length,
      shardRoot: commitment.root,
      k: this.o.k,
      m: this.o.m,
      shards: [],
    };
    return new Promise<DaCertificate>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.collecting.delete(key(height, commitment.root));
        reject(new DaUnavailableError(`no quorum of DA attestations for height ${height} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.collecting.set(key(height, commitment.root), {
        signatures: new Map(),
        set,
        done: (c) => {
          clearTimeout(timer);
          resolve(c);
        },
      });
      for (let v = 0; v < this.n; v++) {
        const indexes = shardsOf(v, this.n, shards.length);
        this.send(v, {
          kind: "push",
          ...set,
          shards: indexes.map((j) => ({ index: j, shard: shards[j] as Uint8Array, path: shardPath(commitment, j) })),
        });
      }
    });
  }

  /** Rebuilds a certified payload from any k valid shards the validators serve; checks its hash. */
  retrieve(cert: DaCertificate, timeoutMs = 10_000): Promise<Uint8Array> {
    const count = cert.k + cert.m;
    const found: (Uint8Array | null)[] = new Array(count).fill(null);
    let valid = 0;
    return new Promise<Uint8Array>((resolve, reject) => {
      const k = key(cert.height, cert.shardRoot);
      const finish = (f: () => void) => {
        clearTimeout(timer);
        this.gathering.delete(k);
        f();
      };
      const timer = setTimeout(
        () =>
          finish(() => reject(new DaUnavailableError(`only ${valid} of ${cert.k} shards of height ${cert.height}`))),
        timeoutMs,
      );
      this.gathering.set(k, (_from, set) => {
        for (const s of set.shards) {
          if (found[s.index] !== null) continue;
          // A corrupt or misplaced shard fails its path and is left out.
          if (!verifyShard(cert.shardRoot, s.index, count, s.shard, s.path)) {
            this.counters.shardsRejected++;
            continue;
          }
          found[s.index] = s.shard;
          valid++;
        }
        if (valid < cert.k) return;
        finish(() => {
          try {
            const payload = rebuildPayload(found, cert.k, cert.m).subarray(0, cert.payloadLength);
            if (!bytesEqual(sha256(payload), cert.payloadHash)) throw new Error("the rebuilt payload does not match");
            resolve(payload);
          } catch (e) {
            reject(e);
          }
        });
      });
      for (let v = 0; v < this.n; v++)
        this.send(v, { kind: "request", height: cert.height, shardRoot: cert.shardRoot });
    });
  }

  /** Sends every validator (this one too) the certificate, which each keeps if it verifies. */
  announce(cert: DaCertificate): void {
    for (let v = 0; v < this.n; v++) this.send(v, { kind: "certificate", ...cert });
  }

  async certificate(height: number): Promise<DaCertificate | null> {
    const bytes = await this.o.store.getDaRecord("certificate", height);
    if (!bytes) return null;
    const msg = decodeDaMessage(bytes);
    if (msg.kind !== "certificate") return null;
    const { kind: _, ...cert } = msg;
    return cert;
  }

  async storedShards(height: number): Promise<ShardSet | null> {
    const bytes = await this.o.store.getDaRecord("shards", height);
    if (!bytes) return null;
    const msg = decodeDaMessage(bytes);
    return msg.kind === "response" ? msg : null;
  }
}
