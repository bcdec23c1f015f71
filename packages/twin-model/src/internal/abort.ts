/**
 * Cancellation and deadline helpers of both clients: at most one signal per operation, combining
 * the caller's `abortSignal` with the client's default timeout, and races that keep working even
 * when the awaited work ignores signals (an in-process handler such as `hub.fetch` usually does).
 * Aborts reject with `abortSignal.reason` unchanged; deadlines reject with `OperationTimeoutError`.
 *
 * A signal costs real time on every call (an `AbortController`, and `fetch` following it), so
 * none is made when the call has neither a timeout nor a caller signal, the caller's own signal is
 * used as is when there is no timeout, and calls with only a timeout share one signal per short
 * window (see {@link createOperationScope}). Everything below therefore accepts `undefined` as
 * "this call cannot be cancelled".
 */
import { OperationTimeoutError } from '../errors/local-errors.js';

/** The signal an operation runs under, plus the cleanup that releases its timer and listener. */
export interface OperationScope {
  /** `undefined` when the operation has no timeout and the caller gave no signal. */
  readonly signal: AbortSignal | undefined;
  /**
   * What the operation should throw for `error`: an {@link OperationTimeoutError} naming this
   * operation when `error` is the signal's timeout reason, else `error` itself.
   */
  failure(error: unknown): unknown;
  /** Clears the timeout and detaches from the caller's signal; call once the operation settles. */
  dispose(): void;
}

const noop = (): void => undefined;
const same = (error: unknown): unknown => error;
const UNCANCELLABLE: OperationScope = { signal: undefined, failure: same, dispose: noop };

/**
 * Builds the signal an operation runs under. It aborts with the caller's own `reason` when the
 * caller aborts, and with a timeout reason that {@link OperationScope.failure} turns into this
 * operation's {@link OperationTimeoutError} when `timeoutInMs` elapses.
 *
 * A call with a timeout and no signal of the caller's (nearly every call) shares its signal with
 * the calls that start within the same short window: an `AbortController` and a timer per call
 * cost more client CPU than the rest of a REST call's pipeline (docs/benchmarks.md). The shared
 * signal fires once the newest of those calls has had its full time, so a call is given at least
 * `timeoutInMs` and at most an eighth more (100 ms at most); a call that finished long before
 * does not notice. A call with a signal of its own gets a signal and a timer of its own, so its
 * abort reaches no other call.
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
    return callerSignal === undefined
      ? UNCANCELLABLE
      : { signal: callerSignal, failure: same, dispose: noop };
  }
  if (callerSignal === undefined) return joinDeadlineWindow(operation, timeoutInMs);
  const controller = new AbortController();
  const listeners = new Set<() => void>();
  SCOPE_LISTENERS.set(controller.signal, listeners);
  const onCallerAbort = (): void => {
    fire(controller, listeners, callerSignal.reason);
  };
  callerSignal.addEventListener('abort', onCallerAbort, { once: true });
  const timer = setTimeout(() => {
    fire(controller, listeners, new OperationTimeoutError(operation, timeoutInMs));
  }, timeoutInMs);
  return {
    signal: controller.signal,
    failure: same,
    dispose() {
      clearTimeout(timer);
      callerSignal.removeEventListener('abort', onCallerAbort);
    },
  };
}

/** Aborts a scope's controller, then runs its plain listeners (which read `signal.reason`). */
function fire(controller: AbortController, listeners: Set<() => void>, reason: unknown): void {
  controller.abort(reason);
  for (const listener of listeners) listener();
  listeners.clear();
}

/** Calls that started within one short window and share a signal and a timer. */
interface DeadlineWindow {
  readonly controller: AbortController;
  readonly listeners: Set<() => void>;
  /** The shared reason; each call turns it into its own {@link OperationTimeoutError}. */
  readonly reason: OperationTimeoutError;
  /** Calls join from this time until `closesAt` (milliseconds since the epoch). */
  readonly opensAt: number;
  readonly closesAt: number;
  readonly timer: ReturnType<typeof setTimeout>;
  /** Calls not yet disposed: the timer keeps the process alive only while there are some. */
  active: number;
}

/** The open window of each time limit in use. */
const OPEN_WINDOWS = /* @__PURE__ */ new Map<number, DeadlineWindow>();

function joinDeadlineWindow(operation: string, timeoutInMs: number): OperationScope {
  const now = Date.now();
  let window = OPEN_WINDOWS.get(timeoutInMs);
  // A clock that went back (or fake timers that moved it) opens a new window as well.
  if (window === undefined || now >= window.closesAt || now < window.opensAt) {
    window = openDeadlineWindow(timeoutInMs, now);
    OPEN_WINDOWS.set(timeoutInMs, window);
  }
  const joined = window;
  if (joined.active++ === 0) keepAlive(joined.timer, true);
  let disposed = false;
  return {
    signal: joined.controller.signal,
    failure: (error) =>
      error === joined.reason ? new OperationTimeoutError(operation, timeoutInMs) : error,
    dispose() {
      if (disposed) return;
      disposed = true;
      if (--joined.active === 0) keepAlive(joined.timer, false);
    },
  };
}

function openDeadlineWindow(timeoutInMs: number, now: number): DeadlineWindow {
  const widthInMs = Math.max(1, Math.min(100, timeoutInMs / 8));
  const controller = new AbortController();
  const listeners = new Set<() => void>();
  SCOPE_LISTENERS.set(controller.signal, listeners);
  const reason = new OperationTimeoutError('an operation', timeoutInMs);
  const timer = setTimeout(() => {
    fire(controller, listeners, reason);
  }, widthInMs + timeoutInMs);
  return {
    controller,
    listeners,
    reason,
    opensAt: now,
    closesAt: now + widthInMs,
    timer,
    active: 0,
  };
}

/** Node's timers can stop holding the process open; browsers' timer ids cannot and need not. */
function keepAlive(timer: ReturnType<typeof setTimeout>, on: boolean): void {
  if (typeof timer !== 'object') return;
  const handle = timer as { ref?: () => void; unref?: () => void };
  if (on) handle.ref?.();
  else handle.unref?.();
}

/**
 * The plain listeners of each signal made by {@link createOperationScope}. Adding and removing an
 * `abort` listener on an `AbortSignal` (an `EventTarget`) costs several microseconds each, about
 * as much as the rest of a REST call's client work; a scope's own signal is only ever aborted by
 * the scope, so the scope can call these directly instead.
 */
const SCOPE_LISTENERS = /* @__PURE__ */ new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `listener` once when `signal` aborts (read `signal.reason` inside it). Cheap for the
 * signals of {@link createOperationScope}; any other signal gets an ordinary event listener.
 *
 * @param signal - a signal that has not aborted yet
 * @param listener - what to run on abort
 * @returns a function that detaches the listener; call it once the work settles
 */
export function onAbort(signal: AbortSignal, listener: () => void): () => void {
  const listeners = SCOPE_LISTENERS.get(signal);
  if (listeners !== undefined) {
    // Each registration gets a function of its own, so one listener added twice (or by two
    // calls sharing a window's signal) is detached once per registration.
    const once = (): void => {
      listener();
    };
    listeners.add(once);
    return () => {
      listeners.delete(once);
    };
  }
  signal.addEventListener('abort', listener, { once: true });
  return () => {
    signal.removeEventListener('abort', listener);
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
    const detach = onAbort(signal, () => {
      reject(signal.reason as Error);
    });
    promise.then(
      (value) => {
        detach();
        resolve(value);
      },
      (error: unknown) => {
        detach();
        // The rejection value is passed on untouched, whatever it is (abort reasons may be anything).
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(error);
      },
    );
  });
}

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
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejection reasons pass through unchanged
    return Promise.reject(error);
  }
  return abortable(inner, controller.signal).finally(cleanup);
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
  const onAbort = (event: Event): void => {
    controller.abort((event.target as AbortSignal).reason);
    for (const signal of present) signal.removeEventListener('abort', onAbort);
  };
  for (const signal of present) signal.addEventListener('abort', onAbort, { once: true });
  return controller.signal;
}

/**
 * Waits `ms` milliseconds, or rejects with `signal.reason` when `signal` aborts first.
 *
 * @param ms - how long to wait
 * @param signal - the operation's signal, if it has one
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) return new Promise<void>((resolve) => setTimeout(resolve, ms));
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      detach();
      resolve();
    }, ms);
    const detach = onAbort(signal, () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    });
  });
}
