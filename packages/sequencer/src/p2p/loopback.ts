/**
 * Starts several transports on 127.0.0.1 (ephemeral ports) in this process and
 * introduces them to each other: for benchmarks, tests and local tools.
 */
import type { PrivateKey } from "@libp2p/interface";
import type { PeerLimits } from "./limits.js";
import { generatePeerKey, peerIdOf } from "./peer-key.js";
import { createTransport, type Transport, type TransportLogger } from "./transport.js";

export interface LoopbackOptions {
  count: number;
  /** One key per transport (generated when absent). */
  keys?: readonly PrivateKey[];
  limits?: Partial<PeerLimits>;
  logger?: TransportLogger;
}

export async function startLoopbackTransports(options: LoopbackOptions): Promise<Transport[]> {
  const keys: PrivateKey[] = [];
  for (let i = 0; i < options.count; i++) keys.push(options.keys?.[i] ?? (await generatePeerKey()));
  const peers = keys.map((key, index) => ({ index, peerId: peerIdOf(key), addrs: [] as string[] }));
  const transports: Transport[] = [];
  try {
    for (const [index, privateKey] of keys.entries()) {
      transports.push(
        await createTransport({
          privateKey,
          listen: "/ip4/127.0.0.1/tcp/0",
          self: index,
          peers,
          ...(options.limits === undefined ? {} : { limits: options.limits }),
          ...(options.logger === undefined ? {} : { logger: options.logger }),
        }),
      );
    }
    for (const transport of transports) {
      for (const other of transports) {
        if (other !== transport) await transport.setPeerAddrs(other.self, other.multiaddrs());
      }
    }
  } catch (err) {
    await Promise.allSettled(transports.map((t) => t.stop()));
    throw err;
  }
  return transports;
}
