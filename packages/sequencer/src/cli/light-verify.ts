/**
 * `ordo light verify`: checks, from an untrusted node, that a height is final
 * (its certificate and the header chain to it) and, with `--namespace`, that the
 * node served the namespace's complete transactions at that height. Prints what
 * it verified; exits 1 on any failure.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { blstBackend, nobleBackend, toHex } from "@ordo/core";
import { type Checkpoint, checkpointFromNode, LightClient, LightClientError, verifyFromNode } from "@ordo/light-client";
import { readGenesis } from "./files.js";
import { LIGHT_VERIFY_HELP } from "./light-verify-help.js";
import { int, UsageError } from "./usage.js";

export async function lightVerify(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      rpc: { type: "string" },
      height: { type: "string" },
      namespace: { type: "string" },
      genesis: { type: "string" },
      "pure-js": { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return void process.stdout.write(LIGHT_VERIFY_HELP);
  if (!values.rpc || !/^https?:\/\//.test(values.rpc)) throw new UsageError("--rpc URL (a node's API) is required");
  const height = int("height", values.height, -1, 0, Number.MAX_SAFE_INTEGER);
  if (height < 0) throw new UsageError("--height H is required");
  const namespace = values.namespace === undefined ? undefined : int("namespace", values.namespace, 0, 0, 2 ** 32 - 1);
  const rpc = values.rpc.replace(/\/$/, "");
  let checkpoint: Checkpoint;
  let anchor: string;
  if (values.genesis) {
    const { file, validators } = await readGenesis(resolve(values.genesis));
    checkpoint = { chainId: file.chainId, validatorSet: validators.toData(), height: 0 };
    anchor = `genesis ${values.genesis}`;
  } else {
    checkpoint = await checkpointFromNode(rpc);
    anchor = "the node's own /v1/validators (not independent: pass --genesis)";
  }
  const client = new LightClient(checkpoint, values["pure-js"] ? nobleBackend : blstBackend);
  try {
    const t0 = performance.now();
    const r = await verifyFromNode(client, rpc, height, namespace);
    const ms = performance.now() - t0;
    const lines = [
      `verified: height ${r.height} is final (block ${r.blockHash})`,
      `  certificate: epoch ${r.epoch}, ${r.signers} signers, stake ${r.signedStake} of ${r.totalStake} (> 2/3)`,
      `  headers: ${r.headersVerified} (${r.height}..${r.certifiedHeight}), each the parent its successor names`,
      `  trust anchor: ${anchor}`,
    ];
    if (r.epochChanges > 0)
      lines.push(`  committee changes followed: ${r.epochChanges} (each the last block's finality and its commitment)`);
    if (r.namespace)
      lines.push(
        r.namespace.kind === "inclusion"
          ? `  namespace ${r.namespace.namespace}: all ${r.namespace.transactions.length} transactions, in order (inclusion and completeness proof)`
          : `  namespace ${r.namespace.namespace}: no transactions at this height (absence proof)`,
        ...r.namespace.transactions
          .slice(0, 5)
          .map((t, i) => `    [${i}] ${toHex(t).slice(0, 66)}${t.length > 32 ? "…" : ""}`),
      );
    lines.push(`  in ${ms.toFixed(1)} ms with ${values["pure-js"] ? "pure-JS" : "native"} BLS`);
    process.stdout.write(`${lines.join("\n")}\n`);
  } catch (e) {
    if (e instanceof LightClientError) {
      process.stderr.write(`NOT verified [${e.code}]: ${e.message}\n`);
      // The node's own committee is of its current epoch: a height of an earlier epoch needs an earlier anchor.
      if (e.code === "STALE_EPOCH" && !values.genesis)
        process.stderr.write(
          "fix: the trust anchor is the node's current committee, later than this height's; pass --genesis FILE to follow committee changes from genesis\n",
        );
      process.exit(1);
    }
    throw e;
  }
}
