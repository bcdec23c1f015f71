/**
 * Twin ETags, `If-Match` evaluation and the desired-version gate a device applies to
 * notifications.
 *
 * @see docs/internals/twin-semantics.md#versions, docs/internals/twin-semantics.md#desired-notifications and docs/internals/wire-contract.md#etags-and-if-match
 */

/**
 * How `If-Match` values without quotes are treated: `strict` (default) compares them like quoted
 * ones; `ignore-unquoted` lets them pass unchecked, as the real hub was observed to do.
 */
export type IfMatchMode = 'strict' | 'ignore-unquoted';

/**
 * What a device should do with a desired-properties notification, given the last `$version` it
 * applied:
 * - `apply`: it is the next version (or nothing was seen yet); merge the patch.
 * - `duplicate`: the same version again; drop it.
 * - `stale`: older than what was applied; drop it.
 * - `gap`: at least one version was missed; re-read the twin and diff.
 */
export type DesiredVersionVerdict = 'apply' | 'duplicate' | 'stale' | 'gap';

// 2 ** 32, written out: bundlers keep an unused `**` expression as if it had side effects.
const TWO_TO_THE_32 = 4_294_967_296;

/**
 * Formats an ETag counter the way IoT Hub does: standard base64 of the counter as an 8-byte
 * big-endian unsigned integer (1 → `AAAAAAAAAAE=`).
 *
 * @param counter - a non-negative safe integer
 * @returns the ETag, without quotes
 * @throws {@link RangeError} when `counter` is negative, fractional or above `Number.MAX_SAFE_INTEGER`
 * @example
 * ```ts
 * formatEtag(20); // → 'AAAAAAAAABQ='
 * ```
 * @see docs/internals/twin-semantics.md#etags-and-concurrency
 */
export function formatEtag(counter: number): string {
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new RangeError(
      `An ETag counter must be a non-negative safe integer, got ${String(counter)}.`,
    );
  }
  const high = Math.floor(counter / TWO_TO_THE_32);
  const low = counter % TWO_TO_THE_32;
  const bytes = [
    high >>> 24,
    (high >>> 16) & 0xff,
    (high >>> 8) & 0xff,
    high & 0xff,
    low >>> 24,
    (low >>> 16) & 0xff,
    (low >>> 8) & 0xff,
    low & 0xff,
  ];
  return btoa(String.fromCharCode(...bytes));
}

/**
 * Reads the counter back from an ETag made by {@link formatEtag}. One pair of quotes and a `W/`
 * prefix are tolerated, since ETags often travel in headers.
 *
 * @param etag - an ETag such as `AAAAAAAAAAE=` or `"AAAAAAAAAAE="`
 * @returns the counter, or `undefined` when the text is not a canonical 8-byte ETag within the safe-integer range
 * @example
 * ```ts
 * parseEtag('"AAAAAAAAAAY="'); // → 6
 * ```
 */
export function parseEtag(etag: string): number | undefined {
  const text = stripEtagDecoration(etag.trim()).value;
  if (text.length !== 12) return undefined;
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return undefined;
  }
  if (binary.length !== 8) return undefined;
  let high = 0;
  let low = 0;
  for (let index = 0; index < 4; index++) {
    high = high * 256 + binary.charCodeAt(index);
    low = low * 256 + binary.charCodeAt(index + 4);
  }
  const counter = high * TWO_TO_THE_32 + low;
  if (!Number.isSafeInteger(counter)) return undefined;
  // atob accepts non-canonical padding bits and whitespace; only the exact form is an ETag.
  return formatEtag(counter) === text ? counter : undefined;
}

/**
 * Decides whether an `If-Match` header lets a write through (docs/internals/wire-contract.md#etags-and-if-match):
 * absent, empty, `*` or `"*"` always pass; otherwise one pair of quotes and a `W/` prefix are
 * stripped and the value must equal the current ETag. A comma-separated list passes when any
 * member matches.
 *
 * @param ifMatch - the header value, or `null`/`undefined` when absent
 * @param currentEtag - the twin's current ETag (quotes are ignored)
 * @param mode - `strict` (default) or `ignore-unquoted`, where unquoted values are not checked
 * @returns `true` when the write may proceed, `false` for a 412
 * @example
 * ```ts
 * ifMatchSatisfied('"AAAAAAAAAAU="', 'AAAAAAAAAAY='); // → false: answer 412 PreconditionFailed
 * ```
 * @see docs/internals/twin-semantics.md#etags-and-concurrency
 */
export function ifMatchSatisfied(
  ifMatch: string | null | undefined,
  currentEtag: string,
  mode: IfMatchMode = 'strict',
): boolean {
  if (ifMatch === null || ifMatch === undefined || ifMatch.trim() === '') return true;
  const current = stripEtagDecoration(currentEtag.trim()).value;
  return ifMatch.split(',').some((member) => {
    const text = member.trim();
    if (text === '') return false;
    const { value, quoted } = stripEtagDecoration(text);
    if (value === '*') return true;
    if (!quoted && mode === 'ignore-unquoted') return true;
    return value === current;
  });
}

function stripEtagDecoration(text: string): { value: string; quoted: boolean } {
  const bare = text.startsWith('W/') ? text.slice(2) : text;
  if (bare.length >= 2 && bare.startsWith('"') && bare.endsWith('"')) {
    return { value: bare.slice(1, -1), quoted: true };
  }
  return { value: bare, quoted: false };
}

/**
 * The desired-version gate (docs/internals/twin-semantics.md#desired-notifications): compares a notification's `$version` with the
 * last version the device applied.
 *
 * @param lastSeen - the last desired `$version` applied (from a GET or a notification), or `undefined` if none yet
 * @param incoming - the `$version` of the notification that arrived
 * @returns `apply` for `lastSeen + 1` (or when nothing was seen), `duplicate` for `lastSeen`,
 *   `stale` for anything older, `gap` when versions were skipped
 * @throws {@link RangeError} when either version is not an integer
 * @example
 * ```ts
 * checkDesiredVersion(5, 7); // → 'gap': re-read the twin, then report diff(old, new)
 * ```
 */
export function checkDesiredVersion(
  lastSeen: number | undefined,
  incoming: number,
): DesiredVersionVerdict {
  if (!Number.isInteger(incoming)) {
    throw new RangeError(`A desired $version must be an integer, got ${String(incoming)}.`);
  }
  if (lastSeen === undefined) return 'apply';
  if (!Number.isInteger(lastSeen)) {
    throw new RangeError(
      `The last seen desired $version must be an integer, got ${String(lastSeen)}.`,
    );
  }
  if (incoming === lastSeen + 1) return 'apply';
  if (incoming === lastSeen) return 'duplicate';
  return incoming < lastSeen ? 'stale' : 'gap';
}
