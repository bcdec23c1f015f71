import { HubError } from './hub-error.js';

/** 400: the request was malformed or a twin patch broke a rule. Fix the input. */
export class BadRequestError extends HubError {
  override readonly name = 'BadRequestError' as const;
}

/** 401: the credential was rejected or expired. Refresh or replace it. */
export class UnauthorizedError extends HubError {
  override readonly name = 'UnauthorizedError' as const;
}

/** 403: a hub quota was exceeded (for example the daily message quota). */
export class QuotaExceededError extends HubError {
  override readonly name = 'QuotaExceededError' as const;
}

/** 404 `DeviceNotFound`: the device does not exist. Check the id or create the device. */
export class DeviceNotFoundError extends HubError {
  override readonly name = 'DeviceNotFoundError' as const;
}

/** 404 `ModuleNotFound`: the device exists but the module does not. Create the module. */
export class ModuleNotFoundError extends HubError {
  override readonly name = 'ModuleNotFoundError' as const;
}

/**
 * 404 for anything but a missing device or module: an unknown route (a wrong host, path prefix or
 * api-version), or another not-found code such as `IotHubNotFound`. Check the endpoint.
 */
export class NotFoundError extends HubError {
  override readonly name = 'NotFoundError' as const;
}

/** 409: the identity already exists. Reconcile. */
export class ConflictError extends HubError {
  override readonly name = 'ConflictError' as const;
}

/** 412: the ETag or version was stale. Re-read, merge, retry with the new ETag. */
export class PreconditionFailedError extends HubError {
  override readonly name = 'PreconditionFailedError' as const;
}

/** 413: the payload is too large. Shrink it. */
export class PayloadTooLargeError extends HubError {
  override readonly name = 'PayloadTooLargeError' as const;
}

/** 429: throttled. Back off (see `retryAfterInMs`) and retry. */
export class ThrottledError extends HubError {
  override readonly name = 'ThrottledError' as const;
}

/** 5xx: the hub had trouble. Back off and retry. */
export class ServiceUnavailableError extends HubError {
  override readonly name = 'ServiceUnavailableError' as const;
}
