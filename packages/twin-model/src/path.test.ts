import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyPatch } from './patch/apply-patch.js';
import { jsonEqual } from './patch/json.js';
import { formatPath, getAtPath, parsePath, patchTouchesPath } from './path.js';
import type { JsonObject, JsonValue } from './types.js';

describe('parsePath', () => {
  it('splits on dots and gives [] for the root', () => {
    expect(parsePath('climate.hvac.fanOn')).toEqual(['climate', 'hvac', 'fanOn']);
    expect(parsePath('x')).toEqual(['x']);
    expect(parsePath('')).toEqual([]);
  });

  it('rejects empty segments', () => {
    for (const path of ['a..b', '.a', 'a.', '.']) expect(() => parsePath(path)).toThrow(TypeError);
  });
});

describe('formatPath', () => {
  it('joins segments and round-trips with parsePath', () => {
    expect(formatPath(['climate', 'hvac'])).toBe('climate.hvac');
    expect(formatPath([])).toBe('');
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[^.]+$/), { maxLength: 5 }), (segments) => {
        expect(parsePath(formatPath(segments))).toEqual(segments);
      }),
    );
  });

  it('rejects empty segments and segments with dots', () => {
    expect(() => formatPath(['a', ''])).toThrow(TypeError);
    expect(() => formatPath(['a.b'])).toThrow(/contain no '\.'/);
  });
});

describe('getAtPath', () => {
  const section = { climate: { hvac: { fanOn: true }, list: [1] } };

  it('reads nested values and the root', () => {
    expect(getAtPath(section, ['climate', 'hvac', 'fanOn'])).toBe(true);
    expect(getAtPath(section, [])).toBe(section);
  });

  it('returns undefined for missing keys, non-objects and inherited properties', () => {
    expect(getAtPath(section, ['climate', 'eco'])).toBeUndefined();
    expect(getAtPath(section, ['climate', 'hvac', 'fanOn', 'x'])).toBeUndefined();
    expect(getAtPath(section, ['climate', 'list', '0'])).toBeUndefined();
    expect(getAtPath(section, ['toString'])).toBeUndefined();
    expect(getAtPath(undefined, ['a'])).toBeUndefined();
  });
});

describe('patchTouchesPath', () => {
  const hvac = ['climate', 'hvac'];

  it('fires for changes at or below the path', () => {
    expect(patchTouchesPath({ climate: { hvac: { fanOn: false } } }, hvac)).toBe(true);
    expect(patchTouchesPath({ climate: { hvac: 5 } }, hvac)).toBe(true);
    expect(patchTouchesPath({ climate: { hvac: {} } }, hvac)).toBe(true);
  });

  it('fires when an ancestor is replaced or deleted', () => {
    expect(patchTouchesPath({ climate: null }, hvac)).toBe(true);
    expect(patchTouchesPath({ climate: 5 }, hvac)).toBe(true);
    expect(patchTouchesPath({ climate: [1] }, hvac)).toBe(true);
  });

  it('stays silent for siblings', () => {
    expect(patchTouchesPath({ climate: { eco: true } }, hvac)).toBe(false);
    expect(patchTouchesPath({ other: 1 }, hvac)).toBe(false);
    expect(patchTouchesPath({ climate: {} }, hvac)).toBe(false);
  });

  it('treats the root as touched by any non-empty patch, ignoring $version', () => {
    expect(patchTouchesPath({ a: 1 }, [])).toBe(true);
    expect(patchTouchesPath({}, [])).toBe(false);
    expect(patchTouchesPath({ $version: 4 }, [])).toBe(false);
  });

  it('never misses a change: when the value at the path changes, the patch touches it', () => {
    const key = fc.constantFrom('a', 'b', 'c');
    const value: fc.Arbitrary<JsonValue> = fc.letrec<{ v: JsonValue }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.integer({ min: 0, max: 2 }),
        fc.constant(null),
        fc.dictionary(key, tie('v'), { maxKeys: 3 }) as fc.Arbitrary<JsonValue>,
      ),
    })).v;
    const object = fc.dictionary(key, value, { maxKeys: 3 }) as fc.Arbitrary<JsonObject>;
    fc.assert(
      fc.property(object, object, fc.array(key, { maxLength: 3 }), (target, patch, segments) => {
        const before = getAtPath(applyPatch({}, target), segments);
        const after = getAtPath(applyPatch(applyPatch({}, target), patch), segments);
        if (!jsonEqual(before, after)) expect(patchTouchesPath(patch, segments)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
