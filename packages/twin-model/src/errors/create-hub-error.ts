import { defaultHubErrorCode, isRetryableStatus, lookupHubErrorCode } from './codes.js';
import { HubError } from './hub-error.js';
import {
  BadRequestError,
  ConflictError,
  DeviceNotFoundError,
  ModuleNotFoundError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  QuotaExceededError,
  ServiceUnavailableError,
  ThrottledError,
  UnauthorizedError,
} from './hub-errors.js';

/** What is known about a failed hub response. */
export interface CreateHubErrorInput {
  statusCode: number;
  /** Hub code by name or number; derived from the status when absent. */
  code?: string | number | undefined;
  /** The hub's own text; a default that says what to do is used when absent. */
  message?: string | undefined;
  requestId?: string | undefined;
  deviceId?: string | undefined;
  moduleId?: string | undefined;
  /** What was being attempted, e.g. `Twin update`; starts the message. */
  operation?: string | undefined;
  retryAfterInMs?: number | undefined;
  cause?: unknown;
}

type HubErrorClass = new (
  message: string,
  options: ConstructorParameters<typeof HubError>[1],
) => HubError;

function classFor(statusCode: number, code: string): HubErrorClass {
  switch (statusCode) {
    case 400:
      return BadRequestError;
    case 401:
      return UnauthorizedError;
    case 403:
      return QuotaExceededError;
    case 404:
      // IoT Hub names what is missing in the code (404001 DeviceNotFound, 404010 ModuleNotFound);
      // any other 404 (an unknown route, IotHubNotFound) is not about a device at all.
      return code === 'DeviceNotFound'
        ? DeviceNotFoundError
        : code === 'ModuleNotFound'
          ? ModuleNotFoundError
          : NotFoundError;
    case 409:
      return ConflictError;
    case 412:
      return PreconditionFailedError;
    case 413:
      return PayloadTooLargeError;
    case 429:
      return ThrottledError;
    default:
      return statusCode >= 500 ? ServiceUnavailableError : HubError;
  }
}

const advice: Readonly<Record<number, string>> = {
  400: 'Fix the request and send it again.',
  401: 'Check the credential (key, token expiry, permissions) and retry with a valid one.',
  403: 'A hub quota was exceeded; wait for it to reset or raise the quota.',
  404: 'Check the id, or create the device/module first.',
  409: 'It already exists; read it instead of creating it.',
  412: 'The ETag or version is stale. Re-read the twin and retry with the new value.',
  413: 'Make the payload smaller.',
  429: 'The hub is throttling; back off and retry.',
};

function describeTarget(deviceId: string | undefined, moduleId: string | undefined): string {
  if (deviceId === undefined) return '';
  return moduleId === undefined
    ? ` for device '${deviceId}'`
    : ` for module '${deviceId}/${moduleId}'`;
}

/**
 * Maps a failed hub response to the right {@link HubError} subclass. Used by the service SDK
 * (HTTP), the device transports (twin response status) and, inversely, by the hub.
 *
 * @param input - status, code and context of the failure
 * @returns a `HubError` subclass chosen by status (412 gives `PreconditionFailedError`, and so on)
 *   and, for 404, by code: `DeviceNotFoundError`, `ModuleNotFoundError` or `NotFoundError`; its
 *   `wireMessage` is `input.message` as given
 * @example
 * ```ts
 * const error = createHubError({ statusCode: 412, code: 'PreconditionFailed', deviceId: 'dev-1' });
 * error instanceof PreconditionFailedError; // true
 * ```
 */
export function createHubError(input: CreateHubErrorInput): HubError {
  const known = input.code === undefined ? undefined : lookupHubErrorCode(input.code);
  const code =
    known?.code ??
    (typeof input.code === 'string' && input.code !== ''
      ? input.code
      : defaultHubErrorCode(input.statusCode));
  const target = describeTarget(input.deviceId, input.moduleId);
  const head = input.operation ? `${input.operation}${target} failed` : `Request${target} failed`;
  const rawText = input.message?.trim();
  // The advice follows as its own sentence, so the hub's text must end like one.
  const hubText = rawText && !/[.!?)]$/.test(rawText) ? `${rawText}.` : rawText;
  const tail = advice[input.statusCode] ?? (input.statusCode >= 500 ? 'Retry later.' : '');
  const message = `${head} (${String(input.statusCode)} ${code})${hubText ? `: ${hubText}` : '.'}${tail ? ` ${tail}` : ''}`;
  const ErrorClass = classFor(input.statusCode, code);
  return new ErrorClass(message, {
    statusCode: input.statusCode,
    code,
    requestId: input.requestId,
    deviceId: input.deviceId,
    moduleId: input.moduleId,
    retryable: known?.retryable ?? isRetryableStatus(input.statusCode),
    retryAfterInMs: input.retryAfterInMs,
    wireMessage: input.message,
    cause: input.cause,
  });
}
