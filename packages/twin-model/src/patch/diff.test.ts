import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../types.js';
import { applyPatch } from './apply-patch.js';
import { diff } from './diff.js';
import { cloneJson, isPlainObject, jsonEqual } from './json.js';

describe('diff', () => {
  it('returns {} for equal sections regardless of key order', () => {
    expect(diff({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toEqual({});
  });

  it('marks removed keys with null, carries new and changed values, and recurses into objects', () => {
    expect(
      diff({ a: 1, b: { c: 1, d: 2 }, e: [1] }, { b: { c: 1, d: 3 }, e: [1, 2], f: { g: true } }),
    ).toEqual({
      a: null,
      b: { d: 3 },
      e: [1, 2],
      f: { g: true },
    });
  });

  it('replaces a primitive by an object and an object by an array', () => {
    const before = { a: 1, b: { x: 1 } };
    const after = { a: { y: 2 }, b: [1] };
    const patch = diff(before, after);
    expect(patch).toEqual({ a: { y: 2 }, b: [1] });
    expect(applyPatch(before, patch)).toEqual(after);
  });

  it('empties an object by deleting each of its keys', () => {
    expect(diff({ a: { x: 1, y: 2 } }, { a: {} })).toEqual({ a: { x: null, y: null } });
  });

  it('turns a null in after into a deletion', () => {
    expect(diff({ a: 1 }, { a: null, b: null })).toEqual({ a: null, b: null });
  });

  it('shares no objects with its arguments', () => {
    const after: JsonObject = { n: { deep: { x: 1 } }, arr: [{ y: 1 }] };
    const patch = diff({}, after);
    expect(patch.n).not.toBe(after.n);
    expect(patch.arr).not.toBe(after.arr);
  });

  it('handles keys named __proto__', () => {
    const before = JSON.parse('{"__proto__":{"a":1}}') as JsonObject;
    const after = JSON.parse('{"__proto__":{"a":2}}') as JsonObject;
    const patch = diff(before, after);
    expect(JSON.stringify(patch)).toBe('{"__proto__":{"a":2}}');
    expect(JSON.stringify(applyPatch(before, patch))).toBe(JSON.stringify(after));
    expect(JSON.stringify(diff({}, after))).toBe('{"__proto__":{"a":2}}');
  });

  it('throws a TypeError for non-object arguments', () => {
    expect(() => diff(null as unknown as JsonObject, {})).toThrow(TypeError);
    expect(() => diff({}, [] as unknown as JsonObject)).toThrow(TypeError);
  });
});

describe('json helpers', () => {
  it('jsonEqual distinguishes arrays from objects, lengths and missing keys', () => {
    expect(jsonEqual([1], { 0: 1 })).toBe(false);
    expect(jsonEqual({ 0: 1 }, [1])).toBe(false);
    expect(jsonEqual([1], [1, 2])).toBe(false);
    expect(jsonEqual({ a: 1 }, { b: 1 })).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
    expect(jsonEqual(1, 2)).toBe(false);
    expect(jsonEqual([{ a: [1] }], [{ a: [1] }])).toBe(true);
  });

  it('cloneJson copies primitives, arrays and objects', () => {
    expect(cloneJson('x')).toBe('x');
    const value = { a: [1, { b: null }] };
    expect(cloneJson(value)).toEqual(value);
    expect(cloneJson(value)).not.toBe(value);
  });

  it('isPlainObject accepts literals and null-prototype objects only', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    expect(isPlainObject(new Date())).toBe(false);
    expect(isPlainObject([])).toBe(false);
    expect(isPlainObject(null)).toBe(false);
  });
});
