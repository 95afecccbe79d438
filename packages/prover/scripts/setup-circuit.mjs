#!/usr/bin/env node
import { execFileSync } from "node:child_process";
// =============================================================================
//  DEVNET-ONLY trusted setup for the Ordo reference rollup circuit.
//
//  This script generates a powers-of-tau ceremony AND a Groth16 phase-2 key
//  locally, with a single random contribution each (PLONK needs no phase 2: its
//  key is derived from the powers of tau alone). Whoever runs it knows (or
//  could have kept) the toxic waste and can forge proofs. NEVER use the
//  resulting artifacts for anything that holds value. A production setup needs
//  a public multi-party phase-1 (e.g. a Perpetual Powers of Tau file) and a
//  multi-party phase-2 with a random beacon.
//
//  Circuits (each in artifacts/<name>/: circuit.wasm, <system>.zkey,
//  <system>.vkey.json and manifest.json with the sha256 of each):
//    rollup_batch       RollupBatch(6, 2), --O2, groth16           (the reference rollup)
//    rollup_batch_d4b1  RollupBatch(4, 1), --O1, groth16 + plonk   (the multi-proof rollup;
//                       --O1 because PLONK pays a gate per linear term that --O2 folds in,
//                       and so that this circuit's PLONK fits the same 2^14 powers of tau)
//
//  Steps (each one skipped when its output already exists and is up to date):
//    1. powers of tau 2^14 (bn128): new -> contribute -> prepare phase2
//       -> .cache/ptau/pot14_final.ptau   (large, NOT committed)
//    2. compile circuits/<name>.circom with circom2 (WASM circom) -> build/<name>/
//    3. per proof system: setup (+ one phase-2 contribution for groth16), export vkey
//    4. copy the wasm, write manifest.json
//
//  Usage:   node scripts/setup-circuit.mjs [--circuit NAME] [--ptau-only] [--force]
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
const CIRCUITS = [
  { name: "rollup_batch", optimization: "--O2", systems: ["groth16"] },
  { name: "rollup_batch_d4b1", optimization: "--O1", systems: ["groth16", "plonk"] },
];
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
const argv = process.argv.slice(2);
const ONLY = argv.includes("--circuit") ? argv[argv.indexOf("--circuit") + 1] : undefined;
if (ONLY !== undefined && !CIRCUITS.some((c) => c.name === ONLY)) {
  console.error(`unknown circuit ${ONLY}: one of ${CIRCUITS.map((c) => c.name).join(", ")}`);
  process.exit(2);
}

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

const timingsFile = path.join(BUILD, "setup-timings.json"); // steps of every circuit, by name
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
// 2. compile (cached on a hash of the circuit's sources, the compiler and the optimization level)
// ---------------------------------------------------------------------------
function sourceHash(c) {
  const h = createHash("sha256");
  // The shared templates and this circuit's main component: adding another circuit changes no other one.
  for (const f of ["rollup.circom", `${c.name}.circom`]) {
    h.update(`${f}\0`)
      .update(fs.readFileSync(path.join(CIRCUIT_DIR, f)))
      .update("\0");
  }
  h.update(`${pkgVersion("circom2")}|${pkgVersion("circomlib")}|${c.optimization}`);
  return h.digest("hex");
}

function circuitParams(c) {
  const src = fs.readFileSync(path.join(CIRCUIT_DIR, `${c.name}.circom`), "utf8");
  const m = src.match(/component\s+main[^=]*=\s*RollupBatch\(\s*(\d+)\s*,\s*(\d+)\s*\)/);
  if (!m) throw new Error(`cannot find \`component main = RollupBatch(D, B)\` in ${c.name}.circom`);
  return { depth: Number(m[1]), batchSize: Number(m[2]) };
}

const buildPaths = (c) => {
  const dir = path.join(BUILD, c.name);
  return {
    dir,
    r1cs: path.join(dir, `${c.name}.r1cs`),
    wasm: path.join(dir, `${c.name}_js`, `${c.name}.wasm`),
    hashFile: path.join(dir, "source-hash.txt"),
  };
};

/** Compiles `c`; true when it had to (so every key made from the old r1cs is stale). */
async function ensureCompiled(c) {
  const b = buildPaths(c);
  const hash = sourceHash(c);
  const prev = fs.existsSync(b.hashFile) ? fs.readFileSync(b.hashFile, "utf8").trim() : "";
  if (!FORCE && prev === hash && exists(b.r1cs) && exists(b.wasm)) {
    log(`${c.name}: compile cached`);
    return false;
  }
  fs.mkdirSync(b.dir, { recursive: true });
  await timed(`${c.name}_compile_circom${c.optimization.replace("--", "_")}`, async () => {
    const cli = require.resolve("circom2/cli.js");
    execFileSync(
      process.execPath,
      [
        cli,
        path.relative(CIRCOM_CWD, path.join(CIRCUIT_DIR, `${c.name}.circom`)),
        "--r1cs",
        "--wasm",
        c.optimization,
        "-o",
        path.relative(CIRCOM_CWD, b.dir),
        "-l",
        "node_modules",
      ],
      { cwd: CIRCOM_CWD, stdio: "inherit" },
    );
  });
  fs.writeFileSync(b.hashFile, `${hash}\n`);
  return true;
}

// ---------------------------------------------------------------------------
// 3-4. keys per proof system, vkeys, artifacts, manifest
// ---------------------------------------------------------------------------
const newer = (a, b) => exists(a) && fs.statSync(a).mtimeMs >= fs.statSync(b).mtimeMs;

async function ensureGroth16Key(c, stale, zkey) {
  const b = buildPaths(c);
  const zkey0 = path.join(b.dir, "groth16_0000.zkey");
  if (stale || !exists(zkey0)) {
    await timed(`${c.name}_groth16_setup`, () =>
      atomically(zkey0, (tmp) => snarkjs.zKey.newZKey(b.r1cs, PTAU_FINAL, tmp, logger)),
    );
  } else log(`${c.name}: groth16 initial zkey cached`);
  if (stale || !newer(zkey, zkey0)) {
    await timed(`${c.name}_groth16_contribute`, () =>
      atomically(zkey, (tmp) =>
        snarkjs.zKey.contribute(
          zkey0,
          tmp,
          "ordo devnet phase2 (local, INSECURE)",
          randomBytes(32).toString("hex"),
          logger,
        ),
      ),
    );
  } else log(`${c.name}: groth16 final zkey cached`);
}

async function ensurePlonkKey(c, stale, zkey) {
  if (!stale && exists(zkey)) {
    log(`${c.name}: plonk zkey cached`);
    return;
  }
  await timed(`${c.name}_plonk_setup`, () =>
    atomically(zkey, async (tmp) => {
      // snarkjs returns -1 (and leaves a file behind) when the powers of tau are too small.
      const r = await snarkjs.plonk.setup(buildPaths(c).r1cs, PTAU_FINAL, tmp, logger);
      if (r === -1) throw new Error(`${c.name}: the PLONK circuit does not fit 2^${PTAU_POWER} powers of tau`);
    }),
  );
}

async function ensureKeys(c, stale) {
  const art = path.join(ART, c.name);
  fs.mkdirSync(art, { recursive: true });
  const files = {};
  const wasm = path.join(art, "circuit.wasm");
  if (!exists(wasm) || sha256File(wasm) !== sha256File(buildPaths(c).wasm)) {
    fs.copyFileSync(buildPaths(c).wasm, wasm);
    log(`${c.name}: copied wasm to artifacts/`);
  }
  files[path.basename(wasm)] = wasm;
  for (const system of c.systems) {
    const zkey = path.join(art, `${system}.zkey`);
    const vkey = path.join(art, `${system}.vkey.json`);
    await (system === "groth16" ? ensureGroth16Key : ensurePlonkKey)(c, stale, zkey);
    if (!newer(vkey, zkey)) {
      await timed(`${c.name}_${system}_export_vkey`, async () => {
        const vk = await snarkjs.zKey.exportVerificationKey(zkey, logger);
        await atomically(vkey, async (tmp) => fs.writeFileSync(tmp, `${JSON.stringify(vk, null, 1)}\n`));
      });
    } else log(`${c.name}: ${system} verification key cached`);
    files[path.basename(zkey)] = zkey;
    files[path.basename(vkey)] = vkey;
  }

  const info = await snarkjs.r1cs.info(buildPaths(c).r1cs);
  const { depth, batchSize } = circuitParams(c);
  const artifacts = {};
  for (const [name, f] of Object.entries(files))
    artifacts[name] = { sha256: sha256File(f), bytes: fs.statSync(f).size };
  const manifest = {
    WARNING:
      "DEVNET ONLY - toxic waste generated locally by scripts/setup-circuit.mjs; proofs can be forged by whoever ran the setup",
    circuit: `circuits/${c.name}.circom`,
    template: `RollupBatch(${depth}, ${batchSize})`,
    depth,
    batchSize,
    maxAccounts: 2 ** depth,
    constraints: info.nConstraints,
    wires: info.nVars,
    publicInputs: ["oldRoot", "newRoot", "batchCommitment"],
    privateInputs: info.nPrvInputs,
    compiler: { circom2: pkgVersion("circom2"), optimization: c.optimization },
    circomlib: pkgVersion("circomlib"),
    circomlibjs: pkgVersion("circomlibjs"),
    snarkjs: pkgVersion("snarkjs"),
    provingSystems: c.systems,
    curve: "bn128",
    ptauPower: PTAU_POWER,
    sourceSha256: sourceHash(c),
    artifacts,
  };
  fs.writeFileSync(path.join(art, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  log(
    `${c.name}: manifest written: ${info.nConstraints} constraints, D=${depth}, B=${batchSize}, ${c.systems.join(" + ")}`,
  );
}

async function main() {
  log("Ordo reference rollup setup -- DEVNET ONLY (locally generated toxic waste)");
  const circuits = CIRCUITS.filter((c) => ONLY === undefined || c.name === ONLY);
  const stale = new Map();
  if (!PTAU_ONLY) for (const c of circuits) stale.set(c.name, await ensureCompiled(c)); // cheap, fails fast
  await ensurePtau();
  if (PTAU_ONLY) return;
  for (const c of circuits) await ensureKeys(c, stale.get(c.name));
  log("all done");
}

main().then(
  () => process.exit(0), // snarkjs/ffjavascript keep worker threads alive
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
