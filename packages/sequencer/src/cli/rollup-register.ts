/**
 * `ordo rollup register`: registers a rollup with the prover market, so every
 * batch of its namespace becomes a job that staked provers bid for and prove.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { accountOf, CIRCUITS, circuitByName, REFERENCE_CIRCUIT, verifyingKeyHash } from "@ordo/prover";
import { readSystemKeyFile } from "./files.js";
import { getJson, postSystemTransaction } from "./system-client.js";
import { int, UsageError } from "./usage.js";

interface MarketRollups {
  rollups: { namespace: number; circuit: string }[];
}

export async function rollupRegister(args: string[], help: string): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      key: { type: "string" },
      node: { type: "string" },
      namespace: { type: "string" },
      circuit: { type: "string" },
      "fee-deposit": { type: "string" },
      "deadline-blocks": { type: "string" },
      "max-fee": { type: "string" },
      wait: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return void process.stdout.write(help);
  if (!values.key) throw new UsageError("--key FILE is required");
  if (!values.node || !/^https?:\/\//.test(values.node))
    throw new UsageError("--node URL (a validator's API) is required");
  const namespace = int("namespace", values.namespace, -1, 1, 2 ** 32 - 1);
  if (namespace < 0) throw new UsageError("--namespace NS is required");
  const circuit = circuitByName(values.circuit ?? REFERENCE_CIRCUIT.name);
  if (!circuit)
    throw new UsageError(`--circuit must be one of ${CIRCUITS.map((c) => c.name).join(", ")}, got "${values.circuit}"`);
  const amount = (name: string, v: string | undefined, dflt: bigint) => {
    if (v === undefined) return dflt;
    if (!/^[0-9]{1,18}$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, got "${v}"`);
    return BigInt(v);
  };
  const node = values.node.replace(/\/$/, "");
  const key = await readSystemKeyFile(resolve(values.key), false);
  const me = accountOf(key.publicKey);
  const { chainId } = await getJson<{ chainId: number }>(`${node}/v1/status`);
  const { nextNonce } = await getJson<{ nextNonce: number }>(`${node}/v1/market/accounts/${me}`);
  const taken = (await getJson<MarketRollups>(`${node}/v1/market`)).rollups.find((x) => x.namespace === namespace);
  if (taken)
    throw new UsageError(
      `namespace ${namespace} is already a rollup (circuit ${taken.circuit}); pick another --namespace`,
    );
  const r = await postSystemTransaction(node, chainId, key, nextNonce, {
    kind: "register-rollup",
    namespace,
    circuit: circuit.name,
    verifyingKeyHash: verifyingKeyHash(circuit),
    feeDeposit: amount("fee-deposit", values["fee-deposit"], 100_000n),
    deadlineBlocks: int("deadline-blocks", values["deadline-blocks"], 400, 1, 1_000_000),
    maxFee: amount("max-fee", values["max-fee"], 100n),
  });
  if (r.status !== 202) throw new Error(`the node refused the registration (HTTP ${r.status}): ${r.text}`);
  process.stdout.write(
    `submitted: rollup ${namespace} with circuit ${circuit.name} (${circuit.systems.join(" + ")})\n`,
  );
  if (!values.wait) return;
  const t0 = Date.now();
  for (;;) {
    // The account first: once it shows the nonce used, the market read after it shows the rollup if it was accepted.
    const account = await getJson<{ nextNonce: number }>(`${node}/v1/market/accounts/${me}`);
    const m = await getJson<MarketRollups>(`${node}/v1/market`);
    if (m.rollups.some((x) => x.namespace === namespace)) break;
    if (account.nextNonce > nextNonce)
      throw new Error(
        `the validators executed the registration but refused it: is namespace ${namespace} taken, or the fee deposit above the key's balance?`,
      );
    if (Date.now() - t0 > 30_000)
      throw new Error("the registration was not executed within 30 s; is the network finalizing?");
    await new Promise((res) => setTimeout(res, 250));
  }
  process.stdout.write(`registered: rollup ${namespace}\n`);
}
