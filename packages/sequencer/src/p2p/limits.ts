/** Per-peer limits, token buckets and the peer score of the P2P transport. */

export interface PeerLimits {
  /** Largest frame sent or accepted; larger inbound frames are skipped (not buffered) and counted. */
  maxFrameBytes: number;
  /** Inbound frames per second per peer (token bucket, burst = one second's worth). */
  messagesPerSecond: number;
  /** Inbound bytes per second per peer (token bucket, burst = one second's worth, at least one max-size frame). */
  bytesPerSecond: number;
  /** Outbound queue per peer, in bytes; when full the oldest frames are dropped. */
  maxQueueBytes: number;
  /** Largest gossip announcement published or delivered. */
  maxGossipBytes: number;
  /** A peer whose score falls to or below this is disconnected for `cooldownMs`. */
  scoreThreshold: number;
  /** How long a peer that fell below the threshold stays disconnected (connections refused, no dials). */
  cooldownMs: number;
  /** Score points a peer recovers per second, up to 0. */
  scoreRecoveryPerSecond: number;
}

export const DEFAULT_PEER_LIMITS: Readonly<PeerLimits> = Object.freeze({
  maxFrameBytes: 32 * 1024 * 1024,
  messagesPerSecond: 100_000,
  bytesPerSecond: 256 * 1024 * 1024,
  maxQueueBytes: 64 * 1024 * 1024,
  maxGossipBytes: 64 * 1024,
  scoreThreshold: -100,
  cooldownMs: 30_000,
  scoreRecoveryPerSecond: 1,
});

/** Score points a penalty costs unless the caller says otherwise. */
export const DEFAULT_PENALTY = 10;

export function resolveLimits(partial: Partial<PeerLimits> | undefined): PeerLimits {
  const limits: PeerLimits = { ...DEFAULT_PEER_LIMITS, ...partial };
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== "number" || Number.isNaN(value)) {
      throw new RangeError(`peer limit ${name} must be a number, got ${String(value)}`);
    }
    if (name !== "scoreThreshold" && value < 0) {
      throw new RangeError(`peer limit ${name} must not be negative, got ${value}`);
    }
  }
  if (limits.scoreThreshold >= 0) {
    throw new RangeError(`peer limit scoreThreshold must be negative, got ${limits.scoreThreshold}`);
  }
  return limits;
}

/** A token bucket refilled continuously at `rate` per second up to `capacity`. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  /** Takes `amount` tokens if available; returns whether it could. */
  take(amount: number, now: number): boolean {
    if (this.rate === Number.POSITIVE_INFINITY) return true;
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.rate);
    if (this.tokens < amount) return false;
    this.tokens -= amount;
    return true;
  }
}

/** A score that penalties lower and time raises back towards 0. */
export class PeerScore {
  private value = 0;
  private last: number;

  constructor(
    private readonly recoveryPerSecond: number,
    now: number,
  ) {
    this.last = now;
  }

  current(now: number): number {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.value = Math.min(0, this.value + elapsed * this.recoveryPerSecond);
    return this.value;
  }

  penalize(points: number, now: number): number {
    this.value = this.current(now) - points;
    return this.value;
  }

  reset(now: number): void {
    this.value = 0;
    this.last = now;
  }
}
