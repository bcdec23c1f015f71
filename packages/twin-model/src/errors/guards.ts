import type { HubError } from './hub-error.js';
import type {
  BadRequestError,
  ConflictError,
  DeviceNotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  QuotaExceededError,
  ServiceUnavailableError,
  ThrottledError,
  UnauthorizedError,
} from './hub-errors.js';
import type {
  ConnectionRefusedError,
  OperationTimeoutError,
  QuerySyntaxError,
  TlsTrustError,
  TransportError,
  TransportErrorName,
  TwinValidationError,
  UnexpectedResponseError,
  UnsupportedRuntimeError,
} from './local-errors.js';

const hubErrorNames = new Set([
  'HubError',
  'BadRequestError',
  'UnauthorizedError',
  'QuotaExceededError',
  'DeviceNotFoundError',
  'ConflictError',
  'PreconditionFailedError',
  'PayloadTooLargeError',
  'ThrottledError',
  'ServiceUnavailableError',
]);

function hasName(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}

/**
 * Whether `error` is a {@link HubError} of any kind. Checks the `name` rather than the prototype,
 * so it works across realms and duplicate installs of the package.
 */
export function isHubError(error: unknown): error is HubError {
  return (
    error instanceof Error &&
    hubErrorNames.has(error.name) &&
    typeof (error as Partial<HubError>).statusCode === 'number'
  );
}

/** Whether `error` is a {@link BadRequestError} (400). */
export const isBadRequestError = (error: unknown): error is BadRequestError =>
  hasName(error, 'BadRequestError');
/** Whether `error` is an {@link UnauthorizedError} (401). */
export const isUnauthorizedError = (error: unknown): error is UnauthorizedError =>
  hasName(error, 'UnauthorizedError');
/** Whether `error` is a {@link QuotaExceededError} (403). */
export const isQuotaExceededError = (error: unknown): error is QuotaExceededError =>
  hasName(error, 'QuotaExceededError');
/** Whether `error` is a {@link DeviceNotFoundError} (404). */
export const isDeviceNotFoundError = (error: unknown): error is DeviceNotFoundError =>
  hasName(error, 'DeviceNotFoundError');
/** Whether `error` is a {@link ConflictError} (409). */
export const isConflictError = (error: unknown): error is ConflictError =>
  hasName(error, 'ConflictError');
/** Whether `error` is a {@link PreconditionFailedError} (412, stale ETag or version). */
export const isPreconditionFailedError = (error: unknown): error is PreconditionFailedError =>
  hasName(error, 'PreconditionFailedError');
/** Whether `error` is a {@link PayloadTooLargeError} (413). */
export const isPayloadTooLargeError = (error: unknown): error is PayloadTooLargeError =>
  hasName(error, 'PayloadTooLargeError');
/** Whether `error` is a {@link ThrottledError} (429). */
export const isThrottledError = (error: unknown): error is ThrottledError =>
  hasName(error, 'ThrottledError');
/** Whether `error` is a {@link ServiceUnavailableError} (5xx). */
export const isServiceUnavailableError = (error: unknown): error is ServiceUnavailableError =>
  hasName(error, 'ServiceUnavailableError');
/** Whether `error` is a {@link TwinValidationError}. */
export const isTwinValidationError = (error: unknown): error is TwinValidationError =>
  hasName(error, 'TwinValidationError');
/** Whether `error` is a {@link QuerySyntaxError}. */
export const isQuerySyntaxError = (error: unknown): error is QuerySyntaxError =>
  hasName(error, 'QuerySyntaxError');
const transportErrorNames: ReadonlySet<string> = new Set<TransportErrorName>([
  'TransportError',
  'TlsTrustError',
  'ConnectionRefusedError',
]);

/** Whether `error` is a {@link TransportError}, including a {@link TlsTrustError} or {@link ConnectionRefusedError}. */
export const isTransportError = (error: unknown): error is TransportError =>
  error instanceof Error && transportErrorNames.has(error.name);
/** Whether `error` is a {@link TlsTrustError} (the server's certificate is not trusted; never retryable). */
export const isTlsTrustError = (error: unknown): error is TlsTrustError =>
  hasName(error, 'TlsTrustError');
/** Whether `error` is a {@link ConnectionRefusedError} (nothing listens on an explicitly given port). */
export const isConnectionRefusedError = (error: unknown): error is ConnectionRefusedError =>
  hasName(error, 'ConnectionRefusedError');
/** Whether `error` is an {@link UnexpectedResponseError} (an answer the protocol does not allow). */
export const isUnexpectedResponseError = (error: unknown): error is UnexpectedResponseError =>
  hasName(error, 'UnexpectedResponseError');
/** Whether `error` is an {@link OperationTimeoutError}. */
export const isOperationTimeoutError = (error: unknown): error is OperationTimeoutError =>
  hasName(error, 'OperationTimeoutError');
/** Whether `error` is an {@link UnsupportedRuntimeError}. */
export const isUnsupportedRuntimeError = (error: unknown): error is UnsupportedRuntimeError =>
  hasName(error, 'UnsupportedRuntimeError');

/**
 * Whether retrying the failed operation may help: retryable hub errors (429, 5xx), transport
 * failures and client-side timeouts.
 */
export function isRetryableError(error: unknown): boolean {
  if (isHubError(error)) return error.retryable;
  if (isTransportError(error)) return error.retryable;
  return isOperationTimeoutError(error);
}
