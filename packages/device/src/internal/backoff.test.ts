import { describe, expect, it } from 'vitest';
import { computeRetryDelay, resolveRetryOptions } from './backoff.js';

describe('computeRetryDelay', () => {
  it('doubles from retryDelayInMs up to maxRetryDelayInMs, with jitter in the upper half', () => {
    const options = resolveRetryOptions({ retryDelayInMs: 100, maxRetryDelayInMs: 1000 });
    expect(
      [0, 1, 2, 3, 4, 40].map((attempt) => computeRetryDelay(attempt, options, () => 0)),
    ).toEqual([50, 100, 200, 400, 500, 500]);
    expect(
      [0, 1, 2, 3, 4, 40].map((attempt) => computeRetryDelay(attempt, options, () => 0.999_999)),
    ).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('retries forever by default and rejects inconsistent options', () => {
    expect(resolveRetryOptions(undefined).maxRetries).toBe(Number.POSITIVE_INFINITY);
    expect(() => resolveRetryOptions({ maxRetries: -1 })).toThrow(RangeError);
    expect(() => resolveRetryOptions({ retryDelayInMs: 10, maxRetryDelayInMs: 5 })).toThrow(
      RangeError,
    );
  });
});
