/**
 * Small JSON helpers shared by the patch, diff, metadata and twin-document code.
 *
 * Every write goes through {@link setOwn} and reads check `Object.hasOwn`, because twin documents
 * come from `JSON.parse`, which happily creates an own `__proto__` key; plain assignment of that
 * key would change the prototype instead of storing a property.
 */
import type { JsonObject, JsonValue } from '../types.js';

/**
 * Whether `value` is a JSON object (not `null`, not an array).
 *
 * @param value - anything
 * @returns `true` for plain non-array objects
 */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether `value` is a plain object: created by a literal, `JSON.parse` or `Object.create(null)`.
 * Class instances such as `Date` or `Map` are not plain; they do not survive JSON.
 *
 * @param value - anything
 * @returns `true` for plain objects
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Stores an own, enumerable property, including one named `__proto__`.
 *
 * @param object - the object to write
 * @param key - the property name
 * @param value - the value
 */
export function setOwn<T>(object: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    object[key] = value;
  }
}

/**
 * Deep-copies a JSON value so that the copy shares no object or array with the original.
 *
 * @param value - a JSON value
 * @returns an equal value made of new objects and arrays
 */
export function cloneJson<T extends JsonValue>(value: T): T;
export function cloneJson(value: JsonValue): JsonValue {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => cloneJson(item));
  const copy: JsonObject = {};
  for (const key of Object.keys(value)) setOwn(copy, key, cloneJson(value[key] as JsonValue));
  return copy;
}

/**
 * Deep equality of two JSON values; object key order does not matter (docs/internals/twin-semantics.md#merge-patch:
 * "compare documents order-insensitively"), array order does.
 *
 * @param a - a JSON value
 * @param b - another JSON value
 * @returns whether they are the same JSON
 */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, index) => jsonEqual(item, b[index]));
  }
  if (Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
}
