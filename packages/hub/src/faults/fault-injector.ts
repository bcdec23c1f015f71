/**
 * Fault injection: make the next N requests of an operation fail with a chosen status, or wait
 * before being answered. Drives the retry, throttling and timeout paths of client tests without
 * mocks (docs/internals/architecture.md#testing).
 */
import type { RestFaultName } from '@twinkit/twin-model/protocol';

/**
 * Operations faults can target. REST: the fault names of twin-model's `REST_OPERATIONS`
 * (`getTwin`, `updateTwin` (PATCH), `replaceTwin` (PUT), `query`, `bulk`, `device` for identity
 * CRUD and lists, modules included). Protocol endpoints add their own names (for example
 * `deviceGetTwin`); `'*'` matches every operation.
 */
export type HubOperation = RestFaultName | '*' | (string & {});

/** Options of {@link HubFaults.failNext}. */
export interface FailNextOptions {
  /** Which operation fails; default `'*'` (the next request of any kind). */
  operation?: HubOperation;
  /** HTTP status to answer with, e.g. 429 or 503. */
  statusCode: number;
  /** IoT Hub error code; default derived from the status (`ThrottlingException` for 429, …). */
  code?: string;
  /** How many requests fail; default 1. */
  times?: number;
  /** Sets `Retry-After` (seconds) on the failure, as a throttled hub does. */
  retryAfterInSeconds?: number;
  /** Text of the error body; default names it as an injected fault. */
  message?: string;
}

/** Options of {@link HubFaults.delayNext}. */
export interface DelayNextOptions {
  /** Which operation is delayed; default `'*'`. */
  operation?: HubOperation;
  /** How long to wait before handling the request. */
  delayInMs: number;
  /** How many requests are delayed; default 1. */
  times?: number;
}

/** A failure the pipeline must answer with instead of handling the request. */
export interface InjectedFailure {
  statusCode: number;
  code?: string;
  retryAfterInSeconds?: number;
  message: string;
}

/** Fault injection controls of a hub (`hub.faults`). */
export interface HubFaults {
  /**
   * Makes the next request(s) of an operation fail.
   *
   * @param options - operation, status, code, count and optional `Retry-After`
   * @example
   * ```ts
   * hub.faults.failNext({ operation: 'updateTwin', statusCode: 429, retryAfterInSeconds: 1 });
   * ```
   */
  failNext(options: FailNextOptions): void;
  /**
   * Makes the next request(s) of an operation wait before being handled.
   *
   * @param options - operation, delay and count
   */
  delayNext(options: DelayNextOptions): void;
  /** Removes every pending fault. */
  clear(): void;
}

interface Armed<T> {
  operation: HubOperation;
  remaining: number;
  value: T;
}

/**
 * The fault injector behind `hub.faults`.
 *
 * @internal
 */
export class FaultInjector implements HubFaults {
  #failures: Armed<InjectedFailure>[] = [];
  #delays: Armed<number>[] = [];

  failNext(options: FailNextOptions): void {
    if (
      !Number.isInteger(options.statusCode) ||
      options.statusCode < 400 ||
      options.statusCode > 599
    ) {
      throw new RangeError(
        `failNext needs an HTTP error status (400-599), got ${String(options.statusCode)}.`,
      );
    }
    const failure: InjectedFailure = {
      statusCode: options.statusCode,
      message:
        options.message ??
        `Injected fault (hub.faults.failNext) for operation '${options.operation ?? '*'}'.`,
    };
    if (options.code !== undefined) failure.code = options.code;
    if (options.retryAfterInSeconds !== undefined)
      failure.retryAfterInSeconds = options.retryAfterInSeconds;
    this.#failures.push({
      operation: options.operation ?? '*',
      remaining: count(options.times),
      value: failure,
    });
  }

  delayNext(options: DelayNextOptions): void {
    if (!Number.isFinite(options.delayInMs) || options.delayInMs < 0) {
      throw new RangeError(
        `delayNext needs a non-negative delayInMs, got ${String(options.delayInMs)}.`,
      );
    }
    this.#delays.push({
      operation: options.operation ?? '*',
      remaining: count(options.times),
      value: options.delayInMs,
    });
  }

  clear(): void {
    this.#failures = [];
    this.#delays = [];
  }

  /**
   * Applies armed faults to one request of an operation: waits for a matching delay, then
   * returns a matching failure (consuming one use of each), or `undefined` to proceed.
   *
   * @param operation - the operation being handled
   */
  async apply(operation: string): Promise<InjectedFailure | undefined> {
    const delayInMs = take(this.#delays, operation);
    if (delayInMs !== undefined && delayInMs > 0) {
      // The global timer (not timers/promises) so tests can drive it with fake timers.
      await new Promise<void>((resolve) => setTimeout(resolve, delayInMs));
    }
    return take(this.#failures, operation);
  }
}

function count(times: number | undefined): number {
  if (times === undefined) return 1;
  if (!Number.isInteger(times) || times < 1)
    throw new RangeError(`times must be a positive integer, got ${String(times)}.`);
  return times;
}

function take<T>(list: Armed<T>[], operation: string): T | undefined {
  const index = list.findIndex((armed) => armed.operation === operation || armed.operation === '*');
  if (index === -1) return undefined;
  const armed = list[index];
  if (armed === undefined) return undefined;
  armed.remaining -= 1;
  if (armed.remaining <= 0) list.splice(index, 1);
  return armed.value;
}
