/**
 * Output for scripts (`--output json`: exactly the JSON the hub returned) and for people
 * (`--output table`: aligned columns, or `key  value` lines for one object).
 */
import type { JsonObject, JsonValue } from '@twinkit/twin-model';

/** The two output formats. */
export type OutputFormat = 'json' | 'table';

/**
 * Renders rows as an aligned table with a header line.
 *
 * @param rows - objects; nested values are flattened to dotted keys
 * @param columns - the columns to show, in order; default every key of every row
 * @returns the table text, ending with a newline (or a note when there are no rows)
 */
export function formatTable(rows: readonly object[], columns?: readonly string[]): string {
  if (rows.length === 0) return '(no results)\n';
  const flat = rows.map((row) => flatten(row as JsonObject));
  const keys = columns ?? [...new Set(flat.flatMap((row) => [...row.keys()]))];
  const cells = flat.map((row) => keys.map((key) => row.get(key) ?? ''));
  const widths = keys.map((key, index) =>
    Math.max(key.length, ...cells.map((line) => (line[index] ?? '').length)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, index) => value.padEnd(widths[index] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[line(keys), ...cells.map(line)].join('\n')}\n`;
}

/**
 * Renders one object as `key  value` lines, nested keys dotted.
 *
 * @param value - the object
 * @returns the text, ending with a newline
 */
export function formatRecord(value: object): string {
  const flat = flatten(value as JsonObject);
  const width = Math.max(0, ...[...flat.keys()].map((key) => key.length));
  return `${[...flat].map(([key, text]) => `${key.padEnd(width)}  ${text}`.trimEnd()).join('\n')}\n`;
}

/**
 * Renders a value as JSON for `--output json`: the hub's JSON, indented.
 *
 * @param value - what the service returned
 * @returns the JSON text and a newline
 */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function flatten(
  value: JsonObject,
  prefix = '',
  into = new Map<string, string>(),
): Map<string, string> {
  for (const [key, child] of Object.entries(value)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (isObject(child) && Object.keys(child).length > 0) flatten(child, path, into);
    else into.set(path, scalarText(child));
  }
  return into;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function scalarText(value: JsonValue | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}
