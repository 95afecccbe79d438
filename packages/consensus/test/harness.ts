/** A minimal in-memory network for unit tests: delivers effects between replicas in FIFO order. */
import {
  type Block,
  blstBackend,
  type ConsensusMessage,
  decodeMessage,
  encodeMessage,
  generateValidatorKey,
  hashHeader,
  type QuorumCertificate,
  sha256,
  type ValidatorKey,
  ValidatorSet,
} from "@ordo/core";
import {
  type ConsensusEffect,
  createGenesisBlock,
  genesisQc,
  type RecoveredState,
  Replica,
  type ReplicaConfig,
  type SafetyState,
} from "../src/index.js";
import { randomPayload, validateSimPayload } from "../src/sim/payload.js";
import { Rng } from "../src/sim/rng.js";

export interface Net {
  replicas: (Replica | null)[];
  keys: ValidatorKey[];
  validators: ValidatorSet;
  config: (i: number) => ReplicaConfig;
  commits: { height: number; hash: string }[][];
  persisted: (SafetyState | null)[];
  sent: { from: number; message: ConsensusMessage }[];
  /** Run queued messages until quiet or `limit` deliveries. */
  run(limit?: number): void;
  /** Fire the current round's timer on every live replica. */
  timeoutAll(): void;
  /** Fire the current round's timer on replica `i` alone. */
  timeout(i: number): void;
  restart(i: number): void;
  effectsOf: ConsensusEffect[][];
  drop: (from: number, to: number, m: ConsensusMessage) => boolean;
}

export function createNet(n: number, stakes?: bigint[]): Net {
  const keys = Array.from({ length: n }, (_, i) => generateValidatorKey(blstBackend, sha256(new Uint8Array([i, 42]))));
  const validators = ValidatorSet.create(
    {
      epoch: 0,
      validators: keys.map((k, i) => ({
        publicKey: k.publicKey,
        stake: stakes?.[i] ?? 10n,
        proofOfPossession: k.proofOfPossession,
      })),
    },
    blstBackend,
  );
  const genesis = createGenesisBlock({ chainId: 7, validators, timestampMs: 0 });
  const config = (i: number): ReplicaConfig => ({
    chainId: 7,
    self: i,
    validators,
    bls: blstBackend,
    secretKey: (keys[i] as ValidatorKey).secretKey,
    genesis,
    validatePayload: validateSimPayload,
  });
  const rng = new Rng(1);
  const queue: { to: number; from: number; bytes: Uint8Array }[] = [];
  const events: { node: number; seq?: number; round?: number; payload?: ReturnType<typeof randomPayload> }[] = [];
  let now = 0;
  const net: Net = {
    replicas: [],
    keys,
    validators,
    config,
    commits: Array.from({ length: n }, () => []),
    persisted: Array.from({ length: n }, () => null),
    sent: [],
    effectsOf: Array.from({ length: n }, () => []),
    drop: () => false,
    run(limit = 100_000) {
      let steps = 0;
      while ((queue.length > 0 || events.length > 0) && steps++ < limit) {
        now += 1;
        const ev = events.shift();
        if (ev) {
          const r = net.replicas[ev.node];
          if (!r) continue;
          if (ev.seq !== undefined) {
            apply(ev.node, r.handle({ type: "persisted", seq: ev.seq }, now));
          } else if (ev.payload) {
            apply(ev.node, r.handle({ type: "payload-ready", round: ev.round as number, ...ev.payload }, now));
          }
          continue;
        }
        const m = queue.shift();
        if (!m) continue;
        const r = net.replicas[m.to];
        if (!r) continue;
        apply(m.to, r.handle({ type: "message", from: m.from, message: decodeMessage(m.bytes) }, now));
      }
    },
    timeoutAll() {
      for (let i = 0; i < net.replicas.length; i++) net.timeout(i);
    },
    timeout(i) {
      const r = net.replicas[i];
      if (r) apply(i, r.handle({ type: "timer", round: r.currentRound }, now));
    },
    restart(i) {
      const safety = net.persisted[i];
      const root = lastCommit[i] ?? { block: genesis, qc: genesisQc(hashHeader(genesis.header)) };
      const recovered: RecoveredState | undefined = safety ? { safety, root } : undefined;
      const fresh = new Replica(config(i), recovered);
      net.replicas[i] = fresh;
      apply(i, fresh.start(now));
    },
  };
  const lastCommit: ({ block: Block; qc: QuorumCertificate } | undefined)[] = [];
  function send(from: number, to: number, message: ConsensusMessage) {
    net.sent.push({ from, message });
    if (net.drop(from, to, message)) return;
    queue.push({ to, from, bytes: encodeMessage(message) });
  }
  function apply(i: number, effects: ConsensusEffect[]) {
    net.effectsOf[i]?.push(...effects);
    for (const e of effects) {
      if (e.type === "send") send(i, e.to, e.message);
      else if (e.type === "broadcast") for (let j = 0; j < n; j++) j !== i && send(i, j, e.message);
      else if (e.type === "request-sync") send(i, e.to, e.request);
      else if (e.type === "persist") {
        net.persisted[i] = e.state;
        events.push({ node: i, seq: e.seq });
      } else if (e.type === "request-payload") events.push({ node: i, round: e.round, payload: randomPayload(rng, 3) });
      else if (e.type === "commit") {
        lastCommit[i] = { block: e.block, qc: e.qc };
        net.commits[i]?.push({ height: e.block.header.height, hash: Buffer.from(e.blockHash).toString("hex") });
      }
    }
  }
  for (let i = 0; i < n; i++) {
    const r = new Replica(config(i));
    net.replicas.push(r);
  }
  net.replicas.forEach((r, i) => {
    if (r) apply(i, r.start(0));
  });
  return net;
}
