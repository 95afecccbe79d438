/**
 * Bundles the light client (and `@ordo/core`, from source) into one ESM file
 * for browsers: `node packages/light-client/scripts/build-browser.mjs [--outdir DIR]`
 * (default `packages/light-client/dist/browser/`). Core's Node-only imports are
 * replaced here, at the bundler, so core's source stays as it is:
 *   - `node:crypto` → `browser/node-crypto.js` (sha256 and HKDF on @noble/hashes);
 *   - the global `Buffer` → the `buffer` package, injected per module (no global is set);
 *   - `@chainsafe/blst` (a native addon) → `browser/blst.js`, which throws if used:
 *     browsers verify with `nobleBackend`, which the bundle exports.
 * Any other Node built-in fails the build rather than ship a bundle that breaks at load.
 */
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const shims = path.join(packageDir, "browser");

export const BUNDLE_NAME = "ordo-light-client.js";
export const DEFAULT_OUTDIR = path.join(packageDir, "dist", "browser");

/** Maps Node-only imports to the browser shims, and refuses any Node built-in it has no shim for. */
const nodeShims = {
  name: "ordo-node-shims",
  setup(build) {
    build.onResolve({ filter: /^(node:)?crypto$/ }, () => ({ path: path.join(shims, "node-crypto.js") }));
    build.onResolve({ filter: /^@chainsafe\/blst$/ }, () => ({ path: path.join(shims, "blst.js") }));
    build.onResolve({ filter: /^node:/ }, (args) => ({
      errors: [{ text: `${args.path} (imported by ${args.importer}) has no browser shim` }],
    }));
  },
};

/** Signs that Node code slipped into the bundle: a require of anything, an import of a `node:` module. */
const NODE_LEFTOVERS = [
  { pattern: /\brequire\(\s*["'`]/, what: "a require() call" },
  { pattern: /\b__require\b/, what: "esbuild's dynamic-require stub (a CommonJS require it could not bundle)" },
  { pattern: /\bfrom\s*["']node:/, what: "an import from a node: module" },
  { pattern: /\bimport\(\s*["']node:/, what: "a dynamic import of a node: module" },
];

/**
 * Builds `<outdir>/ordo-light-client.js` (minified ESM). Resolves to the file,
 * its size in bytes (and gzipped), and the largest inputs; throws when the
 * build fails or the output still contains Node code.
 */
export async function buildBrowserBundle({ outdir = DEFAULT_OUTDIR } = {}) {
  await mkdir(outdir, { recursive: true });
  const file = path.join(outdir, BUNDLE_NAME);
  const result = await esbuild.build({
    absWorkingDir: packageDir,
    entryPoints: [path.join(shims, "index.js")],
    outfile: file,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    // Workspace packages from their TypeScript source (package.json "source" export), as the tests run them.
    conditions: ["source"],
    inject: [path.join(shims, "buffer.js")],
    plugins: [nodeShims],
    minify: true,
    legalComments: "eof",
    metafile: true,
    logLevel: "silent",
  });
  for (const w of result.warnings) console.warn(`build-browser: ${w.text}`);
  const code = await readFile(file, "utf8");
  for (const { pattern, what } of NODE_LEFTOVERS)
    if (pattern.test(code)) throw new Error(`build-browser: ${file} still contains ${what}`);
  const inputs = Object.entries(result.metafile.outputs[path.relative(packageDir, file)]?.inputs ?? {})
    .map(([input, { bytesInOutput }]) => ({ input, bytes: bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
  const bytes = Buffer.byteLength(code);
  return { file, bytes, gzipBytes: gzipSync(code).length, inputs };
}

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

async function main() {
  const { values } = parseArgs({ options: { outdir: { type: "string" } } });
  const outdir = values.outdir === undefined ? DEFAULT_OUTDIR : path.resolve(values.outdir);
  const { file, bytes, gzipBytes, inputs } = await buildBrowserBundle({ outdir });
  console.log(`${path.relative(process.cwd(), file)}: ${bytes} bytes (${kib(bytes)}; ${kib(gzipBytes)} gzipped)`);
  // Where the bytes come from, by package (or workspace package).
  const byPackage = new Map();
  for (const { input, bytes: n } of inputs) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const key = m ? m[1] : input.startsWith("../core/") ? "@ordo/core" : "@ordo/light-client";
    byPackage.set(key, (byPackage.get(key) ?? 0) + n);
  }
  for (const [name, n] of [...byPackage].sort((a, b) => b[1] - a[1])) console.log(`  ${kib(n).padStart(10)}  ${name}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href)
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
