/** One rule a twin section or patch broke, with where. */
export interface ValidationIssue {
  /** Dotted path of the offending key or value from the section root, e.g. `climate.hvac`. */
  path: string;
  /** Machine-readable rule name. */
  rule:
    | 'key-characters'
    | 'key-empty'
    | 'key-length'
    | 'string-length'
    | 'integer-range'
    | 'number-finite'
    | 'depth'
    | 'section-size'
    | 'null-in-array'
    | 'null-in-replace'
    | 'not-an-object'
    | 'value-type';
  /** What is wrong, in the hub's words where the hub has words for it. */
  message: string;
}

/** A twin section or patch broke the rules of docs/internals/twin-semantics.md#limits; nothing was sent or applied. */
export class TwinValidationError extends Error {
  override readonly name = 'TwinValidationError' as const;
  /** Every problem found, not just the first. */
  readonly issues: readonly ValidationIssue[];

  constructor(issues: readonly ValidationIssue[], context?: string) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${String(issues.length - 1)} more)` : '';
    super(`${context ? `${context}: ` : ''}${first ? first.message : 'invalid twin'}${more}`);
    this.issues = issues;
  }
}

/** A query did not parse or uses something twin queries do not support. */
export class QuerySyntaxError extends Error {
  override readonly name = 'QuerySyntaxError' as const;
  /** Zero-based character offset in the query text where the problem was found. */
  readonly position: number;

  constructor(message: string, position: number) {
    super(`${message} (at position ${String(position)})`);
    this.position = position;
  }
}

/** The `name` of {@link TransportError} and its subclasses. */
export type TransportErrorName = 'TransportError' | 'TlsTrustError' | 'ConnectionRefusedError';

/** Options of {@link TransportError} and its subclasses. */
export interface TransportErrorOptions {
  cause?: unknown;
  /** Whether sending again may help; default `true`. */
  retryable?: boolean;
}

/**
 * No answer came, or the connection was lost before one did. Retryable unless a subclass says
 * otherwise: whether the request itself may be sent again is the client's call (see its docs).
 */
export class TransportError extends Error {
  override readonly name: TransportErrorName = 'TransportError';
  readonly retryable: boolean;

  constructor(message: string, options: TransportErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable ?? true;
  }
}

/**
 * The TLS handshake failed because the server's certificate is not trusted (unknown or
 * self-signed CA, expired, or issued for another host name). Retrying cannot help, so clients
 * raise it at once; the message says how to trust the CA. `code` is the TLS error code, such as
 * `SELF_SIGNED_CERT_IN_CHAIN` or `ERR_TLS_CERT_ALTNAME_INVALID`.
 */
export class TlsTrustError extends TransportError {
  override readonly name = 'TlsTrustError' as const;
  readonly code: string;

  constructor(message: string, code: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: false });
    this.code = code;
  }
}

/**
 * Nothing listens on the host and port dialled (`ECONNREFUSED`). When the port was given
 * explicitly it is most likely wrong, so clients raise this at once (not retryable, the default);
 * on a default port a restarting server may come back, and a client may pass `retryable: true`.
 */
export class ConnectionRefusedError extends TransportError {
  override readonly name = 'ConnectionRefusedError' as const;
  /** The OS error code, `ECONNREFUSED`. */
  readonly code: string;
  /** `host:port` that refused. */
  readonly address: string;

  constructor(
    message: string,
    address: string,
    options: { cause?: unknown; code?: string; retryable?: boolean } = {},
  ) {
    super(message, { cause: options.cause, retryable: options.retryable ?? false });
    this.code = options.code ?? 'ECONNREFUSED';
    this.address = address;
  }
}

/**
 * An answer came, but not the one the protocol allows: a redirect, or a body that is not the
 * twin, page or identity the call expects (for example `[]`, `null` or a string instead of a
 * twin), or a query that repeats its continuation token. The server is not the hub the client
 * was pointed at, or it misbehaves; nothing is retried or followed.
 */
export class UnexpectedResponseError extends Error {
  override readonly name = 'UnexpectedResponseError' as const;
  /** The status of the response (HTTP, or a twin response's); `undefined` for a notification. */
  readonly statusCode: number | undefined;
  /** What the call expected, e.g. `a twin` or `a JSON array of query results`. */
  readonly expected: string;

  constructor(message: string, statusCode: number | undefined, expected: string) {
    super(message);
    this.statusCode = statusCode;
    this.expected = expected;
  }
}

/** A correlated request got no answer within the client-side time limit. */
export class OperationTimeoutError extends Error {
  override readonly name = 'OperationTimeoutError' as const;
  readonly operation: string;
  readonly timeoutInMs: number;

  constructor(operation: string, timeoutInMs: number) {
    super(`${operation} got no answer within ${String(timeoutInMs)} ms`);
    this.operation = operation;
    this.timeoutInMs = timeoutInMs;
  }
}

/** The feature needs a runtime this code is not running on (for example AMQP outside Node). */
export class UnsupportedRuntimeError extends Error {
  override readonly name = 'UnsupportedRuntimeError' as const;
}
