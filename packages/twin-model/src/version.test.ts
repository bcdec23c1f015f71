import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkDesiredVersion, formatEtag, ifMatchSatisfied, parseEtag } from './version.js';

// Every encoding of docs/internals/twin-semantics.md#etags-and-concurrency, verified there against real twin dumps.
const etagVectors: readonly (readonly [number, string])[] = [
  [1, 'AAAAAAAAAAE='],
  [2, 'AAAAAAAAAAI='],
  [5, 'AAAAAAAAAAU='],
  [6, 'AAAAAAAAAAY='],
  [7, 'AAAAAAAAAAc='],
  [12, 'AAAAAAAAAAw='],
  [15, 'AAAAAAAAAA8='],
  [20, 'AAAAAAAAABQ='],
  [22, 'AAAAAAAAABY='],
  [50, 'AAAAAAAAADI='],
];

describe('formatEtag', () => {
  it.each(etagVectors)('formats counter %i as %s', (counter, etag) => {
    expect(formatEtag(counter)).toBe(etag);
  });

  it('uses all eight bytes big-endian', () => {
    expect(formatEtag(0)).toBe('AAAAAAAAAAA=');
    expect(formatEtag(2 ** 32)).toBe('AAAAAQAAAAA=');
    expect(formatEtag(Number.MAX_SAFE_INTEGER)).toBe('AB////////8=');
  });

  it('rejects negative, fractional and unsafe counters', () => {
    for (const counter of [-1, 1.5, Number.NaN, 2 ** 53])
      expect(() => formatEtag(counter)).toThrow(RangeError);
  });
});

describe('parseEtag', () => {
  it.each(etagVectors)('reads counter %i back from %s', (counter, etag) => {
    expect(parseEtag(etag)).toBe(counter);
  });

  it('tolerates quotes and a W/ prefix', () => {
    expect(parseEtag('"AAAAAAAAAAY="')).toBe(6);
    expect(parseEtag('W/"AAAAAAAAAAY="')).toBe(6);
  });

  it('returns undefined for anything that is not a canonical 8-byte ETag', () => {
    for (const text of [
      '',
      '*',
      'AAAAAAAAAAE',
      'AAAAAAAAAAF=',
      '!!!!!!!!!!!=',
      'AAAAAAAAAAAAAAA=',
      'AAAAAAAA AE=',
      '//////////8=',
      'AAAAAAAAAA==',
    ]) {
      expect(parseEtag(text), text).toBeUndefined();
    }
  });

  it('round-trips every safe non-negative counter', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (counter) => {
        const etag = formatEtag(counter);
        expect(etag).toMatch(/^[A-Za-z0-9+/]{11}=$/);
        expect(parseEtag(etag)).toBe(counter);
      }),
    );
  });

  it('formats back exactly what it parses', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 12, maxLength: 12 }), (text) => {
        const counter = parseEtag(text);
        if (counter !== undefined) expect(formatEtag(counter)).toBe(text);
      }),
    );
  });
});

describe('ifMatchSatisfied', () => {
  const current = 'AAAAAAAAAAY=';

  it('lets absent, empty and wildcard values through', () => {
    for (const value of [undefined, null, '', '  ', '*', '"*"', 'W/"*"'])
      expect(ifMatchSatisfied(value, current)).toBe(true);
  });

  it('TV-19: fails on a stale quoted etag', () => {
    expect(ifMatchSatisfied('"AAAAAAAAAAU="', current)).toBe(false);
  });

  it('TV-20: passes on the current etag, quoted, unquoted or weak', () => {
    expect(ifMatchSatisfied('"AAAAAAAAAAY="', current)).toBe(true);
    expect(ifMatchSatisfied('AAAAAAAAAAY=', current)).toBe(true);
    expect(ifMatchSatisfied('W/"AAAAAAAAAAY="', current)).toBe(true);
    expect(ifMatchSatisfied(' "AAAAAAAAAAY=" ', `"${current}"`)).toBe(true);
  });

  it('compares unquoted values in strict mode and ignores them in ignore-unquoted mode', () => {
    expect(ifMatchSatisfied('AAAAAAAAAAU=', current, 'strict')).toBe(false);
    expect(ifMatchSatisfied('AAAAAAAAAAU=', current, 'ignore-unquoted')).toBe(true);
    expect(ifMatchSatisfied('"AAAAAAAAAAU="', current, 'ignore-unquoted')).toBe(false);
    expect(ifMatchSatisfied('W/"AAAAAAAAAAU="', current, 'ignore-unquoted')).toBe(false);
  });

  it('passes when any member of a list matches', () => {
    expect(ifMatchSatisfied('"AAAAAAAAAAU=", "AAAAAAAAAAY="', current)).toBe(true);
    expect(ifMatchSatisfied('"AAAAAAAAAAU=", , "AAAAAAAAAAc="', current)).toBe(false);
  });
});

describe('checkDesiredVersion', () => {
  it('applies the next version and anything when nothing was seen yet', () => {
    expect(checkDesiredVersion(5, 6)).toBe('apply');
    expect(checkDesiredVersion(undefined, 42)).toBe('apply');
  });

  it('TV-43: ignores a notification carrying the version already applied', () => {
    expect(checkDesiredVersion(6, 6)).toBe('duplicate');
  });

  it('drops older versions as stale', () => {
    expect(checkDesiredVersion(6, 2)).toBe('stale');
  });

  it('TV-44: reports a gap when a version was missed', () => {
    expect(checkDesiredVersion(5, 7)).toBe('gap');
  });

  it('rejects non-integer versions', () => {
    expect(() => checkDesiredVersion(5, Number.NaN)).toThrow(RangeError);
    expect(() => checkDesiredVersion(5.5, 6)).toThrow(RangeError);
  });

  it('gives exactly one verdict consistent with the ordering of versions', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e9 }),
        fc.integer({ min: 0, max: 1e9 }),
        (lastSeen, incoming) => {
          const verdict = checkDesiredVersion(lastSeen, incoming);
          const expected =
            incoming === lastSeen + 1
              ? 'apply'
              : incoming === lastSeen
                ? 'duplicate'
                : incoming < lastSeen
                  ? 'stale'
                  : 'gap';
          expect(verdict).toBe(expected);
        },
      ),
    );
  });
});
