/**
 * What the API exposes, and where. Routes that exist only when `createApiServer` is given an option (the prover
 * market, the attestation signer holding the validator's consensus key, the DA service) answer the API's 404
 * `NOT_FOUND` JSON without it and serve normally with it; no admin or debug route exists at all; and a validator set
 * up by `genesis create` listens on 127.0.0.1 only, so other machines cannot reach it unless the operator changes
 * `api.host`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { connect } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { blstBackend } from "@ordo/core";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type ApiServerOptions, createApiServer } from "../src/api/server.js";
import type { NodeConfigFile } from "../src/cli/files.js";
import { genesisCreate } from "../src/cli/genesis-create.js";
import type { DaService } from "../src/da/da-service.js";
import type { MarketService } from "../src/market/market-service.js";
import type { ValidatorNode } from "../src/node/validator-node.js";
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
const ACCOUNT = `0x${"1".repeat(64)}`;

interface Probe {
  method: "GET" | "POST";
  url: string;
  /** The route's document path in /openapi.json. */
  path: string;
  payload?: object | Buffer;
  contentType?: string;
  /** What the route itself answers once registered (status, and the error code if any). */
  served: { status: number; code?: string; message?: RegExp };
}

/** Every route an option turns on, with a request and what the route answers when it is on. */
const MARKET: Probe[] = [
  {
    method: "POST",
    url: "/v1/system/transactions",
    path: "/v1/system/transactions",
    payload: Buffer.from([1, 2, 3]),
    contentType: "application/octet-stream",
    served: { status: 400, code: "INVALID_INPUT" },
  },
  { method: "GET", url: "/v1/provers", path: "/v1/provers", served: { status: 200 } },
  { method: "GET", url: "/v1/market", path: "/v1/market", served: { status: 200 } },
  {
    method: "GET",
    url: `/v1/market/accounts/${ACCOUNT}`,
    path: "/v1/market/accounts/{account}",
    served: { status: 200 },
  },
  {
    method: "GET",
    url: "/v1/market/jobs/0/witness",
    path: "/v1/market/jobs/{id}/witness",
    served: { status: 404, code: "NOT_FOUND", message: /not bound to a batch/ },
  },
  {
    method: "GET",
    url: "/v1/market/rollups/1/batches",
    path: "/v1/market/rollups/{ns}/batches",
    served: { status: 404, code: "NOT_FOUND", message: /not a registered rollup/ },
  },
];
const ATTEST: Probe = {
  method: "POST",
  url: "/v1/market/attestations",
  path: "/v1/market/attestations",
  payload: { batches: [{ namespace: 1, height: 1, index: 0 }] },
  served: { status: 404, code: "NOT_FOUND", message: /is not proven here/ },
};

/** The 404 the API answers for a route it does not have. */
const NO_ROUTE = /^no route /;

async function answer(app: FastifyInstance, p: Probe) {
  const res = await app.inject({
    method: p.method,
    url: p.url,
    ...(p.payload !== undefined
      ? { payload: p.payload, headers: { "content-type": p.contentType ?? "application/json" } }
      : {}),
  });
  const body = String(res.headers["content-type"] ?? "").includes("json")
    ? (res.json() as Record<string, unknown>)
    : {};
  const error = body.error as { code?: string; message?: string } | undefined;
  return { status: res.statusCode, code: error?.code, message: error?.message ?? "", body };
}

async function documented(app: FastifyInstance): Promise<string[]> {
  const spec = (await app.inject({ method: "GET", url: "/openapi.json" })).json() as { paths: Record<string, object> };
  return Object.keys(spec.paths);
}

describe("routes an option turns on", () => {
  let net: InProcessNetwork;
  const apps: FastifyInstance[] = [];
  let signed = 0;
  const build = async (o: Partial<ApiServerOptions>) => {
    const app = createApiServer({
      node: net.nodes[0] as ValidatorNode,
      store: net.stores[0] as NodeStore,
      chainId: CHAIN_ID,
      self: 0,
      ...o,
    });
    await app.ready();
    apps.push(app);
    return app;
  };
  const sign = (digest: Uint8Array) => {
    signed++;
    return blstBackend.sign(net.secretKeys[0] as Uint8Array, digest);
  };
  let bare: FastifyInstance;
  let full: FastifyInstance;
  beforeAll(async () => {
    net = await startInProcessNetwork(4, { market: { [ACCOUNT]: 1_000n }, da: { k: 2, m: 2, poster: 0 } });
    bare = await build({});
    full = await build({ market: net.markets[0] as MarketService, sign, da: net.das[0] as DaService });
    await waitFor(async () => (net.stores[0]?.latestHeight ?? 0) >= 2, 30_000, "height 2");
  }, 60_000);
  afterAll(async () => {
    for (const app of apps) await app.close();
    if (net) await net.stop();
  });

  it("answers the market's and the attestation signer's routes with the API's 404 JSON when neither is given", async () => {
    for (const p of [...MARKET, ATTEST]) {
      const r = await answer(bare, p);
      expect(r.status, `${p.method} ${p.url}`).toBe(404);
      expect(r.code, `${p.method} ${p.url}`).toBe("NOT_FOUND");
      expect(r.message, `${p.method} ${p.url}`).toMatch(NO_ROUTE);
    }
    const paths = await documented(bare);
    for (const p of [...MARKET, ATTEST]) expect(paths, p.path).not.toContain(p.path);
  });

  it("serves the market's and the attestation signer's routes when both are given", async () => {
    for (const p of [...MARKET, ATTEST]) {
      const r = await answer(full, p);
      expect(r.status, `${p.method} ${p.url}: ${JSON.stringify(r.body)}`).toBe(p.served.status);
      expect(r.code, `${p.method} ${p.url}`).toBe(p.served.code);
      if (p.served.message) expect(r.message).toMatch(p.served.message);
      expect(r.message).not.toMatch(NO_ROUTE);
    }
    // The attestation route is the signer's: its own validation answers, and nothing is signed for unproven batches.
    const malformed = await answer(full, { ...ATTEST, payload: { batches: [] } });
    expect(malformed.status).toBe(400);
    expect(malformed.code).toBe("INVALID_INPUT");
    expect(signed).toBe(0);
    const paths = await documented(full);
    for (const p of [...MARKET, ATTEST]) expect(paths, p.path).toContain(p.path);
  });

  it("does not let the signer alone turn the attestation route on, nor the market alone", async () => {
    for (const app of [await build({ sign }), await build({ market: net.markets[0] as MarketService })]) {
      const r = await answer(app, ATTEST);
      expect(r.status).toBe(404);
      expect(r.message).toMatch(NO_ROUTE);
      expect(await documented(app)).not.toContain(ATTEST.path);
    }
    const marketOnly = apps[apps.length - 1] as FastifyInstance;
    expect((await answer(marketOnly, MARKET[1] as Probe)).status).toBe(200);
  });

  it("answers a block's DA report with the API's 404 JSON without a DA service, and serves it with one", async () => {
    const probe: Probe = {
      method: "GET",
      url: "/v1/blocks/1/da",
      path: "/v1/blocks/{height}/da",
      served: { status: 200 },
    };
    const without = await answer(bare, probe);
    expect(without.status).toBe(404);
    expect(without.code).toBe("NOT_FOUND");
    expect(without.message).toMatch(/runs no DA service/);
    await waitFor(async () => (await answer(full, probe)).body.embedded !== undefined, 30_000, "a DA report");
    const served = await answer(full, probe);
    expect(served.status).toBe(200);
    expect(served.body.height).toBe(1);
    expect(served.body.poster).toBe(true);
  });

  it("has no admin, debug or key route, with every option on", async () => {
    const paths = await documented(full);
    expect(paths.length).toBeGreaterThanOrEqual(18);
    const segment = /(^|\/)(admin|debug|internal|pprof|shutdown|config|secrets?|keys?|sign|peers|logs?)(\/|$)/i;
    expect(paths.filter((p) => segment.test(p))).toEqual([]);
    // The route table itself, not only the document: an undocumented admin route would answer something but 404.
    for (const url of ["/admin", "/debug", "/v1/admin", "/v1/debug", "/v1/config", "/v1/keys", "/v1/shutdown"]) {
      for (const method of ["GET", "POST"] as const) {
        const r = await full.inject({ method, url });
        expect(r.statusCode, `${method} ${url}`).toBe(404);
        expect((r.json() as { error: { code: string } }).error.code).toBe("NOT_FOUND");
      }
    }
  });
});

// ── where the API listens ─────────────────────────────────────────────────

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = connect({ host, port, timeout: 3_000 });
    socket.once("connect", () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolveConnect(false);
    });
    socket.once("error", () => resolveConnect(false));
  });
}

describe("where a validator's API listens", () => {
  let root: string;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ordo-exposure-"));
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    }
    await rm(root, { recursive: true, force: true });
  });

  it("is 127.0.0.1 in every node.json genesis create writes (P2P too), unless the operator changes it", async () => {
    const out = join(root, "defaults");
    const quiet = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      await genesisCreate(["--validators", "4", "--out", out, "--provers", "0"]);
    } finally {
      quiet.mockRestore();
    }
    for (let i = 0; i < 4; i++) {
      const config = JSON.parse(await readFile(join(out, `validator-${i}`, "node.json"), "utf8")) as NodeConfigFile;
      expect(config.api).toEqual({ host: "127.0.0.1", port: 8000 + i });
      expect(config.listen).toBe(`/ip4/127.0.0.1/tcp/${9000 + i}`);
    }
  });

  it("is where `ordo node start` binds: reachable on 127.0.0.1, refused on this machine's other addresses", async () => {
    const out = join(root, "running");
    const [apiPort, p2pPort] = [await ephemeralPort(), await ephemeralPort()];
    const quiet = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      await genesisCreate([
        "--validators",
        "1",
        "--out",
        out,
        "--provers",
        "0",
        "--api-port",
        String(apiPort),
        "--base-port",
        String(p2pPort),
      ]);
    } finally {
      quiet.mockRestore();
    }
    child = spawn(
      process.execPath,
      [
        "--conditions=source",
        "--import",
        "tsx",
        CLI,
        "node",
        "start",
        "--config",
        join(out, "validator-0", "node.json"),
      ],
      { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    await waitFor(
      async () => {
        if (child?.exitCode !== null) throw new Error(`node start exited: ${stderr}`);
        return (await fetch(`http://127.0.0.1:${apiPort}/health`).catch(() => null))?.status === 200;
      },
      30_000,
      "the API on 127.0.0.1",
    );
    // Another loopback address: the socket is bound to 127.0.0.1 itself, not to every address.
    expect(await accepts("127.0.0.2", apiPort)).toBe(false);
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && !a.internal)
      .map((a) => (a as { address: string }).address);
    for (const address of external) expect(await accepts(address, apiPort), address).toBe(false);
    // What `node start` turns on: the market, the attestation signer and the embedded DA layer, and nothing admin.
    const spec = (await (await fetch(`http://127.0.0.1:${apiPort}/openapi.json`)).json()) as {
      paths: Record<string, object>;
    };
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([ATTEST.path, "/v1/market", "/v1/blocks/{height}/da"]),
    );
    const exited = new Promise((r) => child?.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }, 60_000);
});
