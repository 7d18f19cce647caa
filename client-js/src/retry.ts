/** What a retry policy is told before each reconnect attempt (the same shape as @microsoft/signalr's). */
export interface RetryContext {
  /** Failed attempts since the connection was lost (0 before the first reconnect). */
  previousRetryCount: number;
  /** Milliseconds since the connection was lost (or since `start()`). */
  elapsedMilliseconds: number;
  /** Why the connection was lost or the last attempt failed. */
  retryReason: Error;
}

/** Decides how long to wait before the next attempt; `null` gives up (the client goes `disconnected`). */
export interface RetryPolicy {
  nextRetryDelayInMilliseconds(context: RetryContext): number | null;
}

/** The delays of @microsoft/signalr's DefaultReconnectPolicy, but retrying every 30 s for ever instead of giving up. */
export const DEFAULT_RETRY_DELAYS: readonly number[] = [0, 2_000, 10_000, 30_000];

/** ±20 %: enough to spread a crowd of clients reconnecting after a server restart. */
export const DEFAULT_JITTER = 0.2;

export interface DefaultRetryPolicyOptions {
  /** Fraction of each non-zero delay added or taken away at random (0 turns jitter off). */
  jitter?: number;
  /** Source of randomness in [0, 1), replaceable in tests. */
  random?: () => number;
}

/**
 * Waits `delays[n]` before the n-th retry (with jitter); after the last entry it keeps waiting that
 * last delay, unless the list ends with `null`, which gives up there (as SignalR's
 * `[0, 2000, 10000, 30000, null]`).
 */
export class DefaultRetryPolicy implements RetryPolicy {
  private readonly delays: readonly (number | null)[];
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(delays: readonly (number | null)[] = DEFAULT_RETRY_DELAYS, options: DefaultRetryPolicyOptions = {}) {
    if (delays.length === 0) throw new RangeError('delays must not be empty');
    this.delays = delays;
    this.jitter = options.jitter ?? DEFAULT_JITTER;
    this.random = options.random ?? Math.random;
  }

  nextRetryDelayInMilliseconds(context: RetryContext): number | null {
    const index = Math.min(context.previousRetryCount, this.delays.length - 1);
    const delay = this.delays[index];
    if (delay === null || delay === undefined) return null;
    if (delay <= 0 || this.jitter <= 0) return Math.max(0, delay);
    const factor = 1 - this.jitter + 2 * this.jitter * this.random();
    return Math.round(delay * factor);
  }
}

/** A policy object as given, or one built from a list of delays. */
export function toRetryPolicy(policy: RetryPolicy | readonly (number | null)[] | undefined): RetryPolicy {
  if (policy === undefined) return new DefaultRetryPolicy();
  if (Array.isArray(policy)) return new DefaultRetryPolicy(policy as readonly (number | null)[]);
  return policy as RetryPolicy;
}
