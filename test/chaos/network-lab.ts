/**
 * A real network for the chaos harness: one Linux network namespace per
 * validator, each joined to a bridge in the harness's namespace by a veth pair
 * (iproute2). Partitions are blackhole routes inside the namespaces (packets
 * to the other side vanish, as on a cut cable: TCP retransmits, then resumes
 * on heal); a slow link is a token-bucket filter on the veth (this kernel has
 * no netem). Needs root (CAP_NET_ADMIN).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface NetworkLab {
  /** The harness's address on the bridge: where the L1 and DA anvils listen, reachable from every namespace. */
  readonly hostIp: string;
  /** Validator i's address inside its namespace. */
  ip(i: number): string;
  /** Command prefix that runs a program inside validator i's namespace. */
  exec(i: number): string[];
  /** Cuts every link between validators of different groups (validators in no group keep all links). */
  partition(groups: readonly (readonly number[])[]): Promise<void>;
  /** Restores every link. */
  heal(): Promise<void>;
  /** Limits validator i's outgoing link to `kbitPerSecond` (a token bucket); 0 lifts the limit. */
  slow(i: number, kbitPerSecond: number): Promise<void>;
  destroy(): Promise<void>;
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run("ip", args);
  } catch (e) {
    throw new Error(`ip ${args.join(" ")}: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`);
  }
}

/** True when this process can make network namespaces (root with iproute2). */
export async function canMakeNetworkNamespaces(): Promise<boolean> {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  const probe = `ordo-probe-${process.pid}`;
  try {
    await ip("netns", "add", probe);
    await ip("netns", "del", probe);
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds the lab for `n` validators. `id` (1–250) keeps concurrent labs apart: it names the
 * interfaces and picks the subnet 10.213.<id>.0/24.
 */
export async function createNetworkLab(n: number, id: number): Promise<NetworkLab> {
  if (!Number.isInteger(id) || id < 1 || id > 250) throw new Error(`lab id ${id} is not in 1..250`);
  const bridge = `obr${id}`;
  const ns = (i: number) => `ordo${id}v${i}`;
  const hostSide = (i: number) => `ov${id}h${i}`;
  const nsSide = (i: number) => `ov${id}n${i}`;
  const net = `10.213.${id}`;
  const addr = (i: number) => `${net}.${10 + i}`;
  const teardown = async () => {
    for (let i = 0; i < n; i++) {
      // The host side first: a namespace's own interfaces go away only when the kernel gets to it.
      await ip("link", "del", hostSide(i)).catch(() => {});
      await ip("netns", "del", ns(i)).catch(() => {});
    }
    await ip("link", "del", bridge).catch(() => {});
  };
  await teardown(); // what a killed earlier run with this id left behind
  await ip("link", "add", bridge, "type", "bridge");
  await ip("addr", "add", `${net}.1/24`, "dev", bridge);
  await ip("link", "set", bridge, "up");
  for (let i = 0; i < n; i++) {
    await ip("netns", "add", ns(i));
    await ip("link", "add", hostSide(i), "type", "veth", "peer", "name", nsSide(i));
    await ip("link", "set", nsSide(i), "netns", ns(i));
    await ip("link", "set", hostSide(i), "master", bridge);
    await ip("link", "set", hostSide(i), "up");
    await ip("-n", ns(i), "addr", "add", `${addr(i)}/24`, "dev", nsSide(i));
    await ip("-n", ns(i), "link", "set", nsSide(i), "up");
    await ip("-n", ns(i), "link", "set", "lo", "up");
  }
  const cut = new Set<string>();
  const throttled = new Set<number>();
  const tc = (i: number, ...args: string[]) => run("ip", ["netns", "exec", ns(i), "tc", "qdisc", ...args]);
  return {
    hostIp: `${net}.1`,
    ip: addr,
    exec: (i) => ["ip", "netns", "exec", ns(i)],
    async partition(groups) {
      const groupOf = new Map<number, number>();
      for (const [g, members] of groups.entries()) for (const v of members) groupOf.set(v, g);
      for (const [a, ga] of groupOf)
        for (const [b, gb] of groupOf) {
          if (ga === gb || cut.has(`${a}>${b}`)) continue;
          await ip("-n", ns(a), "route", "add", "blackhole", `${addr(b)}/32`);
          cut.add(`${a}>${b}`);
        }
    },
    async heal() {
      for (const link of cut) {
        const [a, b] = link.split(">").map(Number) as [number, number];
        await ip("-n", ns(a), "route", "del", "blackhole", `${addr(b)}/32`).catch(() => {});
      }
      cut.clear();
    },
    async slow(i, kbitPerSecond) {
      if (throttled.has(i)) await tc(i, "del", "dev", nsSide(i), "root");
      throttled.delete(i);
      if (kbitPerSecond <= 0) return;
      // A token bucket: the link carries kbitPerSecond, and packets queue up to 400 ms before they drop.
      await tc(
        i,
        "add",
        "dev",
        nsSide(i),
        "root",
        "tbf",
        "rate",
        `${kbitPerSecond}kbit`,
        "burst",
        "16kbit",
        "latency",
        "400ms",
      );
      throttled.add(i);
    },
    destroy: teardown,
  };
}
