/**
 * Composition of two JSON merge patches: one patch with the same effect as applying `first`
 * then `second`, when such a patch exists. twin-model applies and diffs patches but has no
 * composition, which the outbox needs to coalesce updates made while offline.
 *
 * @internal
 */
import type { JsonObject, JsonValue } from '@twinkit/twin-model';

function setOwn(target: JsonObject, key: string, value: JsonValue): void {
  // defineProperty, not assignment, so a key named "__proto__" stays data.
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Composes two merge patches.
 *
 * Merge patches cannot say "replace this object", so when `first` deletes or sets a scalar at a
 * key and `second` then merges an object into it, no single patch is equivalent and the result
 * is `undefined` (the caller keeps the patches separate, in order).
 *
 * @param first - the earlier patch
 * @param second - the later patch
 * @returns a patch equivalent to `first` then `second`, or `undefined`
 */
export function composeMergePatches(first: JsonObject, second: JsonObject): JsonObject | undefined {
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(first)) setOwn(result, key, value);
  for (const [key, next] of Object.entries(second)) {
    const previous = Object.hasOwn(first, key) ? first[key] : undefined;
    if (previous === undefined || !isObject(next)) {
      setOwn(result, key, next);
      continue;
    }
    if (!isObject(previous)) return undefined;
    const nested = composeMergePatches(previous, next);
    if (nested === undefined) return undefined;
    setOwn(result, key, nested);
  }
  return result;
}
