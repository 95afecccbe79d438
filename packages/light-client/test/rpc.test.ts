/** The thin shell against a fake node (node:http) speaking the sequencer API's JSON: honest, lying, broken, silent. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type BlockHeader,
  type BlockPayload,
  blstBackend,
  hashHeader,
  namespaceRoot,
  proveNamespace,
  type QuorumCertificate,
  toHex,
} from "@ordo/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkpointFromNode,
  epochChangeToJson,
  finalityToJson,
  LightClient,
  LightClientError,
  type LightClientErrorCode,
  namespaceProofToJson,
  verifyFromNode,
} from "../src/index.js";
import { bytes32, CHAIN, certify, checkpointOf, epochEndBlock, makeChain, makeCommittee } from "./fixtures.js";

const tx = (s: string) => new TextEncoder().encode(s);
const base64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

const committee = makeCommittee(0, [10n, 20n, 30n, 40n], "rpc");
const payloads: BlockPayload[] = [
  { groups: [{ namespace: 3, transactions: [tx("x")] }] },
  {
    groups: [
      { namespace: 2, transactions: [tx("p"), tx("q")] },
      { namespace: 5, transactions: [tx("r")] },
    ],
  },
  { groups: [] },
];
// Heights 1..3; the certificate commits 3, as a node serves /v1/blocks/:h/finality for h ≤ 3.
const chain = makeChain(committee, 1, 3, { namespaceRoots: payloads.map(namespaceRoot) });
const certificate = certify(committee, chain[2]!, [1, 2, 3]);

type Route = (path: string) => { status: number; body: unknown } | "hang" | undefined;

/** What an honest node answers. */
const honest: Route = (path) => {
  let m = /^\/v1\/blocks\/(\d+)\/finality$/.exec(path);
  if (m) {
    const height = Number(m[1]);
    if (height < 1 || height > 3) return { status: 404, body: { error: { code: "NOT_FOUND", message: "no block" } } };
    const headers = chain.slice(height - 1);
    return { status: 200, body: finalityToJson({ height, certifiedHeight: 3, headers, certificate }) };
  }
  m = /^\/v1\/namespaces\/(\d+)\/blocks\/(\d+)$/.exec(path);
  if (m) {
    const [namespace, height] = [Number(m[1]), Number(m[2])];
    const payload = payloads[height - 1]!;
    const group = payload.groups.find((g) => g.namespace === namespace);
    return {
      status: 200,
      body: {
        height,
        namespace,
        blockHash: "0x00",
        namespaceRoot: toHex(namespaceRoot(payload)),
        transactions: (group?.transactions ?? []).map(base64),
        proof: namespaceProofToJson(proveNamespace(payload, namespace)),
      },
    };
  }
  if (path === "/v1/status")
    return { status: 200, body: { chainId: CHAIN, self: 0, epoch: 0, committedHeight: 3, currentRound: 9 } };
  if (path === "/v1/validators")
    return {
      status: 200,
      body: {
        epoch: 0,
        hash: toHex(committee.hash),
        totalStake: "100",
        validators: committee.data.validators.map((v, index) => ({
          index,
          publicKey: toHex(v.publicKey),
          stake: v.stake.toString(),
        })),
      },
    };
  return undefined;
};

let server: Server;
let url: string;
/** The behaviour of the node for the current test: the honest one unless a test overrides it. */
let route: Route = honest;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const answer = route(req.url ?? "") ?? { status: 404, body: { error: { code: "NOT_FOUND", message: "?" } } };
    if (answer === "hang") return; // never answers
    const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
    res.writeHead(answer.status, { "content-type": "application/json" }).end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function codeOf(p: Promise<unknown>): Promise<LightClientErrorCode> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LightClientError) return e.code;
    throw e;
  }
  throw new Error("expected a LightClientError, but the call succeeded");
}

/** The honest node, except that `path` answers `body`. */
function honestExcept(path: string, body: unknown, status = 200): Route {
  return (p) => (p === path ? { status, body } : honest(p));
}

async function freshClient(): Promise<LightClient> {
  route = honest;
  return new LightClient(await checkpointFromNode(url), blstBackend);
}

describe("verifyFromNode", () => {
  it("builds a checkpoint from a node, then verifies finality and a rollup's complete batch", async () => {
    const checkpoint = await checkpointFromNode(url, { expectedSetHash: committee.hash });
    expect(checkpoint).toMatchObject({ chainId: CHAIN, height: 3, validatorSet: { epoch: 0 } });
    const client = new LightClient(checkpoint, blstBackend);
    const report = await verifyFromNode(client, url, 2, 2);
    expect(report).toMatchObject({
      height: 2,
      certifiedHeight: 3,
      headersVerified: 2,
      epoch: 0,
      signers: 3,
      signedStake: 90n,
      totalStake: 100n,
      namespace: { namespace: 2, kind: "inclusion", transactions: [tx("p"), tx("q")] },
    });
    expect((await verifyFromNode(client, url, 3, 2)).namespace).toEqual({
      namespace: 2,
      kind: "absence",
      transactions: [],
    });
    expect((await verifyFromNode(client, url, 1)).namespace).toBeUndefined();
    expect(client.state().highestVerifiedHeight).toBe(3);
  });

  it("refuses a node that drops a transaction from a batch, or serves a tampered header", async () => {
    const client = await freshClient();
    const batch = honest("/v1/namespaces/2/blocks/2") as { body: { transactions: string[] } };
    route = honestExcept("/v1/namespaces/2/blocks/2", {
      ...batch.body,
      transactions: batch.body.transactions.slice(1),
    });
    expect(await codeOf(verifyFromNode(client, url, 2, 2))).toBe("NAMESPACE_PROOF_INVALID");
    const tampered: BlockHeader = { ...chain[2]!, timestampMs: chain[2]!.timestampMs + 1 };
    route = honestExcept(
      "/v1/blocks/3/finality",
      finalityToJson({ height: 3, certifiedHeight: 3, headers: [tampered], certificate }),
    );
    expect(await codeOf(verifyFromNode(client, url, 3))).toBe("NOT_COMMITTED");
    const other: QuorumCertificate = { ...certificate, round: certificate.round + 1 };
    route = honestExcept(
      "/v1/blocks/3/finality",
      finalityToJson({ height: 3, certifiedHeight: 3, headers: [chain[2]!], certificate: other }),
    );
    expect(await codeOf(verifyFromNode(client, url, 3))).toBe("BAD_SIGNATURE");
  });

  it("refuses answers that are not the API's JSON, or not what was asked", async () => {
    const client = await freshClient();
    const good = (honest("/v1/blocks/2/finality") as { body: Record<string, unknown> }).body;
    const cases: unknown[] = [
      "not json",
      null,
      { ...good, headers: [] },
      { ...good, height: 1 }, // another height than asked
      { ...good, certifiedHeight: 2 }, // not the last header's
      { ...good, certificate: { ...(good.certificate as object), signature: "0xzz" } },
      { ...good, headers: [{ ...(good.headers as object[])[0], height: 2 ** 53 }, (good.headers as object[])[1]] },
      { ...good, headers: [{ ...(good.headers as object[])[0], parentHash: "0x1234" }, (good.headers as object[])[1]] },
    ];
    for (const body of cases) {
      route = honestExcept("/v1/blocks/2/finality", body);
      expect([body, await codeOf(verifyFromNode(client, url, 2))]).toEqual([body, "BAD_RESPONSE"]);
    }
    const batch = (honest("/v1/namespaces/2/blocks/2") as { body: Record<string, unknown> }).body;
    for (const body of [
      { ...batch, namespace: 5 },
      { ...batch, transactions: ["cA"] }, // not padded base64
      { ...batch, proof: { ...(batch.proof as object), kind: "maybe" } },
    ]) {
      route = honestExcept("/v1/namespaces/2/blocks/2", body);
      expect(await codeOf(verifyFromNode(client, url, 2, 2))).toBe("BAD_RESPONSE");
    }
    // Answers are parsed before anything is verified: a bad one leaves the client as it was.
    expect(client.state().verifiedHeights).toBe(0);
  });

  it("reports node errors, silence, oversized answers and unreachable nodes", async () => {
    const client = await freshClient();
    route = honestExcept("/v1/blocks/2/finality", { error: { code: "NOT_READY", message: "later" } }, 503);
    const error = await verifyFromNode(client, url, 2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LightClientError);
    expect(error).toMatchObject({ code: "NODE_ERROR", status: 503 });
    expect((error as Error).message).toContain("NOT_READY: later");
    route = honest;
    expect(await codeOf(verifyFromNode(client, url, 9))).toBe("NODE_ERROR");
    route = () => "hang";
    expect(await codeOf(verifyFromNode(client, url, 2, undefined, { timeoutMs: 200 }))).toBe("NODE_UNREACHABLE");
    route = honest;
    expect(await codeOf(verifyFromNode(client, url, 2, undefined, { maxResponseBytes: 100 }))).toBe("BAD_RESPONSE");
    expect(await codeOf(verifyFromNode(client, "http://127.0.0.1:1", 2))).toBe("NODE_UNREACHABLE");
    expect(await codeOf(verifyFromNode(client, "ftp://example", 2))).toBe("MALFORMED");
  });
});

describe("checkpointFromNode", () => {
  it("refuses a set that is not the pinned one, or whose stated hash or total does not match its members", async () => {
    route = honest;
    expect(await codeOf(checkpointFromNode(url, { expectedSetHash: new Uint8Array(32) }))).toBe("INVALID_CHECKPOINT");
    const validators = (honest("/v1/validators") as { body: Record<string, unknown> }).body;
    route = honestExcept("/v1/validators", { ...validators, hash: toHex(new Uint8Array(32)) });
    expect(await codeOf(checkpointFromNode(url))).toBe("BAD_RESPONSE");
    route = honestExcept("/v1/validators", { ...validators, totalStake: "101" });
    expect(await codeOf(checkpointFromNode(url))).toBe("BAD_RESPONSE");
    route = honestExcept("/v1/validators", { ...validators, epoch: 1 });
    expect(await codeOf(checkpointFromNode(url))).toBe("BAD_RESPONSE");
  });
});

describe("following epoch changes from a node", () => {
  // Epochs 0..3, 5 blocks each; block 5e + 5 is epoch e's last and commits to epoch e + 1's committee.
  const committees = [
    committee,
    makeCommittee(1, [5n, 5n, 5n], "rpc-e1"),
    makeCommittee(2, [1n, 2n, 3n, 4n, 5n], "rpc-e2"),
    makeCommittee(3, [7n, 7n, 7n, 7n], "rpc-e3"),
  ];
  const all = (c: { keys: unknown[] }) => c.keys.map((_, i) => i);
  const ends = committees.slice(0, 3).map((c, e) => {
    const end = epochEndBlock(c, 5 * e + 5, bytes32(`rpc-parent-${e}`), committees[e + 1]!);
    return { ...end, certificate: certify(c, end.header, all(c)) };
  });
  const [last] = makeChain(committees[3]!, 16, 1, { parentHash: hashHeader(ends[2]!.header) });
  const lastCertificate = certify(committees[3]!, last!, all(committees[3]!));

  const epochs: Route = (path) => {
    const m = /^\/v1\/epochs\/(\d+)\/change$/.exec(path);
    if (m) {
      const end = ends[Number(m[1])];
      if (!end) return { status: 404, body: { error: { code: "NOT_FOUND", message: "no such epoch change" } } };
      const h = end.header.height;
      return {
        status: 200,
        body: {
          finality: finalityToJson({
            height: h,
            certifiedHeight: h,
            headers: [end.header],
            certificate: end.certificate,
          }),
          change: epochChangeToJson(end.change),
        },
      };
    }
    if (path === "/v1/blocks/16/finality")
      return {
        status: 200,
        body: finalityToJson({ height: 16, certifiedHeight: 16, headers: [last!], certificate: lastCertificate }),
      };
    return honest(path);
  };

  it("verifies a block three epochs after its checkpoint, following each committee change the chain committed to", async () => {
    route = epochs;
    const client = new LightClient(checkpointOf(committee), blstBackend);
    const report = await verifyFromNode(client, url, 16);
    expect(report).toMatchObject({ height: 16, epoch: 3, epochChanges: 3, headersVerified: 1 });
    expect(client.state()).toMatchObject({ epoch: 3, highestVerifiedHeight: 16 });
  });

  it("refuses a node that serves another committee than the one committed, or a forged certificate for the last block", async () => {
    const lying = committees[2]!;
    route = (p) =>
      p === "/v1/epochs/1/change"
        ? {
            status: 200,
            body: {
              finality: finalityToJson({
                height: 10,
                certifiedHeight: 10,
                headers: [ends[1]!.header],
                certificate: ends[1]!.certificate,
              }),
              change: epochChangeToJson({
                ...ends[1]!.change,
                newSet: { ...lying.data, epoch: 2, validators: lying.data.validators.slice(1) },
              }),
            },
          }
        : epochs(p);
    const client = new LightClient(checkpointOf(committee), blstBackend);
    expect(await codeOf(verifyFromNode(client, url, 16))).toBe("EPOCH_CHANGE_NOT_PROVEN");
    expect(client.state().epoch).toBe(1);
    route = (p) =>
      p === "/v1/epochs/0/change"
        ? {
            status: 200,
            body: {
              finality: finalityToJson({
                height: 5,
                certifiedHeight: 5,
                headers: [ends[0]!.header],
                certificate: certify(committee, ends[0]!.header, [1, 2, 3], { digest: bytes32("forged") }),
              }),
              change: epochChangeToJson(ends[0]!.change),
            },
          }
        : epochs(p);
    const other = new LightClient(checkpointOf(committee), blstBackend);
    expect(await codeOf(verifyFromNode(other, url, 16))).toBe("BAD_SIGNATURE");
    expect(other.state().epoch).toBe(0);
    route = honest;
  });
});
