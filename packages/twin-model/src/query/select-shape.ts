/**
 * What a query returns, read from its head alone (`SELECT [TOP n] * FROM …` or not), for clients
 * that must tell whole twins from projections before sending it. A few hundred bytes instead of
 * the whole parser, so a client bundle that only queries twins stays small; a test checks it
 * agrees with {@link compileQuery}'s item type on every query the parser accepts.
 */

const WHOLE_TWIN_HEAD = /^\s*SELECT\s+(?:TOP\s+(?:0x[\da-f]+|[\d.e+-]+)\s+)?\*\s*FROM\s/i;
const SELECT_HEAD = /^\s*SELECT\s/i;
const JOBS_COLLECTION = /\bFROM\s+devices\.jobs\b/i;

/**
 * Whether a query returns whole twins (`SELECT *` from `devices` or `devices.modules`) rather
 * than projected or aggregated rows.
 *
 * @param text - the query text
 * @returns `true` for whole twins, `false` for projections, aggregates and `devices.jobs`, and
 *   `undefined` when the head is not a SELECT this check understands (the hub then decides)
 * @example
 * ```ts
 * selectsWholeTwins('SELECT * FROM devices'); // true
 * selectsWholeTwins('SELECT deviceId FROM devices'); // false
 * ```
 */
export function selectsWholeTwins(text: string): boolean | undefined {
  if (typeof text !== 'string' || !SELECT_HEAD.test(text)) return undefined;
  return WHOLE_TWIN_HEAD.test(text) && !JOBS_COLLECTION.test(text);
}
