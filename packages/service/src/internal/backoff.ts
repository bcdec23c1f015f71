/**
 * Exponential backoff with jitter and `Retry-After` parsing, after Azure core's retry strategy:
 * the clamped exponential delay is halved and the other half is random, so synchronized clients
 * spread out instead of retrying in lock step.
 */

/**
 * The delay before retry number `attempt` (1 for the first retry).
 *
 * @param attempt - 1-based retry number
 * @param retryDelayInMs - the base delay
 * @param maxRetryDelayInMs - the cap before jitter
 * @param random - a source of numbers in [0, 1), injectable for tests
 * @returns a delay in milliseconds in `[d/2, d]` where `d = min(max, base * 2^(attempt-1))`
 */
export function backoffDelay(
  attempt: number,
  retryDelayInMs: number,
  maxRetryDelayInMs: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(maxRetryDelayInMs, retryDelayInMs * 2 ** Math.max(0, attempt - 1));
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
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = headers.get(name);
    if (value !== null && /^\d+(\.\d+)?$/.test(value.trim())) return Math.ceil(Number(value));
  }
  const value = headers.get('retry-after')?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowInMs);
}
