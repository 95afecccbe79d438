/**
 * `ordo staking join|leave`: a validator's operator bonds stake (or adds to
 * it) or leaves, with a transaction signed by the validator's BLS key. The
 * change takes effect two epochs after the epoch its block lands in.
 */
import { parseArgs } from "node:util";
import { encodeStakingTransaction, signStakingTransaction } from "@ordo/consensus";
import { blstBackend, toHex } from "@ordo/core";
import { readBlsKeyFile } from "./files.js";
import { getJson } from "./system-client.js";
import { UsageError } from "./usage.js";

export const STAKING_HELP = `Usage: ordo staking join --key BLS_KEY_FILE --node URL --bond AMOUNT
       ordo staking leave --key BLS_KEY_FILE --node URL

join bonds AMOUNT more of the validator's free balance (its first join also
registers its proof of possession); leave starts unbonding all of its bond,
released after the unbonding delay. Both are signed with the validator's BLS
key (e.g. DIR/validator-i/bls.key from \`ordo genesis create\`), take the next
nonce from the node, and take effect two epochs after the epoch their block is
in. Needs a network whose genesis has "epochLength" and "staking".
`;

export async function staking(action: string, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      key: { type: "string" },
      node: { type: "string" },
      bond: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return void process.stdout.write(STAKING_HELP);
  if (action !== "join" && action !== "leave") throw new UsageError(`unknown staking action "${action}"`);
  if (!values.key) throw new UsageError("--key BLS_KEY_FILE is required");
  if (!values.node || !/^https?:\/\//.test(values.node))
    throw new UsageError("--node URL (a validator's API) is required");
  const node = values.node.replace(/\/+$/, "");
  const key = await readBlsKeyFile(values.key);
  const publicKey = toHex(key.publicKey);
  const { chainId } = await getJson<{ chainId: number }>(`${node}/v1/status`);
  const account = await getJson<{ nonce: number; bonded: string; balance: string }>(
    `${node}/v1/staking/accounts/${publicKey}`,
  );
  let unsigned: Parameters<typeof signStakingTransaction>[3];
  if (action === "join") {
    if (!values.bond || !/^[1-9][0-9]{0,27}$/.test(values.bond))
      throw new UsageError("--bond AMOUNT (a positive integer) is required");
    if (BigInt(values.bond) > BigInt(account.balance))
      throw new UsageError(`--bond ${values.bond} is more than the free balance ${account.balance}`);
    unsigned = {
      kind: "join",
      publicKey: key.publicKey,
      proofOfPossession: key.proofOfPossession,
      bond: BigInt(values.bond),
      nonce: account.nonce,
    };
  } else {
    if (account.bonded === "0") throw new UsageError("nothing is bonded: there is nothing to leave");
    unsigned = { kind: "leave", publicKey: key.publicKey, nonce: account.nonce };
  }
  const tx = signStakingTransaction(blstBackend, key.secretKey, chainId, unsigned);
  const r = await fetch(`${node}/v1/staking/transactions`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: encodeStakingTransaction(tx),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await r.text();
  if (r.status !== 202) throw new Error(`the node refused the ${action}: HTTP ${r.status} ${text}`);
  process.stdout.write(
    `${action} of ${publicKey.slice(0, 18)}… accepted (${(JSON.parse(text) as { hash: string }).hash}); it takes effect two epochs after its block's\n`,
  );
}
