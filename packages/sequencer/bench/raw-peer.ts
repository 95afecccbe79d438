/**
 * One node of `bench:devnet`'s raw-transport baseline, as its own OS process:
 * a validator's libp2p identity and P2P port, no consensus. Driven by the
 * parent over IPC: "ready" once connected to every peer, then on "go" it
 * broadcasts its share and reports "done" when it has every other node's.
 */
import "@ordo/core";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { readGenesis, readNodeConfig } from "../src/cli/files.js";
import { loadOrCreatePeerKey } from "../src/p2p/peer-key.js";
import { runRawPeer } from "../src/p2p/raw-throughput.js";
import { createTransport } from "../src/p2p/transport.js";

const { values } = parseArgs({
  options: {
    config: { type: "string" },
    frames: { type: "string" },
    "frame-bytes": { type: "string" },
    tag: { type: "string" },
  },
});
const send = (m: object) => process.send?.(m);
const configPath = resolve(values.config as string);
const config = await readNodeConfig(configPath);
const { file: genesis } = await readGenesis(resolve(dirname(configPath), config.genesis));
const n = genesis.validators.length;
const transport = await createTransport({
  privateKey: await loadOrCreatePeerKey(resolve(dirname(configPath), config.peerKeyFile)),
  listen: config.listen,
  self: config.self,
  peers: genesis.validators.map((v, index) => ({ index, peerId: v.peerId, addrs: v.addrs })),
});
const frames = Number(values.frames);
const frameBytes = Number(values["frame-bytes"]);
const deadline = Date.now() + 30_000;
while (transport.connectedPeers().length < n - 1) {
  if (Date.now() > deadline) {
    send({
      type: "error",
      message: `validator ${config.self} connected to ${transport.connectedPeers().length} peers`,
    });
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 20));
}
send({ type: "ready" });
process.on("message", async (m: { type: string }) => {
  if (m.type === "go") {
    const run = runRawPeer({
      node: transport,
      tag: new Uint8Array(Buffer.from(values.tag as string, "hex")),
      frameBytes,
      frames,
      expected: frames * (n - 1),
      windowBytes: 4 * 1024 * 1024,
      stop: { requested: false },
    });
    await run.done;
    send({ type: "done" });
  } else if (m.type === "stop") {
    await transport.stop();
    process.exit(0);
  }
});
