import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSectionMetadata, formatTimestamp, updateSectionMetadata } from './metadata.js';
import type { TwinMetadata } from './types.js';

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z$/;

describe('formatTimestamp', () => {
  it('omits a zero fraction', () => {
    expect(formatTimestamp(new Date('0001-01-01T00:00:00Z'))).toBe('0001-01-01T00:00:00Z');
  });

  it('trims trailing zeros and uses up to seven digits', () => {
    expect(formatTimestamp(new Date('2021-09-20T21:58:00.886Z'), 3300)).toBe(
      '2021-09-20T21:58:00.88633Z',
    );
    expect(formatTimestamp(new Date('2021-09-10T17:03:18.976Z'), 1939)).toBe(
      '2021-09-10T17:03:18.9761939Z',
    );
    expect(formatTimestamp(new Date('2024-01-01T00:00:00.120Z'))).toBe('2024-01-01T00:00:00.12Z');
    expect(formatTimestamp(new Date('2024-01-01T00:00:00.000Z'), 1)).toBe(
      '2024-01-01T00:00:00.0000001Z',
    );
  });

  it('TV-28: always matches the hub format with no trailing zero in the fraction', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('0001-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59.999Z'),
          noInvalidDate: true,
        }),
        fc.integer({ min: 0, max: 9999 }),
        (date, ticks) => {
          const text = formatTimestamp(date, ticks);
          expect(text).toMatch(TIMESTAMP);
          expect(text).not.toMatch(/\.\d*0Z$/);
          expect(new Date(text).getTime()).toBe(date.getTime());
        },
      ),
    );
  });

  it('rejects invalid dates and tick counts', () => {
    expect(() => formatTimestamp(new Date(Number.NaN))).toThrow(RangeError);
    for (const ticks of [-1, 10_000, 0.5])
      expect(() => formatTimestamp(new Date(0), ticks)).toThrow(RangeError);
  });
});

const t0 = '2024-01-01T00:00:00Z';
const t1 = '2024-02-02T00:00:00.5Z';

describe('createSectionMetadata', () => {
  it('stamps every object node and leaf, treating arrays as leaves', () => {
    expect(
      createSectionMetadata({ a: { b: 1 }, list: [{ x: 1 }] }, { timestamp: t0, version: 3 }),
    ).toEqual({
      $lastUpdated: t0,
      $lastUpdatedVersion: 3,
      a: {
        $lastUpdated: t0,
        $lastUpdatedVersion: 3,
        b: { $lastUpdated: t0, $lastUpdatedVersion: 3 },
      },
      list: { $lastUpdated: t0, $lastUpdatedVersion: 3 },
    });
  });

  it('leaves versions out when the stamp has none (reported, fresh twins)', () => {
    expect(createSectionMetadata({}, { timestamp: t0 })).toEqual({ $lastUpdated: t0 });
    expect(createSectionMetadata({ a: 1, gone: null }, { timestamp: t0 })).toEqual({
      $lastUpdated: t0,
      a: { $lastUpdated: t0 },
    });
  });
});

describe('updateSectionMetadata', () => {
  const before = createSectionMetadata(
    {
      telemetryConfig: { sendFrequency: '5m', mode: 'eco' },
      fw: { version: '1.0' },
      list: [1, 2, 3],
    },
    { timestamp: t0, version: 5 },
  );

  it('stamps the root, patched keys and their ancestors, keeps untouched siblings and removes deleted keys', () => {
    const after = updateSectionMetadata(
      before,
      {
        newProperty: { nestedProperty: 'newValue' },
        telemetryConfig: { sendFrequency: '10m' },
        fw: null,
      },
      { timestamp: t1, version: 6 },
    );
    expect(after).toEqual({
      $lastUpdated: t1,
      $lastUpdatedVersion: 6,
      telemetryConfig: {
        $lastUpdated: t1,
        $lastUpdatedVersion: 6,
        sendFrequency: { $lastUpdated: t1, $lastUpdatedVersion: 6 },
        mode: { $lastUpdated: t0, $lastUpdatedVersion: 5 },
      },
      list: { $lastUpdated: t0, $lastUpdatedVersion: 5 },
      newProperty: {
        $lastUpdated: t1,
        $lastUpdatedVersion: 6,
        nestedProperty: { $lastUpdated: t1, $lastUpdatedVersion: 6 },
      },
    });
  });

  it('replaces an object subtree with a single leaf when a primitive or array replaces the object', () => {
    const after = updateSectionMetadata(
      before,
      { telemetryConfig: 'off', fw: [1] },
      { timestamp: t1 },
    );
    expect(after.telemetryConfig).toEqual({ $lastUpdated: t1 });
    expect(after.fw).toEqual({ $lastUpdated: t1 });
  });

  it('builds children when an object replaces a primitive', () => {
    const after = updateSectionMetadata(
      createSectionMetadata({ battery: 55 }, { timestamp: t0 }),
      { battery: { level: 55 } },
      { timestamp: t1 },
    );
    expect(after).toEqual({
      $lastUpdated: t1,
      battery: { $lastUpdated: t1, level: { $lastUpdated: t1 } },
    });
  });

  it('stamps a key patched with {} and skips nulls for keys that never existed', () => {
    const after = updateSectionMetadata(
      before,
      { telemetryConfig: {}, ghost: null, fresh: { inner: null } },
      { timestamp: t1, version: 6 },
    );
    expect(after.telemetryConfig).toMatchObject({ $lastUpdated: t1, mode: { $lastUpdated: t0 } });
    expect(after.ghost).toBeUndefined();
    expect(after.fresh).toEqual({ $lastUpdated: t1, $lastUpdatedVersion: 6 });
  });

  it('drops stale $ annotations of touched nodes and malformed entries', () => {
    const metadata = {
      $lastUpdated: t0,
      $lastUpdatedBy: 'config1',
      a: { $lastUpdated: t0, $lastUpdatedBy: 'config1', $lastUpdatedByDigest: 'd' },
      b: { $lastUpdated: t0, $lastUpdatedBy: 'config1' },
      junk: 'not a node',
    } as TwinMetadata;
    const after = updateSectionMetadata(metadata, { a: 2 }, { timestamp: t1 });
    expect(after).toEqual({
      $lastUpdated: t1,
      a: { $lastUpdated: t1 },
      b: { $lastUpdated: t0, $lastUpdatedBy: 'config1' },
    });
  });

  it('does not modify its input and shares no nodes with it', () => {
    const snapshot = structuredClone(before);
    const after = updateSectionMetadata(before, { other: 1 }, { timestamp: t1, version: 6 });
    expect(before).toEqual(snapshot);
    expect(after.telemetryConfig).toEqual(before.telemetryConfig);
    expect(after.telemetryConfig).not.toBe(before.telemetryConfig);
  });

  it('handles keys named __proto__', () => {
    const after = updateSectionMetadata(
      { $lastUpdated: t0 },
      JSON.parse('{"__proto__":{"x":1}}') as Record<string, never>,
      { timestamp: t1 },
    );
    expect(Object.getPrototypeOf(after)).toBe(Object.prototype);
    expect(JSON.stringify(after)).toBe(
      `{"$lastUpdated":"${t1}","__proto__":{"$lastUpdated":"${t1}","x":{"$lastUpdated":"${t1}"}}}`,
    );
  });
});
