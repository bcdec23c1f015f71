/**
 * Cancellation helpers: one signal per operation that combines the caller's `abortSignal` with the
 * client's default timeout (house-style 4.5.4), and races that keep working even when the injected
 * `fetch` ignores signals (an in-process handler such as `hub.fetch` usually does).
 */
import { OperationTimeoutError } from '@twinkit/twin-model/errors';

/** A signal for one operation plus the cleanup that releases its timer and listener. */
export interface OperationScope {
  readonly signal: AbortSignal;
  /** Clears the timeout and detaches from the caller's signal; call once the operation settles. */
  dispose(): void;
}

/**
 * Builds the signal an operation runs under. It aborts with the caller's own `reason` when the
 * caller aborts, and with an {@link OperationTimeoutError} when `timeoutInMs` elapses.
 *
 * @param operation - what is running, for the timeout message (e.g. `getTwin`)
 * @param timeoutInMs - the time limit; `0` or `Infinity` means none
 * @param callerSignal - the caller's `abortSignal`, if any
 * @returns the combined signal and its cleanup
 */
export function createOperationScope(
  operation: string,
  timeoutInMs: number,
  callerSignal: AbortSignal | undefined,
): OperationScope {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onCallerAbort = (): void => {
    controller.abort(callerSignal?.reason);
  };
  if (callerSignal?.aborted) {
    controller.abort(callerSignal.reason);
  } else {
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    if (timeoutInMs > 0 && Number.isFinite(timeoutInMs)) {
      timer = setTimeout(() => {
        controller.abort(new OperationTimeoutError(operation, timeoutInMs));
      }, timeoutInMs);
    }
  }
  return {
    signal: controller.signal,
    dispose() {
      if (timer !== undefined) clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    },
  };
}

/**
 * Settles with `promise`, or rejects with `signal.reason` as soon as `signal` aborts, whichever
 * comes first. The losing promise's rejection is swallowed so it never surfaces as unhandled.
 *
 * @param promise - the work to wait for
 * @param signal - the operation's signal
 * @returns the promise's value
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
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
 * @param signal - the operation's signal
 */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
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
