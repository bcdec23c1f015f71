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

/** A twin section or patch broke the rules of twin-semantics §5; nothing was sent or applied. */
export class TwinValidationError extends Error {
  override readonly name = 'TwinValidationError';
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
  override readonly name = 'QuerySyntaxError';
  /** Zero-based character offset in the query text where the problem was found. */
  readonly position: number;

  constructor(message: string, position: number) {
    super(`${message} (at position ${String(position)})`);
    this.position = position;
  }
}

/** The `name` of a {@link TransportError} or one of its subclasses. */
export type TransportErrorName = 'TransportError' | 'TlsTrustError' | 'ConnectionRefusedError';

/** Options of a {@link TransportError}. */
export interface TransportErrorOptions {
  cause?: unknown;
  /** Whether the same request may succeed if sent again later; default `true`. */
  retryable?: boolean;
}

/**
 * No answer came, or the connection was lost before one did. Retryable unless a subclass (or
 * the `retryable` option) says otherwise.
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
 * The TLS handshake failed because the server's certificate is not trusted: signed by a CA this
 * runtime does not know (a development CA, a self-signed certificate), expired or not yet
 * valid, or issued for another host name. Sending again cannot help, so it is never retryable;
 * trust the server's CA (for Node `NODE_EXTRA_CA_CERTS=<ca.pem>` or the client's `ca` option).
 */
export class TlsTrustError extends TransportError {
  override readonly name = 'TlsTrustError' as const;
  /** The TLS error code, e.g. `SELF_SIGNED_CERT_IN_CHAIN` or `ERR_TLS_CERT_ALTNAME_INVALID`. */
  readonly code: string;

  constructor(message: string, code: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: false });
    this.code = code;
  }
}

/**
 * Nothing listens on the host and port that were dialled (`ECONNREFUSED`), on a port the user
 * chose explicitly: most likely the wrong port, so it is not retryable. Check the port and that
 * the server listens on it.
 */
export class ConnectionRefusedError extends TransportError {
  override readonly name = 'ConnectionRefusedError' as const;
  /** The OS error code, `ECONNREFUSED`. */
  readonly code: string;
  /** `host:port` that refused the connection. */
  readonly address: string;

  constructor(message: string, address: string, options: { cause?: unknown; code?: string } = {}) {
    super(message, { cause: options.cause, retryable: false });
    this.code = options.code ?? 'ECONNREFUSED';
    this.address = address;
  }
}

/**
 * An answer came, but not one the protocol allows: for example a twin `$version` that is not a
 * non-negative integer, or a twin larger than IoT Hub's own size limits. The server is not the
 * hub the client was pointed at, or it misbehaves; the answer is not used and not retried.
 */
export class UnexpectedResponseError extends Error {
  override readonly name = 'UnexpectedResponseError' as const;
  /** The status of the response (HTTP, or the twin response status); `undefined` for a notification. */
  readonly statusCode: number | undefined;
  /** What the protocol allows there, e.g. `a $version that is a non-negative integer`. */
  readonly expected: string;

  constructor(message: string, statusCode: number | undefined, expected: string) {
    super(message);
    this.statusCode = statusCode;
    this.expected = expected;
  }
}

/** A correlated request got no answer within the client-side time limit. */
export class OperationTimeoutError extends Error {
  override readonly name = 'OperationTimeoutError';
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
  override readonly name = 'UnsupportedRuntimeError';
}
