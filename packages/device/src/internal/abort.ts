/**
 * Cancellation and deadline helpers shared by the client and the transports. Aborts reject with
 * `abortSignal.reason` unchanged (house-style 4.5.4); deadlines reject with
 * `OperationTimeoutError`.
 *
 * @internal
 */
import { OperationTimeoutError } from '@twinkit/twin-model/errors';

/**
 * Throws the signal's reason when it has already been aborted.
 *
 * @param signal - the caller's signal, if any
 * @throws the signal's `reason`, unchanged
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw signal.reason;
}

/**
 * Settles like `promise`, or rejects with `signal.reason` as soon as the signal aborts.
 *
 * @param promise - the work to wait for
 * @param signal - the caller's signal, if any
 * @returns what `promise` resolves to
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
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
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejection reasons pass through unchanged (house-style 4.5.4)
        reject(error);
      },
    );
  });
}

/**
 * Runs `work` with a signal that aborts when the caller's signal aborts or when `timeoutInMs`
 * passes, whichever comes first. The returned promise rejects with the caller's reason or with
 * an {@link OperationTimeoutError}; the inner signal carries the same reason so the work can
 * release what it holds (for example a request-tracker entry).
 *
 * @param operation - name used in the timeout message, e.g. `getTwin`
 * @param timeoutInMs - the deadline; `Infinity` or `0` for none
 * @param signal - the caller's signal, if any
 * @param work - the operation, which should honour the signal it receives
 * @returns what `work` resolves to
 */
export function withDeadline<T>(
  operation: string,
  timeoutInMs: number,
  signal: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = (): void => {
    controller.abort(signal?.reason);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (Number.isFinite(timeoutInMs) && timeoutInMs > 0) {
    timer = setTimeout(() => {
      controller.abort(new OperationTimeoutError(operation, timeoutInMs));
    }, timeoutInMs);
  }
  const cleanup = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  let inner: Promise<T>;
  try {
    inner = work(controller.signal);
  } catch (error) {
    cleanup();
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejection reasons pass through unchanged (house-style 4.5.4)
    return Promise.reject(error);
  }
  return abortable(inner, controller.signal).finally(cleanup);
}

/**
 * A promise that resolves after `delayInMs`, or rejects with the signal's reason on abort.
 *
 * @param delayInMs - how long to wait
 * @param signal - cancels the wait
 */
export function delay(delayInMs: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayInMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A signal that aborts when any of `signals` does, with that signal's reason.
 *
 * @param signals - the signals to follow; `undefined` entries are skipped
 * @returns the combined signal
 */
export function anySignal(signals: readonly (AbortSignal | undefined)[]): AbortSignal {
  const controller = new AbortController();
  const present = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  const aborted = present.find((signal) => signal.aborted);
  if (aborted !== undefined) {
    controller.abort(aborted.reason);
    return controller.signal;
  }
  const listeners: (() => void)[] = [];
  for (const signal of present) {
    const onAbort = (): void => {
      controller.abort(signal.reason);
      present.forEach((other, index) => {
        const listener = listeners[index];
        if (listener !== undefined) other.removeEventListener('abort', listener);
      });
    };
    listeners.push(onAbort);
    signal.addEventListener('abort', onAbort, { once: true });
  }
  return controller.signal;
}
