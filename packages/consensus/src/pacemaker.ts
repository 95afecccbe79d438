/** Round timeouts: a base duration doubled for every round without a commit, reset by a commit. */
export interface PacemakerTiming {
  /** Timeout of a round while blocks commit normally. */
  baseTimeoutMs: number;
  /** Cap on doublings, so a long outage does not leave rounds hours long. */
  maxBackoffExponent: number;
  /** How far ahead of the local clock a proposal's timestamp may be. */
  maxClockDriftMs: number;
  /** How long to wait before asking for the same missing block again. */
  syncRetryMs: number;
}

export const DEFAULT_PACEMAKER_TIMING: PacemakerTiming = {
  baseTimeoutMs: 1000,
  // 16 s at most: at 64 s (exponent 6), after a long outage one round whose leader was away cost a minute.
  maxBackoffExponent: 4,
  maxClockDriftMs: 2000,
  syncRetryMs: 500,
};

/**
 * In the happy path a block of round r-2 commits when round r starts, so the
 * exponent counts rounds beyond that gap.
 */
export function roundTimeoutMs(timing: PacemakerTiming, round: number, lastCommittedRound: number): number {
  const stalled = Math.max(0, round - lastCommittedRound - 2);
  return timing.baseTimeoutMs * 2 ** Math.min(stalled, timing.maxBackoffExponent);
}
