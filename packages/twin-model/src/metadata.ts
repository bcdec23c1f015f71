/**
 * `$metadata` of the desired and reported sections: building it, keeping it up to date across
 * patches, and formatting its timestamps the way the hub does.
 *
 * @see docs/internals/twin-semantics.md#metadata
 */
import { isJsonObject, setOwn } from './patch/json.js';
import type { JsonObject, JsonValue, TwinMetadata } from './types.js';

/** When and at which section version a write happened. */
export interface MetadataStamp {
  /** The write's server time, as {@link formatTimestamp} prints it. */
  timestamp: string;
  /** The section's new `$version`; only for desired (reported metadata has no versions, docs/internals/twin-semantics.md#metadata). */
  version?: number;
}

const TICKS_PER_MILLISECOND = 10_000;

/**
 * Formats a time like the hub's `$lastUpdated`: UTC, up to 7 fractional digits with trailing
 * zeros trimmed (no fraction at all when it is zero), and `Z` (docs/internals/twin-semantics.md#metadata).
 *
 * @param date - the instant
 * @param subMillisecondTicks - extra 100 ns ticks below the millisecond, 0…9999 (default 0)
 * @returns e.g. `2021-09-20T21:58:00.88633Z` or `0001-01-01T00:00:00Z`
 * @throws {@link RangeError} for an invalid date or ticks outside 0…9999
 * @example
 * ```ts
 * formatTimestamp(new Date('2024-01-01T00:00:00.120Z'), 5); // → '2024-01-01T00:00:00.1200005Z'
 * ```
 */
export function formatTimestamp(date: Date, subMillisecondTicks = 0): string {
  if (Number.isNaN(date.getTime()))
    throw new RangeError('Cannot format an invalid Date as a twin timestamp.');
  if (
    !Number.isInteger(subMillisecondTicks) ||
    subMillisecondTicks < 0 ||
    subMillisecondTicks >= TICKS_PER_MILLISECOND
  ) {
    throw new RangeError(
      `Sub-millisecond ticks must be an integer in 0…9999, got ${String(subMillisecondTicks)}.`,
    );
  }
  const iso = date.toISOString();
  const dot = iso.lastIndexOf('.');
  const seconds = iso.slice(0, dot);
  const fraction = (date.getUTCMilliseconds() * TICKS_PER_MILLISECOND + subMillisecondTicks)
    .toString()
    .padStart(7, '0')
    .replace(/0+$/, '');
  return fraction === '' ? `${seconds}Z` : `${seconds}.${fraction}Z`;
}

/**
 * Builds the `$metadata` tree for a whole section written at once (twin creation, a PUT of
 * desired, docs/internals/twin-semantics.md#metadata rule 6): every object node and every leaf gets the stamp; arrays are leaves.
 *
 * @param section - the section content (without `$metadata`/`$version`)
 * @param stamp - time and, for desired, the new `$version`
 * @returns a new metadata tree
 * @example
 * ```ts
 * createSectionMetadata({ fan: { on: true } }, { timestamp: '2024-01-01T00:00:00Z', version: 2 });
 * // → { $lastUpdated: …, $lastUpdatedVersion: 2, fan: { $lastUpdated: …, $lastUpdatedVersion: 2, on: { … } } }
 * ```
 */
export function createSectionMetadata(section: JsonObject, stamp: MetadataStamp): TwinMetadata {
  return stampedNode(section, stamp);
}

function stampedNode(value: JsonValue, stamp: MetadataStamp): TwinMetadata {
  const node = emptyNode(stamp);
  if (isJsonObject(value)) {
    for (const key of Object.keys(value)) {
      const child = value[key] as JsonValue;
      if (child !== null) setOwn(node, key, stampedNode(child, stamp));
    }
  }
  return node;
}

function emptyNode(stamp: MetadataStamp): TwinMetadata {
  const node: TwinMetadata = { $lastUpdated: stamp.timestamp };
  if (stamp.version !== undefined) node.$lastUpdatedVersion = stamp.version;
  return node;
}

/**
 * Brings a section's `$metadata` up to date after a merge patch was applied (docs/internals/twin-semantics.md#metadata):
 * - the root and every object on the path to a patched key get the stamp;
 * - a patched key, and the descendants its patch value names, get the stamp, while stored
 *   children the patch does not name keep theirs;
 * - a key deleted with `null` loses its metadata subtree;
 * - a value replaced by a non-object (primitive or array) gets a single fresh leaf.
 *
 * @param metadata - the section's current `$metadata`
 * @param patch - the merge patch that was applied
 * @param stamp - time and, for desired, the new `$version`
 * @returns a new metadata tree that shares nothing with `metadata`, which is not modified
 */
export function updateSectionMetadata(
  metadata: TwinMetadata,
  patch: JsonObject,
  stamp: MetadataStamp,
): TwinMetadata {
  return mergeNode(metadata, patch, stamp);
}

function mergeNode(
  existing: TwinMetadata | undefined,
  patch: JsonObject,
  stamp: MetadataStamp,
): TwinMetadata {
  const node = emptyNode(stamp);
  if (existing !== undefined) {
    for (const key of Object.keys(existing)) {
      // A node this write touches gets a fresh stamp, so its old `$…` annotations (including a
      // configuration's $lastUpdatedBy) no longer describe it; user keys never start with `$`.
      if (key.startsWith('$')) continue;
      const child = existing[key];
      if (Object.hasOwn(patch, key)) {
        const value = patch[key] as JsonValue;
        if (value !== null) setOwn(node, key, childNode(child, value, stamp));
      } else if (typeof child === 'object') {
        setOwn(node, key, cloneMetadata(child));
      }
    }
  }
  for (const key of Object.keys(patch)) {
    const value = patch[key] as JsonValue;
    if (value === null || (existing !== undefined && Object.hasOwn(existing, key))) continue;
    setOwn(node, key, childNode(undefined, value, stamp));
  }
  return node;
}

function cloneMetadata(node: TwinMetadata): TwinMetadata {
  const copy: TwinMetadata = { $lastUpdated: node.$lastUpdated };
  for (const key of Object.keys(node)) {
    const value = node[key];
    setOwn(copy, key, typeof value === 'object' ? cloneMetadata(value) : value);
  }
  return copy;
}

function childNode(
  existing: TwinMetadata | string | number | undefined,
  value: JsonValue,
  stamp: MetadataStamp,
): TwinMetadata {
  if (!isJsonObject(value)) return emptyNode(stamp);
  const previous = typeof existing === 'object' ? existing : undefined;
  return mergeNode(previous, value, stamp);
}
