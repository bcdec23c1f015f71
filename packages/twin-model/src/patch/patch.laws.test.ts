import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../types.js';
import { applyPatch } from './apply-patch.js';
import { diff } from './diff.js';
import { jsonEqual } from './json.js';

const key = fc.oneof(fc.constantFrom('a', 'b', 'c', 'd', '__proto__'), fc.string({ maxLength: 4 }));

/** JSON without null object members (what a stored section looks like); arrays may hold anything. */
const storedValue: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue; object: JsonObject }>(
  (tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.oneof(
        fc.boolean(),
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.string({ maxLength: 6 }),
      ),
      fc.array(fc.oneof(fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>, tie('object')), {
        maxLength: 3,
      }),
      tie('object'),
    ),
    object: fc.dictionary(key, tie('value'), { maxKeys: 5, noNullPrototype: true }),
  }),
).value;

const storedObject = fc.dictionary(key, storedValue, {
  maxKeys: 6,
  noNullPrototype: true,
}) as fc.Arbitrary<JsonObject>;

/** Any merge patch: like a stored section but with null delete markers anywhere among object members. */
const anyPatch = fc.dictionary(
  key,
  fc.oneof(
    storedValue,
    fc.constant(null),
    fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue>,
  ),
  {
    maxKeys: 6,
    noNullPrototype: true,
  },
) as fc.Arbitrary<JsonObject>;

const json = (value: JsonValue): string => JSON.stringify(value);

describe('merge-patch laws', () => {
  it('applyPatch(a, diff(a, b)) deep-equals b for objects without nulls', () => {
    fc.assert(
      fc.property(storedObject, storedObject, (a, b) => {
        expect(jsonEqual(applyPatch(a, diff(a, b)), b)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('diff(a, a) is empty', () => {
    fc.assert(fc.property(storedObject, (a) => Object.keys(diff(a, a)).length === 0));
  });

  it('applying a patch twice equals applying it once', () => {
    fc.assert(
      fc.property(storedObject, anyPatch, (target, patch) => {
        const once = applyPatch(target, patch);
        expect(jsonEqual(applyPatch(once, patch), once)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('never stores a null object member, whatever the patch', () => {
    const hasNullMember = (value: JsonValue): boolean => {
      if (Array.isArray(value)) return false;
      if (typeof value !== 'object' || value === null) return false;
      return Object.values(value).some((member) => member === null || hasNullMember(member));
    };
    fc.assert(
      fc.property(
        storedObject,
        anyPatch,
        (target, patch) => !hasNullMember(applyPatch(target, patch)),
      ),
    );
  });

  it('never modifies its inputs', () => {
    fc.assert(
      fc.property(storedObject, anyPatch, (target, patch) => {
        const before = [json(target), json(patch)];
        applyPatch(target, patch);
        diff(target, applyPatch(target, patch));
        expect([json(target), json(patch)]).toEqual(before);
      }),
    );
  });

  it('a diff only names keys whose values changed', () => {
    fc.assert(
      fc.property(storedObject, storedObject, (a, b) => {
        const patch = diff(a, b);
        for (const name of Object.keys(patch)) {
          const changed =
            !Object.hasOwn(a, name) || !Object.hasOwn(b, name) || !jsonEqual(a[name], b[name]);
          expect(changed).toBe(true);
        }
      }),
    );
  });
});
