import { afterEach, describe, expect, it, vi } from 'vitest';
import { OperationTimeoutError } from '../errors/local-errors.js';
import {
  abortable,
  anySignal,
  createOperationScope,
  delay,
  onAbort,
  throwIfAborted,
  withDeadline,
} from './abort.js';

describe('withDeadline', () => {
  it('rejects with OperationTimeoutError and aborts the work with the same reason', async () => {
    let innerReason: unknown;
    const error = await withDeadline('getTwin', 5, undefined, (signal) => {
      return new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          innerReason = signal.reason;
          reject(new Error('released'));
        });
      });
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationTimeoutError);
    expect(innerReason).toBe(error);
  });

  it("passes the caller's abort reason through unchanged, and a synchronous throw as a rejection", async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const pending = withDeadline(
      'open',
      0,
      controller.signal,
      () => new Promise<never>(() => undefined),
    );
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await expect(withDeadline('open', 0, controller.signal, () => Promise.resolve(1))).rejects.toBe(
      reason,
    );
    const thrown = new Error('sync');
    await expect(
      withDeadline('open', 0, undefined, () => {
        throw thrown;
      }),
    ).rejects.toBe(thrown);
  });
});

describe('anySignal', () => {
  it('aborts with the reason of whichever signal aborts first', () => {
    const first = new AbortController();
    const second = new AbortController();
    const combined = anySignal([first.signal, undefined, second.signal]);
    second.abort('second');
    first.abort('first');
    expect(combined.reason).toBe('second');
    const already = anySignal([first.signal]);
    expect(already.aborted).toBe(true);
    expect(already.reason).toBe('first');
  });
});

describe('createOperationScope, abortable, delay, throwIfAborted', () => {
  it('makes no signal without a timeout or caller signal, and the caller reason wins', async () => {
    expect(createOperationScope('x', 0, undefined).signal).toBeUndefined();
    const controller = new AbortController();
    const scope = createOperationScope('x', 60_000, controller.signal);
    const waiting = delay(60_000, scope.signal);
    controller.abort('caller');
    await expect(waiting).rejects.toBe('caller');
    scope.dispose();
    await expect(abortable(Promise.resolve(1), controller.signal)).rejects.toBe('caller');
    expect(() => {
      throwIfAborted(controller.signal);
    }).toThrow();
    await expect(abortable(Promise.resolve(2), undefined)).resolves.toBe(2);
  });
});

describe('onAbort', () => {
  it("runs a scope signal's listeners after the signal has its reason, on timeout and on the caller's abort", async () => {
    const timed = createOperationScope('getTwin', 5, undefined);
    const seen: unknown[] = [];
    onAbort(timed.signal!, () => seen.push(timed.signal!.reason));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(OperationTimeoutError);
    timed.dispose();

    const caller = new AbortController();
    const scope = createOperationScope('getTwin', 10_000, caller.signal);
    const reasons: unknown[] = [];
    onAbort(scope.signal!, () => reasons.push(scope.signal!.reason));
    const reason = new Error('stop');
    caller.abort(reason);
    expect(reasons).toEqual([reason]);
    scope.dispose();
  });

  it('never runs a detached listener, for scope signals and for any other signal', async () => {
    const scope = createOperationScope('getTwin', 5, undefined);
    let scopeCalls = 0;
    onAbort(scope.signal!, () => scopeCalls++)();
    const other = new AbortController();
    let otherCalls = 0;
    onAbort(other.signal, () => otherCalls++)();
    other.abort();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(scope.signal!.aborted).toBe(true);
    expect([scopeCalls, otherCalls]).toEqual([0, 0]);
    scope.dispose();
  });

  it('follows a signal it did not make through an ordinary event listener', () => {
    const controller = new AbortController();
    let calls = 0;
    onAbort(controller.signal, () => calls++);
    controller.abort();
    controller.abort();
    expect(calls).toBe(1);
  });
});

describe('createOperationScope without a caller signal', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('gives every call at least its time limit, and at most an eighth more', () => {
    vi.useFakeTimers();
    const first = createOperationScope('getTwin', 800, undefined);
    vi.advanceTimersByTime(50);
    const second = createOperationScope('updateTwin', 800, undefined);
    vi.advanceTimersByTime(799);
    expect(second.signal!.aborted).toBe(false);
    vi.advanceTimersByTime(100);
    expect(first.signal!.aborted).toBe(true);
    expect(second.signal!.aborted).toBe(true);
    first.dispose();
    second.dispose();
  });

  it("shares one signal within a window and turns its reason into each call's own timeout error", () => {
    vi.useFakeTimers();
    const read = createOperationScope('getTwin', 80, undefined);
    const write = createOperationScope('updateTwin', 80, undefined);
    const other = createOperationScope('getTwin', 90, undefined);
    expect(write.signal).toBe(read.signal);
    expect(other.signal).not.toBe(read.signal);
    vi.advanceTimersByTime(100);
    const reason: unknown = read.signal!.reason;
    expect(read.failure(reason)).toMatchObject({
      name: 'OperationTimeoutError',
      operation: 'getTwin',
      timeoutInMs: 80,
    });
    expect(write.failure(reason)).toMatchObject({ operation: 'updateTwin' });
    const unrelated = new Error('hub said no');
    expect(read.failure(unrelated)).toBe(unrelated);
    for (const scope of [read, write, other]) scope.dispose();
  });

  it('opens a new window once the clock has moved past it, or back before it', () => {
    vi.useFakeTimers();
    const early = createOperationScope('getTwin', 800, undefined);
    vi.advanceTimersByTime(150);
    const later = createOperationScope('getTwin', 800, undefined);
    expect(later.signal).not.toBe(early.signal);
    vi.setSystemTime(Date.now() - 60_000);
    const afterJump = createOperationScope('getTwin', 800, undefined);
    expect(afterJump.signal).not.toBe(later.signal);
    for (const scope of [early, later, afterJump]) scope.dispose();
  });

  it("keeps a caller's abort to its own call", () => {
    const caller = new AbortController();
    const mine = createOperationScope('getTwin', 10_000, caller.signal);
    const theirs = createOperationScope('getTwin', 10_000, undefined);
    caller.abort(new Error('stop'));
    expect(mine.signal!.aborted).toBe(true);
    expect(theirs.signal!.aborted).toBe(false);
    mine.dispose();
    theirs.dispose();
  });
});
