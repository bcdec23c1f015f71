/**
 * One error vocabulary for the device, the service and the hub: `HubError` and its subclasses,
 * the code table, `createHubError()`, error-body codecs, local errors and guards.
 * In `catch` blocks prefer the guards (`isPreconditionFailedError(e)`) over `instanceof`.
 *
 * @module @twinkit/twin-model/errors
 */
export {
  KnownHubErrorCode,
  defaultHubErrorCode,
  isRetryableStatus,
  lookupHubErrorCode,
  type HubErrorCode,
  type HubErrorCodeInfo,
} from './codes.js';
export { HubError, type HubErrorOptions } from './hub-error.js';
export {
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
export { createHubError, type CreateHubErrorInput } from './create-hub-error.js';
export {
  formatDeviceErrorBody,
  formatRestErrorBody,
  parseHubErrorBody,
  type ParsedHubErrorBody,
} from './error-body.js';
export {
  ConnectionRefusedError,
  OperationTimeoutError,
  QuerySyntaxError,
  TlsTrustError,
  TransportError,
  TwinValidationError,
  UnexpectedResponseError,
  UnsupportedRuntimeError,
  type TransportErrorName,
  type TransportErrorOptions,
  type ValidationIssue,
} from './local-errors.js';
export {
  isBadRequestError,
  isConflictError,
  isConnectionRefusedError,
  isDeviceNotFoundError,
  isHubError,
  isOperationTimeoutError,
  isPayloadTooLargeError,
  isPreconditionFailedError,
  isQuerySyntaxError,
  isQuotaExceededError,
  isRetryableError,
  isServiceUnavailableError,
  isThrottledError,
  isTlsTrustError,
  isTransportError,
  isTwinValidationError,
  isUnauthorizedError,
  isUnexpectedResponseError,
  isUnsupportedRuntimeError,
} from './guards.js';
