import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../types.js';
import { applyPatch } from './apply-patch.js';

describe('applyPatch', () => {
  it('merges objects recursively and keeps keys the patch does not name', () => {
    const target = { a: 1, nested: { x: 1, y: 2 }, keep: 'k' };
    expect(applyPatch(target, { nested: { y: 3, z: 4 } })).toEqual({
      a: 1,
      nested: { x: 1, y: 3, z: 4 },
      keep: 'k',
    });
  });

  it('deletes a key patched with null and ignores null for a missing key', () => {
    expect(applyPatch({ a: 1, b: 2 }, { a: null, ghost: null })).toEqual({ b: 2 });
  });

  it('replaces arrays wholesale instead of merging elements', () => {
    expect(applyPatch({ list: [1, 2, 3] }, { list: [9] })).toEqual({ list: [9] });
  });

  it('replaces an object with a primitive and a primitive with an object', () => {
    expect(applyPatch({ a: { b: 1 }, c: 5 }, { a: 'off', c: { d: 1 } })).toEqual({
      a: 'off',
      c: { d: 1 },
    });
  });

  it('creates an empty object for {"a":{"b":null}} when a is missing', () => {
    expect(applyPatch({}, { a: { b: null } })).toEqual({ a: {} });
  });

  it('drops every null inside a new subtree', () => {
    expect(applyPatch({ a: 1 }, { a: { b: null, c: { d: null, e: 1 } } })).toEqual({
      a: { c: { e: 1 } },
    });
  });

  it('treats an empty object as no change on an object and as a new {} elsewhere', () => {
    expect(applyPatch({ a: { x: 1 }, b: 2 }, { a: {}, b: {}, c: {} })).toEqual({
      a: { x: 1 },
      b: {},
      c: {},
    });
  });

  it('keeps the order of existing keys and appends new keys at the end', () => {
    const result = applyPatch({ a: 1, b: 2, c: 3 }, { z: 0, b: 20, a: null });
    expect(Object.keys(result)).toEqual(['b', 'c', 'z']);
  });

  it('does not modify its inputs and shares no objects with them', () => {
    const target: JsonObject = { a: { b: [1, { c: 2 }] }, keep: { k: 1 } };
    const patch: JsonObject = { a: { d: { e: 1 } }, arr: [{ x: 1 }] };
    const targetCopy = structuredClone(target);
    const patchCopy = structuredClone(patch);
    const result = applyPatch(target, patch);
    expect(target).toEqual(targetCopy);
    expect(patch).toEqual(patchCopy);
    expect(result.keep).not.toBe(target.keep);
    expect((result.a as JsonObject).b).not.toBe((target.a as JsonObject).b);
    expect(result.arr).not.toBe(patch.arr);
    expect((result.a as JsonObject).d).not.toBe((patch.a as JsonObject).d);
  });

  it('stores a key named __proto__ as data without touching the prototype', () => {
    const patch = JSON.parse('{"__proto__":{"polluted":true}}') as JsonObject;
    const result = applyPatch({}, patch);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.hasOwn(result, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const again = applyPatch(result, JSON.parse('{"__proto__":{"more":1}}') as JsonObject);
    expect(JSON.stringify(again)).toBe('{"__proto__":{"polluted":true,"more":1}}');
  });

  it('treats a non-object target as an empty object', () => {
    expect(applyPatch(null as unknown as JsonObject, { a: 1 })).toEqual({ a: 1 });
    expect(applyPatch([1] as unknown as JsonObject, { a: 1 })).toEqual({ a: 1 });
  });

  it('throws a TypeError when the patch is not an object', () => {
    expect(() => applyPatch({}, null as unknown as JsonObject)).toThrow(/not null/);
    expect(() => applyPatch({}, [1] as unknown as JsonObject)).toThrow(/not an array/);
    expect(() => applyPatch({}, 'x' as unknown as JsonObject)).toThrow(TypeError);
  });
});
