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

/** No answer came, or the connection was lost before one did. Retryable. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  readonly retryable: boolean;

  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable ?? true;
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
