import { describe, expect, it } from 'vitest';
import type { TwinSectionName } from './types.js';
import {
  MAX_DESIRED_SIZE,
  MAX_REPORTED_SIZE,
  MAX_SAFE_TWIN_INTEGER,
  MAX_TAGS_SIZE,
  MIN_SAFE_TWIN_INTEGER,
  apiVersionSupportsArrays,
  sectionSizeLimit,
} from './limits.js';

describe('sectionSizeLimit', () => {
  it('gives 8 KB for tags and 32 KB for desired and reported', () => {
    expect(sectionSizeLimit('tags')).toBe(MAX_TAGS_SIZE);
    expect(sectionSizeLimit('desired')).toBe(MAX_DESIRED_SIZE);
    expect(sectionSizeLimit('reported')).toBe(MAX_REPORTED_SIZE);
    expect([MAX_TAGS_SIZE, MAX_DESIRED_SIZE, MAX_REPORTED_SIZE]).toEqual([8192, 32768, 32768]);
  });

  it('throws a RangeError for an unknown section', () => {
    expect(() => sectionSizeLimit('properties' as TwinSectionName)).toThrow(RangeError);
  });
});

describe('integer bounds', () => {
  it('are -2^52 and 2^52 - 1', () => {
    expect(MIN_SAFE_TWIN_INTEGER).toBe(-(2 ** 52));
    expect(MAX_SAFE_TWIN_INTEGER).toBe(2 ** 52 - 1);
  });
});

describe('apiVersionSupportsArrays', () => {
  it('accepts arrays from 2019-10-01 on, and when no version is given', () => {
    expect(apiVersionSupportsArrays('2019-10-01')).toBe(true);
    expect(apiVersionSupportsArrays('2021-04-12')).toBe(true);
    expect(apiVersionSupportsArrays('2020-06-30-preview')).toBe(true);
    expect(apiVersionSupportsArrays(undefined)).toBe(true);
    expect(apiVersionSupportsArrays('')).toBe(true);
  });

  it('rejects arrays for older versions', () => {
    expect(apiVersionSupportsArrays('2018-06-30')).toBe(false);
    expect(apiVersionSupportsArrays('2019-07-01-preview')).toBe(false);
  });
});
