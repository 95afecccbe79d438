import {
  type BlockHeader,
  blstBackend,
  compareBytes,
  type Evidence,
  encodeEpochChange,
  generateValidatorKey,
  hashHeader,
  hashValidatorSet,
  InvalidConfigError,
  packWire,
  proposalDigest,
  sha256,
  toHex,
  type ValidatorKey,
  voteDigest,
} from "@ordo/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type StakingConfig,
  type StakingEvent,
  type StakingGenesis,
  StakingLedger,
  type StakingLedgerSnapshot,
} from "../src/staking/staking-ledger.js";
import {
  encodeStakingTransaction,
  signStakingTransaction,
  stakingSigningDigest,
} from "../src/staking/staking-transaction.js";

const bls = blstBackend;
const CHAIN = 7;
/** Four genesis validators (stake 100, balance 50) and three outsiders (balance 1000). */
const keys: ValidatorKey[] = Array.from({ length: 7 }, (_, i) =>
  generateValidatorKey(bls, sha256(new Uint8Array([i, 42, 42]))),
);
const genesisKeys = keys.slice(0, 4);
const [alice, bob, carol] = keys.slice(4) as [ValidatorKey, ValidatorKey, ValidatorKey];
const hex = (k: ValidatorKey) => toHex(k.publicKey);

// Epochs of 4 blocks: epoch 0 is heights 1..4, epoch 1 is 5..8, epoch 2 is 9..12, ...
const baseConfig: StakingConfig = {
  chainId: CHAIN,
  schedule: { length: 4 },
  minimumBond: 10n,
  maxValidators: 8,
  unbondingEpochs: 1,
  slashBasisPoints: 5000,
  evidenceEpochs: 2,
};

function genesis(validators: ValidatorKey[] = genesisKeys, stakes?: bigint[]): StakingGenesis {
  return {
    validators: {
      epoch: 0,
      validators: validators.map((k, i) => ({
        publicKey: k.publicKey,
        stake: stakes?.[i] ?? 100n,
        proofOfPossession: k.proofOfPossession,
      })),
    },
    balances: new Map([
      ...validators.map((k) => [hex(k), 50n] as const),
      [hex(alice), 1000n],
      [hex(bob), 1000n],
      [hex(carol), 1000n],
    ]),
  };
}

function ledger(config: Partial<StakingConfig> = {}, g: StakingGenesis = genesis()): StakingLedger {
  return new StakingLedger({ ...baseConfig, ...config }, g, bls);
}

/** Applies empty blocks up to and including `height`, returning their events. */
function advanceTo(l: StakingLedger, height: number): StakingEvent[] {
  const events: StakingEvent[] = [];
  while (l.height < height) events.push(...l.applyBlock(l.height + 1, []));
  return events;
}

function next(l: StakingLedger, txs: Uint8Array[]): StakingEvent[] {
  return l.applyBlock(l.height + 1, txs);
}

function joinTx(k: ValidatorKey, bond: bigint, nonce: number, pop = k.proofOfPossession): Uint8Array {
  return encodeStakingTransaction(
    signStakingTransaction(bls, k.secretKey, CHAIN, {
      kind: "join",
      publicKey: k.publicKey,
      proofOfPossession: pop,
      bond,
      nonce,
    }),
  );
}

function leaveTx(k: ValidatorKey, nonce: number): Uint8Array {
  return encodeStakingTransaction(
    signStakingTransaction(bls, k.secretKey, CHAIN, { kind: "leave", publicKey: k.publicKey, nonce }),
  );
}

function members(l: StakingLedger, epoch: number): string[] | undefined {
  return l.committee(epoch)?.validators.map((v) => toHex(v.publicKey));
}

function indexIn(l: StakingLedger, epoch: number, k: ValidatorKey): number {
  return (members(l, epoch) ?? []).indexOf(hex(k));
}

const hash = (b: number) => new Uint8Array(32).fill(b);

function doubleVote(signer: ValidatorKey, author: number, epoch: number, round: number): Evidence {
  const vote = (block: number) => ({
    blockHash: hash(block),
    committedHash: hash(0),
    signature: bls.sign(signer.secretKey, voteDigest(CHAIN, epoch, round, hash(block), hash(0))),
  });
  return { kind: "double-vote", epoch, round, author, first: vote(1), second: vote(2) };
}

function header(epoch: number, round: number, proposer: number, payload: number): BlockHeader {
  return {
    chainId: CHAIN,
    epoch,
    round,
    height: 3,
    parentHash: hash(9),
    namespaceRoot: hash(8),
    payloadHash: hash(payload),
    validatorSetHash: hash(7),
    proposer,
    timestampMs: 1_000,
  };
}

function doubleProposal(signer: ValidatorKey, author: number, epoch: number, round: number): Evidence {
  const signed = (h: BlockHeader) => ({
    header: h,
    signature: bls.sign(signer.secretKey, proposalDigest(hashHeader(h))),
  });
  return {
    kind: "double-proposal",
    epoch,
    round,
    author,
    first: signed(header(epoch, round, author, 1)),
    second: signed(header(epoch, round, author, 2)),
  };
}

const evidenceTx = (evidence: Evidence) => encodeStakingTransaction({ kind: "evidence", evidence });

function refusals(events: StakingEvent[]): string[] {
  return events.flatMap((e) => (e.type === "refused" ? [e.reason] : []));
}

function only<T extends StakingEvent["type"]>(events: StakingEvent[], type: T): Extract<StakingEvent, { type: T }> {
  const found = events.filter((e) => e.type === type);
  expect(found).toHaveLength(1);
  return found[0] as Extract<StakingEvent, { type: T }>;
}

describe("genesis", () => {
  it("serves the genesis set in epochs 0 and 1 and bonds its members", () => {
    const l = ledger();
    const g = genesis();
    expect(l.height).toBe(0);
    expect(l.committee(0)).toEqual(g.validators);
    const sorted = [...genesisKeys].sort((a, b) => compareBytes(a.publicKey, b.publicKey)).map(hex);
    expect(members(l, 1)).toEqual(sorted);
    expect(l.committee(1)?.epoch).toBe(1);
    expect(l.committee(2)).toBeUndefined();
    expect(l.account(hex(genesisKeys[0] as ValidatorKey))).toEqual({
      balance: 50n,
      bonded: 100n,
      unbonding: [],
      nonce: 0,
      jailed: false,
    });
    expect(l.account(hex(alice))).toEqual({ balance: 1000n, bonded: 0n, unbonding: [], nonce: 0, jailed: false });
    expect(l.account(hex(alice).toUpperCase().replace("0X", ""))?.balance).toBe(1000n);
    expect(l.account("0x1234")).toBeUndefined();
    expect(l.account("not hex")).toBeUndefined();
  });

  it("refuses invalid configurations and genesis", () => {
    expect(() => ledger({ schedule: { length: 1 } })).toThrow(InvalidConfigError);
    expect(() => ledger({ minimumBond: 0n })).toThrow(InvalidConfigError);
    expect(() => ledger({ maxValidators: 0 })).toThrow(InvalidConfigError);
    expect(() => ledger({ maxValidators: 1025 })).toThrow(InvalidConfigError);
    expect(() => ledger({ slashBasisPoints: 10_001 })).toThrow(InvalidConfigError);
    expect(() => ledger({ evidenceEpochs: -1 })).toThrow(InvalidConfigError);
    const g = genesis();
    expect(() => ledger({}, { ...g, validators: { ...g.validators, epoch: 1 } })).toThrow(InvalidConfigError);
    expect(() => ledger({}, { ...g, balances: new Map([["0x12", 1n]]) })).toThrow(InvalidConfigError);
    expect(() => ledger({}, { ...g, balances: new Map([[hex(alice), -1n]]) })).toThrow(InvalidConfigError);
    const badPop = genesis();
    (badPop.validators.validators[0] as { proofOfPossession: Uint8Array }).proofOfPossession = (
      keys[1] as ValidatorKey
    ).proofOfPossession;
    expect(() => ledger({}, badPop)).toThrow(InvalidConfigError);
  });

  it("applies the selection rules to epoch 1 (minimum bond, cap)", () => {
    const l = ledger({ minimumBond: 60n, maxValidators: 2 }, genesis(genesisKeys, [50n, 100n, 70n, 80n]));
    expect(members(l, 1)).toEqual([hex(genesisKeys[1] as ValidatorKey), hex(genesisKeys[3] as ValidatorKey)].sort());
  });

  it("demands heights one by one", () => {
    const l = ledger();
    expect(() => l.applyBlock(2, [])).toThrow(RangeError);
    l.applyBlock(1, []);
    expect(() => l.applyBlock(1, [])).toThrow(RangeError);
    expect(l.height).toBe(1);
  });
});

describe("join", () => {
  it("a join in epoch e enters committee e+2, not e+1", () => {
    const l = ledger();
    advanceTo(l, 1);
    const joined = only(next(l, [joinTx(alice, 300n, 0)]), "joined");
    expect(joined).toEqual({
      type: "joined",
      height: 2,
      index: 0,
      publicKey: hex(alice),
      bond: 300n,
      bonded: 300n,
      firstJoin: true,
    });
    expect(l.account(hex(alice))).toMatchObject({ balance: 700n, bonded: 300n, nonce: 1 });
    expect(members(l, 1)).not.toContain(hex(alice));
    const end = advanceTo(l, 4);
    const committee = only(end, "committee");
    expect(committee).toMatchObject({ height: 4, epoch: 2, size: 5, totalStake: 700n, carriedOver: false });
    const two = l.committee(2);
    expect(two?.epoch).toBe(2);
    expect(committee.validatorSetHash).toEqual(hashValidatorSet(two as NonNullable<typeof two>));
    expect(members(l, 2)).toContain(hex(alice));
    const aliceEntry = two?.validators.find((v) => toHex(v.publicKey) === hex(alice));
    expect(aliceEntry?.stake).toBe(300n);
    expect(aliceEntry?.proofOfPossession).toEqual(alice.proofOfPossession);
    // Ordered by public key bytes.
    const keysOf2 = two?.validators.map((v) => v.publicKey) ?? [];
    expect([...keysOf2].sort(compareBytes)).toEqual(keysOf2);

    // A join in epoch 1 (height 5) shows in epoch 3, not 2.
    next(l, [joinTx(bob, 20n, 0)]);
    expect(members(l, 2)).not.toContain(hex(bob));
    advanceTo(l, 8);
    expect(members(l, 3)).toContain(hex(bob));
  });

  it("a join in the last block of an epoch still counts for e+2", () => {
    const l = ledger();
    advanceTo(l, 3);
    const events = next(l, [joinTx(alice, 300n, 0)]);
    expect(events.map((e) => e.type)).toEqual(["joined", "committee"]);
    expect(members(l, 2)).toContain(hex(alice));
  });

  it("a second join tops up the bond without checking the proof again", () => {
    const l = ledger();
    next(l, [joinTx(alice, 5n, 0)]);
    // Below the minimum bond: bonded, but not selected.
    advanceTo(l, 4);
    expect(members(l, 2)).not.toContain(hex(alice));
    const topUp = only(next(l, [joinTx(alice, 10n, 1, new Uint8Array(96))]), "joined");
    expect(topUp).toMatchObject({ bond: 10n, bonded: 15n, firstJoin: false });
    expect(l.account(hex(alice))).toMatchObject({ balance: 985n, bonded: 15n, nonce: 2 });
    advanceTo(l, 8);
    expect(l.committee(3)?.validators.find((v) => toHex(v.publicKey) === hex(alice))?.stake).toBe(15n);
    // Genesis validators top up too.
    const g0 = genesisKeys[0] as ValidatorKey;
    expect(only(next(l, [joinTx(g0, 50n, 0, new Uint8Array(96))]), "joined").bonded).toBe(150n);
  });

  it("refuses bad nonces, missing funds, bad proofs and bad signatures, changing nothing", () => {
    const l = ledger();
    const control = ledger();
    const forged = signStakingTransaction(bls, alice.secretKey, CHAIN, {
      kind: "join",
      publicKey: alice.publicKey,
      proofOfPossession: alice.proofOfPossession,
      bond: 10n,
      nonce: 0,
    });
    const cases: [Uint8Array, RegExp][] = [
      [joinTx(alice, 10n, 1), /nonce 1 is not the account's nonce 0/],
      [joinTx(alice, 1001n, 0), /balance 1000 is below the bond 1001/],
      [joinTx(alice, 0n, 0), /bond must be positive/],
      [joinTx(alice, 10n, 0, bob.proofOfPossession), /invalid proof of possession/],
      // Signed by bob for alice's key.
      [
        encodeStakingTransaction({
          ...forged,
          signature: bls.sign(bob.secretKey, stakingSigningDigest(CHAIN, forged)),
        }),
        /invalid signature/,
      ],
      // Signed for another chain.
      [
        encodeStakingTransaction({
          ...forged,
          signature: bls.sign(alice.secretKey, stakingSigningDigest(CHAIN + 1, forged)),
        }),
        /invalid signature/,
      ],
      // The signature of one transaction on another.
      [encodeStakingTransaction({ ...forged, bond: 11n }), /invalid signature/],
      // A key with no genesis balance.
      [joinTx(generateValidatorKey(bls, sha256(new Uint8Array([99]))), 10n, 0), /unknown account/],
    ];
    for (const [bytes, reason] of cases) {
      const events = next(l, [bytes]);
      control.applyBlock(control.height + 1, []);
      const refused = only(events, "refused");
      expect(refused).toMatchObject({ kind: "join", index: 0 });
      expect(refused.reason).toMatch(reason);
      expect(l.stateHash()).toEqual(control.stateHash());
    }
    expect(l.account(hex(alice))).toEqual({ balance: 1000n, bonded: 0n, unbonding: [], nonce: 0, jailed: false });
  });

  it("refuses bonds that would reach 2^96", () => {
    const big = new Map(genesis().balances);
    big.set(hex(alice), 2n ** 97n);
    const l = ledger({}, { ...genesis(), balances: big });
    next(l, [joinTx(alice, 2n ** 96n - 1n, 0)]);
    expect(refusals(next(l, [joinTx(alice, 1n, 1)]))).toEqual(["the bond would reach 2^96"]);
  });

  it("keeps the top maxValidators bonds, ties broken by smaller public key", () => {
    const l = ledger({ maxValidators: 4 });
    next(l, [joinTx(alice, 200n, 0)]);
    advanceTo(l, 4);
    const genesisSorted = [...genesisKeys].sort((a, b) => compareBytes(a.publicKey, b.publicKey)).map(hex);
    // Alice's 200 beats the four 100s; among the tied 100s the largest key drops out.
    expect(members(l, 2)).toEqual([hex(alice), ...genesisSorted.slice(0, 3)].sort());
    expect(l.committee(2)?.validators).toHaveLength(4);
  });
});

describe("leave and release", () => {
  it("unbonds, serves the committees already chosen, and is released after the delay", () => {
    const l = ledger();
    const g0 = genesisKeys[0] as ValidatorKey;
    advanceTo(l, 1);
    const left = only(next(l, [leaveTx(g0, 0)]), "left");
    // Height 2 is epoch 0: release epoch = 0 + 2 + unbondingEpochs(1).
    expect(left).toEqual({ type: "left", height: 2, index: 0, publicKey: hex(g0), amount: 100n, releaseEpoch: 3 });
    expect(l.account(hex(g0))).toEqual({
      balance: 50n,
      bonded: 0n,
      unbonding: [{ amount: 100n, releaseEpoch: 3 }],
      nonce: 1,
      jailed: false,
    });
    expect(members(l, 1)).toContain(hex(g0));
    advanceTo(l, 4);
    expect(members(l, 2)).not.toContain(hex(g0));
    // Not before the end of epoch 2 (height 12).
    const before = advanceTo(l, 11);
    expect(before.filter((e) => e.type === "released")).toEqual([]);
    expect(l.account(hex(g0))?.balance).toBe(50n);
    const released = only(next(l, []), "released");
    expect(released).toEqual({ type: "released", height: 12, publicKey: hex(g0), amount: 100n });
    expect(l.account(hex(g0))).toEqual({ balance: 150n, bonded: 0n, unbonding: [], nonce: 1, jailed: false });
    // Rejoining works with the next nonce.
    expect(only(next(l, [joinTx(g0, 150n, 1)]), "joined").firstJoin).toBe(false);
  });

  it("merges leaves released in the same epoch and refuses leaving with nothing bonded", () => {
    const l = ledger();
    const g1 = genesisKeys[1] as ValidatorKey;
    next(l, [leaveTx(g1, 0)]);
    expect(refusals(next(l, [leaveTx(g1, 1)]))).toEqual(["nothing is bonded"]);
    next(l, [joinTx(g1, 30n, 1), leaveTx(g1, 2)]);
    expect(l.account(hex(g1))?.unbonding).toEqual([{ amount: 130n, releaseEpoch: 3 }]);
    // A leave in epoch 1 releases a epoch later.
    advanceTo(l, 5);
    next(l, [joinTx(g1, 20n, 3), leaveTx(g1, 4)]);
    expect(l.account(hex(g1))?.unbonding).toEqual([
      { amount: 130n, releaseEpoch: 3 },
      { amount: 20n, releaseEpoch: 4 },
    ]);
    advanceTo(l, 12);
    expect(l.account(hex(g1))).toMatchObject({ balance: 130n, unbonding: [{ amount: 20n, releaseEpoch: 4 }] });
    advanceTo(l, 16);
    expect(l.account(hex(g1))).toMatchObject({ balance: 150n, unbonding: [] });
  });

  it("refuses leaves with a bad nonce or signature", () => {
    const l = ledger();
    const g0 = genesisKeys[0] as ValidatorKey;
    const g1 = genesisKeys[1] as ValidatorKey;
    const unsigned = { kind: "leave" as const, publicKey: g0.publicKey, nonce: 0 };
    const forged = encodeStakingTransaction({
      ...unsigned,
      signature: bls.sign(g1.secretKey, stakingSigningDigest(CHAIN, unsigned)),
    });
    expect(refusals(next(l, [leaveTx(g0, 1), forged]))).toEqual([
      "nonce 1 is not the account's nonce 0",
      "invalid signature",
    ]);
    expect(l.account(hex(g0))).toMatchObject({ bonded: 100n, nonce: 0 });
  });

  it("carries the previous committee over when no one is eligible", () => {
    const solo = genesisKeys[0] as ValidatorKey;
    const l = ledger({}, genesis([solo]));
    next(l, [leaveTx(solo, 0)]);
    const committee = only(advanceTo(l, 4), "committee");
    expect(committee).toMatchObject({ epoch: 2, size: 1, totalStake: 100n, carriedOver: true });
    expect(l.committee(2)).toEqual({ ...l.committee(1), epoch: 2 });
  });
});

describe("evidence", () => {
  it("a double vote slashes, jails and unbonds the rest, once", () => {
    const l = ledger();
    const g2 = genesisKeys[2] as ValidatorKey;
    const author = indexIn(l, 0, g2);
    advanceTo(l, 1);
    const evidence = evidenceTx(doubleVote(g2, author, 0, 3));
    const events = next(l, [evidence, evidence]);
    expect(events[0]).toEqual({
      type: "slashed",
      height: 2,
      index: 0,
      publicKey: hex(g2),
      evidence: "double-vote",
      epoch: 0,
      round: 3,
      burned: 50n,
      unbonded: 50n,
      releaseEpoch: 3,
    });
    expect(events[1]).toMatchObject({ type: "refused", kind: "evidence", index: 1 });
    expect(refusals(events)[0]).toMatch(/already slashed for epoch 0 round 3/);
    expect(l.account(hex(g2))).toEqual({
      balance: 50n,
      bonded: 0n,
      unbonding: [{ amount: 50n, releaseEpoch: 3 }],
      nonce: 0,
      jailed: true,
    });
    // A later block, and the same offence as a double proposal: still once.
    expect(refusals(next(l, [evidence, evidenceTx(doubleProposal(g2, author, 0, 3))]))).toHaveLength(2);
    // Jailed: excluded from later committees, cannot join again.
    advanceTo(l, 4);
    expect(members(l, 2)).not.toContain(hex(g2));
    expect(members(l, 1)).toContain(hex(g2));
    expect(refusals(next(l, [joinTx(g2, 10n, 0)]))).toEqual(["the account is jailed"]);
    advanceTo(l, 12);
    expect(members(l, 3)).not.toContain(hex(g2));
    expect(l.account(hex(g2))).toMatchObject({ balance: 100n, unbonding: [], jailed: true });
  });

  it("slashes unbonding stake too, and a separate offence again", () => {
    const l = ledger({ slashBasisPoints: 2500 });
    const g3 = genesisKeys[3] as ValidatorKey;
    const author = indexIn(l, 1, g3);
    next(l, [leaveTx(g3, 0)]);
    advanceTo(l, 5);
    // Epoch 1 evidence: it left in epoch 0 but still serves in epoch 1.
    const first = only(next(l, [evidenceTx(doubleVote(g3, author, 1, 4))]), "slashed");
    expect(first).toMatchObject({ burned: 25n, unbonded: 0n, releaseEpoch: null });
    expect(l.account(hex(g3))).toMatchObject({
      bonded: 0n,
      unbonding: [{ amount: 75n, releaseEpoch: 3 }],
      jailed: true,
    });
    const second = only(next(l, [evidenceTx(doubleVote(g3, author, 1, 5))]), "slashed");
    expect(second.burned).toBe(18n); // floor(75 / 4)
    expect(l.account(hex(g3))?.unbonding).toEqual([{ amount: 57n, releaseEpoch: 3 }]);
  });

  it("a double proposal slashes", () => {
    const l = ledger({ slashBasisPoints: 10_000 });
    const g1 = genesisKeys[1] as ValidatorKey;
    const author = indexIn(l, 0, g1);
    const slashed = only(next(l, [evidenceTx(doubleProposal(g1, author, 0, 2))]), "slashed");
    expect(slashed).toMatchObject({ evidence: "double-proposal", burned: 100n, unbonded: 0n, releaseEpoch: null });
    expect(l.account(hex(g1))).toMatchObject({ bonded: 0n, unbonding: [], jailed: true });
  });

  it("refuses forged or malformed evidence, changing nothing", () => {
    // Epoch 0's committee stays kept for the whole test.
    const l = ledger({ evidenceEpochs: 10 });
    const control = ledger({ evidenceEpochs: 10 });
    const g0 = genesisKeys[0] as ValidatorKey;
    const g1 = genesisKeys[1] as ValidatorKey;
    const a0 = indexIn(l, 0, g0);
    const good = doubleVote(g0, a0, 0, 3);
    if (good.kind !== "double-vote") throw new Error("unreachable");
    const proposal = doubleProposal(g0, a0, 0, 3);
    if (proposal.kind !== "double-proposal") throw new Error("unreachable");
    const resign = (h: BlockHeader) => ({
      header: h,
      signature: bls.sign(g0.secretKey, proposalDigest(hashHeader(h))),
    });
    const cases: [Evidence, RegExp][] = [
      // Signed by someone else.
      [doubleVote(g1, a0, 0, 3), /first vote's signature is invalid/],
      [{ ...good, second: { ...good.second, signature: good.first.signature } }, /second vote's signature is invalid/],
      // The same vote twice.
      [{ ...good, second: good.first }, /same block and commit/],
      // Signatures over another round.
      [{ ...good, round: 4 }, /signature is invalid/],
      // Committees not kept.
      [doubleVote(g0, a0, 5, 3), /epoch 5's committee is not kept/],
      // Author out of range, or another validator.
      [{ ...good, author: 4 }, /author 4 is not in epoch 0's committee of 4/],
      [{ ...good, author: indexIn(l, 0, g1) }, /signature is invalid/],
      // Double proposals: same block, wrong round, wrong proposer, another chain, bad signature.
      [{ ...proposal, second: proposal.first }, /the same block/],
      [{ ...proposal, second: resign(header(0, 4, a0, 2)) }, /second header is for epoch 0 round 4/],
      [{ ...proposal, second: resign(header(1, 3, a0, 2)) }, /second header is for epoch 1 round 3/],
      [{ ...proposal, second: resign(header(0, 3, (a0 + 1) % 4, 2)) }, /proposer/],
      [{ ...proposal, second: resign({ ...header(0, 3, a0, 2), chainId: 8 }) }, /chain 8/],
      [
        { ...proposal, first: { ...proposal.first, signature: proposal.second.signature } },
        /first proposal's signature is invalid/,
      ],
    ];
    for (const [evidence, reason] of cases) {
      const refused = only(next(l, [evidenceTx(evidence)]), "refused");
      control.applyBlock(control.height + 1, []);
      expect(refused.kind).toBe("evidence");
      expect(refused.reason).toMatch(reason);
      expect(l.stateHash()).toEqual(control.stateHash());
    }
  });

  it("accepts evidence while its epoch's committee is kept, not after", () => {
    const l = ledger({ evidenceEpochs: 1 });
    const g0 = genesisKeys[0] as ValidatorKey;
    const evidence = evidenceTx(doubleVote(g0, indexIn(l, 0, g0), 0, 1));
    // Future epoch 1 is known from the start; epoch 0 stays through epoch 1.
    expect(l.committee(1)).toBeDefined();
    advanceTo(l, 8);
    expect(l.committee(0)).toBeUndefined();
    expect(l.committee(1)).toBeDefined();
    expect(l.committee(3)).toBeDefined();
    expect(refusals(next(l, [evidence]))[0]).toMatch(/epoch 0's committee is not kept \(kept: 1..3\)/);
    const e1 = evidenceTx(doubleVote(g0, indexIn(l, 1, g0), 1, 1));
    expect(only(next(l, [e1]), "slashed").epoch).toBe(1);
  });
});

describe("transaction bytes", () => {
  it("skips other namespace-0 bytes silently and refuses undecodable staking bytes", () => {
    const l = ledger();
    const control = ledger();
    const events = next(l, [
      packWire([1, 1, new Uint8Array(32), 0, new Uint8Array(8), new Uint8Array(64)]),
      encodeEpochChange({ nextEpoch: 1, validatorSetHash: hash(1) }),
      new Uint8Array(0),
      new Uint8Array([0x93, 2, 9, 9]),
      packWire([2, 2, alice.publicKey, 0]),
    ]);
    control.applyBlock(1, []);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ type: "refused", index: 3, kind: null });
    expect(events[1]).toMatchObject({ type: "refused", index: 4, kind: null });
    expect(l.stateHash()).toEqual(control.stateHash());
  });

  it("never throws on arbitrary bytes, and refusals change nothing", () => {
    const l = ledger();
    const control = ledger();
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 200 }),
            fc.uint8Array({ maxLength: 200 }).map((b) => new Uint8Array([0x95, 2, ...b])),
            fc.uint8Array({ maxLength: 400 }).map((b) => new Uint8Array([0x98, 2, 3, ...b])),
          ),
          { maxLength: 5 },
        ),
        (txs) => {
          const events = next(l, txs);
          control.applyBlock(control.height + 1, []);
          for (const e of events) expect(e.type === "refused" || e.type === "committee").toBe(true);
        },
      ),
      { numRuns: 300 },
    );
    expect(l.stateHash()).toEqual(control.stateHash());
  });
});

describe("determinism and snapshots", () => {
  /** A scripted history: joins, top-ups, leaves, evidence and garbage over 5 epochs. */
  function script(l: StakingLedger): Uint8Array[][] {
    const g = (i: number) => genesisKeys[i] as ValidatorKey;
    const blocks: Uint8Array[][] = Array.from({ length: 20 }, () => []);
    blocks[1] = [joinTx(alice, 300n, 0), joinTx(bob, 40n, 0)];
    blocks[2] = [leaveTx(g(0), 0), new Uint8Array([0x92, 2, 7])];
    blocks[3] = [evidenceTx(doubleVote(g(1), indexIn(l, 0, g(1)), 0, 2))];
    blocks[6] = [joinTx(bob, 60n, 1), joinTx(carol, 5n, 0)];
    blocks[9] = [leaveTx(alice, 1), joinTx(g(0), 20n, 1)];
    blocks[13] = [joinTx(carol, 500n, 1)];
    return blocks;
  }

  it("two ledgers fed the same blocks agree; different blocks disagree", () => {
    const a = ledger();
    const b = ledger();
    const blocks = script(a);
    for (const txs of blocks) expect(next(a, txs)).toEqual(next(b, txs));
    expect(a.stateHash()).toEqual(b.stateHash());
    expect(a.toJSON()).toEqual(b.toJSON());
    expect(a.height).toBe(20);
    // Epoch 4's committee reflects it all: g0 rejoined with 20, alice left, g1 jailed, bob 100, carol 505.
    const stakes = new Map(a.committee(6)?.validators.map((v) => [toHex(v.publicKey), v.stake]));
    expect(stakes).toEqual(
      new Map([
        [hex(genesisKeys[0] as ValidatorKey), 20n],
        [hex(genesisKeys[2] as ValidatorKey), 100n],
        [hex(genesisKeys[3] as ValidatorKey), 100n],
        [hex(bob), 100n],
        [hex(carol), 505n],
      ]),
    );
    next(a, [joinTx(bob, 1n, 2)]);
    next(b, []);
    expect(a.stateHash()).not.toEqual(b.stateHash());
  });

  it("toJSON / fromJSON round-trips exactly and continues identically", () => {
    const a = ledger();
    const blocks = script(a);
    for (const txs of blocks.slice(0, 10)) next(a, txs);
    const snapshot = JSON.parse(JSON.stringify(a.toJSON()));
    const b = StakingLedger.fromJSON(baseConfig, snapshot, bls);
    expect(b.toJSON()).toEqual(a.toJSON());
    expect(b.stateHash()).toEqual(a.stateHash());
    expect(b.height).toBe(10);
    for (const k of keys) expect(b.account(hex(k))).toEqual(a.account(hex(k)));
    for (let e = 0; e < 4; e++) expect(b.committee(e)).toEqual(a.committee(e));
    for (const txs of blocks.slice(10)) {
      expect(next(b, txs)).toEqual(next(a, txs));
      expect(b.stateHash()).toEqual(a.stateHash());
    }
  });

  it("fromJSON refuses damaged snapshots", () => {
    const good = ledger().toJSON();
    const damaged: unknown[] = [
      { ...good, version: 2 },
      { ...good, height: -1 },
      { ...good, accounts: [...good.accounts].reverse() },
      { ...good, accounts: good.accounts.map((a) => ({ ...a, balance: "1.5" })) },
      { ...good, accounts: good.accounts.map((a) => ({ ...a, publicKey: a.publicKey.toUpperCase() })) },
      { ...good, committees: good.committees.slice(0, 1) },
      { ...good, committees: good.committees.map((c) => ({ ...c, validators: [] })) },
      { ...good, offences: [{ epoch: 0, round: 0, publicKey: "0x12" }] },
    ];
    for (const s of damaged)
      expect(() => StakingLedger.fromJSON(baseConfig, s as StakingLedgerSnapshot, bls)).toThrow(InvalidConfigError);
  });
});
