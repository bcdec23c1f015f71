import {
  REST_OPERATIONS,
  formatOperationPath,
  type RestOperation,
} from '@twinkit/twin-model/protocol';
import { describe, expect, it, vi } from 'vitest';
import { WELL_KNOWN_POLICIES, createHub } from '../src/index.js';
import { call, serviceToken } from './helpers.js';

describe('hub.faults', () => {
  it('fails the next request of an operation with the given status, code and Retry-After', async () => {
    await using hub = await createHub();
    await hub.createDevice('dev1');
    hub.faults.failNext({ operation: 'getTwin', statusCode: 429, retryAfterInSeconds: 2 });
    const devices = await call(hub, 'GET', '/devices/dev1');
    expect(devices.status).toBe(200);
    const throttled = await call(hub, 'GET', '/twins/dev1');
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('iothub-errorcode')).toBe('ThrottlingException');
    expect(throttled.headers.get('retry-after')).toBe('2');
    expect(throttled.body.Message).toMatch(/^ErrorCode:ThrottlingException;/);
    expect((await call(hub, 'GET', '/twins/dev1')).status).toBe(200);
  });

  it('fails several requests of any operation, then clears', async () => {
    await using hub = await createHub();
    await hub.createDevice('dev1');
    hub.faults.failNext({ statusCode: 503, times: 2 });
    expect((await call(hub, 'PATCH', '/twins/dev1', { body: { tags: { a: 1 } } })).status).toBe(
      503,
    );
    const second = await call(hub, 'POST', '/devices/query', {
      body: { query: 'SELECT * FROM devices' },
    });
    expect(second.status).toBe(503);
    expect(second.headers.get('iothub-errorcode')).toBe('ServiceUnavailable');
    expect((await call(hub, 'GET', '/twins/dev1')).body.tags).toBeUndefined();
    hub.faults.failNext({ operation: 'updateTwin', statusCode: 500, code: 'ServerError' });
    hub.faults.clear();
    expect((await call(hub, 'PATCH', '/twins/dev1', { body: { tags: { a: 1 } } })).status).toBe(
      200,
    );
  });

  it('serves every operation of the REST table under its fault name and permission', async () => {
    await using hub = await createHub();
    const key = (name: string) =>
      WELL_KNOWN_POLICIES.find((policy) => policy.keyName === name)?.primaryKey ?? '';
    // A policy without the operation's permission: ServiceConnect and the registry rights are disjoint.
    const lacking = {
      ServiceConnect: await serviceToken(hub, {
        keyName: 'registryReadWrite',
        key: key('registryReadWrite'),
      }),
      RegistryRead: await serviceToken(hub, { keyName: 'service', key: key('service') }),
      RegistryWrite: await serviceToken(hub, { keyName: 'registryRead', key: key('registryRead') }),
    };
    for (const operation of Object.values<RestOperation>(REST_OPERATIONS)) {
      const path = formatOperationPath(operation.path, { deviceId: 'dev1', moduleId: 'm1' });
      // A twin-only batch, so the bulk call needs no more than the table's permission.
      const body =
        operation.method === 'GET' || operation.method === 'DELETE'
          ? undefined
          : operation === REST_OPERATIONS.updateTwins
            ? [{ id: 'dev1', importMode: 'updateTwin' }]
            : {};
      const denied = await call(hub, operation.method, path, {
        body,
        authorization: lacking[operation.permission as keyof typeof lacking],
      });
      expect(denied.status, operation.name).toBe(401);
      hub.faults.failNext({ operation: operation.fault, statusCode: 503 });
      const failed = await call(hub, operation.method, path, { body });
      expect(failed.status, operation.name).toBe(503);
    }
  });

  it('applies faults after authentication so unauthenticated calls still get 401', async () => {
    await using hub = await createHub();
    hub.faults.failNext({ operation: 'device', statusCode: 503 });
    expect((await call(hub, 'GET', '/devices', { authorization: null })).status).toBe(401);
    expect((await call(hub, 'GET', '/devices')).status).toBe(503);
  });

  it('delays the next request of an operation', async () => {
    await using hub = await createHub();
    await hub.createDevice('dev1');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      hub.faults.delayNext({ operation: 'getTwin', delayInMs: 5_000 });
      let settled = false;
      const pending = call(hub, 'GET', '/twins/dev1').then((response) => {
        settled = true;
        return response;
      });
      // Authentication runs first (real async crypto); wait until the delay timer is armed.
      await vi.waitFor(() => {
        expect(vi.getTimerCount()).toBe(1);
      });
      await vi.advanceTimersByTimeAsync(4_000);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1_000);
      expect((await pending).status).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });

  it('validates its arguments', async () => {
    await using hub = await createHub();
    expect(() => hub.faults.failNext({ statusCode: 200 })).toThrow(RangeError);
    expect(() => hub.faults.delayNext({ delayInMs: -1 })).toThrow(RangeError);
    expect(() => hub.faults.failNext({ statusCode: 500, times: 0 })).toThrow(RangeError);
  });
});
