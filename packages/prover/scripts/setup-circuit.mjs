#!/usr/bin/env node
import { execFileSync } from "node:child_process";
// =============================================================================
//  DEVNET-ONLY trusted setup for the Ordo reference rollup circuit.
//
//  This script generates a powers-of-tau ceremony AND a Groth16 phase-2 key
//  locally, with a single random contribution each. Whoever runs it knows (or
//  could have kept) the toxic waste and can forge proofs. NEVER use the
//  resulting artifacts for anything that holds value. A production setup needs
//  a public multi-party phase-1 (e.g. a Perpetual Powers of Tau file) and a
//  multi-party phase-2 with a random beacon.
//
//  Steps (each one skipped when its output already exists and is up to date):
//    1. compile circuits/rollup_batch.circom with circom2 (WASM circom) --O2
//       -> build/rollup_batch.r1cs, build/rollup_batch_js/rollup_batch.wasm
//    2. powers of tau 2^14 (bn128): new -> contribute -> prepare phase2
//       -> .cache/ptau/pot14_final.ptau   (large, NOT committed)
//    3. groth16 setup + one phase-2 contribution
//       -> build/rollup_batch_0000.zkey -> artifacts/rollup_batch_final.zkey
//    4. export verification key -> artifacts/verification_key.json
//    5. copy wasm -> artifacts/rollup_batch.wasm, write artifacts/manifest.json
//
//  Usage:   node scripts/setup-circuit.mjs [--ptau-only] [--force]
//  Env:     ORDO_PTAU_CACHE=<dir>   where the ptau files live (default .cache/ptau)
//  Tip:     this is CPU heavy (~15 min on 2 cores, most of it ptau phase2 prep);
//           `taskset -c 1 nice node scripts/setup-circuit.mjs` keeps it on one core.
// =============================================================================
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as snarkjs from "snarkjs";

const require = createRequire(import.meta.url);
// installed version of a dependency (some, like snarkjs, do not export ./package.json)
function pkgVersion(name) {
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    const f = path.join(dir, "package.json");
    if (fs.existsSync(f)) {
      const j = JSON.parse(fs.readFileSync(f, "utf8"));
      if (j.name === name) return j.version;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find package.json of ${name}`);
    dir = up;
  }
}
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// circom2 (WASI) sees only its working directory and below: run it from the directory whose
// node_modules holds circomlib (the repository root in the monorepo), with paths relative to it.
const CIRCOM_CWD = path.dirname(path.dirname(path.dirname(require.resolve("circomlib/package.json"))));
const CIRCUIT = "rollup_batch";
const CIRCUIT_DIR = path.join(ROOT, "circuits");
const BUILD = path.join(ROOT, "build");
const ART = path.join(ROOT, "artifacts");
const PTAU_DIR = process.env.ORDO_PTAU_CACHE
  ? path.resolve(process.env.ORDO_PTAU_CACHE)
  : path.join(ROOT, ".cache", "ptau");
const PTAU_POWER = 14;
const PTAU_FINAL = path.join(PTAU_DIR, `pot${PTAU_POWER}_final.ptau`);

const args = new Set(process.argv.slice(2));
const FORCE = args.has("--force");
const PTAU_ONLY = args.has("--ptau-only");

try {
  os.setPriority(10);
} catch {
  /* best effort: be nice to other work on the box */
}

const t0 = Date.now();
const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(7)}s]`;
const log = (...a) => console.log(stamp(), ...a);

// snarkjs logger: info always, debug throttled to one line every 5 s so long
// steps (prepare phase2 runs ~10 minutes) visibly make progress.
let lastDebug = 0;
const logger = {
  info: (m) => log("  snarkjs:", m),
  log: (m) => log("  snarkjs:", m),
  warn: (m) => log("  snarkjs WARN:", m),
  error: (m) => log("  snarkjs ERROR:", m),
  debug: (m) => {
    const now = Date.now();
    if (now - lastDebug > 5000) {
      lastDebug = now;
      log("  snarkjs (progress):", m);
    }
  },
};

const timingsFile = path.join(BUILD, "setup-timings.json");
function recordTiming(step, seconds) {
  let t = {};
  try {
    t = JSON.parse(fs.readFileSync(timingsFile, "utf8"));
  } catch {
    /* none yet */
  }
  t[step] = { seconds: Number(seconds.toFixed(2)), at: new Date().toISOString(), cpus: os.availableParallelism() };
  fs.mkdirSync(BUILD, { recursive: true });
  fs.writeFileSync(timingsFile, `${JSON.stringify(t, null, 2)}\n`);
}
async function timed(step, fn) {
  log(`>> ${step} ...`);
  const s = Date.now();
  await fn();
  const sec = (Date.now() - s) / 1000;
  recordTiming(step, sec);
  log(`<< ${step} done in ${sec.toFixed(1)} s`);
}
const exists = (p) => fs.existsSync(p) && fs.statSync(p).size > 0;
const sha256File = (p) => createHash("sha256").update(fs.readFileSync(p)).digest("hex");
// write to a temp name then rename, so an interrupted run never leaves a
// half-written file that a later run would mistake for a cached result.
async function atomically(finalPath, fn) {
  const tmp = `${finalPath}.partial`;
  fs.rmSync(tmp, { force: true });
  await fn(tmp);
  fs.renameSync(tmp, finalPath);
}

// ---------------------------------------------------------------------------
// 1. powers of tau (cached, independent of the circuit)
// ---------------------------------------------------------------------------
async function ensurePtau() {
  if (exists(PTAU_FINAL) && !FORCE) {
    log(`ptau cached: ${path.relative(ROOT, PTAU_FINAL)}`);
    return;
  }
  fs.mkdirSync(PTAU_DIR, { recursive: true });
  const p0 = path.join(PTAU_DIR, `pot${PTAU_POWER}_0000.ptau`);
  const p1 = path.join(PTAU_DIR, `pot${PTAU_POWER}_0001.ptau`);
  if (!exists(p0) || FORCE) {
    await timed(`ptau_new_2^${PTAU_POWER}`, async () => {
      const curve = await snarkjs.curves.getCurveFromName("bn128");
      await atomically(p0, (tmp) => snarkjs.powersOfTau.newAccumulator(curve, PTAU_POWER, tmp, logger));
    });
  }
  if (!exists(p1) || FORCE) {
    await timed(`ptau_contribute_2^${PTAU_POWER}`, () =>
      atomically(p1, (tmp) =>
        snarkjs.powersOfTau.contribute(
          p0,
          tmp,
          "ordo devnet phase1 (local, INSECURE)",
          randomBytes(32).toString("hex"),
          logger,
        ),
      ),
    );
  }
  await timed(`ptau_prepare_phase2_2^${PTAU_POWER}`, () =>
    atomically(PTAU_FINAL, (tmp) => snarkjs.powersOfTau.preparePhase2(p1, tmp, logger)),
  );
  // The intermediate files are only needed to build the final one.
  fs.rmSync(p0, { force: true });
  fs.rmSync(p1, { force: true });
}

// ---------------------------------------------------------------------------
// 2. compile (cached on a hash of the circuit sources + compiler version)
// ---------------------------------------------------------------------------
const R1CS = path.join(BUILD, `${CIRCUIT}.r1cs`);
const WASM_BUILD = path.join(BUILD, `${CIRCUIT}_js`, `${CIRCUIT}.wasm`);
const SRC_HASH_FILE = path.join(BUILD, "source-hash.txt");

function sourceHash() {
  const h = createHash("sha256");
  for (const f of fs
    .readdirSync(CIRCUIT_DIR)
    .filter((f) => f.endsWith(".circom"))
    .sort()) {
    h.update(`${f}\0`)
      .update(fs.readFileSync(path.join(CIRCUIT_DIR, f)))
      .update("\0");
  }
  h.update(`${pkgVersion("circom2")}|${pkgVersion("circomlib")}|O2`);
  return h.digest("hex");
}

function circuitParams() {
  const src = fs.readFileSync(path.join(CIRCUIT_DIR, `${CIRCUIT}.circom`), "utf8");
  const m = src.match(/component\s+main[^=]*=\s*RollupBatch\(\s*(\d+)\s*,\s*(\d+)\s*\)/);
  if (!m) throw new Error("cannot find `component main = RollupBatch(D, B)` in the circuit");
  return { depth: Number(m[1]), batchSize: Number(m[2]) };
}

let sourcesChanged = false;
async function ensureCompiled() {
  const hash = sourceHash();
  const prev = fs.existsSync(SRC_HASH_FILE) ? fs.readFileSync(SRC_HASH_FILE, "utf8").trim() : "";
  if (!FORCE && prev === hash && exists(R1CS) && exists(WASM_BUILD)) {
    log("circuit compile cached");
    return;
  }
  sourcesChanged = true;
  fs.mkdirSync(BUILD, { recursive: true });
  await timed("compile_circom_O2", async () => {
    const cli = require.resolve("circom2/cli.js");
    execFileSync(
      process.execPath,
      [
        cli,
        path.relative(CIRCOM_CWD, path.join(CIRCUIT_DIR, `${CIRCUIT}.circom`)),
        "--r1cs",
        "--wasm",
        "--O2",
        "-o",
        path.relative(CIRCOM_CWD, BUILD),
        "-l",
        "node_modules",
      ],
      { cwd: CIRCOM_CWD, stdio: "inherit" },
    );
  });
  fs.writeFileSync(SRC_HASH_FILE, `${hash}\n`);
}

// ---------------------------------------------------------------------------
// 3-5. groth16 keys, vkey, artifacts, manifest
// ---------------------------------------------------------------------------
const ZKEY0 = path.join(BUILD, `${CIRCUIT}_0000.zkey`);
const ZKEY = path.join(ART, `${CIRCUIT}_final.zkey`);
const VKEY = path.join(ART, "verification_key.json");
const WASM = path.join(ART, `${CIRCUIT}.wasm`);
const MANIFEST = path.join(ART, "manifest.json");

async function ensureKeys() {
  fs.mkdirSync(ART, { recursive: true });
  const stale = FORCE || sourcesChanged;
  if (stale || !exists(ZKEY0)) {
    await timed("groth16_setup", () => atomically(ZKEY0, (tmp) => snarkjs.zKey.newZKey(R1CS, PTAU_FINAL, tmp, logger)));
  } else log("groth16 initial zkey cached");
  if (stale || !exists(ZKEY) || fs.statSync(ZKEY).mtimeMs < fs.statSync(ZKEY0).mtimeMs) {
    await timed("zkey_contribute", () =>
      atomically(ZKEY, (tmp) =>
        snarkjs.zKey.contribute(
          ZKEY0,
          tmp,
          "ordo devnet phase2 (local, INSECURE)",
          randomBytes(32).toString("hex"),
          logger,
        ),
      ),
    );
  } else log("final zkey cached");
  if (!exists(VKEY) || fs.statSync(VKEY).mtimeMs < fs.statSync(ZKEY).mtimeMs) {
    await timed("export_vkey", async () => {
      const vk = await snarkjs.zKey.exportVerificationKey(ZKEY, logger);
      await atomically(VKEY, async (tmp) => fs.writeFileSync(tmp, `${JSON.stringify(vk, null, 1)}\n`));
    });
  } else log("verification key cached");
  if (!exists(WASM) || sha256File(WASM) !== sha256File(WASM_BUILD)) {
    fs.copyFileSync(WASM_BUILD, WASM);
    log("copied wasm to artifacts/");
  }

  const info = await snarkjs.r1cs.info(R1CS); // also prints nothing without a logger
  const { depth, batchSize } = circuitParams();
  const artifactsInfo = {};
  for (const f of [WASM, ZKEY, VKEY]) {
    artifactsInfo[path.basename(f)] = { sha256: sha256File(f), bytes: fs.statSync(f).size };
  }
  const manifest = {
    WARNING:
      "DEVNET ONLY - toxic waste generated locally by scripts/setup-circuit.mjs; proofs can be forged by whoever ran the setup",
    circuit: `circuits/${CIRCUIT}.circom`,
    template: `RollupBatch(${depth}, ${batchSize})`,
    depth,
    batchSize,
    maxAccounts: 2 ** depth,
    constraints: info.nConstraints,
    wires: info.nVars,
    publicInputs: ["oldRoot", "newRoot", "batchCommitment"],
    privateInputs: info.nPrvInputs,
    compiler: { circom2: pkgVersion("circom2"), optimization: "--O2" },
    circomlib: pkgVersion("circomlib"),
    circomlibjs: pkgVersion("circomlibjs"),
    snarkjs: pkgVersion("snarkjs"),
    provingSystem: "groth16",
    curve: "bn128",
    ptauPower: PTAU_POWER,
    sourceSha256: sourceHash(),
    artifacts: artifactsInfo,
  };
  fs.writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
  log(`manifest: ${info.nConstraints} constraints, D=${depth}, B=${batchSize}`);
}

async function main() {
  log("Ordo reference rollup setup -- DEVNET ONLY (locally generated toxic waste)");
  if (!PTAU_ONLY) await ensureCompiled(); // compile first: cheap, fails fast
  await ensurePtau();
  if (PTAU_ONLY) return;
  await ensureKeys();
  log("all done");
}

main().then(
  () => process.exit(0), // snarkjs/ffjavascript keep worker threads alive
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
