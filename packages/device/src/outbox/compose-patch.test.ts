import { applyPatch } from '@twinkit/twin-model';
import type { JsonObject } from '@twinkit/twin-model';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { composeMergePatches } from './compose-patch.js';

const value = fc.letrec<{ patch: JsonObject; leaf: unknown }>((tie) => ({
  leaf: fc.oneof(fc.constant(null), fc.integer(), fc.string({ maxLength: 3 }), fc.constant([1, 2])),
  patch: fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.oneof(tie('leaf'), tie('patch')), {
    maxKeys: 3,
  }) as fc.Arbitrary<JsonObject>,
}));

describe('composeMergePatches', () => {
  it('merges nested objects and keeps later values and deletions', () => {
    expect(composeMergePatches({ a: 1, n: { x: 1 } }, { b: 2, n: { y: null } })).toEqual({
      a: 1,
      b: 2,
      n: { x: 1, y: null },
    });
  });

  it('refuses when a deleted or scalar key is then merged into as an object', () => {
    expect(composeMergePatches({ a: null }, { a: { b: 1 } })).toBeUndefined();
    expect(composeMergePatches({ a: 1 }, { a: { b: 1 } })).toBeUndefined();
  });

  it('keeps a key named __proto__ as data', () => {
    const composed = composeMergePatches(JSON.parse('{"__proto__":{"x":1}}') as JsonObject, {
      y: 1,
    });
    expect(Object.getPrototypeOf(composed)).toBe(Object.prototype);
    expect(Object.keys(composed ?? {})).toEqual(['__proto__', 'y']);
  });

  it('has the effect of applying both patches in order, whenever it composes', () => {
    fc.assert(
      fc.property(value.patch, value.patch, value.patch, (target, first, second) => {
        const composed = composeMergePatches(first, second);
        if (composed === undefined) return;
        expect(applyPatch(target, composed)).toEqual(applyPatch(applyPatch(target, first), second));
      }),
    );
  });
});
