/**
 * Dotted property paths (`climate.hvac.fanOn`) inside a twin section, as used by device-side
 * subscriptions to one grouping or one property. Keys cannot contain `.` (docs/internals/twin-semantics.md#limits),
 * so a dot always separates segments.
 */
import { isJsonObject } from './patch/json.js';
import type { JsonObject, JsonValue } from './types.js';

/**
 * Splits a dotted path into its segments.
 *
 * @param path - e.g. `climate.hvac.fanOn`; the empty string means the section root
 * @returns the segments, `[]` for the root
 * @throws {@link TypeError} when a segment is empty (`a..b`, `.a`, `a.`)
 * @example
 * ```ts
 * parsePath('climate.hvac.fanOn'); // → ['climate', 'hvac', 'fanOn']
 * ```
 */
export function parsePath(path: string): string[] {
  if (path === '') return [];
  const segments = path.split('.');
  if (segments.some((segment) => segment === '')) {
    throw new TypeError(
      `Invalid property path '${path}': segments are separated by single dots and cannot be empty.`,
    );
  }
  return segments;
}

/**
 * Joins segments into a dotted path; the inverse of {@link parsePath}.
 *
 * @param segments - property names from the section root
 * @returns the dotted path, `''` for the root
 * @throws {@link TypeError} when a segment is empty or contains `.`
 */
export function formatPath(segments: readonly string[]): string {
  for (const segment of segments) {
    if (segment === '' || segment.includes('.')) {
      throw new TypeError(
        `Invalid path segment '${segment}': it must be non-empty and contain no '.'.`,
      );
    }
  }
  return segments.join('.');
}

/**
 * Reads the value at a path; only objects are descended into.
 *
 * @param value - a section or any JSON value
 * @param segments - the path, e.g. from {@link parsePath}
 * @returns the value there, or `undefined` when the path does not exist
 * @example
 * ```ts
 * getAtPath({ climate: { hvac: { fanOn: true } } }, ['climate', 'hvac', 'fanOn']); // → true
 * ```
 */
export function getAtPath(
  value: JsonValue | undefined,
  segments: readonly string[],
): JsonValue | undefined {
  let current = value;
  for (const segment of segments) {
    if (!isJsonObject(current) || !Object.hasOwn(current, segment)) return undefined;
    current = current[segment];
  }
  return current;
}

/**
 * Whether applying a merge patch may change anything at or below a path: a subscription to
 * `climate.hvac` fires for `{climate:{hvac:{fanOn:false}}}`, `{climate:null}` or `{climate:5}`,
 * but not for `{climate:{eco:true}}`.
 *
 * Without the target it is conservative in one case: a patch value `{}` at or below the path of
 * a non-root subscription counts, since it creates the object when it is missing.
 *
 * @param patch - a desired (or reported) merge patch; a root `$version` (as in notification bodies) is ignored
 * @param segments - the subscribed path; `[]` is the whole section
 * @returns `true` when the subscriber should hear about this patch
 * @example
 * ```ts
 * patchTouchesPath({ climate: { eco: true } }, ['climate', 'hvac']); // → false
 * ```
 */
export function patchTouchesPath(patch: JsonObject, segments: readonly string[]): boolean {
  if (segments.length === 0) return Object.keys(patch).some((key) => key !== '$version');
  let current: JsonValue = patch;
  for (const segment of segments) {
    // A non-object (null included) replaces or deletes this ancestor, and so everything below it.
    if (!isJsonObject(current)) return true;
    if (!Object.hasOwn(current, segment)) return false;
    current = current[segment] as JsonValue;
  }
  return true;
}
