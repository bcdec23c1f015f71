/**
 * Cancellation helpers: at most one signal per operation, combining the caller's `abortSignal`
 * with the client's default timeout (house-style 4.5.4), and races that keep working even when
 * the injected `fetch` ignores signals (an in-process handler such as `hub.fetch` usually does).
 *
 * A signal costs real time on every call (an `AbortController`, and `fetch` following it), so
 * none is made when the call has neither a timeout nor a caller signal, and the caller's own
 * signal is used as is when there is no timeout. Everything below therefore accepts `undefined`
 * as "this call cannot be cancelled".
 */
import { OperationTimeoutError } from '@twinkit/twin-model/errors';

/** The signal an operation runs under, plus the cleanup that releases its timer and listener. */
export interface OperationScope {
  /** `undefined` when the operation has no timeout and the caller gave no signal. */
  readonly signal: AbortSignal | undefined;
  /** Clears the timeout and detaches from the caller's signal; call once the operation settles. */
  dispose(): void;
}

const noop = (): void => undefined;
const UNCANCELLABLE: OperationScope = { signal: undefined, dispose: noop };

/**
 * Builds the signal an operation runs under. It aborts with the caller's own `reason` when the
 * caller aborts, and with an {@link OperationTimeoutError} when `timeoutInMs` elapses.
 *
 * A timer and an `AbortController` are cheaper than `AbortSignal.timeout` plus `AbortSignal.any`
 * (whose timer cannot be cleared and lingers for the whole timeout after a fast call), and they
 * let the timeout's reason be an {@link OperationTimeoutError} directly.
 *
 * @param operation - what is running, for the timeout message (e.g. `getTwin`)
 * @param timeoutInMs - the time limit; `0` or `Infinity` means none
 * @param callerSignal - the caller's `abortSignal`, if any
 * @returns the signal (possibly the caller's own, possibly none) and its cleanup
 */
export function createOperationScope(
  operation: string,
  timeoutInMs: number,
  callerSignal: AbortSignal | undefined,
): OperationScope {
  const hasTimeout = timeoutInMs > 0 && Number.isFinite(timeoutInMs);
  if (!hasTimeout || callerSignal?.aborted === true) {
    // The caller's signal already aborts with the caller's reason; nothing to combine.
    return callerSignal === undefined ? UNCANCELLABLE : { signal: callerSignal, dispose: noop };
  }
  const controller = new AbortController();
  const onCallerAbort = (): void => {
    controller.abort(callerSignal?.reason);
  };
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  const timer = setTimeout(() => {
    controller.abort(new OperationTimeoutError(operation, timeoutInMs));
  }, timeoutInMs);
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    },
  };
}

/**
 * Settles with `promise`, or rejects with `signal.reason` as soon as `signal` aborts, whichever
 * comes first. The losing promise's rejection is swallowed so it never surfaces as unhandled.
 *
 * @param promise - the work to wait for
 * @param signal - the operation's signal; `undefined` means `promise` itself is returned
 * @returns the promise's value
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        // The rejection value is passed on untouched, whatever it is (abort reasons may be anything).
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(error);
      },
    );
  });
}

/**
 * Waits `ms` milliseconds, or rejects with `signal.reason` when `signal` aborts first.
 *
 * @param ms - how long to wait
 * @param signal - the operation's signal, if it has one
 */
export function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return new Promise<void>((resolve) => setTimeout(resolve, ms));
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
