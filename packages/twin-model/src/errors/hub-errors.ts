import { HubError } from './hub-error.js';

/** 400: the request was malformed or a twin patch broke a rule. Fix the input. */
export class BadRequestError extends HubError {
  override readonly name = 'BadRequestError';
}

/** 401: the credential was rejected or expired. Refresh or replace it. */
export class UnauthorizedError extends HubError {
  override readonly name = 'UnauthorizedError';
}

/** 403: a hub quota was exceeded (for example the daily message quota). */
export class QuotaExceededError extends HubError {
  override readonly name = 'QuotaExceededError';
}

/** 404: the device or module does not exist (`code` tells which). Provision it. */
export class DeviceNotFoundError extends HubError {
  override readonly name = 'DeviceNotFoundError';
}

/** 409: the identity already exists. Reconcile. */
export class ConflictError extends HubError {
  override readonly name = 'ConflictError';
}

/** 412: the ETag or version was stale. Re-read, merge, retry with the new ETag. */
export class PreconditionFailedError extends HubError {
  override readonly name = 'PreconditionFailedError';
}

/** 413: the payload is too large. Shrink it. */
export class PayloadTooLargeError extends HubError {
  override readonly name = 'PayloadTooLargeError';
}

/** 429: throttled. Back off (see `retryAfterInMs`) and retry. */
export class ThrottledError extends HubError {
  override readonly name = 'ThrottledError';
}

/** 5xx: the hub had trouble. Back off and retry. */
export class ServiceUnavailableError extends HubError {
  override readonly name = 'ServiceUnavailableError';
}
