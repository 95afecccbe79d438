/**
 * Fuzzing the L1 contracts (OrdoLightClient, OrdoRollupBridge, RollupBatchVerifier) on a real anvil (port 28345),
 * with fast-check under fixed seeds (every run sends the same cases):
 *
 * 1. malformed calldata for every function of the three generated ABIs — random bytes after the selector,
 *    truncated encodings, corrupted offsets and lengths of dynamic arguments — plus unknown selectors, calldata
 *    shorter than a selector, empty calldata and ETH sent to them: each state-changing call reverts, in eth_call and
 *    as a mined transaction (gas set explicitly, so no estimation hides anything); views may revert or answer; none
 *    writes a byte of any contract (the transaction's prestate diff), and every getter and the contracts' whole
 *    storage (anvil_dumpState) are byte-for-byte the same afterwards;
 * 2. valid submissions (a finality certificate over a two-header chain, an epoch change, a Groth16-proven batch,
 *    an attested batch) mutated at random positions, truncated or with an offset or length rewritten: each is refused
 *    with nothing written, unless it is the same submission in another encoding (a flipped byte in the zero padding
 *    after a `bytes` value, a Merkle `leafCount` the documented rule does not bind): then it must have exactly the
 *    effect of the original (same storage writes from the same pre-state and timestamp, under evm_snapshot). Then
 *    the original is applied once, and its replay is refused with the error the contract documents, state unchanged;
 *    after an epoch change, the old change, a certificate and an attestation the old committee made while it was
 *    current, and the old committee's keys claiming the new epoch, are all refused;
 * 3. reentrancy. The external calls each function makes (read from contracts/*.sol):
 *    - OrdoLightClient: `submitFinalityCertificate`, `submitEpochChange`, `verifyQuorum` and the constructor call
 *      only precompiles (SHA256 0x02, MODEXP 0x05, G1ADD 0x0b, G2ADD 0x0d, PAIRING 0x0f, MAP_FP2_TO_G2 0x11), by
 *      STATICCALL; no other address, no ETH.
 *    - RollupBatchVerifier: `verifyProof` and `verifyProofs` call only ecAdd, ecMul and ecPairing (0x06–0x08).
 *    - OrdoRollupBridge: `submitProvenBatches` reads the light client (`finalizedNamespaceRoot`) and the Poseidon
 *      contracts, `attestStatementsRoot` and `attestAndSubmit` the light client (`currentEpoch`, `verifyQuorum`):
 *      addresses fixed at deployment (immutable). But `registerRollup` calls `verifyingKeyHash()` on a verifier
 *      address its caller chooses, and `submitProvenBatches` calls `verifyProofs` on the verifier the registrant
 *      chose: untrusted code. Both go through the view interface `IGroth16BatchVerifier`, so by STATICCALL. No
 *      function is payable, none sends ETH.
 *    So a malicious verifier (compiled here with solc-js, as scripts/compile-contracts.mjs compiles the real
 *    contracts) re-enters the bridge from both call sites; a positive control shows its re-entry works when called
 *    directly. The verifier of a rollup has no setter: `registerRollup` is the only state-changing function taking
 *    an address, and it refuses a registered namespace, whoever calls.
 */
import { gunzipSync } from "node:zlib";
import {
  type BlockHeader,
  type BlockPayload,
  createBitmap,
  encodeEpochChange,
  hashHeader,
  namespaceRoot,
  proofAttestationDigest,
  proveTransaction,
  type QuorumCertificate,
  sha256,
  toHex,
  type ValidatorKey,
} from "@ordo/core";
import {
  encodeTransfer,
  type Groth16Proof,
  proveBatch,
  REFERENCE_CIRCUIT,
  RollupTracker,
  referenceRollupGenesis,
  shutdownSnarkjs,
} from "@ordo/prover";
import fc from "fast-check";
import solc from "solc";
import {
  type Abi,
  type AbiFunction,
  type AbiParameter,
  type Address,
  bytesToHex,
  concatHex,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  decodeFunctionResult,
  encodeAbiParameters,
  encodeFunctionData,
  type Hex,
  hexToBytes,
  http,
  keccak256,
  numberToHex,
  parseAbi,
  toFunctionSelector,
  zeroAddress,
} from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANVIL_DEV_PRIVATE_KEY, ANVIL_DEV_PRIVATE_KEY_2, type Anvil, startAnvil } from "../src/anvil.js";
import { deployContract } from "../src/deploy.js";
import { OrdoLightClientAbi } from "../src/generated/OrdoLightClient.js";
import { OrdoRollupBridgeAbi } from "../src/generated/OrdoRollupBridge.js";
import { RollupBatchVerifierAbi, RollupBatchVerifierBytecode } from "../src/generated/RollupBatchVerifier.js";
import { type Groth16ProofCalldata, proofToCalldata } from "../src/groth16-calldata.js";
import {
  type CommitteeArgs,
  deployLightClient,
  epochChangeArgs,
  finalityCertificateArgs,
  g2ToEip2537,
} from "../src/light-client.js";
import { attestedBatchArgs, deployRollupBridge, provenBatchArgs, statementsRoot } from "../src/rollup-bridge.js";
import {
  all,
  bls,
  CHAIN,
  type Committee,
  certify as certifyHeader,
  committee as makeCommittee,
  header as makeHeader,
} from "./fixtures/committee.js";

const PORT = 28345;
/** Rollup A: the proven path with the real Groth16 verifier. B: the attested path. M: the malicious verifier's. */
const A = 1;
const B = 2;
const M = 3;
const JUNK = 9;
/** Namespaces the malicious verifier tries to register by re-entering the bridge. */
const NS_CONTROL = 40;
const NS_REENTRY = 41;
/** Gas of every fuzzed transaction and eth_call: explicit, so no estimation runs (or refuses) first. */
const GAS = 8_000_000n;
const U256 = 2n ** 256n;

const account = privateKeyToAccount(ANVIL_DEV_PRIVATE_KEY);
const stranger = privateKeyToAccount(ANVIL_DEV_PRIVATE_KEY_2);
const rpcUrl = `http://127.0.0.1:${PORT}`;
const chain = { ...foundry, rpcUrls: { default: { http: [rpcUrl] } } };
const pub = createPublicClient({ chain, transport: http(rpcUrl) });
const wallets = new Map<Address, ReturnType<typeof walletOf>>();
const walletOf = (a: PrivateKeyAccount) => createWalletClient({ account: a, chain, transport: http(rpcUrl) });
wallets.set(account.address, walletOf(account));
wallets.set(stranger.address, walletOf(stranger));

/** Deterministic bytes (keys, hashes, junk transactions): the same every run, as the fuzz seeds. */
const det = (label: string): Uint8Array => sha256(new TextEncoder().encode(`ordo/contract-fuzz/${label}`));
const detBytes = (label: string, n: number): Uint8Array =>
  new Uint8Array(Array.from({ length: n }, (_, i) => (det(`${label}/${i >> 5}`)[i & 31] as number) ^ 0x5a));

// ------------------------------------------------------------------ JSON-RPC, calls and transactions

interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

class RpcFailure extends Error {
  constructor(
    readonly method: string,
    readonly error: RpcError,
  ) {
    super(`${method}: ${error.code} ${error.message}`);
  }
}

let rpcId = 0;
async function rpc<T>(method: string, params: readonly unknown[] = []): Promise<T> {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }),
  });
  const body = (await response.json()) as { result?: T; error?: RpcError };
  if (body.error) throw new RpcFailure(method, body.error);
  return body.result as T;
}

type CallResult = { ok: true; data: Hex } | { ok: false; data: Hex | undefined; message: string };

/** eth_call (from the dev account unless told) with explicit gas: the returned bytes, or the revert. */
async function ethCall(to: Address, data: Hex, value = 0n, from: Address = account.address): Promise<CallResult> {
  try {
    const tx = { from, to, data, gas: numberToHex(GAS), value: numberToHex(value) };
    return { ok: true, data: await rpc<Hex>("eth_call", [tx, "latest"]) };
  } catch (e) {
    // Code 3: reverted (with data); -32003 and others with an EVM message: out of gas, invalid opcode, a halt.
    if (e instanceof RpcFailure && (e.error.code === 3 || /revert|EVM error|out of gas|halt/i.test(e.error.message))) {
      const data =
        typeof e.error.data === "string" && e.error.data.startsWith("0x") ? (e.error.data as Hex) : undefined;
      return { ok: false, data, message: e.error.message };
    }
    throw e;
  }
}

interface Sent {
  hash: Hex;
  status: "success" | "reverted";
}

/** A real transaction (viem `sendTransaction` with raw `data` and explicit gas), mined by anvil's automine. */
async function send(to: Address, data: Hex, o: { value?: bigint; from?: PrivateKeyAccount } = {}): Promise<Sent> {
  const wallet = wallets.get((o.from ?? account).address);
  if (!wallet) throw new Error("no wallet for that account");
  const hash = await wallet.sendTransaction({ to, data, gas: GAS, value: o.value ?? 0n });
  const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 20 });
  return { hash, status: receipt.status };
}

async function sendOk(to: Address, data: Hex, what: string): Promise<Sent> {
  const sent = await send(to, data);
  expect(sent.status, `${what}: transaction ${sent.hash} reverted`).toBe("success");
  return sent;
}

type StateDiff = Record<string, Record<string, unknown>>;
let coinbase = "";

/** What a mined transaction wrote (prestate tracer, diff mode), leaving out its sender and the fee recipient. */
async function writesOf(sent: Sent, sender: Address = account.address): Promise<StateDiff> {
  const diff = await rpc<{ post: StateDiff; pre: StateDiff }>("debug_traceTransaction", [
    sent.hash,
    { tracer: "prestateTracer", tracerConfig: { diffMode: true } },
  ]);
  const out: StateDiff = {};
  for (const [address, post] of Object.entries(diff.post)) {
    const a = address.toLowerCase();
    if (a === sender.toLowerCase() || a === coinbase) continue;
    out[a] = { pre: diff.pre[address], post };
  }
  return out;
}

const ERRORS: Abi = [...OrdoLightClientAbi, ...OrdoRollupBridgeAbi];

/** The custom error a revert carries, by name. */
function errorName(data: Hex | undefined): string {
  if (data === undefined || data === "0x") return "(no error data)";
  try {
    return decodeErrorResult({ abi: ERRORS, data }).errorName;
  } catch {
    return `(unknown error ${data.slice(0, 10)})`;
  }
}

/** `data` must be refused: eth_call fails, the mined transaction reverts, and it wrote nothing anywhere. */
async function expectRefused(
  to: Address,
  data: Hex,
  what: string,
  o: { value?: bigint; from?: PrivateKeyAccount } = {},
): Promise<string> {
  const call = await ethCall(to, data, o.value, (o.from ?? account).address);
  expect(call.ok, `${what}: eth_call succeeded, returning ${call.ok ? call.data : ""}`).toBe(false);
  const sent = await send(to, data, o);
  expect(sent.status, `${what}: transaction ${sent.hash} was mined successfully`).toBe("reverted");
  expect(await writesOf(sent, (o.from ?? account).address), `${what}: the reverted transaction wrote state`).toEqual(
    {},
  );
  return call.ok ? "" : errorName(call.data);
}

// ------------------------------------------------------------------ ABI walking and random arguments

const functionsOf = (abi: Abi): AbiFunction[] => abi.filter((x): x is AbiFunction => x.type === "function");
const isView = (fn: AbiFunction) => fn.stateMutability === "view" || fn.stateMutability === "pure";
const fnOf = (abi: Abi, name: string): AbiFunction => {
  const fn = functionsOf(abi).find((f) => f.name === name);
  if (!fn) throw new Error(`no function ${name}`);
  return fn;
};

const ARRAY = /^(.*)\[(\d*)\]$/;
const componentsOf = (p: AbiParameter): readonly AbiParameter[] => ("components" in p ? p.components : []);
const elementOf = (p: AbiParameter, type: string): AbiParameter => ({ ...p, type }) as AbiParameter;

function isDynamic(p: AbiParameter): boolean {
  if (p.type === "bytes" || p.type === "string") return true;
  const arr = ARRAY.exec(p.type);
  if (arr) return arr[2] === "" || isDynamic(elementOf(p, arr[1] as string));
  if (p.type === "tuple") return componentsOf(p).some(isDynamic);
  return false;
}

/** Head size of a static parameter. */
function staticSize(p: AbiParameter): number {
  const arr = ARRAY.exec(p.type);
  if (arr) return Number(arr[2]) * staticSize(elementOf(p, arr[1] as string));
  if (p.type === "tuple") return componentsOf(p).reduce((s, c) => s + staticSize(c), 0);
  return 32;
}

/** A word of an encoding that says where a dynamic value is (`offset`) or how long it is (`length`). */
interface DynamicWord {
  role: "offset" | "length";
  /** Byte position in the arguments (after the selector). */
  at: number;
  value: bigint;
  /** For the length of a `bytes` value: where the zero padding after its last byte lies, [from, to). */
  padding?: { from: number; to: number };
}

const wordAt = (data: Uint8Array, at: number): bigint => BigInt(bytesToHex(data.subarray(at, at + 32)));

/** Every offset and length word of a canonical encoding of `params` at `base` of `data`. */
function dynamicWords(params: readonly AbiParameter[], data: Uint8Array, base = 0, out: DynamicWord[] = []) {
  let head = base;
  for (const p of params) {
    if (isDynamic(p)) {
      const offset = wordAt(data, head);
      out.push({ role: "offset", at: head, value: offset });
      if (base + Number(offset) < data.length) walkValue(p, data, base + Number(offset), out);
      head += 32;
    } else {
      walkValue(p, data, head, out);
      head += staticSize(p);
    }
  }
  return out;
}

function walkValue(p: AbiParameter, data: Uint8Array, at: number, out: DynamicWord[]): void {
  if (p.type === "bytes" || p.type === "string") {
    const length = wordAt(data, at);
    const from = at + 32 + Number(length);
    out.push({
      role: "length",
      at,
      value: length,
      padding: { from, to: at + 32 + Math.ceil(Number(length) / 32) * 32 },
    });
    return;
  }
  const arr = ARRAY.exec(p.type);
  if (arr) {
    const element = elementOf(p, arr[1] as string);
    if (arr[2] === "") {
      const n = wordAt(data, at);
      out.push({ role: "length", at, value: n });
      dynamicWords(new Array<AbiParameter>(Number(n)).fill(element), data, at + 32, out);
    } else dynamicWords(new Array<AbiParameter>(Number(arr[2])).fill(element), data, at, out);
    return;
  }
  if (p.type === "tuple") dynamicWords(componentsOf(p), data, at, out);
}

/** Random values of an ABI type, as viem encodes them (tuples positional). */
function arbitraryOf(p: AbiParameter): fc.Arbitrary<unknown> {
  const arr = ARRAY.exec(p.type);
  if (arr) {
    const element = arbitraryOf(elementOf(p, arr[1] as string));
    const n = arr[2] === "" ? undefined : Number(arr[2]);
    return fc.array(element, n === undefined ? { maxLength: 3 } : { minLength: n, maxLength: n });
  }
  if (p.type === "tuple") return fc.tuple(...componentsOf(p).map(arbitraryOf));
  if (p.type === "bool") return fc.boolean();
  if (p.type === "address") return fc.uint8Array({ minLength: 20, maxLength: 20 }).map(bytesToHex);
  if (p.type === "bytes") return fc.uint8Array({ maxLength: 300 }).map(bytesToHex);
  if (p.type === "string") return fc.string();
  const fixed = /^bytes(\d+)$/.exec(p.type);
  if (fixed) {
    const n = Number(fixed[1]);
    return fc.uint8Array({ minLength: n, maxLength: n }).map(bytesToHex);
  }
  const int = /^(u?)int(\d+)$/.exec(p.type);
  if (int) {
    const bits = BigInt(int[2] as string);
    return int[1] === "u"
      ? fc.bigInt({ min: 0n, max: 2n ** bits - 1n })
      : fc.bigInt({ min: -(2n ** (bits - 1n)), max: 2n ** (bits - 1n) - 1n });
  }
  throw new Error(`no arbitrary for the ABI type ${p.type}`);
}

const encodeCall = (fn: AbiFunction, args: readonly unknown[]): Hex =>
  concatHex([toFunctionSelector(fn), encodeAbiParameters(fn.inputs, args)]);

/** A canonical encoding of random (well-typed) arguments of `fn`. */
const wellFormed = (fn: AbiFunction): fc.Arbitrary<Hex> =>
  fc.tuple(...fn.inputs.map(arbitraryOf)).map((args) => encodeCall(fn, args));

/** Index of the last non-zero byte (−1 when all are zero): cutting there or before drops a byte that matters. */
function lastNonZero(b: Uint8Array): number {
  for (let i = b.length - 1; i >= 0; i--) if (b[i] !== 0) return i;
  return -1;
}

/** Replacements for an offset or length word: near misses, past the end, huge, anywhere. */
const wordValue = (original: bigint, size: number): fc.Arbitrary<bigint> =>
  fc
    .oneof(
      fc.constantFrom(
        original + 1n,
        original - 1n,
        original + 32n,
        original - 32n,
        original * 2n,
        0n,
        BigInt(size),
        BigInt(size) + 32n,
        2n ** 32n,
        2n ** 64n - 1n,
        2n ** 255n,
        U256 - 1n,
        U256 - 32n,
      ),
      fc.bigInt({ min: 0n, max: BigInt(size) + 64n }),
      fc.bigInt({ min: 0n, max: U256 - 1n }),
    )
    .map((v) => ((v % U256) + U256) % U256)
    .filter((v) => v !== original);

type Mutation =
  | { kind: "flip"; at: number; mask: number }
  | { kind: "truncate"; length: number }
  | { kind: "word"; role: "offset" | "length"; at: number; value: bigint };

function mutate(data: Hex, m: Mutation): Hex {
  const b = hexToBytes(data);
  if (m.kind === "truncate") return bytesToHex(b.subarray(0, m.length));
  const out = new Uint8Array(b);
  if (m.kind === "flip") out[m.at] = (out[m.at] as number) ^ m.mask;
  else out.set(hexToBytes(numberToHex(m.value, { size: 32 })), 4 + m.at);
  return bytesToHex(out);
}

const describeMutation = (m: Mutation): string =>
  m.kind === "flip"
    ? `byte ${m.at} xor 0x${m.mask.toString(16)}`
    : m.kind === "truncate"
      ? `truncated to ${m.length} bytes`
      : `${m.role} word at ${m.at} (after the selector) set to ${m.value}`;

/** Mutations of the encoding `data` of a call of `fn`: a byte flipped anywhere (selector included) or in the zero
 * padding after a `bytes` value, a cut that drops its last non-zero byte, or one of its offset or length words
 * rewritten. */
function mutationsOf(data: Hex, fn: AbiFunction): fc.Arbitrary<Mutation> {
  const bytes = hexToBytes(data);
  const words = dynamicWords(fn.inputs, bytes.subarray(4));
  const mask = fc.integer({ min: 1, max: 255 });
  const flip = fc.record({
    kind: fc.constant("flip" as const),
    at: fc.noBias(fc.nat({ max: bytes.length - 1 })),
    mask,
  });
  const padding = words.flatMap(({ padding: p }) =>
    p ? Array.from({ length: p.to - p.from }, (_, i) => 4 + p.from + i) : [],
  );
  const flipPadding = () => fc.record({ kind: fc.constant("flip" as const), at: fc.constantFrom(...padding), mask });
  const truncate = fc.record({
    kind: fc.constant("truncate" as const),
    length: fc.noBias(fc.nat({ max: lastNonZero(bytes) })),
  });
  const word = fc
    .constantFrom(...words)
    .chain((w) =>
      wordValue(w.value, bytes.length - 4).map((value) => ({ kind: "word" as const, role: w.role, at: w.at, value })),
    );
  return fc.oneof(
    { arbitrary: flip, weight: 5 },
    { arbitrary: truncate, weight: 2 },
    ...(words.length > 0 ? [{ arbitrary: word, weight: 3 }] : []),
    ...(padding.length > 0 ? [{ arbitrary: flipPadding(), weight: 1 }] : []),
  );
}

// ------------------------------------------------------------------ committees, headers, certificates

const committee = (epoch: number, stakes: bigint[]) => makeCommittee(epoch, stakes, det);
const header = (c: Committee, height: number, namespaceRoot?: Uint8Array): BlockHeader =>
  makeHeader(c, height, { bytes: det, ...(namespaceRoot ? { namespaceRoot } : {}) });
const certify = (c: Committee, h: BlockHeader, signers: number[]) => certifyHeader(c, h, signers, { bytes: det });

const certificateCall = (headers: BlockHeader[], qc: QuorumCertificate, args: CommitteeArgs): Hex =>
  encodeFunctionData({
    abi: OrdoLightClientAbi,
    functionName: "submitFinalityCertificate",
    args: finalityCertificateArgs(headers, qc, args),
  });

/** `attestStatementsRoot`'s arguments for `root`, signed by `signers` of `c` for `c.epoch`. */
function attestation(c: Committee, root: Uint8Array, signers = all(c)) {
  const digest = proofAttestationDigest(CHAIN, c.epoch, root);
  const signature = bls.aggregateSignatures(
    signers.map((i) => bls.sign((c.keys[i] as ValidatorKey).secretKey, digest)),
  );
  return {
    statementsRoot: toHex(root),
    epoch: BigInt(c.epoch),
    signerBitmap: toHex(createBitmap(c.keys.length, signers)),
    signature: g2ToEip2537(signature),
    publicKeys: c.args.publicKeys,
    stakes: c.args.stakes,
  };
}

const transfer = (from: number, to: number, amount: bigint, nonce: bigint) =>
  encodeTransfer({ from, to, amount, nonce });

// ------------------------------------------------------------------ the deployment and its state

const c0 = committee(0, [10n, 20n, 30n, 40n]);
const c1 = committee(1, [3n, 4n, 5n, 6n, 7n]);
const genesisA = referenceRollupGenesis().root;
const genesisB = 11n;
const genesisM = 12n;

let anvil: Anvil;
let lc: Address;
let verifier: Address;
let bridge: Address;
let poseidons: { poseidon2: Address; poseidon5: Address };
let malicious: Address | undefined;

/** Block 10: rollup A's two transfers (one Groth16 batch), B's junk, M's two transfers, another namespace's junk. */
const txsA = [transfer(0, 1, 100n, 0n), transfer(2, 3, 200n, 0n)];
const txsM = [transfer(4, 5, 7n, 0n), transfer(5, 6, 8n, 0n)];
const block10: BlockPayload = {
  groups: [
    { namespace: A, transactions: txsA },
    { namespace: B, transactions: [detBytes("junk/b", 40)] },
    { namespace: M, transactions: txsM },
    { namespace: JUNK, transactions: [detBytes("junk/9a", 25), detBytes("junk/9b", 3)] },
  ],
};
const trackerA = new RollupTracker(A);
let proofA: Groth16ProofCalldata;

/** The certificate of block 10 (with its parent, height 9), signed by validators 1–3 of c0: one non-signer. */
const h9 = header(c0, 9);
const h10: BlockHeader = { ...header(c0, 10, namespaceRoot(block10)), parentHash: hashHeader(h9) };
const certificate10 = () => certificateCall([h9, h10], certify(c0, h10, [1, 2, 3]), c0.args);

/** Statement roots the state snapshot reads `attestation` of. */
const knownRoots: Hex[] = [];
const HEIGHTS = [0n, 1n, 5n, 8n, 9n, 10n, 11n, 19n, 20n, 25n, 26n, 2n ** 64n - 1n];
const NAMESPACES = [0, A, B, M, JUNK, NS_CONTROL, NS_REENTRY, 2 ** 32 - 1];

interface Target {
  name: string;
  abi: Abi;
  address: () => Address;
}

const TARGETS: Target[] = [
  { name: "OrdoLightClient", abi: OrdoLightClientAbi, address: () => lc },
  { name: "OrdoRollupBridge", abi: OrdoRollupBridgeAbi, address: () => bridge },
  { name: "RollupBatchVerifier", abi: RollupBatchVerifierAbi, address: () => verifier },
];

/** The contracts whose storage, code and balance are compared. */
const contracts = (): [string, Address][] => [
  ["OrdoLightClient", lc],
  ["OrdoRollupBridge", bridge],
  ["RollupBatchVerifier", verifier],
  ["Poseidon2", poseidons.poseidon2],
  ["Poseidon5", poseidons.poseidon5],
  ...(malicious ? [["ReentrantVerifier", malicious] as [string, Address]] : []),
];

async function readGetter(to: Address, fn: AbiFunction, args: readonly unknown[]): Promise<string> {
  const r = await ethCall(to, encodeCall(fn, args));
  return r.ok ? r.data : `reverted ${r.data ?? r.message}`;
}

interface DumpedAccount {
  nonce: unknown;
  balance: string;
  code: Hex;
  storage: Record<string, string>;
}

/**
 * Everything the contracts hold: every zero-argument getter of the three ABIs (but `staleness`, which moves with
 * the L1 clock; `lastUpdatedAt` is read instead), the per-height, per-namespace and per-root getters at the
 * heights, namespaces and roots the tests touch, and each contract's whole storage, code hash and balance from
 * anvil_dumpState.
 */
async function snapshotState(): Promise<Record<string, string>> {
  const reads: [string, Promise<string>][] = [];
  for (const t of TARGETS)
    for (const fn of functionsOf(t.abi))
      if (isView(fn) && fn.inputs.length === 0 && fn.name !== "staleness")
        reads.push([`${t.name}.${fn.name}()`, readGetter(t.address(), fn, [])]);
  const lcRead = (name: string, args: readonly unknown[]) =>
    reads.push([`OrdoLightClient.${name}(${args.join()})`, readGetter(lc, fnOf(OrdoLightClientAbi, name), args)]);
  const bridgeRead = (name: string, args: readonly unknown[]) =>
    reads.push([`OrdoRollupBridge.${name}(${args.join()})`, readGetter(bridge, fnOf(OrdoRollupBridgeAbi, name), args)]);
  for (const h of HEIGHTS) {
    lcRead("finalizedNamespaceRoot", [h]);
    lcRead("isFinalized", [h]);
  }
  for (const ns of NAMESPACES) {
    bridgeRead("rollup", [ns]);
    bridgeRead("stateRoot", [ns]);
  }
  for (const root of knownRoots) bridgeRead("attestation", [root]);
  const values = await Promise.all(reads.map(([, p]) => p));
  const out: Record<string, string> = Object.fromEntries(reads.map(([k], i) => [k, values[i] as string]));

  const dumped = await rpc<Hex>("anvil_dumpState");
  const dump = JSON.parse(gunzipSync(hexToBytes(dumped)).toString("utf8")) as {
    accounts: Record<string, DumpedAccount>;
  };
  const accounts = new Map(Object.entries(dump.accounts).map(([k, v]) => [k.toLowerCase(), v]));
  for (const [name, address] of contracts()) {
    const a = accounts.get(address.toLowerCase());
    out[`${name} account`] =
      a === undefined
        ? "absent"
        : JSON.stringify({
            nonce: a.nonce,
            balance: a.balance,
            code: keccak256(a.code),
            storage: Object.entries(a.storage).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
          });
  }
  return out;
}

/** Per fuzzed valid submission: how its mutations fared (printed at the end). */
const summary: string[] = [];

/** What `data` does from the current state: its storage writes, mined at the next second; then rolled back. */
async function effectOf(to: Address, data: Hex): Promise<{ status: Sent["status"]; writes: StateDiff }> {
  const snapshot = await rpc<Hex>("evm_snapshot");
  const head = await pub.getBlock();
  await rpc("evm_setNextBlockTimestamp", [Number(head.timestamp) + 1]);
  const sent = await send(to, data);
  const writes = await writesOf(sent);
  expect(await rpc<boolean>("evm_revert", [snapshot])).toBe(true);
  return { status: sent.status, writes };
}

/**
 * Fuzzes a valid submission (`data`, a call of `fn` the contract accepts now): each mutation is refused and writes
 * nothing, or is the same submission in another encoding and has exactly the original's effect. The state is the
 * same afterwards; the original is still accepted.
 */
async function fuzzValidSubmission(o: {
  what: string;
  to: Address;
  data: Hex;
  fn: AbiFunction;
  seed: number;
  runs: number;
}): Promise<{ refused: number; equivalent: number }> {
  const before = await snapshotState();
  expect((await ethCall(o.to, o.data)).ok, `${o.what}: the unmutated submission is not accepted`).toBe(true);
  const counts = { refused: 0, equivalent: 0 };
  await fc.assert(
    fc.asyncProperty(mutationsOf(o.data, o.fn), async (m) => {
      const data = mutate(o.data, m);
      const what = `${o.what}, ${describeMutation(m)}`;
      const call = await ethCall(o.to, data);
      if (!call.ok) {
        await expectRefused(o.to, data, what);
        counts.refused++;
        return;
      }
      expect(m.kind, `${what}: a truncated submission was accepted`).not.toBe("truncate");
      const mutated = await effectOf(o.to, data);
      const original = await effectOf(o.to, o.data);
      expect(original.status, `${o.what}: the unmutated submission failed`).toBe("success");
      expect(mutated.status, `${what}: eth_call accepted it, the transaction did not`).toBe("success");
      expect(mutated.writes, `${what}: accepted with another effect than the unmutated submission's`).toEqual(
        original.writes,
      );
      counts.equivalent++;
    }),
    { seed: o.seed, numRuns: o.runs, endOnFailure: true },
  );
  expect(await snapshotState(), `${o.what}: the state changed while fuzzing`).toEqual(before);
  summary.push(`${o.what}: ${counts.refused} refused, ${counts.equivalent} accepted as the same submission`);
  // Non-payable: the same submission with 1 wei is refused too.
  await expectRefused(o.to, o.data, `${o.what} with 1 wei`, { value: 1n });
  return counts;
}

/** The replay of an applied submission: refused with `error`, nothing written, every getter and slot unchanged. */
async function expectReplayRefused(to: Address, data: Hex, error: string, what: string): Promise<void> {
  const before = await snapshotState();
  expect(await expectRefused(to, data, what)).toBe(error);
  expect(await snapshotState(), `${what}: the state changed`).toEqual(before);
}

async function finalize(c: Committee, h: BlockHeader): Promise<void> {
  await sendOk(lc, certificateCall([h], certify(c, h, all(c)), c.args), `finalize height ${h.height}`);
}

beforeAll(async () => {
  anvil = await startAnvil({ port: PORT });
  const clients = { public: pub, wallet: wallets.get(account.address) as ReturnType<typeof walletOf> };
  coinbase = (await pub.getBlock()).miner.toLowerCase();
  lc = await deployLightClient(clients, { ordoChainId: CHAIN, epoch: c0.epoch, committee: c0.args });
  verifier = await deployContract(clients, RollupBatchVerifierAbi, RollupBatchVerifierBytecode);
  const deployment = await deployRollupBridge(clients, { lightClient: lc });
  bridge = deployment.bridge;
  poseidons = { poseidon2: deployment.poseidon2, poseidon5: deployment.poseidon5 };
  const register = (ns: number, root: bigint, v: Address, attested: boolean, size: number) =>
    encodeFunctionData({
      abi: OrdoRollupBridgeAbi,
      functionName: "registerRollup",
      args: [ns, root, v, attested, size],
    });
  await sendOk(bridge, register(A, genesisA, verifier, false, REFERENCE_CIRCUIT.batchSize), "register A");
  await sendOk(bridge, register(B, genesisB, zeroAddress, true, 2), "register B");
  // Some state before the fuzzing: height 5 finalized.
  await finalize(c0, header(c0, 5));
  // Rollup A's batch (10, 0), with a real Groth16 proof.
  const [batch] = trackerA.finalize(10, txsA);
  expect(batch?.index).toBe(0);
  const witness = trackerA.witness(10, 0);
  if (!witness) throw new Error("no witness for batch (10, 0)");
  proofA = proofToCalldata((await proveBatch(witness)).proof as Groth16Proof);
}, 120_000);

afterAll(async () => {
  if (summary.length > 0) console.log(`mutated valid submissions:\n${summary.join("\n")}`);
  await anvil?.stop();
  await shutdownSnarkjs();
});

// ------------------------------------------------------------------ 1. malformed calldata

describe("malformed calldata", () => {
  for (const [t, target] of TARGETS.entries()) {
    it(`${target.name}: has no fallback or receive, and refuses empty calldata, calldata shorter than a selector, unknown selectors and ETH, writing nothing`, async () => {
      expect(target.abi.filter((x) => x.type === "fallback" || x.type === "receive")).toEqual([]);
      expect(functionsOf(target.abi).filter((f) => f.stateMutability === "payable")).toEqual([]);
      const to = target.address();
      const before = await snapshotState();
      await expectRefused(to, "0x", `${target.name}: empty calldata`);
      await expectRefused(to, "0x", `${target.name}: empty calldata with 1 wei`, { value: 1n });
      const selectors = new Set(functionsOf(target.abi).map((f) => toFunctionSelector(f)));
      const junk = fc.oneof(
        fc.noBias(fc.uint8Array({ minLength: 1, maxLength: 3 })).map(bytesToHex),
        fc
          .tuple(
            fc.noBias(fc.uint8Array({ minLength: 4, maxLength: 4 })).map(bytesToHex),
            fc.noBias(fc.uint8Array({ maxLength: 200 })).map(bytesToHex),
          )
          .filter(([selector]) => !selectors.has(selector))
          .map(([selector, tail]) => concatHex([selector, tail])),
      );
      await fc.assert(
        fc.asyncProperty(junk, fc.boolean(), async (data, withValue) => {
          const o = withValue ? { value: 1n } : {};
          await expectRefused(to, data, `${target.name}: calldata ${data}${withValue ? " with 1 wei" : ""}`, o);
        }),
        { seed: 0x0bd0 + t, numRuns: 14, endOnFailure: true },
      );
      expect(await snapshotState()).toEqual(before);
    });

    it(`${target.name}: for every ABI function, random bytes after its selector, truncated encodings and corrupted offsets or lengths of its dynamic arguments are refused by state-changing functions, and change no state in views`, async () => {
      const to = target.address();
      const before = await snapshotState();
      const fns = functionsOf(target.abi);
      expect(fns.length).toBeGreaterThan(0);
      for (const [i, fn] of fns.entries()) {
        const selector = toFunctionSelector(fn);
        const random = fc
          .noBias(fc.uint8Array({ maxLength: 640 }))
          .map((b) => ({ data: concatHex([selector, bytesToHex(b)]), how: `${b.length} random bytes` }));
        const truncated = wellFormed(fn).chain((data) =>
          fc.noBias(fc.nat({ max: Math.max(lastNonZero(hexToBytes(data)), 0) })).map((length) => ({
            data: bytesToHex(hexToBytes(data).subarray(0, length)),
            how: `a ${hexToBytes(data).length}-byte encoding of random arguments cut to ${length} bytes`,
          })),
        );
        const corrupted = wellFormed(fn).chain((data) => {
          const words = dynamicWords(fn.inputs, hexToBytes(data).subarray(4));
          return fc.constantFrom(...words).chain((w) =>
            wordValue(w.value, (data.length - 10) / 2).map((value) => ({
              data: mutate(data, { kind: "word", role: w.role, at: w.at, value }),
              how: `the ${w.role} ${w.value} at ${w.at} of an encoding of random arguments set to ${value}`,
            })),
          );
        });
        const cases = fn.inputs.some(isDynamic) ? fc.oneof(random, truncated, corrupted) : fc.oneof(random, truncated);
        const view = isView(fn);
        await fc.assert(
          fc.asyncProperty(cases, async ({ data, how }) => {
            const what = `${target.name}.${fn.name}: ${how} (${data.slice(0, 74)}…)`;
            if (!view) {
              await expectRefused(to, data, what);
              return;
            }
            // A view may answer or revert; a mined call of it writes nothing either way.
            await ethCall(to, data);
            const sent = await send(to, data);
            expect(await writesOf(sent), `${what}: a call of a view wrote state`).toEqual({});
          }),
          { seed: 0x5eed + 97 * t + i, numRuns: view ? 4 : 14, endOnFailure: true },
        );
      }
      expect(await snapshotState(), `${target.name}: the state changed`).toEqual(before);
    });
  }
});

// ------------------------------------------------------------------ 2. valid submissions mutated, then replayed

describe("valid submissions mutated, then replayed", () => {
  it("a finality certificate mutated at a random position, truncated or with a corrupted offset or length is refused; applied once it finalizes the chain; its replay is refused (AlreadyFinalized)", async () => {
    const data = certificate10();
    const fn = fnOf(OrdoLightClientAbi, "submitFinalityCertificate");
    const counts = await fuzzValidSubmission({
      what: "certificate of heights 9–10",
      to: lc,
      data,
      fn,
      seed: 1,
      runs: 60,
    });
    expect(counts.refused).toBeGreaterThan(0);

    await sendOk(lc, data, "the certificate of heights 9–10");
    const root = fnOf(OrdoLightClientAbi, "finalizedNamespaceRoot");
    expect(await readGetter(lc, root, [10n])).toBe(toHex(h10.namespaceRoot));
    expect(await readGetter(lc, root, [9n])).toBe(toHex(h9.namespaceRoot));
    expect(await readGetter(lc, fnOf(OrdoLightClientAbi, "latestHeight"), [])).toBe(numberToHex(10n, { size: 32 }));

    await expectReplayRefused(lc, data, "AlreadyFinalized", "the certificate of heights 9–10 replayed");
  });

  it("a Groth16-proven batch submission mutated at a random position, truncated or with a corrupted offset or length is refused (or is the same batch in another encoding); applied once it advances the rollup; its replay is refused (BatchOutOfOrder)", async () => {
    const batch = trackerA.batch(10, 0);
    if (!batch) throw new Error("no batch (10, 0)");
    const args = provenBatchArgs({
      payload: block10,
      namespace: A,
      height: 10,
      index: 0,
      oldRoot: batch.oldRoot,
      newRoot: batch.newRoot,
    });
    const data = encodeFunctionData({
      abi: OrdoRollupBridgeAbi,
      functionName: "submitProvenBatches",
      args: [A, [args], [proofA]],
    });
    const fn = fnOf(OrdoRollupBridgeAbi, "submitProvenBatches");
    const counts = await fuzzValidSubmission({
      what: "proven batch (10, 0) of A",
      to: bridge,
      data,
      fn,
      seed: 2,
      runs: 50,
    });
    expect(counts.refused).toBeGreaterThan(0);

    await sendOk(bridge, data, "proven batch (10, 0) of A");
    expect(await readGetter(bridge, fnOf(OrdoRollupBridgeAbi, "stateRoot"), [A])).toBe(
      numberToHex(batch.newRoot, { size: 32 }),
    );
    await expectReplayRefused(bridge, data, "BatchOutOfOrder", "proven batch (10, 0) of A replayed");
  });

  it("an attested batch submission mutated at a random position, truncated or with a corrupted offset or length is refused (or is the same submission in another encoding); applied once it advances the rollup; its replay is refused (BatchOutOfOrder) and re-attesting the root is a no-op", async () => {
    const statements = [
      { namespace: B, height: 10, index: 0, oldRoot: genesisB, newRoot: 1234n, commitment: 99n },
      { namespace: 77, height: 10, index: 0, oldRoot: 1n, newRoot: 2n, commitment: 3n },
    ];
    const root = statementsRoot(statements);
    knownRoots.push(toHex(root));
    const [ns, , ss, paths, indexes, count] = attestedBatchArgs(statements, B);
    const data = encodeFunctionData({
      abi: OrdoRollupBridgeAbi,
      functionName: "attestAndSubmit",
      args: [ns, attestation(c0, root, [1, 2, 3]), ss, paths, indexes, count],
    });
    const fn = fnOf(OrdoRollupBridgeAbi, "attestAndSubmit");
    const counts = await fuzzValidSubmission({
      what: "attestAndSubmit for B",
      to: bridge,
      data,
      fn,
      seed: 3,
      runs: 50,
    });
    expect(counts.refused).toBeGreaterThan(0);

    await sendOk(bridge, data, "attestAndSubmit for B");
    expect(await readGetter(bridge, fnOf(OrdoRollupBridgeAbi, "stateRoot"), [B])).toBe(
      numberToHex(1234n, { size: 32 }),
    );
    await expectReplayRefused(bridge, data, "BatchOutOfOrder", "attestAndSubmit for B replayed");

    // The contract documents re-attesting a root as a no-op (`_attest` writes only a root not yet attested).
    const a = attestation(c0, root);
    const reattest = encodeFunctionData({
      abi: OrdoRollupBridgeAbi,
      functionName: "attestStatementsRoot",
      args: [a.statementsRoot, a.epoch, a.signerBitmap, a.signature, a.publicKeys, a.stakes],
    });
    const before = await snapshotState();
    const sent = await sendOk(bridge, reattest, "re-attesting an attested root");
    expect(await writesOf(sent), "re-attesting an attested root wrote state").toEqual({});
    expect(await snapshotState()).toEqual(before);
  });

  it("an epoch change mutated at a random position, truncated or with a corrupted offset or length is refused; applied once it installs the next committee; then the same change, the old committee's certificate and attestation (valid before the change) and its keys claiming the new epoch are all refused", async () => {
    // Block 19 holds, in namespace 0, the commitment to c1 (after another system transaction).
    const commitment = encodeEpochChange({ nextEpoch: 1, validatorSetHash: c1.setHash });
    const block19: BlockPayload = {
      groups: [
        { namespace: 0, transactions: [detBytes("system/19", 70), commitment] },
        { namespace: 1_000, transactions: [detBytes("junk/19", 12)] },
      ],
    };
    await finalize(c0, header(c0, 19, namespaceRoot(block19)));
    const data = encodeFunctionData({
      abi: OrdoLightClientAbi,
      functionName: "submitEpochChange",
      args: epochChangeArgs(19, { epoch: 1, validators: c1.validators }, proveTransaction(block19, 0, 1)),
    });
    // Made, and accepted (eth_call), while c0 is the committee.
    const h25 = header(c0, 25);
    const oldCertificate = certificateCall([h25], certify(c0, h25, all(c0)), c0.args);
    expect((await ethCall(lc, oldCertificate)).ok, "c0's certificate of height 25 before the change").toBe(true);
    const oldRoot = statementsRoot([
      { namespace: B, height: 11, index: 0, oldRoot: 1234n, newRoot: 5n, commitment: 6n },
    ]);
    knownRoots.push(toHex(oldRoot));
    const oa = attestation(c0, oldRoot);
    const oldAttestation = encodeFunctionData({
      abi: OrdoRollupBridgeAbi,
      functionName: "attestStatementsRoot",
      args: [oa.statementsRoot, oa.epoch, oa.signerBitmap, oa.signature, oa.publicKeys, oa.stakes],
    });
    expect((await ethCall(bridge, oldAttestation)).ok, "c0's attestation before the change").toBe(true);

    const fn = fnOf(OrdoLightClientAbi, "submitEpochChange");
    const counts = await fuzzValidSubmission({ what: "epoch change at 19", to: lc, data, fn, seed: 4, runs: 50 });
    expect(counts.refused).toBeGreaterThan(0);

    await sendOk(lc, data, "epoch change at 19");
    expect(await readGetter(lc, fnOf(OrdoLightClientAbi, "currentEpoch"), [])).toBe(numberToHex(1n, { size: 32 }));
    expect(await readGetter(lc, fnOf(OrdoLightClientAbi, "validatorSetHash"), [])).toBe(toHex(c1.setHash));

    await expectReplayRefused(lc, data, "EpochChangeNotProven", "the epoch change at 19 replayed");
    await expectReplayRefused(lc, oldCertificate, "StaleEpoch", "c0's certificate of height 25 after the change");
    await expectReplayRefused(bridge, oldAttestation, "StaleEpoch", "c0's attestation after the change");
    // c0's keys signing as epoch 1: with c1's committee summary the signature fails, with c0's the summary does.
    const h26 = header(c1, 26);
    const byOld = certify({ ...c0, epoch: 1 }, h26, all(c0));
    const forged = { ...byOld, signers: createBitmap(c1.keys.length, all(c1)) };
    await expectReplayRefused(lc, certificateCall([h26], forged, c1.args), "InvalidSignature", "c0 claiming epoch 1");
    await expectReplayRefused(lc, certificateCall([h26], byOld, c0.args), "SummaryMismatch", "c0's summary at epoch 1");
    // The new committee finalizes.
    await finalize(c1, h26);
    expect(await readGetter(lc, fnOf(OrdoLightClientAbi, "latestHeight"), [])).toBe(numberToHex(26n, { size: 32 }));
  });
});

// ------------------------------------------------------------------ 3. reentrancy

/** A verifier that re-enters the bridge whenever the bridge consults it, with calldata set in advance. */
const REENTRANT_VERIFIER = `// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

contract ReentrantVerifier {
    bytes32 internal constant REENTERED = bytes32(uint256(0xbad));
    bytes32 internal constant BLOCKED = bytes32(uint256(0x600d));

    address public target;
    bytes public reentry;
    /// verifyProofs' answer: 0, true whatever happened; 1, whether the re-entrant call succeeded.
    uint8 public mode;

    function arm(address target_, bytes calldata reentry_, uint8 mode_) external {
        target = target_;
        reentry = reentry_;
        mode = mode_;
    }

    function verifyingKeyHash() external returns (bytes32) {
        return _reenter() ? REENTERED : BLOCKED;
    }

    function verifyProofs(uint256[8][] calldata, uint256[3][] calldata) external returns (bool) {
        bool ok = _reenter();
        return mode == 0 || ok;
    }

    /// A plain CALL with ample gas (the bridge's registerRollup needs ~120k): it fails only if the EVM refuses it.
    function _reenter() internal returns (bool ok) {
        (ok,) = target.call{gas: 1_000_000}(reentry);
    }
}
`;
const ReentrantVerifierAbi = parseAbi([
  "function arm(address target, bytes reentry, uint8 mode)",
  "function verifyingKeyHash() returns (bytes32)",
  "function verifyProofs(uint256[8][] proofs, uint256[3][] inputs) returns (bool)",
]);
const REENTERED = numberToHex(0xbadn, { size: 32 });
const BLOCKED = numberToHex(0x600dn, { size: 32 });

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts?: Record<string, Record<string, { evm: { bytecode: { object: string } } }>>;
}

/** Compiles REENTRANT_VERIFIER with solc-js, as scripts/compile-contracts.mjs does (prague, optimizer 200). */
function compileReentrantVerifier(): Hex {
  const input = {
    language: "Solidity",
    sources: { "ReentrantVerifier.sol": { content: REENTRANT_VERIFIER } },
    settings: {
      evmVersion: "prague",
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { "*": { "*": ["evm.bytecode.object"] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)) as string) as SolcOutput;
  const errors = (out.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  const code = out.contracts?.["ReentrantVerifier.sol"]?.ReentrantVerifier?.evm.bytecode.object;
  if (!code) throw new Error("solc produced no bytecode for ReentrantVerifier");
  return `0x${code}`;
}

const registerCall = (ns: number, root: bigint, v: Address, attested: boolean, size: number): Hex =>
  encodeFunctionData({ abi: OrdoRollupBridgeAbi, functionName: "registerRollup", args: [ns, root, v, attested, size] });

const arm = (reentry: Hex, mode: 0 | 1): Hex =>
  encodeFunctionData({ abi: ReentrantVerifierAbi, functionName: "arm", args: [bridge, reentry, mode] });

const rollupOf = async (ns: number) => {
  const r = await ethCall(bridge, encodeCall(fnOf(OrdoRollupBridgeAbi, "rollup"), [ns]));
  if (!r.ok) throw new Error(`rollup(${ns}) reverted`);
  return decodeFunctionResult({
    abi: OrdoRollupBridgeAbi,
    functionName: "rollup",
    data: r.data,
  });
};

describe("reentrancy and the verifier address", () => {
  it("no function sets a registered rollup's verifier: registerRollup is the only state-changing function taking an address, and it refuses a registered namespace whoever calls", async () => {
    const takesAddress = (p: AbiParameter): boolean =>
      p.type.startsWith("address") || componentsOf(p).some(takesAddress);
    for (const t of TARGETS) {
      const setters = functionsOf(t.abi).filter((f) => !isView(f) && f.inputs.some(takesAddress));
      expect(
        setters.map((f) => f.name),
        t.name,
      ).toEqual(t.name === "OrdoRollupBridge" ? ["registerRollup"] : []);
    }
    const before = await snapshotState();
    for (const from of [account, stranger])
      for (const [ns, v] of [
        [A, zeroAddress],
        [A, stranger.address],
        [B, verifier],
      ] as const) {
        const error = await expectRefused(bridge, registerCall(ns, 1n, v, true, 1), `re-register ${ns} with ${v}`, {
          from,
        });
        expect(error).toBe("RollupExists");
      }
    expect(await snapshotState()).toEqual(before);
    expect((await rollupOf(A)).verifier.toLowerCase()).toBe(verifier.toLowerCase());
  });

  it("a malicious verifier cannot re-enter the bridge from registerRollup's verifyingKeyHash() call (a STATICCALL), though the same re-entry succeeds when it is called directly", async () => {
    const bytecode = compileReentrantVerifier();
    const clients = { public: pub, wallet: wallets.get(account.address) as ReturnType<typeof walletOf> };
    malicious = await deployContract(clients, ReentrantVerifierAbi, bytecode);
    const v = malicious;

    // Positive control: called directly (a CALL), the re-entry registers a namespace.
    await sendOk(v, arm(registerCall(NS_CONTROL, 1n, zeroAddress, true, 1), 1), "arm");
    await sendOk(
      v,
      encodeFunctionData({ abi: ReentrantVerifierAbi, functionName: "verifyingKeyHash" }),
      "the direct call",
    );
    expect((await rollupOf(NS_CONTROL)).admin.toLowerCase()).toBe(v.toLowerCase());

    // Through the bridge: registering M with this verifier, which tries to register M itself (without a verifier)
    // in the middle of the registration.
    await sendOk(v, arm(registerCall(M, 5n, zeroAddress, true, 1), 1), "arm");
    await sendOk(bridge, registerCall(M, genesisM, v, false, 2), "register M with the malicious verifier");
    const r = await rollupOf(M);
    expect(r.verifyingKeyHash, "the re-entrant registerRollup went through").toBe(BLOCKED);
    expect(r.verifyingKeyHash).not.toBe(REENTERED);
    expect(r.verifier.toLowerCase()).toBe(v.toLowerCase());
    expect(r.admin.toLowerCase()).toBe(account.address.toLowerCase());
    expect([r.stateRoot, r.batchSize, r.acceptAttested, r.started]).toEqual([genesisM, 2, false, false]);
  });

  it("a malicious verifier cannot re-enter the bridge from submitProvenBatches' verifyProofs call (a STATICCALL): a verdict that depends on the re-entry is false, and an accepting one advances the rollup by exactly its batch", async () => {
    const v = malicious;
    if (!v) throw new Error("the malicious verifier is deployed by the previous test");
    const batch = provenBatchArgs({
      payload: block10,
      namespace: M,
      height: 10,
      index: 0,
      oldRoot: genesisM,
      newRoot: 777n,
    });
    const zeroProof = [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n] as const;
    const submit = encodeFunctionData({
      abi: OrdoRollupBridgeAbi,
      functionName: "submitProvenBatches",
      args: [M, [batch], [zeroProof]],
    });
    // The verdict is whether re-entering (registering another namespace) worked: it did not, so InvalidProof.
    await sendOk(v, arm(registerCall(NS_REENTRY, 1n, zeroAddress, true, 1), 1), "arm");
    const before = await snapshotState();
    expect(await expectRefused(bridge, submit, "submitProvenBatches through a re-entering verifier")).toBe(
      "InvalidProof",
    );
    expect(await snapshotState()).toEqual(before);

    // The verdict is true whatever happened: the batch is accepted (the rollup chose this verifier), the re-entry is not.
    await sendOk(v, arm(registerCall(NS_REENTRY, 1n, zeroAddress, true, 1), 0), "arm");
    const sent = await sendOk(bridge, submit, "submitProvenBatches through an accepting, re-entering verifier");
    const r = await rollupOf(M);
    expect([r.height, r.index, r.stateRoot, r.started, r.heightOpen]).toEqual([10n, 0, 777n, true, false]);
    expect((await rollupOf(NS_REENTRY)).admin).toBe(zeroAddress);
    const written = Object.keys(await writesOf(sent));
    expect(written, "only the bridge's storage changed").toEqual([bridge.toLowerCase()]);
    // And the re-entry payload itself is sound: sent directly it registers the namespace.
    await sendOk(bridge, registerCall(NS_REENTRY, 1n, zeroAddress, true, 1), "the re-entry payload, sent directly");
  });
});
