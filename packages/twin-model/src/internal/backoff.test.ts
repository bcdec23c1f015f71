import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter, resolveRetryOptions } from './backoff.js';

describe('backoffDelay', () => {
  it('doubles per attempt, caps at the maximum and keeps jitter within the upper half', () => {
    expect(backoffDelay(1, 100, 10_000, () => 0)).toBe(50);
    expect(backoffDelay(1, 100, 10_000, () => 0.999)).toBe(100);
    expect(backoffDelay(4, 100, 10_000, () => 0)).toBe(400);
    expect(backoffDelay(20, 100, 1_000, () => 1)).toBe(1_000);
    expect(backoffDelay(10_000, 1_000, 60_000, () => 0.999_999)).toBe(60_000);
  });
});

describe('resolveRetryOptions', () => {
  const defaults = { maxRetries: 3, retryDelayInMs: 800, maxRetryDelayInMs: 60_000 };

  it('fills in the client defaults and accepts Infinity retries', () => {
    expect(resolveRetryOptions(undefined, defaults)).toEqual(defaults);
    expect(resolveRetryOptions({ maxRetries: Infinity }, defaults).maxRetries).toBe(Infinity);
  });

  it('rejects negative, fractional and out-of-order values with RangeError naming the option', () => {
    expect(() => resolveRetryOptions({ maxRetries: -1 }, defaults)).toThrow(/maxRetries/);
    expect(() => resolveRetryOptions({ maxRetries: 1.5 }, defaults)).toThrow(RangeError);
    expect(() => resolveRetryOptions({ retryDelayInMs: NaN }, defaults)).toThrow(/retryDelayInMs/);
    expect(() =>
      resolveRetryOptions({ retryDelayInMs: 10, maxRetryDelayInMs: 5 }, defaults),
    ).toThrow(/maxRetryDelayInMs/);
  });
});

describe('parseRetryAfter', () => {
  it('reads milliseconds headers, delta-seconds and HTTP dates, and ignores junk', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250' }))).toBe(250);
    expect(parseRetryAfter(new Headers({ 'x-ms-retry-after-ms': '10' }))).toBe(10);
    expect(parseRetryAfter(new Headers({ 'retry-after': '3' }))).toBe(3_000);
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(
      parseRetryAfter(new Headers({ 'retry-after': 'Tue, 01 Jan 2030 00:00:05 GMT' }), now),
    ).toBe(5_000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(parseRetryAfter(new Headers())).toBeUndefined();
  });
});
