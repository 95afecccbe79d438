import { blstBackend, hashHeader, type Proposal, proposalDigest } from "@ordo/core";
import { describe, expect, it } from "vitest";
import { createNet } from "./harness.js";

/** A healthy network whose next round's leader then goes silent: the others sit in that round until they time out. */
function withSilentNextLeader() {
  const net = createNet(4);
  net.run(60);
  const silent = net.replicas[0]!.leaderOf(net.replicas[0]!.currentRound + 1);
  net.replicas[silent] = null;
  net.drop = (from, to) => from === silent || to === silent;
  net.run(400);
  return { net, silent };
}

describe("Replica", () => {
  it("commits the same blocks, in height order, on every validator of a healthy network", () => {
    const net = createNet(4);
    net.run(4000);
    const heights = net.commits.map((c) => c.length);
    expect(Math.min(...heights)).toBeGreaterThan(10);
    for (const c of net.commits) {
      expect(c.map((entry) => entry.height)).toEqual(c.map((_, k) => k + 1));
      const n = Math.min(c.length, (net.commits[0] ?? []).length);
      expect(c.slice(0, n)).toEqual((net.commits[0] ?? []).slice(0, n));
    }
  });

  it("sends no vote before the shell confirms the safety state is persisted", () => {
    const net = createNet(4);
    net.run(400);
    for (const effects of net.effectsOf) {
      for (let k = 0; k < effects.length; k++) {
        const e = effects[k];
        if (e?.type === "send" && e.message.kind === "vote") {
          // A persist covering this vote's round must have been emitted before it.
          const round = e.message.round;
          const persistedBefore = effects
            .slice(0, k)
            .some((p) => p.type === "persist" && (p.state.lastVote?.round ?? 0) >= round);
          expect(persistedBefore).toBe(true);
        }
      }
    }
  });

  it("answers a repeated proposal with the same vote, and never votes for a second block in a round", () => {
    const net = createNet(4);
    // Stop after round 1's proposal reaches everyone.
    net.drop = (_f, _t, m) => m.kind === "vote";
    net.run(50);
    const replica = net.replicas[1]!;
    const original = net.sent.find((s) => s.message.kind === "proposal")!.message as Proposal;
    const votesBefore = net.sent.filter((s) => s.from === 1 && s.message.kind === "vote");
    expect(votesBefore).toHaveLength(1);
    // Re-deliver the same proposal: the same vote again.
    replica.handle({ type: "message", from: original.block.header.proposer, message: original }, 100);
    const resent = net.effectsOf[1]!.filter((e) => e.type === "send" && e.message.kind === "vote");
    expect(resent.length).toBeGreaterThanOrEqual(1);
    // A conflicting, correctly signed proposal for the same round from the same leader: no new vote, evidence instead.
    const proposer = original.block.header.proposer;
    const header = { ...original.block.header, timestampMs: original.block.header.timestampMs + 1 };
    const conflicting: Proposal = {
      ...original,
      block: { ...original.block, header },
      signature: blstBackend.sign(net.keys[proposer]!.secretKey, proposalDigest(hashHeader(header))),
    };
    const effects = replica.handle({ type: "message", from: proposer, message: conflicting }, 101);
    expect(effects.some((e) => e.type === "report-evidence" && e.evidence.kind === "double-proposal")).toBe(true);
    expect(effects.some((e) => e.type === "persist")).toBe(false);
    expect(replica.safetyState.lastVote?.blockHash).toEqual(
      votesBefore[0]?.message.kind === "vote" && votesBefore[0].message.blockHash,
    );
  });

  it("rejects a proposal whose signature is forged", () => {
    const net = createNet(4);
    net.drop = () => true;
    net.run(10);
    const original = net.sent.find((s) => s.message.kind === "proposal")!.message as Proposal;
    const sig = original.signature.slice();
    sig[10] = (sig[10] as number) ^ 1;
    const replica = net.replicas[2]!;
    const effects = replica.handle({ type: "message", from: 0, message: { ...original, signature: sig } }, 5);
    expect(effects.some((e) => e.type === "rejected")).toBe(true);
    expect(effects.some((e) => e.type === "persist")).toBe(false);
  });

  it("moves past a silent leader with a timeout certificate and keeps committing", () => {
    const net = createNet(4);
    const leader2 = net.replicas[0]!.leaderOf(2);
    net.run(60);
    const before = Math.min(...net.commits.map((c) => c.length));
    // Kill the leader of the next rounds for a moment: everyone times out.
    net.replicas[leader2] = null;
    net.timeoutAll();
    net.run(200);
    net.timeoutAll();
    net.run(2000);
    const after = net.commits.filter((_, i) => i !== leader2).map((c) => c.length);
    expect(Math.min(...after)).toBeGreaterThan(before);
    expect(net.replicas[0]!.currentRound).toBeGreaterThan(3);
  });

  it("restarts from its persisted safety state without double-signing, then catches up by sync", () => {
    const net = createNet(4);
    net.run(300);
    const votedRound = net.persisted[3]!.lastVotedRound;
    expect(votedRound).toBeGreaterThan(0);
    net.restart(3);
    net.run(3000);
    const votes = net.sent.filter((s) => s.from === 3 && s.message.kind === "vote");
    const byRound = new Map<number, string>();
    for (const v of votes) {
      if (v.message.kind !== "vote") continue;
      const key = Buffer.from(v.message.blockHash).toString("hex");
      const prior = byRound.get(v.message.round);
      if (prior) expect(prior).toBe(key);
      byRound.set(v.message.round, key);
    }
    expect(net.commits[3]!.length).toBeGreaterThan(5);
    expect(net.replicas[3]!.committedHeight).toBeGreaterThan(votedRound / 2);
  });

  it("keeps the highest QC across a restart, so a leader whose proposal never left can still time out", () => {
    // Chaos seed 3's 80 s stall: a leader forms a QC, proposes on it and votes for its own proposal (its
    // last voted round and one-chain round move past what the others know), then crashes before the proposal
    // leaves. Restarted without that QC it may not time out: its round is below the one it voted in, and a
    // timeout would carry a QC below its one-chain round. With one more validator away no timeout
    // certificate can form, and the chain stops.
    const net = createNet(4);
    net.run(60);
    let leader = -1;
    let qcRound = -1;
    net.drop = (from, _to, m) => {
      if (m.kind === "proposal" && leader < 0) [leader, qcRound] = [from, m.block.justify.round];
      return from === leader;
    };
    net.run(400);
    expect(leader).toBeGreaterThanOrEqual(0);
    expect(net.persisted[leader]!.oneChainRound).toBe(qcRound);
    const away = (leader + 1) % 4;
    net.replicas[away] = null;
    net.drop = (from, to) => from === away || to === away;
    net.restart(leader);
    const live = [0, 1, 2, 3].filter((i) => i !== away);
    const before = Math.min(...live.map((i) => net.commits[i]!.length));
    for (let k = 0; k < 6; k++) {
      net.timeoutAll();
      net.run(3000);
    }
    expect(Math.min(...live.map((i) => net.commits[i]!.length))).toBeGreaterThan(before + 2);
  });

  it("restarts into the round it last signed in, even one it entered by a timeout certificate", () => {
    // Chaos seed 3 again: restarted from its committed block, a validator that had voted in a round entered by a
    // TC came back one round below it and refused every timeout ("round 194 < last voted round 195").
    const { net, silent } = withSilentNextLeader();
    // Out of the round before the silent leader's, then out of its round: the next leader proposes with a TC.
    net.timeoutAll();
    net.run(400);
    net.timeoutAll();
    // Step until a validator has voted in the round after the TC, on a block whose QC is older than the TC.
    const afterTc = (i: number) => {
      const s = net.persisted[i];
      return !!s?.highTc && s.lastVotedRound === s.highTc.round + 1 && (s.highQc?.round ?? 0) < s.highTc.round;
    };
    let i = -1;
    for (let step = 0; step < 2000 && i < 0; step++) {
      net.run(1);
      i = [0, 1, 2, 3].find((v) => v !== silent && afterTc(v)) ?? -1;
    }
    expect(i).toBeGreaterThanOrEqual(0);
    const state = net.persisted[i]!;
    net.drop = (from, to) => [silent, i].includes(from) || [silent, i].includes(to);
    net.restart(i);
    expect(net.replicas[i]!.currentRound).toBe(state.lastVotedRound);
    const before = net.effectsOf[i]!.length;
    net.timeoutAll();
    const after = net.effectsOf[i]!.slice(before);
    expect(after.filter((e) => e.type === "rejected")).toEqual([]);
    // A timeout is signed (it leaves once persisted), or the one signed before the restart is sent again.
    const timeout = (e: (typeof after)[number]) =>
      e.type === "persist" || (e.type === "broadcast" && e.message.kind === "timeout");
    expect(after.some(timeout)).toBe(true);
  });

  it("sends again, after a restart, the timeout it had signed for its round", () => {
    const { net, silent } = withSilentNextLeader();
    net.timeoutAll();
    const i = (silent + 1) % 4;
    expect(net.persisted[i]!.lastTimeout?.round).toBe(net.replicas[i]!.currentRound);
    const signed = net.persisted[i]!.lastTimeout!;
    net.restart(i);
    const before = net.effectsOf[i]!.length;
    net.timeoutAll();
    const resent = net.effectsOf[i]!.slice(before).flatMap((e) =>
      e.type === "broadcast" && e.message.kind === "timeout" ? [e.message] : [],
    );
    expect(resent.map((t) => [t.round, t.highQc.round, t.signature])).toEqual([
      [signed.round, signed.highQcRound, signed.signature],
    ]);
  });

  it("answers a stale timeout with its own last timeout, so a lagging validator catches up at once", () => {
    const net = createNet(4);
    net.run(60);
    const lagging = 3;
    net.drop = (from, to) => from === lagging || to === lagging;
    // The others go on without it, through the rounds it leads (each ends by a TC).
    for (let k = 0; k < 4; k++) {
      net.timeoutAll();
      net.run(600);
    }
    const round = net.replicas[0]!.currentRound;
    expect(net.replicas[lagging]!.currentRound).toBeLessThan(round - 2);
    net.restart(lagging);
    net.drop = () => false;
    net.timeout(lagging); // its timeout is stale to the others; they answer it
    net.run(600);
    expect(net.replicas[lagging]!.currentRound).toBeGreaterThanOrEqual(round);
  });

  it("refuses a proposal that skips rounds without a timeout certificate", () => {
    const net = createNet(4);
    net.drop = () => true;
    net.run(10);
    const original = net.sent.find((s) => s.message.kind === "proposal")?.message as Proposal;
    const replica = net.replicas[2]!;
    const round = 9;
    const proposer = replica.leaderOf(round);
    const header = { ...original.block.header, round, proposer };
    const skipping: Proposal = {
      ...original,
      block: { ...original.block, header },
      signature: blstBackend.sign(net.keys[proposer]!.secretKey, proposalDigest(hashHeader(header))),
    };
    const effects = replica.handle({ type: "message", from: proposer, message: skipping }, 5);
    expect(effects).toContainEqual({
      type: "rejected",
      from: proposer,
      reason: "proposal skips rounds without a timeout certificate",
    });
    expect(replica.currentRound).toBe(1);
  });
});
