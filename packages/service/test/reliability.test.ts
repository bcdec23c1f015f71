import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BadRequestError,
  OperationTimeoutError,
  PreconditionFailedError,
  ServiceUnavailableError,
  ThrottledError,
  TransportError,
  type FetchLike,
} from '@twinkit/service';
import type { Hub } from '@twinkit/hub';
import { recordingFetch, registryFor, startHub } from './helpers.js';

/** Lets pending I/O callbacks (WebCrypto, hub handlers) run, without advancing any fake clock. */
function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A fetch that tells the test each time the hub has answered. */
function answeringFetch(hub: Hub) {
  const answers: number[] = [];
  let notify: (() => void) | undefined;
  return {
    answers,
    nextAnswer: () => new Promise<void>((resolve) => (notify = resolve)),
    fetch: (async (input, init) => {
      const response = await hub.fetch(input, init);
      answers.push(response.status);
      notify?.();
      return response;
    }) satisfies FetchLike,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Registry retries', () => {
  it('retries 429 and 503 answers and then succeeds', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const { fetch, seen } = recordingFetch(hub);
    const registry = registryFor(hub, { fetch });
    hub.faults.failNext({ operation: 'getTwin', statusCode: 429, times: 2 });
    await expect(registry.getTwin('dev-1')).resolves.toMatchObject({ deviceId: 'dev-1' });
    expect(seen).toHaveLength(3);
    hub.faults.failNext({ operation: 'updateTwin', statusCode: 503 });
    await expect(registry.updateTwin('dev-1', { tags: { a: 1 } })).resolves.toMatchObject({
      tags: { a: 1 },
    });
    expect(seen).toHaveLength(5);
    // One request id per call, kept across its retries.
    expect(new Set(seen.slice(0, 3).map((r) => r.headers.get('request-id'))).size).toBe(1);
  });

  it('gives up after maxRetries with a ThrottledError that carries status, code and retryAfterInMs', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const { fetch, seen } = recordingFetch(hub);
    const registry = registryFor(hub, {
      fetch,
      retryOptions: { maxRetries: 2, retryDelayInMs: 1 },
    });
    hub.faults.failNext({
      operation: 'getTwin',
      statusCode: 429,
      times: 5,
      retryAfterInSeconds: 0,
    });
    const error = await registry.getTwin('dev-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledError);
    expect(error).toMatchObject({
      statusCode: 429,
      code: 'ThrottlingException',
      retryable: true,
      retryAfterInMs: 0,
    });
    expect((error as ThrottledError).requestId).toBeTypeOf('string');
    expect(seen).toHaveLength(3);
  });

  it('never retries other 4xx answers', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const { fetch, seen } = recordingFetch(hub);
    const registry = registryFor(hub, { fetch });
    hub.faults.failNext({ operation: 'getTwin', statusCode: 400 });
    await expect(registry.getTwin('dev-1')).rejects.toBeInstanceOf(BadRequestError);
    const twin = await registry.getTwin('dev-1');
    await registry.updateTwin('dev-1', { tags: { a: 1 } });
    await expect(
      registry.updateTwin(twin, { tags: { a: 2 } }, { onlyIfUnchanged: true }),
    ).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(seen.map((r) => r.method)).toEqual(['GET', 'GET', 'PATCH', 'PATCH']);
  });

  it('retries when fetch itself fails and reports a TransportError when it keeps failing', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    let failuresLeft = 1;
    const flaky: FetchLike = (input, init) => {
      if (failuresLeft-- > 0)
        return Promise.reject(new TypeError('fetch failed', { cause: new Error('ECONNRESET') }));
      return hub.fetch(input, init);
    };
    await expect(registryFor(hub, { fetch: flaky }).getTwin('dev-1')).resolves.toMatchObject({
      deviceId: 'dev-1',
    });
    const down = registryFor(hub, {
      fetch: () => Promise.reject(new TypeError('fetch failed')),
      retryOptions: { maxRetries: 1, retryDelayInMs: 1 },
    });
    const error = await down.getTwin('dev-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/no response from localhost/);
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });

  it("waits exactly as long as the hub's Retry-After asks", async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const probe = answeringFetch(hub);
    const registry = registryFor(hub, { fetch: probe.fetch, operationTimeoutInMs: 0 });
    hub.faults.failNext({ operation: 'getTwin', statusCode: 429, retryAfterInSeconds: 2 });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const firstAnswer = probe.nextAnswer();
    const pending = registry.getTwin('dev-1');
    await firstAnswer;
    while (vi.getTimerCount() === 0) await tick();
    vi.advanceTimersByTime(1_999);
    expect(vi.getTimerCount()).toBe(1);
    expect(probe.answers).toEqual([429]);
    const secondAnswer = probe.nextAnswer();
    vi.advanceTimersByTime(1);
    await secondAnswer;
    await expect(pending).resolves.toMatchObject({ deviceId: 'dev-1' });
    expect(probe.answers).toEqual([429, 200]);
  });

  it('backs off exponentially with jitter between retries', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const probe = answeringFetch(hub);
    const registry = registryFor(hub, {
      fetch: probe.fetch,
      operationTimeoutInMs: 0,
      retryOptions: { maxRetries: 3, retryDelayInMs: 1_000, maxRetryDelayInMs: 3_000 },
    });
    hub.faults.failNext({ operation: 'getTwin', statusCode: 503, times: 3 });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const first = probe.nextAnswer();
    const pending = registry.getTwin('dev-1');
    await first;
    // Expected delays: [500, 1000], [1000, 2000], then capped: [1500, 3000].
    for (const [low, high] of [
      [500, 1_000],
      [1_000, 2_000],
      [1_500, 3_000],
    ] as const) {
      while (vi.getTimerCount() === 0) await tick();
      vi.advanceTimersByTime(low - 1);
      expect(vi.getTimerCount()).toBe(1);
      const next = probe.nextAnswer();
      vi.advanceTimersByTime(high - low + 1);
      expect(vi.getTimerCount()).toBe(0);
      await next;
    }
    await expect(pending).resolves.toMatchObject({ deviceId: 'dev-1' });
    expect(probe.answers).toEqual([503, 503, 503, 200]);
  });
});

describe('Registry timeouts and aborts', () => {
  it('rejects with OperationTimeoutError when the hub is slower than operationTimeoutInMs', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const registry = registryFor(hub, { operationTimeoutInMs: 25 });
    hub.faults.delayNext({ operation: 'getTwin', delayInMs: 300 });
    const error = await registry.getTwin('dev-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationTimeoutError);
    expect(error).toMatchObject({ operation: 'getTwin', timeoutInMs: 25 });
  });

  it('rejects with the abort reason unchanged when the caller aborts mid-request', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const registry = registryFor(hub);
    hub.faults.delayNext({ operation: 'getTwin', delayInMs: 300 });
    const controller = new AbortController();
    const reason = new Error('user pressed cancel');
    const pending = registry.getTwin('dev-1', { abortSignal: controller.signal });
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('rejects with the standard AbortError when aborted without a reason', async () => {
    await using hub = await startHub();
    const controller = new AbortController();
    controller.abort();
    const error = await registryFor(hub)
      .getTwin('dev-1', { abortSignal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBe(controller.signal.reason);
    expect((error as DOMException).name).toBe('AbortError');
  });

  it('sends nothing when the signal is already aborted', async () => {
    await using hub = await startHub();
    const { fetch, seen } = recordingFetch(hub);
    const reason = new Error('too late');
    await expect(
      registryFor(hub, { fetch }).updateTwin(
        'dev-1',
        { tags: { a: 1 } },
        { abortSignal: AbortSignal.abort(reason) },
      ),
    ).rejects.toBe(reason);
    expect(seen).toHaveLength(0);
  });

  it('stops waiting for a retry as soon as the caller aborts', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const probe = answeringFetch(hub);
    const registry = registryFor(hub, { fetch: probe.fetch });
    hub.faults.failNext({ operation: 'getTwin', statusCode: 503, retryAfterInSeconds: 3600 });
    const controller = new AbortController();
    const answered = probe.nextAnswer();
    const pending = registry.getTwin('dev-1', { abortSignal: controller.signal });
    await answered;
    controller.abort(new Error('enough'));
    await expect(pending).rejects.toThrow('enough');
    expect(probe.answers).toEqual([503]);
  });

  it('applies the abort signal to every page of a query', async () => {
    await using hub = await startHub();
    for (const id of ['a', 'b', 'c']) await hub.createDevice(id);
    const controller = new AbortController();
    const reason = new Error('stop paging');
    const seenIds: string[] = [];
    const loop = (async () => {
      const pages = registryFor(hub)
        .queryTwins('SELECT * FROM devices', { abortSignal: controller.signal })
        .byPage({ maxPageSize: 1 });
      for await (const page of pages) {
        seenIds.push(...page.items.map((twin) => twin.deviceId));
        if (seenIds.length === 2) {
          hub.faults.delayNext({ operation: 'query', delayInMs: 300 });
          controller.abort(reason);
        }
      }
    })();
    await expect(loop).rejects.toBe(reason);
    expect(seenIds).toHaveLength(2);
  });

  it('maps a 5xx that outlives the retries to ServiceUnavailableError with advice', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    hub.faults.failNext({ operation: 'getTwin', statusCode: 503, times: 10 });
    const error = await registryFor(hub, { retryOptions: { maxRetries: 1, retryDelayInMs: 1 } })
      .getTwin('dev-1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).message).toMatch(/Twin read for device 'dev-1' failed \(503/);
  });
});

describe('Registry SAS tokens', () => {
  it('signs one token and reuses it across requests', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const { fetch, seen } = recordingFetch(hub);
    const registry = registryFor(hub, { fetch });
    await Promise.all([
      registry.getTwin('dev-1'),
      registry.getTwin('dev-1'),
      registry.getDevice('dev-1'),
    ]);
    await registry.getTwin('dev-1');
    const tokens = new Set(seen.map((r) => r.headers.get('authorization')));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).toMatch(
      /^SharedAccessSignature sr=localhost&sig=.+&se=\d+&skn=iothubowner$/,
    );
  });

  it('renews the token once three quarters of its lifetime have passed', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const { fetch, seen } = recordingFetch(hub);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const registry = registryFor(hub, { fetch, sasTokenLifetimeInSeconds: 600 });
    await registry.getTwin('dev-1');
    vi.setSystemTime(new Date('2030-01-01T00:07:00Z'));
    await registry.getTwin('dev-1');
    vi.setSystemTime(new Date('2030-01-01T00:07:31Z'));
    await registry.getTwin('dev-1');
    const [first, second, third] = seen.map((r) => r.headers.get('authorization'));
    expect(second).toBe(first);
    expect(third).not.toBe(first);
    expect(third).toMatch(/se=1893457051&/);
  });
});
