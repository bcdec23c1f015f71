/**
 * Request/response correlation for the device transports (the MQTT `$rid`, the AMQP
 * correlation-id and CBS message-id): each request gets an id, a deadline and an abort hook;
 * whatever happens first (response, timeout, abort, connection loss) settles it and releases the
 * entry, so nothing ever waits forever (peers.md row 7; azure-iot-sdk-node#563).
 *
 * @internal
 */
import { OperationTimeoutError } from '@twinkit/twin-model/errors';

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
  cleanup: () => void;
}

/** Options of one tracked request. */
export interface TrackOptions {
  /** The deadline; it rejects with `OperationTimeoutError`. */
  timeoutInMs: number;
  /** Rejects with `abortSignal.reason` unchanged. */
  abortSignal?: AbortSignal | undefined;
}

/**
 * Correlates requests and responses by request id.
 *
 * @internal
 */
export class RequestTracker<T> {
  readonly #pending = new Map<string, Pending<T>>();
  readonly #idle = new Set<() => void>();
  #counter = 0;

  /** How many requests wait for an answer. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Registers a request.
   *
   * @param operation - for the timeout message
   * @param options - deadline and signal
   * @returns the request id to put in the request (topic `$rid`, AMQP id), and the response promise
   */
  start(operation: string, options: TrackOptions): { rid: string; response: Promise<T> } {
    // Decimal ids suit every hub and SDK convention (the C SDK parses rids as numbers, docs/internals/wire-contract.md#mqtt-topics).
    this.#counter = (this.#counter % 2_000_000_000) + 1;
    const rid = String(this.#counter);
    const signal = options.abortSignal;
    const response = new Promise<T>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason as Error);
        return;
      }
      const timer = setTimeout(() => {
        this.fail(rid, new OperationTimeoutError(operation, options.timeoutInMs));
      }, options.timeoutInMs);
      const onAbort = (): void => {
        this.fail(rid, signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(rid, {
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      });
    });
    return { rid, response };
  }

  /**
   * Settles a request with its response.
   *
   * @param rid - the request id the response carries
   * @param value - the response
   * @returns whether a request was waiting for it
   */
  resolve(rid: string, value: T): boolean {
    const pending = this.#take(rid);
    pending?.resolve(value);
    return pending !== undefined;
  }

  /**
   * Fails one request.
   *
   * @param rid - the request id
   * @param error - the rejection reason
   */
  fail(rid: string, error: unknown): void {
    this.#take(rid)?.reject(error);
  }

  /**
   * Fails every request (the connection dropped).
   *
   * @param error - the rejection reason
   */
  failAll(error: unknown): void {
    for (const rid of [...this.#pending.keys()]) this.fail(rid, error);
  }

  /**
   * Resolves when no request is pending, or after `timeoutInMs`.
   *
   * @param timeoutInMs - the longest wait
   */
  whenIdle(timeoutInMs: number): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#idle.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutInMs);
      this.#idle.add(done);
    });
  }

  #take(rid: string): Pending<T> | undefined {
    const pending = this.#pending.get(rid);
    if (pending === undefined) return undefined;
    this.#pending.delete(rid);
    pending.cleanup();
    if (this.#pending.size === 0) for (const done of [...this.#idle]) done();
    return pending;
  }
}
