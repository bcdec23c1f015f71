/**
 * IoT Hub's error vocabulary: each known code with its HTTP status, its numeric form (as device
 * transports see it in `errorCode`) and whether retrying can help.
 *
 * @see docs/internals/wire-contract.md#device-errors, docs/internals/wire-contract.md#rest-errors and docs/internals/twin-semantics.md#validation-errors
 */

/**
 * Every code the vocabulary knows, with its six-digit form; the HTTP status is the first three
 * digits, and the first code of each status is that status's default. One table, so the
 * names, numbers and defaults cannot disagree (and a client bundle carries each name once).
 */
export const KNOWN_HUB_ERROR_CODES = /* @__PURE__ */ Object.freeze([
  ['ArgumentInvalid', 400004],
  ['ArgumentNull', 400005],
  ['IotHubFormatError', 400006],
  ['InvalidProtocolVersion', 400001],
  ['IotHubUnauthorizedAccess', 401002],
  ['IotHubUnauthorized', 401001],
  ['IotHubQuotaExceeded', 403002],
  ['DeviceNotFound', 404001],
  ['IotHubNotFound', 404002],
  ['ModuleNotFound', 404010],
  ['DeviceAlreadyExists', 409001],
  ['ModuleAlreadyExistsOnDevice', 409301],
  ['PreconditionFailed', 412001],
  ['MessageTooLarge', 413001],
  ['ThrottlingException', 429001],
  ['DeviceThrottlingLimitExceeded', 429005],
  ['ServerError', 500001],
  ['ServiceUnavailable', 503001],
  ['GatewayTimeout', 504101],
] as const);

/** The name of a code {@link KnownHubErrorCode} knows. */
export type KnownHubErrorCodeName = (typeof KNOWN_HUB_ERROR_CODES)[number][0];

/** Known IoT Hub error codes, by name. Extensible: the hub may send others. */
export const KnownHubErrorCode: Readonly<{ [K in KnownHubErrorCodeName]: K }> =
  /* @__PURE__ */ (() =>
    Object.freeze(
      Object.fromEntries(KNOWN_HUB_ERROR_CODES.map(([code]) => [code, code])) as {
        [K in KnownHubErrorCodeName]: K;
      },
    ))();

/** A hub error code: one of {@link KnownHubErrorCode} or any other string the hub sends. */
export type HubErrorCode = KnownHubErrorCodeName | (string & {});

/** What the vocabulary knows about one code. */
export interface HubErrorCodeInfo {
  readonly code: string;
  readonly statusCode: number;
  /** The six-digit form used in device-side error bodies (`{"errorCode":400004}`). */
  readonly numericCode: number;
  readonly retryable: boolean;
}

const entries: readonly HubErrorCodeInfo[] = KNOWN_HUB_ERROR_CODES.map(([code, numericCode]) => {
  const statusCode = Math.floor(numericCode / 1000);
  return { code, statusCode, numericCode, retryable: isRetryableStatus(statusCode) };
});

const byCode = new Map(entries.map((entry) => [entry.code.toLowerCase(), entry]));
const byNumber = new Map(entries.map((entry) => [entry.numericCode, entry]));
/** The code each HTTP status falls back to when the hub names none: its first in the table. */
const defaultCodeByStatus = new Map<number, string>();
for (const entry of entries)
  if (!defaultCodeByStatus.has(entry.statusCode))
    defaultCodeByStatus.set(entry.statusCode, entry.code);

/**
 * Looks up a code by name (case-insensitive) or by its numeric form.
 *
 * @param code - a name such as `PreconditionFailed`, or a number such as `412001`
 * @returns the code's entry, or `undefined` when the vocabulary does not know it
 */
export function lookupHubErrorCode(code: string | number): HubErrorCodeInfo | undefined {
  if (typeof code === 'number') return byNumber.get(code);
  if (/^\d{6}$/.test(code)) return byNumber.get(Number(code));
  return byCode.get(code.toLowerCase());
}

/**
 * The code to use for an HTTP status when the hub gave none.
 *
 * @param statusCode - an HTTP status
 * @returns a code name; `ServerError` for unknown 5xx and `ArgumentInvalid` for unknown 4xx
 */
export function defaultHubErrorCode(statusCode: number): string {
  return (
    defaultCodeByStatus.get(statusCode) ?? (statusCode >= 500 ? 'ServerError' : 'ArgumentInvalid')
  );
}

/**
 * Whether a failure with this status is worth retrying: throttling and server-side trouble.
 *
 * @param statusCode - an HTTP status (or twin response status)
 */
export function isRetryableStatus(statusCode: number): boolean {
  return statusCode === 408 || statusCode === 429 || statusCode >= 500;
}
