import { OperationTimeoutError } from '@twinkit/twin-model/errors';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RequestTracker } from './request-tracker.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('RequestTracker', () => {
  it('correlates a response with its request id and releases the entry', async () => {
    const tracker = new RequestTracker<string>();
    const a = tracker.start('a', { timeoutInMs: 1000 });
    const b = tracker.start('b', { timeoutInMs: 1000 });
    expect(a.rid).not.toBe(b.rid);
    expect(tracker.resolve(b.rid, 'B')).toBe(true);
    expect(tracker.resolve(a.rid, 'A')).toBe(true);
    await expect(a.response).resolves.toBe('A');
    await expect(b.response).resolves.toBe('B');
    expect(tracker.size).toBe(0);
    expect(tracker.resolve(a.rid, 'late')).toBe(false);
  });

  it('rejects with OperationTimeoutError at the deadline', async () => {
    vi.useFakeTimers();
    const tracker = new RequestTracker<string>();
    const { response } = tracker.start('Twin read', { timeoutInMs: 500 });
    const assertion = expect(response).rejects.toBeInstanceOf(OperationTimeoutError);
    await vi.advanceTimersByTimeAsync(500);
    await assertion;
    expect(tracker.size).toBe(0);
  });

  it('rejects with the abort reason unchanged and releases the entry', async () => {
    const tracker = new RequestTracker<string>();
    const controller = new AbortController();
    const { response } = tracker.start('Twin read', {
      timeoutInMs: 1000,
      abortSignal: controller.signal,
    });
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(response).rejects.toBe(reason);
    expect(tracker.size).toBe(0);
  });

  it('fails every pending request when told the connection dropped, and reports idleness', async () => {
    const tracker = new RequestTracker<string>();
    const first = tracker.start('a', { timeoutInMs: 1000 });
    const second = tracker.start('b', { timeoutInMs: 1000 });
    const idle = tracker.whenIdle(1000);
    const error = new Error('dropped');
    tracker.failAll(error);
    await expect(first.response).rejects.toBe(error);
    await expect(second.response).rejects.toBe(error);
    await expect(idle).resolves.toBeUndefined();
  });
});
