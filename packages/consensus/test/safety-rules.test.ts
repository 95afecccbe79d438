import { type Block, ZERO_HASH } from "@ordo/core";
import { describe, expect, it } from "vitest";
import { buildLeaderCycle, initialSafetyState, SafetyRules } from "../src/index.js";

function block(round: number, qcRound: number): Block {
  const h = new Uint8Array(32).fill(round);
  return {
    header: {
      chainId: 1,
      epoch: 0,
      round,
      height: round,
      parentHash: h,
      namespaceRoot: ZERO_HASH,
      payloadHash: ZERO_HASH,
      validatorSetHash: ZERO_HASH,
      proposer: 0,
      timestampMs: 0,
    },
    justify: {
      epoch: 0,
      round: qcRound,
      blockHash: h,
      committedHash: ZERO_HASH,
      signers: new Uint8Array(1),
      signature: new Uint8Array(96),
    },
    payload: new Uint8Array(0),
  };
}
const hash = (n: number) => new Uint8Array(32).fill(n);
const tc = (round: number, highQcRounds: number[]) => ({
  epoch: 0,
  round,
  signers: new Uint8Array(1),
  highQcRounds,
  signature: new Uint8Array(96),
});

describe("2-chain safety rules", () => {
  it("votes once per round and returns the same decision when asked again for the same block", () => {
    const s = new SafetyRules(initialSafetyState(0));
    const d = s.decideVote(block(1, 0), 0, null, hash(1));
    expect(d).toMatchObject({ ok: true, fresh: true });
    s.recordVote(1, hash(1), ZERO_HASH, new Uint8Array(96));
    expect(s.decideVote(block(1, 0), 0, null, hash(1))).toMatchObject({ ok: true, fresh: false });
    expect(s.decideVote(block(1, 0), 0, null, hash(2))).toMatchObject({ ok: false });
  });

  it("carries the parent as committed only when the block directly follows its QC's round", () => {
    const s = new SafetyRules(initialSafetyState(0));
    const d = s.decideVote(block(3, 2), 2, null, hash(3));
    expect(d.ok && d.value).toEqual(block(3, 2).header.parentHash);
    const s2 = new SafetyRules(initialSafetyState(0));
    const d2 = s2.decideVote(block(5, 2), 2, tc(4, [2]), hash(5));
    expect(d2).toMatchObject({ ok: true, value: null });
  });

  it("after a timeout certificate, votes only for a block whose QC is at least the TC's highest", () => {
    const s = new SafetyRules(initialSafetyState(0));
    expect(s.decideVote(block(5, 2), 2, tc(4, [3, 1]), hash(5))).toMatchObject({ ok: false });
    expect(s.decideVote(block(5, 3), 3, tc(4, [3, 1]), hash(5))).toMatchObject({ ok: true });
    // Without a TC for the previous round, a gap in rounds is never voted.
    expect(new SafetyRules(initialSafetyState(0)).decideVote(block(6, 3), 3, null, hash(6))).toMatchObject({
      ok: false,
    });
  });

  it("never votes in a round it has timed out of", () => {
    const s = new SafetyRules(initialSafetyState(0));
    const qc = block(3, 2).justify;
    expect(s.decideTimeout(3, qc, null)).toMatchObject({ ok: true, fresh: true });
    expect(s.decideVote(block(3, 2), 2, null, hash(3))).toMatchObject({ ok: false });
  });

  it("refuses to time out carrying a QC older than one it has built on", () => {
    const s = new SafetyRules(initialSafetyState(0));
    s.decideVote(block(5, 4), 4, null, hash(5));
    const staleQc = block(3, 2).justify;
    expect(s.decideTimeout(3, staleQc, null)).toMatchObject({ ok: false });
  });

  it("proposes at most once per round", () => {
    const s = new SafetyRules(initialSafetyState(0));
    expect(s.decidePropose(4)).toBe(true);
    s.recordProposal(4);
    expect(s.decidePropose(4)).toBe(false);
  });
});

describe("leader schedule", () => {
  it("gives each validator a share of rounds proportional to its stake, interleaved", () => {
    const cycle = buildLeaderCycle([100n, 200n, 100n]);
    expect(cycle).toHaveLength(4);
    expect(cycle.filter((v) => v === 1)).toHaveLength(2);
    expect(cycle[0]).not.toBe(cycle[1]);
  });

  it("rotates through equal stakes in order", () => {
    expect(buildLeaderCycle([5n, 5n, 5n, 5n])).toEqual([0, 1, 2, 3]);
  });

  it("keeps every validator in the cycle even when stakes span many orders of magnitude", () => {
    const cycle = buildLeaderCycle([10n ** 30n, 1n, 7n]);
    expect(new Set(cycle)).toEqual(new Set([0, 1, 2]));
    expect(cycle.length).toBeLessThanOrEqual(4096 + 2);
  });
});
