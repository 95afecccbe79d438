/**
 * The browser bundle in a real headless Chromium (Debian's `chromium`): it is
 * built with `scripts/build-browser.mjs`, served over node:http, and verifies,
 * with `nobleBackend`, a finality update and namespace proofs signed here in
 * Node — and refuses forged ones. Skipped without /usr/bin/chromium unless
 * ORDO_REQUIRE_BROWSER=1 (CI), where that is a failure.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  type BlockPayload,
  type BlsBackend,
  createBitmap,
  hashHeader,
  namespaceRoot,
  nobleBackend,
  proveNamespace,
  toHex,
} from "@ordo/core";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBrowserBundle } from "../scripts/build-browser.mjs";
import type * as LightClientApi from "../src/index.js";
import {
  certificateToJson,
  finalityToJson,
  LightClient,
  type NamespaceBlockJson,
  namespaceProofToJson,
} from "../src/index.js";
import { CHAIN, certify, checkpointOf, makeChain, makeCommittee } from "./fixtures.js";

/** Debian's package; ORDO_CHROMIUM points elsewhere (another build, or a missing path to try the skip). */
const CHROMIUM = process.env.ORDO_CHROMIUM ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const requireBrowser = process.env.ORDO_REQUIRE_BROWSER === "1";
const INSTALL = "apt-get install -y chromium";

// Without the background-networking flags Chromium keeps dialling Google services, which fail on a closed network.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// ── what Node signs and serializes for the page ─────────────────────────

const tx = (s: string) => new TextEncoder().encode(s);
const base64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

const committee = makeCommittee(0, [10n, 20n, 30n, 40n], "browser");
const payload: BlockPayload = {
  groups: [
    { namespace: 1, transactions: [tx("a"), tx("b")] },
    { namespace: 7, transactions: [tx("c"), tx("d"), tx("e")] },
    { namespace: 9, transactions: [tx("f")] },
  ],
};
/** Heights 10..13; block 12 carries `payload`; the certificate commits 13. */
const FIRST = 10;
const PAYLOAD_HEIGHT = 12;
const headers = makeChain(committee, FIRST, 4, {
  namespaceRoots: [FIRST, FIRST + 1, FIRST + 2, FIRST + 3].map((h) =>
    h === PAYLOAD_HEIGHT ? namespaceRoot(payload) : namespaceRoot({ groups: [] }),
  ),
});
const last = headers[headers.length - 1]!;
// Validators 1..3: 90 of 100 stake, a quorum short of unanimity.
const certificate = certify(committee, last, [1, 2, 3]);
const flippedSignature = new Uint8Array(certificate.signature);
flippedSignature[40]! ^= 0x01;

function namespaceBlock(namespace: number, transactions: Uint8Array[]): NamespaceBlockJson {
  return {
    height: PAYLOAD_HEIGHT,
    namespace,
    transactions: transactions.map(base64),
    proof: namespaceProofToJson(proveNamespace(payload, namespace)),
  };
}

/** Everything the page gets, as the JSON a node would serve (`GET /v1/validators`, `/finality`, `/namespaces/...`). */
const pageInput = {
  chainId: CHAIN,
  validators: {
    epoch: committee.epoch,
    hash: toHex(committee.hash),
    totalStake: "100",
    validators: committee.data.validators.map((v, index) => ({
      index,
      publicKey: toHex(v.publicKey),
      stake: v.stake.toString(),
      proofOfPossession: toHex(v.proofOfPossession),
    })),
  },
  finality: finalityToJson({ height: FIRST, certifiedHeight: last.height, headers, certificate }),
  forged: {
    // One signature byte flipped.
    flippedByte: certificateToJson({ ...certificate, signature: flippedSignature }),
    // Validator 0 claimed as a signer, but the signature is 1..3's only.
    wrongSigners: certificateToJson({ ...certificate, signers: createBitmap(4, [0, 1, 2, 3]) }),
  },
  namespace: {
    complete: namespaceBlock(7, [tx("c"), tx("d"), tx("e")]),
    omitted: namespaceBlock(7, [tx("c"), tx("e")]),
    absent: namespaceBlock(5, []),
  },
  timingRuns: 5,
};

// ── what runs in the page ────────────────────────────────────────────────

type Bundle = typeof LightClientApi & { nobleBackend: BlsBackend };

interface PageReport {
  userAgent: string;
  typeofProcess: string;
  typeofBuffer: string;
  typeofRequire: string;
  backend: string;
  forged: { flippedByte: string; wrongSigners: string; verifiedAfter: number };
  verified: { height: number; hash: string; epoch: number }[];
  namespace: { complete: string; omitted: string; absent: string };
  timing: { firstMs: number; medianMs: number; headers: number };
}

/**
 * Runs in Chromium (serialized by Playwright): it must not close over anything
 * of this module, only its argument and what the page's module script put on
 * `window.ordo` — the bundle's exports.
 */
async function inPage(inputJson: string): Promise<PageReport> {
  const input = JSON.parse(inputJson) as typeof pageInput;
  const page = globalThis as unknown as {
    ordo: Bundle;
    navigator: { userAgent: string };
    performance: { now(): number };
  };
  const { LightClient, LightClientError, nobleBackend } = page.ordo;
  const outcome = (f: () => unknown): string => {
    try {
      f();
      return "ok";
    } catch (e) {
      return e instanceof LightClientError ? e.code : `threw ${String(e)}`;
    }
  };
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

  const validators = page.ordo.validatorsFromJson(input.validators);
  const checkpoint = {
    chainId: input.chainId,
    validatorSet: { epoch: validators.epoch, validators: validators.validators },
  };
  const update = page.ordo.finalityFromJson(input.finality);

  // (b) forgeries first, on the client that then takes the real update: a refusal must leave nothing behind.
  const client = new LightClient(checkpoint, nobleBackend);
  const flippedByte = outcome(() =>
    client.verifyFinality(update.headers, page.ordo.certificateFromJson(input.forged.flippedByte)),
  );
  const wrongSigners = outcome(() =>
    client.verifyFinality(update.headers, page.ordo.certificateFromJson(input.forged.wrongSigners)),
  );
  const verifiedAfter = client.state().verifiedHeights;

  // (a) the real update, timed.
  let start = page.performance.now();
  const verified = client.verifyFinality(update.headers, update.certificate);
  const firstMs = page.performance.now() - start;
  const runs: number[] = [];
  for (let i = 0; i < input.timingRuns; i++) {
    const fresh = new LightClient(checkpoint, nobleBackend);
    start = page.performance.now();
    fresh.verifyFinality(update.headers, update.certificate);
    runs.push(page.performance.now() - start);
  }
  runs.sort((a, b) => a - b);

  // (c) namespace proofs against the verified block's root.
  const check = (json: unknown): string =>
    outcome(() => {
      const block = page.ordo.namespaceBlockFromJson(json);
      client.verifyNamespace(block.height, block.namespace, block.transactions, block.proof);
    });

  return {
    userAgent: page.navigator.userAgent,
    typeofProcess: typeof process,
    typeofBuffer: typeof Buffer,
    typeofRequire: typeof require,
    backend: nobleBackend.name,
    forged: { flippedByte, wrongSigners, verifiedAfter },
    verified: verified.map((v) => ({ height: v.height, hash: `0x${hex(v.hash)}`, epoch: v.epoch })),
    namespace: {
      complete: check(input.namespace.complete),
      omitted: check(input.namespace.omitted),
      absent: check(input.namespace.absent),
    },
    timing: { firstMs, medianMs: runs[Math.floor(runs.length / 2)] ?? Number.NaN, headers: update.headers.length },
  };
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Ordo light client</title>
<script type="module">
  import * as ordo from "./ordo-light-client.js";
  window.ordo = ordo;
  document.title = "ready";
</script>`;

// ── the test ─────────────────────────────────────────────────────────────

if (!haveChromium && requireBrowser)
  describe("the light client in headless Chromium", () => {
    it("needs Chromium", () => {
      throw new Error(`ORDO_REQUIRE_BROWSER=1 but ${CHROMIUM} does not exist: ${INSTALL}`);
    });
  });
if (!haveChromium && !requireBrowser)
  console.warn(
    `browser.test.ts: skipped, ${CHROMIUM} not found (${INSTALL}; ORDO_REQUIRE_BROWSER=1 makes this a failure)`,
  );

describe.skipIf(!haveChromium)("the light client in headless Chromium", () => {
  let outdir: string | undefined;
  let server: Server | undefined;
  let browser: Browser | undefined;
  let bundleBytes = 0;
  let report: PageReport;
  const pageLog: string[] = [];

  beforeAll(async () => {
    outdir = await mkdtemp(path.join(tmpdir(), "ordo-browser-"));
    const bundle = await buildBrowserBundle({ outdir });
    bundleBytes = bundle.bytes;
    const code = await readFile(bundle.file);
    server = createServer((req, res) => {
      if (req.url === "/") res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE);
      else if (req.url === "/ordo-light-client.js")
        res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(code);
      else res.writeHead(404).end();
    });
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once("error", reject);
      listening.listen(0, "127.0.0.1", resolve);
    });
    const { port } = server.address() as AddressInfo;

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    page.on("console", (m) => pageLog.push(`console.${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => pageLog.push(`page error: ${e.message}`));
    await page.goto(`http://127.0.0.1:${port}/`);
    try {
      await page.waitForFunction(
        () => (globalThis as unknown as { document: { title: string } }).document.title === "ready",
        undefined,
        { timeout: 20_000 },
      );
    } catch (e) {
      throw new Error(`the bundle did not load in Chromium:\n${pageLog.join("\n")}`, { cause: e });
    }
    report = await page.evaluate(inPage, JSON.stringify(pageInput));
  }, 60_000);

  afterAll(async () => {
    // Each step on its own: a failure to close one must not leave the others running.
    await browser?.close().catch((e: unknown) => console.warn(`closing Chromium: ${String(e)}`));
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (outdir) await rm(outdir, { recursive: true, force: true });
  });

  it("runs in Chromium, not Node: a browser user agent, no process, Buffer or require", () => {
    expect(report.userAgent).toMatch(/HeadlessChrome|Chrome/);
    expect(report).toMatchObject({
      typeofProcess: "undefined",
      typeofBuffer: "undefined",
      typeofRequire: "undefined",
      backend: "noble",
    });
    expect(pageLog.filter((l) => l.startsWith("page error"))).toEqual([]);
  });

  it("verifies a real finality update (4 headers) from its JSON, with the same header hashes as Node", () => {
    expect(report.verified).toEqual(headers.map((h) => ({ height: h.height, hash: toHex(hashHeader(h)), epoch: 0 })));

    // The same measurement in Node with the same backend, for the log.
    const checkpoint = checkpointOf(committee);
    new LightClient(checkpoint, nobleBackend).verifyFinality(headers, certificate); // warm-up, as the page's first run
    const runs: number[] = [];
    for (let i = 0; i < pageInput.timingRuns; i++) {
      const client = new LightClient(checkpoint, nobleBackend);
      const start = performance.now();
      client.verifyFinality(headers, certificate);
      runs.push(performance.now() - start);
    }
    runs.sort((a, b) => a - b);
    const nodeMs = runs[Math.floor(runs.length / 2)]!;
    const { firstMs, medianMs, headers: n } = report.timing;
    console.log(
      `browser bundle ${bundleBytes} bytes; ${report.userAgent}\n` +
        `verifyFinality (${n} headers, nobleBackend): Chromium first ${firstMs.toFixed(1)} ms, ` +
        `median ${medianMs.toFixed(1)} ms (${(medianMs / n).toFixed(1)} ms/header); ` +
        `Node median ${nodeMs.toFixed(1)} ms (${(nodeMs / n).toFixed(1)} ms/header)`,
    );
    expect(medianMs).toBeGreaterThan(0);
  });

  it("refuses a forged certificate (a flipped signature byte, a signer who did not sign) and records nothing", () => {
    expect(report.forged).toEqual({ flippedByte: "BAD_SIGNATURE", wrongSigners: "BAD_SIGNATURE", verifiedAfter: 0 });
  });

  it("verifies a namespace proof against the verified root and refuses one omitting a transaction", () => {
    expect(report.namespace).toEqual({ complete: "ok", omitted: "NAMESPACE_PROOF_INVALID", absent: "ok" });
  });
});
