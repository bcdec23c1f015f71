/**
 * Exponential backoff with jitter for reconnects and resync retries. The client owns this
 * policy; transports never retry on their own (house-style 4.7 rule 2).
 *
 * @internal
 */

/** Reconnect and retry policy of a {@link DeviceClient}. */
export interface RetryOptions {
  /**
   * How many reconnect attempts to make after a connection is lost before giving up.
   * Default `Infinity`: a device keeps trying for as long as the client is open.
   */
  maxRetries?: number;
  /** The first delay; each later attempt doubles it. Default 1000 ms. */
  retryDelayInMs?: number;
  /** The largest delay between attempts. Default 60 000 ms. */
  maxRetryDelayInMs?: number;
}

/** {@link RetryOptions} with every default filled in. */
export type ResolvedRetryOptions = Required<RetryOptions>;

/** Default retry policy: retry forever, 1 s doubling up to 60 s, with jitter. */
export const DEFAULT_RETRY_OPTIONS: Readonly<Required<RetryOptions>> = Object.freeze({
  maxRetries: Number.POSITIVE_INFINITY,
  retryDelayInMs: 1_000,
  maxRetryDelayInMs: 60_000,
});

/**
 * Fills in defaults and checks ranges.
 *
 * @param options - what the app passed
 * @returns the complete policy
 * @throws {@link RangeError} when a value is negative or the delays are out of order
 */
export function resolveRetryOptions(options: RetryOptions | undefined): ResolvedRetryOptions {
  const resolved: ResolvedRetryOptions = {
    maxRetries: options?.maxRetries ?? DEFAULT_RETRY_OPTIONS.maxRetries,
    retryDelayInMs: options?.retryDelayInMs ?? DEFAULT_RETRY_OPTIONS.retryDelayInMs,
    maxRetryDelayInMs: options?.maxRetryDelayInMs ?? DEFAULT_RETRY_OPTIONS.maxRetryDelayInMs,
  };
  if (!(resolved.maxRetries >= 0)) throw new RangeError('retryOptions.maxRetries must be >= 0');
  if (!(resolved.retryDelayInMs >= 0) || !Number.isFinite(resolved.retryDelayInMs)) {
    throw new RangeError('retryOptions.retryDelayInMs must be a finite number >= 0');
  }
  if (!(resolved.maxRetryDelayInMs >= resolved.retryDelayInMs)) {
    throw new RangeError('retryOptions.maxRetryDelayInMs must be >= retryDelayInMs');
  }
  return resolved;
}

/**
 * The delay before retry number `attempt` (0-based): `retryDelayInMs × 2^attempt`, capped at
 * `maxRetryDelayInMs`, then "equal jitter" (a random point in the upper half) so a fleet that
 * lost its hub at the same moment does not reconnect in lock-step.
 *
 * @param attempt - how many attempts have already failed, from 0
 * @param options - the policy
 * @param random - a source of numbers in [0, 1); tests may pin it
 * @returns milliseconds to wait, never more than `maxRetryDelayInMs`
 */
export function computeRetryDelay(
  attempt: number,
  options: ResolvedRetryOptions,
  random: () => number = Math.random,
): number {
  const exponential = options.retryDelayInMs * 2 ** Math.min(attempt, 30);
  const capped = Math.min(options.maxRetryDelayInMs, exponential);
  return Math.round(capped / 2 + (random() * capped) / 2);
}
