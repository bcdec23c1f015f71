/**
 * IoT Hub's partial update: a JSON merge patch (RFC 7386 style) applied to one twin section.
 *
 * @see docs/internals/twin-semantics.md#merge-patch
 */
import type { JsonObject, JsonValue } from '../types.js';
import { cloneJson, isJsonObject, setOwn } from './json.js';

/**
 * Applies a merge patch to a twin section (tags, desired or reported) the way IoT Hub does.
 *
 * - Objects merge recursively; keys the patch does not name are kept.
 * - `null` deletes a key (nothing happens when the key is absent).
 * - Anything else, arrays included, replaces the old value wholesale.
 * - An object in the patch where the target has no object starts from `{}`, so `null` members of
 *   a new subtree are dropped: `{"a":{"b":null}}` on a section without `a` gives `"a": {}`.
 * - New keys are appended after the existing ones (like the hub's `JObject`).
 *
 * Pure: neither argument is modified and the result shares no object or array with them.
 *
 * @param target - the current section content (without `$metadata`/`$version`); a non-object is treated as `{}`
 * @param patch - the merge patch
 * @returns the patched section, made of new objects
 * @throws {@link TypeError} when `patch` is not a JSON object
 * @example
 * ```ts
 * applyPatch({ mode: 'eco', fan: { on: true } }, { fan: { speed: 2 }, mode: null });
 * // → { fan: { on: true, speed: 2 } }
 * ```
 * @see docs/internals/twin-semantics.md#merge-patch
 */
export function applyPatch(target: JsonObject, patch: JsonObject): JsonObject {
  if (!isJsonObject(patch)) {
    throw new TypeError(`A merge patch must be a JSON object, not ${describe(patch)}.`);
  }
  return mergeObject(isJsonObject(target) ? target : undefined, patch);
}

function mergeObject(target: JsonObject | undefined, patch: JsonObject): JsonObject {
  const result: JsonObject = {};
  if (target !== undefined) {
    for (const key of Object.keys(target)) {
      if (Object.hasOwn(patch, key)) {
        // A key the patch deletes is left out here, so kept keys keep their order.
        if (patch[key] === null) continue;
        setOwn(result, key, mergeValue(target[key], patch[key] as JsonValue));
      } else {
        setOwn(result, key, cloneJson(target[key] as JsonValue));
      }
    }
  }
  for (const key of Object.keys(patch)) {
    const value = patch[key] as JsonValue;
    if (value === null || (target !== undefined && Object.hasOwn(target, key))) continue;
    setOwn(result, key, mergeValue(undefined, value));
  }
  return result;
}

function mergeValue(current: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return cloneJson(patch);
  return mergeObject(isJsonObject(current) ? current : undefined, patch);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
