/**
 * Exponential backoff with jitter and `Retry-After` parsing, after Azure core's retry strategy:
 * the clamped exponential delay is halved and the other half is random ("equal jitter"), so
 * clients that failed together (a fleet that lost its hub, callers throttled at once) spread out
 * instead of retrying in lock step.
 *
 * Numbering: retries count from 1. `backoffDelay(1, …)` is the wait before the first retry (the
 * second attempt), so it reads like the clients' `maxRetries` and log lines (`retry 1/3`).
 */

import { HEADER } from '../protocol/rest.js';

/** How a client retries. Each client documents its own defaults. */
export interface RetryOptions {
  /** Retries after the first attempt; `0` disables them, `Infinity` never gives up. */
  maxRetries?: number;
  /** The wait before the first retry; each later retry doubles it. */
  retryDelayInMs?: number;
  /** The largest wait between attempts (a server's `Retry-After` may ask for more). */
  maxRetryDelayInMs?: number;
}

/** {@link RetryOptions} with every default filled in. */
export type ResolvedRetryOptions = Required<RetryOptions>;

/**
 * Fills in defaults and checks ranges.
 *
 * @param options - what the application passed (`retryOptions`), if anything
 * @param defaults - the client's defaults
 * @returns the complete policy
 * @throws {@link RangeError} naming the option when a value is out of range or the delays are
 *   out of order
 */
export function resolveRetryOptions(
  options: RetryOptions | undefined,
  defaults: ResolvedRetryOptions,
): ResolvedRetryOptions {
  const resolved: ResolvedRetryOptions = {
    maxRetries: options?.maxRetries ?? defaults.maxRetries,
    retryDelayInMs: options?.retryDelayInMs ?? defaults.retryDelayInMs,
    maxRetryDelayInMs: options?.maxRetryDelayInMs ?? defaults.maxRetryDelayInMs,
  };
  const { maxRetries, retryDelayInMs, maxRetryDelayInMs } = resolved;
  if (
    typeof maxRetries !== 'number' ||
    !(maxRetries >= 0) ||
    (!Number.isInteger(maxRetries) && maxRetries !== Number.POSITIVE_INFINITY)
  ) {
    throw new RangeError('retryOptions.maxRetries must be an integer of 0 or more, or Infinity');
  }
  if (
    typeof retryDelayInMs !== 'number' ||
    !(retryDelayInMs >= 0) ||
    !Number.isFinite(retryDelayInMs)
  ) {
    throw new RangeError('retryOptions.retryDelayInMs must be a finite number of 0 or more');
  }
  if (typeof maxRetryDelayInMs !== 'number' || !(maxRetryDelayInMs >= retryDelayInMs)) {
    throw new RangeError(
      'retryOptions.maxRetryDelayInMs must be a number of at least retryDelayInMs',
    );
  }
  return resolved;
}

/**
 * The wait before retry number `retry` (1 for the first retry).
 *
 * @param retry - 1-based retry number (see the numbering note above)
 * @param retryDelayInMs - the base delay
 * @param maxRetryDelayInMs - the cap before jitter
 * @param random - a source of numbers in [0, 1), injectable for tests
 * @returns a delay in milliseconds in `[d/2, d]` where `d = min(max, base × 2^(retry−1))`
 */
export function backoffDelay(
  retry: number,
  retryDelayInMs: number,
  maxRetryDelayInMs: number,
  random: () => number = Math.random,
): number {
  // The exponent is capped so that a device retrying for days never overflows to Infinity.
  const exponent = Math.min(30, Math.max(0, retry - 1));
  const exponential = Math.min(maxRetryDelayInMs, retryDelayInMs * 2 ** exponent);
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

/**
 * Reads how long the hub asked us to wait. Understands `retry-after-ms`/`x-ms-retry-after-ms`
 * (milliseconds) and `Retry-After` as delta-seconds or an HTTP date.
 *
 * @param headers - the response headers
 * @param nowInMs - the current time, for HTTP dates
 * @returns milliseconds to wait, or `undefined` when the response says nothing usable
 */
export function parseRetryAfter(
  headers: Headers,
  nowInMs: number = Date.now(),
): number | undefined {
  for (const name of [HEADER.retryAfterMs, HEADER.msRetryAfterMs]) {
    const value = headers.get(name);
    if (value !== null && /^\d+(\.\d+)?$/.test(value.trim())) return Math.ceil(Number(value));
  }
  const value = headers.get(HEADER.retryAfter)?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowInMs);
}
