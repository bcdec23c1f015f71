/**
 * The inverse of `applyPatch`: the smallest merge patch that turns one section into another.
 *
 * @see docs/internals/twin-semantics.md#merge-patch, docs/internals/twin-semantics.md#desired-notifications (gap handling reports the diff)
 */
import type { JsonObject, JsonValue } from '../types.js';
import { cloneJson, isJsonObject, jsonEqual, setOwn } from './json.js';

/**
 * Computes the minimal merge patch from `before` to `after`: keys that vanished become `null`,
 * changed objects are diffed recursively, and any other changed value (arrays included) is
 * carried whole. Unchanged keys are left out, so equal sections give `{}`.
 *
 * For sections without `null` members (every stored twin section),
 * `applyPatch(before, diff(before, after))` equals `after`. A merge patch cannot store `null`,
 * so a `null` member of `after` comes out as a deletion.
 *
 * @param before - the old section content
 * @param after - the new section content
 * @returns a new merge patch; it shares no object or array with the arguments
 * @throws {@link TypeError} when either argument is not a JSON object
 * @example
 * ```ts
 * diff({ a: 1, b: { c: 1, d: 2 } }, { b: { c: 1, d: 3 }, e: [1] });
 * // → { a: null, b: { d: 3 }, e: [1] }
 * ```
 */
export function diff(before: JsonObject, after: JsonObject): JsonObject {
  if (!isJsonObject(before) || !isJsonObject(after)) {
    throw new TypeError('diff() compares two JSON objects.');
  }
  return diffObjects(before, after);
}

function diffObjects(before: JsonObject, after: JsonObject): JsonObject {
  const patch: JsonObject = {};
  for (const key of Object.keys(before)) {
    if (!Object.hasOwn(after, key)) setOwn(patch, key, null);
  }
  for (const key of Object.keys(after)) {
    const next = after[key] as JsonValue;
    if (!Object.hasOwn(before, key)) {
      // A new object is merged onto `{}`, which drops its nulls; cloning keeps it exact otherwise.
      setOwn(patch, key, next === null ? null : cloneJson(next));
      continue;
    }
    const previous = before[key] as JsonValue;
    if (isJsonObject(previous) && isJsonObject(next)) {
      const inner = diffObjects(previous, next);
      if (Object.keys(inner).length > 0) setOwn(patch, key, inner);
    } else if (!jsonEqual(previous, next)) {
      setOwn(patch, key, cloneJson(next));
    }
  }
  return patch;
}
