/**
 * IoT Hub's error vocabulary: each known code with its HTTP status, its numeric form (as device
 * transports see it in `errorCode`) and whether retrying can help.
 *
 * @see ../../../../shared/spec/protocol.md §4.8, §6.2 and twin-semantics.md §5.5
 */

/** Known IoT Hub error codes, by name. Extensible: the hub may send others. */
export const KnownHubErrorCode = Object.freeze({
  ArgumentInvalid: 'ArgumentInvalid',
  ArgumentNull: 'ArgumentNull',
  IotHubFormatError: 'IotHubFormatError',
  InvalidProtocolVersion: 'InvalidProtocolVersion',
  IotHubUnauthorizedAccess: 'IotHubUnauthorizedAccess',
  IotHubUnauthorized: 'IotHubUnauthorized',
  IotHubQuotaExceeded: 'IotHubQuotaExceeded',
  DeviceNotFound: 'DeviceNotFound',
  ModuleNotFound: 'ModuleNotFound',
  IotHubNotFound: 'IotHubNotFound',
  DeviceAlreadyExists: 'DeviceAlreadyExists',
  ModuleAlreadyExistsOnDevice: 'ModuleAlreadyExistsOnDevice',
  PreconditionFailed: 'PreconditionFailed',
  MessageTooLarge: 'MessageTooLarge',
  ThrottlingException: 'ThrottlingException',
  DeviceThrottlingLimitExceeded: 'DeviceThrottlingLimitExceeded',
  ServerError: 'ServerError',
  ServiceUnavailable: 'ServiceUnavailable',
  GatewayTimeout: 'GatewayTimeout',
} as const);

/** A hub error code: one of {@link KnownHubErrorCode} or any other string the hub sends. */
export type HubErrorCode =
  (typeof KnownHubErrorCode)[keyof typeof KnownHubErrorCode] | (string & {});

/** What the vocabulary knows about one code. */
export interface HubErrorCodeInfo {
  readonly code: string;
  readonly statusCode: number;
  /** The six-digit form used in device-side error bodies (`{"errorCode":400004}`). */
  readonly numericCode: number;
  readonly retryable: boolean;
}

const entries: readonly HubErrorCodeInfo[] = [
  { code: 'ArgumentInvalid', statusCode: 400, numericCode: 400004, retryable: false },
  { code: 'ArgumentNull', statusCode: 400, numericCode: 400005, retryable: false },
  { code: 'IotHubFormatError', statusCode: 400, numericCode: 400006, retryable: false },
  { code: 'InvalidProtocolVersion', statusCode: 400, numericCode: 400001, retryable: false },
  { code: 'IotHubUnauthorized', statusCode: 401, numericCode: 401001, retryable: false },
  { code: 'IotHubUnauthorizedAccess', statusCode: 401, numericCode: 401002, retryable: false },
  { code: 'IotHubQuotaExceeded', statusCode: 403, numericCode: 403002, retryable: false },
  { code: 'DeviceNotFound', statusCode: 404, numericCode: 404001, retryable: false },
  { code: 'IotHubNotFound', statusCode: 404, numericCode: 404002, retryable: false },
  { code: 'ModuleNotFound', statusCode: 404, numericCode: 404010, retryable: false },
  { code: 'DeviceAlreadyExists', statusCode: 409, numericCode: 409001, retryable: false },
  { code: 'ModuleAlreadyExistsOnDevice', statusCode: 409, numericCode: 409301, retryable: false },
  { code: 'PreconditionFailed', statusCode: 412, numericCode: 412001, retryable: false },
  { code: 'MessageTooLarge', statusCode: 413, numericCode: 413001, retryable: false },
  { code: 'ThrottlingException', statusCode: 429, numericCode: 429001, retryable: true },
  { code: 'DeviceThrottlingLimitExceeded', statusCode: 429, numericCode: 429005, retryable: true },
  { code: 'ServerError', statusCode: 500, numericCode: 500001, retryable: true },
  { code: 'ServiceUnavailable', statusCode: 503, numericCode: 503001, retryable: true },
  { code: 'GatewayTimeout', statusCode: 504, numericCode: 504101, retryable: true },
];

const byCode = new Map(entries.map((entry) => [entry.code.toLowerCase(), entry]));
const byNumber = new Map(entries.map((entry) => [entry.numericCode, entry]));

/** The code each HTTP status falls back to when the hub names none. */
const defaultCodeByStatus: Readonly<Record<number, string>> = {
  400: 'ArgumentInvalid',
  401: 'IotHubUnauthorizedAccess',
  403: 'IotHubQuotaExceeded',
  404: 'DeviceNotFound',
  409: 'DeviceAlreadyExists',
  412: 'PreconditionFailed',
  413: 'MessageTooLarge',
  429: 'ThrottlingException',
  500: 'ServerError',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

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
  return defaultCodeByStatus[statusCode] ?? (statusCode >= 500 ? 'ServerError' : 'ArgumentInvalid');
}

/**
 * Whether a failure with this status is worth retrying: throttling and server-side trouble.
 *
 * @param statusCode - an HTTP status (or twin response status)
 */
export function isRetryableStatus(statusCode: number): boolean {
  return statusCode === 408 || statusCode === 429 || statusCode >= 500;
}
