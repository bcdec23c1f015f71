/** Fields a {@link HubError} is built from. */
export interface HubErrorOptions {
  statusCode: number;
  code: string;
  requestId?: string | undefined;
  deviceId?: string | undefined;
  moduleId?: string | undefined;
  retryable?: boolean | undefined;
  /** How long the hub asked callers to wait (from `Retry-After`), when it said. */
  retryAfterInMs?: number | undefined;
  /** The hub's own text, as the wire carried it (see {@link HubError.wireMessage}). */
  wireMessage?: string | undefined;
  cause?: unknown;
}

/** The `name` of every {@link HubError} class, so `switch (error.name)` is checked by the compiler. */
export type HubErrorName =
  | 'HubError'
  | 'BadRequestError'
  | 'UnauthorizedError'
  | 'QuotaExceededError'
  | 'NotFoundError'
  | 'DeviceNotFoundError'
  | 'ModuleNotFoundError'
  | 'ConflictError'
  | 'PreconditionFailedError'
  | 'PayloadTooLargeError'
  | 'ThrottledError'
  | 'ServiceUnavailableError';

/**
 * The hub answered with a failure. The same class reaches the device side (twin response
 * status) and the service side (HTTP status), so one `catch` handles both.
 *
 * @example
 * ```ts
 * try { await registry.updateTwin(twin, patch, { onlyIfUnchanged: true }) }
 * catch (e) { if (isPreconditionFailedError(e)) { ...re-read and retry... } }
 * ```
 */
export class HubError extends Error {
  override readonly name: HubErrorName = 'HubError';
  /** HTTP status, or the status of the twin response topic / AMQP annotation. */
  readonly statusCode: number;
  /** Hub error code, e.g. `PreconditionFailed` (see `KnownHubErrorCode`). */
  readonly code: string;
  readonly requestId: string | undefined;
  readonly deviceId: string | undefined;
  readonly moduleId: string | undefined;
  /** Whether the same request may succeed if sent again later. */
  readonly retryable: boolean;
  readonly retryAfterInMs: number | undefined;
  /**
   * The failure text exactly as the hub wrote it on the wire (the part after `ErrorCode:<code>;`
   * of a REST body, or a device error body's `message`), without the advice that `message` adds
   * for developers. `undefined` when the hub sent no text. The local hub writes it back verbatim.
   */
  readonly wireMessage: string | undefined;

  constructor(message: string, options: HubErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.statusCode = options.statusCode;
    this.code = options.code;
    this.requestId = options.requestId;
    this.deviceId = options.deviceId;
    this.moduleId = options.moduleId;
    this.retryable = options.retryable ?? false;
    this.retryAfterInMs = options.retryAfterInMs;
    this.wireMessage = options.wireMessage;
  }
}
