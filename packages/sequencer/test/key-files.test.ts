/**
 * Secret key files stay private. `genesis create` (and the devnet's L1 keys) write every key 0600 in a 0700
 * directory; every reader of a secret key file (BLS, libp2p peer, system/prover, L1 and DA private keys, and
 * `ordo node start` itself) refuses a file that group or others may access, saying how to fix it; and no GET route
 * of the API ever answers with a validator's secret key bytes.
 */
import { spawn } from "node:child_process";
import { chmod, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { blstBackend, OrdoError, toHex } from "@ordo/core";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { createApiServer } from "../src/api/server.js";
import { externalDaLayers } from "../src/cli/da-layers.js";
import { configureDevnetBlobs } from "../src/cli/devnet-l1.js";
import { type NodeConfigFile, readBlsKeyFile, readSystemKeyFile } from "../src/cli/files.js";
import { genesisCreate } from "../src/cli/genesis-create.js";
import { l1Key } from "../src/cli/l1-commands.js";
import type { DaService } from "../src/da/da-service.js";
import type { MarketService } from "../src/market/market-service.js";
import { loadOrCreatePeerKey } from "../src/p2p/peer-key.js";
import type { NodeStore } from "../src/storage/node-store.js";
import {
  CHAIN_ID,
  ephemeralPort,
  type InProcessNetwork,
  startInProcessNetwork,
  waitFor,
} from "./fixtures/in-process-network.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const CLI = join(ROOT, "packages/sequencer/src/cli/ordo.ts");
const posix = process.platform !== "win32";

/** Every file under `dir`, with the directories on the way. */
async function walk(dir: string): Promise<{ files: string[]; dirs: string[] }> {
  const files: string[] = [];
  const dirs: string[] = [dir];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const sub = await walk(p);
      files.push(...sub.files);
      dirs.push(...sub.dirs);
    } else files.push(p);
  }
  return { files, dirs };
}

const isKeyFile = (path: string) => /\.key$/.test(path);
const modeOf = async (path: string) => Number((await stat(path)).mode) & 0o777;

/** The message every reader refuses an over-permissive key file with. */
const refusal = (path: string, access: string, mode: string) =>
  `${path} is ${access} by other users (mode ${mode}); run: chmod 600 ${path}`;

/**
 * Runs `ordo ARGS` as the operator would; resolves with its exit code and stderr. A command still running after
 * `timeoutMs` (a node that started instead of refusing) is killed and resolves with code null.
 */
function ordo(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const p = spawn(process.execPath, ["--conditions=source", "--import", "tsx", CLI, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    p.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.once("error", reject);
    p.once("exit", (code) => {
      clearTimeout(timer);
      resolveRun({ code, stderr });
    });
  });
}

describe.skipIf(!posix)("key files written by genesis create and the devnet", () => {
  let root: string;
  let out: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ordo-keys-"));
    out = join(root, "net");
    const quiet = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      // Ephemeral ports: a node start that wrongly goes ahead must not collide with anything.
      const [p2p, api] = [await ephemeralPort(), await ephemeralPort()];
      await genesisCreate([
        ...["--validators", "4", "--out", out, "--provers", "2", "--epoch-length", "10"],
        ...["--base-port", String(p2p), "--api-port", String(api)],
      ]);
    } finally {
      quiet.mockRestore();
    }
    // The devnet adds validator 0's blob-posting L1 key and the relayer's L1 key; the former is written here.
    await configureDevnetBlobs(out, { rpcUrl: "http://127.0.0.1:1" });
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("writes every key file 0600, in 0700 directories from the network directory down", async () => {
    const { files } = await walk(out);
    const keys = files.filter(isKeyFile).map((f) => relative(out, f));
    expect(keys.sort()).toEqual(
      [
        ...[0, 1, 2, 3].flatMap((i) => [`validator-${i}/bls.key`, `validator-${i}/peer.key`]),
        "validator-0/da-l1.key",
        "prover-0/system.key",
        "prover-1/system.key",
        "rollup-operator/system.key",
      ].sort(),
    );
    const wrong: string[] = [];
    for (const key of keys) {
      const path = join(out, key);
      if ((await modeOf(path)) !== 0o600) wrong.push(`${key}: ${(await modeOf(path)).toString(8)}`);
      // Each directory between the network directory (created by genesis create) and the key.
      for (let d = join(path, ".."); d.startsWith(out); d = join(d, ".."))
        if ((await modeOf(d)) !== 0o700) wrong.push(`${relative(root, d) || "."}/: ${(await modeOf(d)).toString(8)}`);
    }
    expect([...new Set(wrong)]).toEqual([]);
  });

  it("keeps secrets out of the files that are not keys (genesis.json, node.json)", async () => {
    const secrets = await Promise.all(
      [0, 1, 2, 3].map(async (i) => (await readFile(join(out, `validator-${i}`, "bls.key"), "utf8")).trim()),
    );
    const { files } = await walk(out);
    for (const f of files.filter((p) => !isKeyFile(p))) {
      const text = await readFile(f, "utf8");
      for (const s of secrets) expect(text.includes(s.slice(2)), relative(out, f)).toBe(false);
    }
  });

  it("has every reader accept the keys as written", async () => {
    await expect(readBlsKeyFile(join(out, "validator-0", "bls.key"))).resolves.toBeDefined();
    await expect(loadOrCreatePeerKey(join(out, "validator-0", "peer.key"))).resolves.toBeDefined();
    await expect(readSystemKeyFile(join(out, "prover-0", "system.key"))).resolves.toBeDefined();
    const config = JSON.parse(await readFile(join(out, "validator-0", "node.json"), "utf8")) as NodeConfigFile;
    const layers = config.da?.poster?.layers ?? [];
    expect(layers).toHaveLength(1);
    await expect(externalDaLayers(layers, (p) => resolve(out, "validator-0", p))).resolves.toHaveLength(1);
  });

  it("has every reader refuse a key file that group or others may access, saying how to fix it", async () => {
    const cases: { file: string; read: (path: string) => Promise<unknown>; code: string }[] = [
      { file: "validator-1/bls.key", read: readBlsKeyFile, code: "KEY_FILE_INSECURE" },
      { file: "validator-1/peer.key", read: loadOrCreatePeerKey, code: "PEER_KEY_INSECURE_PERMISSIONS" },
      { file: "prover-1/system.key", read: (p) => readSystemKeyFile(p), code: "KEY_FILE_INSECURE" },
      { file: "prover-1/system.key", read: (p) => readSystemKeyFile(p, true), code: "KEY_FILE_INSECURE" },
      { file: "validator-0/da-l1.key", read: l1Key, code: "KEY_FILE_INSECURE" },
      {
        file: "validator-0/da-l1.key",
        read: (p) =>
          externalDaLayers([{ type: "ethereum-blobs", rpcUrl: "http://127.0.0.1:1", privateKeyFile: p }], (x) => x),
        code: "KEY_FILE_INSECURE",
      },
    ];
    for (const { file, read, code } of cases) {
      const path = join(out, file);
      for (const [mode, access] of [
        [0o644, "readable"],
        [0o640, "readable"],
        [0o604, "readable"],
        [0o660, "readable and writable"],
        [0o602, "writable"],
        [0o610, "accessible"],
      ] as const) {
        await chmod(path, mode);
        const error = await read(path).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error, `${file} at ${mode.toString(8)}`).toBeInstanceOf(OrdoError);
        expect((error as OrdoError).code).toBe(code);
        expect((error as OrdoError).message).toContain(refusal(path, access, `0${mode.toString(8)}`));
        expect((error as OrdoError).fix).toBe(`chmod 600 ${path}`);
      }
      await chmod(path, 0o600);
      await expect(read(path)).resolves.toBeDefined();
    }
  });

  it("has `ordo node start` refuse a BLS key or peer key file others can read, before it opens any port", async () => {
    const config = join(out, "validator-2", "node.json");
    const bls = join(out, "validator-2", "bls.key");
    const peer = join(out, "validator-2", "peer.key");
    await chmod(bls, 0o644);
    const refusedBls = await ordo(["node", "start", "--config", config]);
    expect(refusedBls.code).toBe(1);
    expect(refusedBls.stderr).toContain("KEY_FILE_INSECURE");
    expect(refusedBls.stderr).toContain(refusal(bls, "readable", "0644"));

    await chmod(bls, 0o600);
    await chmod(peer, 0o640);
    const refusedPeer = await ordo(["node", "start", "--config", config]);
    expect(refusedPeer.code).toBe(1);
    expect(refusedPeer.stderr).toContain(refusal(peer, "readable", "0640"));
    await chmod(peer, 0o600);
  }, 60_000);
});

// ── the API never serves a secret key ─────────────────────────────────────

/** The ways a key's bytes could appear in a response: hex (with and without 0x, either case) and base64. */
function encodings(bytes: Uint8Array): string[] {
  const hex = Buffer.from(bytes).toString("hex");
  const b64 = Buffer.from(bytes).toString("base64");
  return [hex, hex.toUpperCase(), `0x${hex}`, b64, b64.replace(/=+$/, ""), Buffer.from(bytes).toString("base64url")];
}

/** The encodings of any of `keys` that `text` contains, with whose key it is. */
function leaks(text: string, keys: { name: string; bytes: Uint8Array }[]): string[] {
  return keys.flatMap(({ name, bytes }) =>
    encodings(bytes).flatMap((e) => (text.includes(e) ? [`${name} as ${e}`] : [])),
  );
}

describe("the API's GET routes", () => {
  let net: InProcessNetwork;
  const apps: FastifyInstance[] = [];
  const account = `0x${"1".repeat(64)}`;
  beforeAll(async () => {
    // Every optional part on, as `node start` runs it: market, DA (validator 0 posts), epochs, staking, and the
    // attestation signer holding the validator's consensus key.
    net = await startInProcessNetwork(4, {
      market: { [account]: 1_000n },
      da: { k: 2, m: 2, poster: 0 },
      epochLength: 5,
      stakingBalance: 1_000n,
    });
    for (const [i, node] of net.nodes.entries()) {
      const secretKey = net.secretKeys[i] as Uint8Array;
      const app = createApiServer({
        node,
        store: net.stores[i] as NodeStore,
        chainId: CHAIN_ID,
        self: i,
        market: net.markets[i] as MarketService,
        da: net.das[i] as DaService,
        sign: (digest) => blstBackend.sign(secretKey, digest),
      });
      await app.ready();
      apps.push(app);
    }
  }, 60_000);
  afterAll(async () => {
    for (const app of apps) await app.close();
    if (net) await net.stop();
  });

  it("never answer with any validator's secret key, in hex or base64", async () => {
    const app = apps[0] as FastifyInstance;
    const tx = await app.inject({
      method: "POST",
      url: "/v1/namespaces/1/transactions",
      payload: { data: Buffer.from("key-files").toString("base64") },
    });
    expect(tx.statusCode, tx.body).toBe(202);
    const hash = (tx.json() as { hash: string }).hash;
    // Past the first epoch's last block (5), so its epoch change is served too.
    await waitFor(async () => (net.stores[0]?.latestHeight ?? 0) >= 7, 60_000, "height 7");
    await waitFor(
      async () => (await app.inject({ method: "GET", url: `/v1/transactions/${hash}` })).json().status === "final",
      30_000,
      "the transaction final",
    );

    const secrets = net.secretKeys.map((bytes, i) => ({ name: `validator ${i}'s BLS secret key`, bytes }));
    const publicKeys = net.nodes.map((_, i) => ({
      name: `validator ${i}'s public key`,
      bytes: net.validators.publicKey(i),
    }));
    const params: Record<string, string> = {
      ns: "1",
      height: "1",
      hash,
      epoch: "0",
      id: "0",
      account,
      publicKey: toHex(net.validators.publicKey(1)),
    };
    const query: Record<string, string> = {
      "/v1/namespaces/{ns}/blocks": "?from=1&to=7",
      "/v1/market/rollups/{ns}/batches": "?from=0",
    };
    const spec = (await app.inject({ method: "GET", url: "/openapi.json" })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const gets = Object.entries(spec.paths)
      .filter(([, methods]) => "get" in methods)
      .map(([path]) => path);
    expect(gets.length).toBeGreaterThanOrEqual(18);

    const found: string[] = [];
    const ok = new Set<string>();
    for (const [i, a] of apps.entries()) {
      for (const path of gets) {
        const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => params[name] ?? "1") + (query[path] ?? "");
        expect(url, `a parameter of ${path} has no value here`).not.toMatch(/[{}]/);
        for (const height of url.includes("/blocks/1") ? ["1", "5", "6"] : ["1"]) {
          const u = url.replace("/blocks/1", `/blocks/${height}`);
          const res = await a.inject({ method: "GET", url: u });
          if (res.statusCode === 200) ok.add(path);
          for (const l of leaks(res.body + JSON.stringify(res.headers), secrets))
            found.push(`validator ${i} ${u}: ${l}`);
        }
      }
    }
    // Every route answered with real content (so the scan had something to look at) but three: the stream (a
    // WebSocket, 400 to a plain GET), a job's witness and a rollup's batches (no job, no registered rollup here).
    expect(gets.filter((p) => !ok.has(p)).sort()).toEqual([
      "/v1/market/jobs/{id}/witness",
      "/v1/market/rollups/{ns}/batches",
      "/v1/namespaces/{ns}/stream",
    ]);
    expect(found).toEqual([]);

    // The scan does find keys: the committee's public keys are in /v1/validators, in hex.
    const validators = await app.inject({ method: "GET", url: "/v1/validators" });
    expect(leaks(validators.body, publicKeys)).toEqual(
      expect.arrayContaining(publicKeys.map((k) => `${k.name} as ${toHex(k.bytes)}`)),
    );
  }, 120_000);

  it("never stream any validator's secret key over the namespace WebSocket", async () => {
    const app = apps[1] as FastifyInstance;
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    const ws = new WebSocket(`${url.replace("http", "ws")}/v1/namespaces/1/stream?from=1&level=soft`);
    const messages: string[] = [];
    ws.on("message", (d: Buffer) => messages.push(d.toString()));
    // Up to the block with the transaction the previous test sent (so the stream carried real data).
    const sent = Buffer.from("key-files").toString("base64");
    await waitFor(() => messages.some((m) => m.includes(sent)) && messages.length >= 8, 30_000, "the sent transaction");
    ws.close();
    const secrets = net.secretKeys.map((bytes, i) => ({ name: `validator ${i}'s BLS secret key`, bytes }));
    expect(leaks(messages.join("\n"), secrets)).toEqual([]);
  }, 60_000);
});
