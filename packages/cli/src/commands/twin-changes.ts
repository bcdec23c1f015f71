/**
 * What changed between two reads of a twin, for `twinkit twin watch`: a merge patch of the parts a
 * person edits or a device reports (tags, desired, reported), without `$metadata` and `$version`,
 * and its lines for people.
 */
import { diff, type JsonObject, type JsonValue } from '@twinkit/twin-model';
import type { Twin } from '@twinkit/service';

/** The watched content of a twin. */
export function watchedContent(twin: Twin): JsonObject {
  return {
    tags: withoutBookkeeping(twin.tags),
    properties: {
      desired: withoutBookkeeping(twin.properties.desired),
      reported: withoutBookkeeping(twin.properties.reported),
    },
  };
}

function withoutBookkeeping(section: JsonObject | undefined): JsonObject {
  const { $metadata: _metadata, $version: _version, ...content } = section ?? {};
  return content;
}

/**
 * The merge patch from one read to the next, or undefined when nothing watched changed.
 *
 * @param before - the earlier read's watched content
 * @param after - the later read's watched content
 * @returns the patch (null members are deletions)
 */
export function changesBetween(before: JsonObject, after: JsonObject): JsonObject | undefined {
  const patch = diff(before, after);
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/**
 * Lines for people: `+ path = value` (added), `~ path: old → new` (changed), `- path` (removed).
 *
 * @param before - the earlier watched content, for old values
 * @param patch - the changes
 * @returns one line per changed leaf
 */
export function describeChanges(before: JsonObject, patch: JsonObject): string[] {
  const lines: string[] = [];
  const walk = (old: JsonValue | undefined, changes: JsonObject, path: string) => {
    for (const [key, value] of Object.entries(changes)) {
      const at = path === '' ? key : `${path}.${key}`;
      const previous = isObject(old) ? old[key] : undefined;
      if (value === null) lines.push(`- ${at}`);
      else if (isObject(value) && isObject(previous)) walk(previous, value, at);
      else if (previous === undefined) lines.push(`+ ${at} = ${JSON.stringify(value)}`);
      else lines.push(`~ ${at}: ${JSON.stringify(previous)} → ${JSON.stringify(value)}`);
    }
  };
  walk(before, patch, '');
  return lines;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
