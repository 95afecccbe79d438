/**
 * `npm run chaos -- --seed N --minutes M`: a chaos run on the real
 * multi-process devnet. Validators run in their own network namespaces;
 * provers, the L1 and an external DA layer run beside them; a seeded plan
 * crashes, partitions, slows, skews and impersonates validators, crashes
 * provers, withholds reveals, freezes the DA layer and restarts the L1, all
 * under continuous load from several rollups. Then every fault is healed and
 * the checks run. The last line is the verdict; the exit code is 0 on PASS.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { nodeStatus } from "../../packages/sequencer/src/cli/validator-processes.js";
import {
  type ByzantineWindow,
  type CheckResult,
  checkAgreement,
  checkDaRetrievable,
  checkEveryBatchProven,
  checkL1Roots,
  checkLiveness,
  checkNoHonestDoubleSign,
  checkNoTransactionLost,
  type HeightTimeline,
} from "./checks.js";
import { Cluster, FAKETIME_LIBRARY } from "./cluster.js";
import { LoadGenerator } from "./load.js";
import { canMakeNetworkNamespaces, createNetworkLab } from "./network-lab.js";
import {
  describeFault,
  type Episode,
  planFaults,
  SIDE_FAULTS,
  type SideFault,
  VALIDATOR_FAULTS,
  type ValidatorFault,
} from "./schedule.js";

/**
 * How long the chain may stand still while a quorum can talk: above two full rounds (a round timeout doubles per
 * failed round, up to 16 s), below the minute-long stalls of seed 3 before finding 7's fix (58-85 s). Healthy
 * runs stand still for 20 s at most.
 */
const LIVENESS_BOUND_MS = 45_000;

export const CHAOS_HELP = `Usage: npm run chaos -- [--seed N] [--minutes M] [--validators N] [--provers K]
                        [--rate TX_PER_S] [--epoch-length B] [--faults LIST] [--side-faults LIST]
                        [--no-l1] [--drain-seconds S] [--inject-bug ack-before-durable]
                        [--fail-fast] [--keep]

Runs a seeded chaos scenario on a real multi-process network and ends with a
one-line verdict (exit 0 on PASS, 1 on FAIL, 2 when it cannot run). Needs root
and iproute2: each validator runs in its own network namespace, and partitions
are real (blackhole routes between namespaces). Clock skew needs Debian's
faketime package (skipped, and said so, without it).

  --seed N            the fault plan's seed (default: random, printed)
  --minutes M         how long faults and load go on (default 1; fractions ok)
  --validators N      default 4 (f = 1)
  --provers K         honest prover daemons (default 2; 0: no market, L1 or rollups)
  --rate R            opaque transactions a second (default 25), besides rollup transfers
  --epoch-length B    blocks per epoch (default 100)
  --faults LIST       validator faults to draw from (default all): ${VALIDATOR_FAULTS.join(",")}
  --side-faults LIST  prover and infrastructure faults (default all): ${SIDE_FAULTS.join(",")}
  --no-l1             no L1 anvil, relayer or L1 check
  --drain-seconds S   how long, after the faults, a transaction may take to end
                      final or dropped before it counts as lost (default 120)
  --inject-bug NAME   run the validators with a deliberate bug (ack-before-durable),
                      to see the harness catch it
  --fail-fast         stop checking at the first check that fails
  --keep              keep the run's directory (it is always kept on FAIL)
`;

function list<T extends string>(value: string | undefined, all: readonly T[], flag: string): T[] | undefined {
  if (value === undefined) return undefined;
  const out = value.split(",").filter((x) => x !== "");
  for (const x of out)
    if (!all.includes(x as T)) throw new Error(`${flag}: unknown fault ${x} (known: ${all.join(", ")})`);
  return out as T[];
}

function number(value: string | undefined, fallback: number, flag: string, min: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isFinite(n) || n < min) throw new Error(`${flag} must be a number ≥ ${min}`);
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** What each validator says about itself, saved next to the logs of a failed run. */
async function postMortem(cluster: Cluster, dir: string): Promise<void> {
  await mkdir(join(dir, "postmortem"), { recursive: true });
  for (const [i, api] of cluster.apis.entries())
    for (const path of ["/v1/status", "/v1/market", "/v1/provers", "/metrics"]) {
      const text = await fetch(`${api}${path}`, { signal: AbortSignal.timeout(5_000) })
        .then((r) => r.text())
        .catch((e: Error) => `unreachable: ${e.message}`);
      await writeFile(join(dir, "postmortem", `validator-${i}${path.replaceAll("/", "_")}.txt`), text);
    }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: "string" },
      minutes: { type: "string" },
      validators: { type: "string" },
      provers: { type: "string" },
      rate: { type: "string" },
      "epoch-length": { type: "string" },
      faults: { type: "string" },
      "side-faults": { type: "string" },
      "no-l1": { type: "boolean" },
      "inject-bug": { type: "string" },
      "drain-seconds": { type: "string" },
      "fail-fast": { type: "boolean" },
      keep: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(CHAOS_HELP);
    return 0;
  }
  const seed = Math.floor(number(values.seed, Math.floor(Math.random() * 2 ** 31), "--seed", 0));
  const minutes = number(values.minutes, 1, "--minutes", 0.1);
  const n = Math.floor(number(values.validators, 4, "--validators", 4));
  const provers = Math.floor(number(values.provers, 2, "--provers", 0));
  const rate = number(values.rate, 25, "--rate", 1);
  const epochLength = Math.floor(number(values["epoch-length"], 100, "--epoch-length", 0));
  const drainMs = number(values["drain-seconds"], 120, "--drain-seconds", 1) * 1000;
  const bug = values["inject-bug"];
  if (bug !== undefined && bug !== "ack-before-durable")
    throw new Error(`--inject-bug: unknown bug ${bug} (known: ack-before-durable)`);
  const l1 = provers > 0 && !values["no-l1"];
  let validatorFaults = list(values.faults, VALIDATOR_FAULTS, "--faults") ?? [...VALIDATOR_FAULTS];
  const sideFaults = (list(values["side-faults"], SIDE_FAULTS, "--side-faults") ?? [...SIDE_FAULTS]).filter(
    (k) => l1 || k !== "l1-restart",
  );
  const notes: string[] = [];
  if (!(await canMakeNetworkNamespaces())) {
    process.stderr.write(
      "chaos: cannot create network namespaces; run as root on Linux with iproute2 (partitions must be real)\n",
    );
    return 2;
  }
  if (validatorFaults.includes("clock-skew") && !existsSync(FAKETIME_LIBRARY)) {
    validatorFaults = validatorFaults.filter((k) => k !== "clock-skew");
    notes.push("clock-skew skipped: install Debian's faketime package");
  }

  const started = Date.now();
  const t = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s]`;
  const say = (line: string) => process.stdout.write(`${t()} ${line}\n`);
  const durationMs = minutes * 60_000;
  const plan = planFaults({ seed, durationMs, validators: n, provers, validatorFaults, sideFaults });
  say(
    `chaos seed ${seed}: ${minutes} min, ${n} validators, ${provers} provers${l1 ? ", L1" : ""}; ${plan.validators.length} validator and ${plan.side.length} side faults planned${bug ? `; INJECTED BUG ${bug}` : ""}`,
  );

  const labId = (process.pid % 250) + 1;
  const dir = await mkdtemp(join(tmpdir(), "ordo-chaos-"));
  const lab = await createNetworkLab(n, labId);
  const cluster = new Cluster({
    dir,
    validators: n,
    provers,
    epochLength,
    lab,
    l1Port: 8545,
    daPort: 8546,
    metricsPort: 42_000 + labId * 8,
    l1,
    ...(bug ? { mutation: bug } : {}),
    log: say,
  });
  // Ctrl-C (or a CI timeout's SIGTERM) still stops every process and removes the namespaces.
  const interrupted = async (signal: string) => {
    say(`${signal}: stopping the network, keeping ${dir}`);
    await cluster.stop().catch(() => {});
    await lab.destroy().catch(() => {});
    process.exit(130);
  };
  process.once("SIGINT", () => void interrupted("SIGINT"));
  process.once("SIGTERM", () => void interrupted("SIGTERM"));
  let results: CheckResult[] = [];
  const faultCounts = new Map<string, number>();
  let load: LoadGenerator | null = null;
  try {
    say(`starting the network in ${dir} (lab 10.213.${labId}.0/24)...`);
    await cluster.start();
    say(`network up: ${cluster.apis.join(" ")}`);
    load = new LoadGenerator({
      apis: cluster.apis,
      seed,
      ratePerSecond: rate,
      // What two provers on two cores keep up with: a PLONK proof of rollup 2 takes 30 s here, minutes under chaos.
      rollupEverySeconds: provers > 0 ? [6, 60] : [0, 0],
    });
    load.start();
    const t0 = Date.now();
    // Every 2 s, each validator's committed height (null: no answer); a line every 10 s shows the chain moving.
    const timeline: HeightTimeline[number][] = [];
    let monitoring = true;
    const monitor = (async () => {
      for (let k = 0; monitoring; k++) {
        const heights = (await Promise.all(cluster.apis.map(nodeStatus))).map((x) => x?.committedHeight ?? null);
        timeline.push({ atMs: Date.now() - t0, heights });
        if (k % 5 === 0) say(`heights ${heights.map((h) => h ?? "–").join(" ")}`);
        await sleep(2_000);
      }
    })();
    const waitUp = (v: number) =>
      cluster.waitUntil(async () => (await nodeStatus(cluster.apis[v] as string)) !== null, 90_000, `validator ${v}`);
    // A restarted validator takes seconds to start and catch up; the next fault waits for it, so that no more
    // than f validators are ever out at once (the plan's promise), however slow the machine.
    const recovered = async (targets: readonly number[]) => {
      const caughtUp = async () => {
        const s = await Promise.all(cluster.apis.map(nodeStatus));
        const top = Math.max(...s.map((x) => x?.committedHeight ?? 0));
        return targets.every((v) => (s[v]?.committedHeight ?? -1) >= top - 3);
      };
      await cluster
        .waitUntil(caughtUp, 120_000, `validator ${targets.join(",")} to catch up`)
        .catch((e: Error) => say(`warning: ${e.message}`));
    };
    const byzantine: ByzantineWindow[] = [];
    /** When no side held a quorum: the chain may stand still then. */
    const splits: { fromMs: number; toMs: number }[] = [];
    const count = (f: ValidatorFault | SideFault) => faultCounts.set(f.kind, (faultCounts.get(f.kind) ?? 0) + 1);
    const runValidatorEpisode = async ({ durationMs: d, fault }: Episode<ValidatorFault>) => {
      count(fault);
      switch (fault.kind) {
        case "crash": {
          const acked = await Promise.all(fault.targets.map((v) => (load as LoadGenerator).burst(v, 40)));
          await Promise.all(fault.targets.map((v) => cluster.killValidator(v)));
          say(
            `crash: SIGKILL validator ${fault.targets.join(",")} right after it acknowledged ${acked.join("+")} transactions`,
          );
          await sleep(d);
          for (const v of fault.targets) cluster.startValidator(v);
          await recovered(fault.targets);
          break;
        }
        case "partition-minority":
        case "partition-split": {
          const groups =
            fault.kind === "partition-split"
              ? fault.groups
              : [fault.targets, [...Array(n).keys()].filter((v) => !fault.targets.includes(v))];
          await lab.partition(groups);
          say(`${describeFault(fault)}: cut`);
          const cut = Date.now() - t0;
          await sleep(d);
          await lab.heal();
          if (fault.kind === "partition-split") splits.push({ fromMs: cut, toMs: Date.now() - t0 });
          await recovered(groups.flat());
          break;
        }
        case "slow": {
          const v = fault.targets[0] as number;
          await lab.slow(v, 512);
          const cpu = await cluster.throttle(v, 20);
          say(`slow: validator ${v} on a 512 kbit/s link${cpu ? " and 20% of a core" : ""}`);
          await sleep(d);
          await lab.slow(v, 0);
          await cluster.throttle(v, null);
          break;
        }
        case "clock-skew": {
          const v = fault.targets[0] as number;
          await cluster.killValidator(v);
          cluster.startValidator(v, fault.skewMs);
          await waitUp(v);
          say(`${describeFault(fault)}: restarted under libfaketime`);
          await sleep(d);
          await cluster.killValidator(v);
          cluster.startValidator(v);
          await recovered([v]);
          break;
        }
        case "byzantine": {
          const v = fault.targets[0] as number;
          await cluster.killValidator(v);
          const from = Date.now();
          const byz = cluster.startByzantine(v, Math.ceil(d / 1000), seed);
          say(`byzantine: validator ${v}'s keys run by the equivocating, garbage-flooding program`);
          await Promise.race([new Promise((r) => byz.process.once("exit", r)), sleep(d + 10_000)]);
          if (byz.process.exitCode === null) byz.process.kill("SIGKILL");
          byzantine.push({ validator: v, fromMs: from, toMs: Date.now() });
          say(`byzantine: done (${byz.output.at(-1) ?? "no report"})`);
          cluster.startValidator(v);
          await recovered([v]);
          break;
        }
      }
    };
    const runSideEpisode = async ({ durationMs: d, fault }: Episode<SideFault>) => {
      count(fault);
      say(describeFault(fault));
      switch (fault.kind) {
        case "prover-crash":
          await cluster.killProver(fault.prover);
          await sleep(d);
          cluster.startProver(fault.prover);
          break;
        case "withheld-reveals":
          // From here to the end of the run: a bid slot takes ~25 blocks to close, and the withholder seconds to start.
          cluster.startWithholder(Math.max(d, durationMs - (Date.now() - t0)) / 1000);
          break;
        case "da-outage":
          cluster.freezeDa(true);
          await sleep(d);
          cluster.freezeDa(false);
          break;
        case "l1-restart":
          await cluster.restartL1(Math.min(d, 5_000));
          break;
      }
    };
    const track = async <F>(episodes: Episode<F>[], run: (e: Episode<F>) => Promise<void>) => {
      for (const e of episodes) {
        // Slow recoveries push episodes back; one that would start after the run's end is left out.
        if (Date.now() - t0 + e.durationMs > durationMs) break;
        await sleep(t0 + e.atMs - Date.now());
        await run(e);
      }
    };
    await Promise.all([
      track(plan.validators, runValidatorEpisode),
      track(plan.side, runSideEpisode),
      sleep(durationMs),
    ]);
    await load.stop();
    monitoring = false;
    await monitor;
    await writeFile(join(dir, "heights.json"), `${JSON.stringify(timeline)}\n`);
    say(
      `faults over; load stopped: ${load.accepted.size} accepted, ${[...load.refused.values()].reduce((a, b) => a + b, 0)} refused, ${load.unanswered} unanswered. Checking...`,
    );
    const lost = await checkNoTransactionLost(cluster.apis, [...load.accepted.values()], drainMs, started);
    say(`${lost.ok ? "ok  " : "FAIL"} ${lost.name}: ${lost.detail}`);
    results = [{ name: lost.name, ok: lost.ok, detail: lost.detail }];
    // Each check starts only when the ones before passed, or always without --fail-fast.
    const run = async (check: () => Promise<CheckResult>) => {
      if (values["fail-fast"] && results.some((r) => !r.ok)) return;
      const r = await check().catch((e: Error) => ({ name: "check", ok: false, detail: e.message }));
      say(`${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.detail}`);
      results.push(r);
    };
    await run(async () => checkLiveness(timeline, splits, LIVENESS_BOUND_MS));
    await run(() => checkAgreement(cluster.apis));
    await run(() => checkNoHonestDoubleSign(dir, n, byzantine));
    if (provers > 0) await run(() => checkEveryBatchProven(cluster.apis[0] as string, 300_000));
    if (l1)
      await run(() =>
        checkL1Roots({ api: cluster.apis[0] as string, l1RpcUrl: cluster.l1RpcUrl, dir, timeoutMs: 120_000 }),
      );
    if (provers > 0 && results.every((r) => r.ok)) {
      // The market's view of the provers: who proved, who was slashed (the withholder for every bid it sat on).
      const p = (await fetch(`${cluster.apis[0]}/v1/provers`).then((r) => r.json())) as {
        provers: { account: string; jobsWon: number; proofsAccepted: number; slashes: number }[];
      };
      say(
        `provers: ${p.provers.map((x) => `${x.account.slice(0, 10)} won ${x.jobsWon}, proved ${x.proofsAccepted}, slashed ${x.slashes}`).join("; ")}`,
      );
    }
    await run(() =>
      checkDaRetrievable({
        apis: cluster.apis,
        daRpcUrl: cluster.daRpcUrl,
        heights: lost.finalHeights,
        seed,
        sample: 60,
        timeoutMs: 60_000,
      }),
    );
  } catch (e) {
    results.push({ name: "run", ok: false, detail: (e as Error).message });
    say(`FAIL run: ${(e as Error).stack ?? e}`);
  } finally {
    if (!results.every((r) => r.ok)) await postMortem(cluster, dir).catch(() => {});
    await load?.stop().catch(() => {});
    await cluster.stop().catch(() => {});
    await lab.destroy().catch(() => {});
  }
  const ok = results.length > 0 && results.every((r) => r.ok);
  const faults = [...faultCounts].map(([k, c]) => `${k} ×${c}`).join(", ") || "none";
  const accepted = load?.accepted.size ?? 0;
  await writeFile(
    join(dir, "chaos-result.json"),
    `${JSON.stringify({ seed, minutes, validators: n, provers, bug: bug ?? null, ok, faults: Object.fromEntries(faultCounts), accepted, results, notes }, null, 2)}\n`,
  );
  if (ok && !values.keep) await rm(dir, { recursive: true, force: true });
  else say(`kept ${dir} (node logs in validator-*/node.log, verdict in chaos-result.json)`);
  const failed = results.filter((r) => !r.ok);
  process.stdout.write(
    `chaos seed ${seed} · ${minutes} min · ${n} validators · faults: ${faults} · ${accepted} transactions accepted · ${
      ok
        ? `PASS: ${results.map((r) => r.name).join(", ")}${notes.length ? ` (${notes.join("; ")})` : ""}`
        : `FAIL: ${failed.map((r) => `${r.name} — ${r.detail}`).join("; ")}`
    }\n`,
  );
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`chaos: ${e.message}\n`);
    process.exit(2);
  },
);
