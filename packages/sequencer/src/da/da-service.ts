/**
 * The DA side of a validator: its part of the embedded layer (custody of its
 * shards, serving them, keeping certificates) on every validator, and on the
 * validator configured as the poster, the `DaPoster` that posts every
 * committed block's DA payload to the embedded layer and the external layers
 * under the posting policy. Posting follows commits and never blocks them.
 */
import { type BlsBackend, bytesEqual, encodeBlockPayload, type ValidatorSet } from "@ordo/core";
import { type DaLayer, DaPoster, type PosterEvent, type PostingPolicy } from "@ordo/da-client";
import { blockTransactions } from "../api/namespace-blocks.js";
import { groupByNamespace, type ValidatorNode } from "../node/validator-node.js";
import type { Transport } from "../p2p/transport.js";
import type { NodeStore } from "../storage/node-store.js";
import { EmbeddedDa } from "./embedded-da.js";
import { EmbeddedDaLayer } from "./embedded-layer.js";
import { LevelPostingStore } from "./level-posting-store.js";

/** The DA payload of a block without transactions (the encoding is canonical: one value, one byte string). */
const EMPTY_PAYLOAD = encodeBlockPayload({ groups: [] });

export interface DaServiceOptions {
  node: ValidatorNode;
  store: NodeStore;
  transport: Transport;
  validators: ValidatorSet;
  chainId: number;
  self: number;
  bls: BlsBackend;
  secretKey: Uint8Array;
  k: number;
  m: number;
  /** Set on the validator that posts: the external layers (besides the embedded one) and the policy. */
  poster?: {
    layers: DaLayer[];
    policy: PostingPolicy;
    onEvent?: (e: PosterEvent) => void;
  };
  log?: { warn(o: object, msg: string): void; debug(o: object, msg: string): void };
}

export interface DaService {
  embedded: EmbeddedDa;
  layer: EmbeddedDaLayer;
  poster: DaPoster | null;
  /** The DA payload of a committed height: its transactions grouped by namespace, in core's payload encoding. */
  payloadAt(height: number): Promise<Uint8Array | null>;
}

export function startDaService(o: DaServiceOptions): DaService {
  const payloadAt = async (height: number): Promise<Uint8Array | null> => {
    if (o.store.latestHeight === null || height > o.store.latestHeight) return null;
    const block = await o.store.getBlock(height);
    if (!block) return null;
    try {
      return encodeBlockPayload({ groups: groupByNamespace(await blockTransactions(o.store, block)) });
    } catch {
      return null; // a batch this validator does not hold (yet)
    }
  };
  const embedded = new EmbeddedDa({
    chainId: o.chainId,
    self: o.self,
    validators: o.validators,
    bls: o.bls,
    secretKey: o.secretKey,
    transport: o.transport,
    store: o.store,
    k: o.k,
    m: o.m,
    payloadAt,
    ...(o.log ? { log: o.log } : {}),
  });
  o.node.onDaFrame((from, bytes) => embedded.onFrame(from, bytes));
  const layer = new EmbeddedDaLayer(embedded);
  let poster: DaPoster | null = null;
  if (o.poster) {
    const p = new DaPoster({
      layers: [layer, ...o.poster.layers],
      policy: o.poster.policy,
      store: new LevelPostingStore(o.store),
      readPayload: payloadAt,
      firstHeight: 1,
      // External layers charge per submission (a blob waits for its L1 block): they take bundles of blocks. The
      // embedded layer's certificates name one height each: it takes blocks one by one.
      bundled: o.poster.layers.map((l) => l.name),
      ...(o.poster.onEvent ? { onEvent: o.poster.onEvent } : {}),
      // A block without transactions has nothing to make available (its namespace root is the empty tree's), so
      // no layer gets it; some layers (blobs) get only blocks with transactions anyway.
      postTo: (_layer, payload) => !bytesEqual(payload, EMPTY_PAYLOAD),
    });
    poster = p;
    o.node.onCommit((e) => p.finalizedUpTo(e.height));
    if (o.store.latestHeight !== null) p.finalizedUpTo(o.store.latestHeight);
  }
  return { embedded, layer, poster, payloadAt };
}
