import { describe, expect, it } from 'vitest';
import { WELL_KNOWN_POLICIES, createHub } from '../src/index.js';
import { hubInternals } from '../src/hub.js';
import { call, etagOf, serviceToken } from './helpers.js';

describe('POST /devices (bulk)', () => {
  it('creates devices (missing importMode means createOrUpdate) with and without the trailing slash', async () => {
    await using hub = await createHub();
    const created = await call(hub, 'POST', '/devices', {
      body: [{ id: 'a', importMode: 'create' }, { id: 'b' }],
    });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({ isSuccessful: true, errors: [], warnings: [] });
    const slash = await call(hub, 'POST', '/devices/', {
      body: [{ id: 'c', importMode: 'CREATEORUPDATE', status: 'disabled' }],
    });
    expect(slash.status).toBe(200);
    expect(
      (await call(hub, 'GET', '/devices')).body.map(
        (device: { deviceId: string }) => device.deviceId,
      ),
    ).toEqual(['a', 'b', 'c']);
    expect((await call(hub, 'GET', '/devices/c')).body.status).toBe('disabled');
  });

  it('reports per-item errors with 400 while applying the valid items', async () => {
    await using hub = await createHub();
    await hub.createDevice('exists');
    const response = await call(hub, 'POST', '/devices', {
      body: [
        { id: 'exists', importMode: 'create' },
        { id: 'new', importMode: 'create' },
        { id: 'ghost', importMode: 'Update' },
        { id: 'bad id', importMode: 'create' },
        { id: 'x', importMode: 'explode' },
      ],
    });
    expect(response.status).toBe(400);
    expect(response.body.isSuccessful).toBe(false);
    expect(response.body.warnings).toEqual([]);
    expect(
      response.body.errors.map((error: { deviceId: string; errorCode: string }) => [
        error.deviceId,
        error.errorCode,
      ]),
    ).toEqual([
      ['exists', 'DeviceAlreadyExists'],
      ['ghost', 'DeviceNotFound'],
      ['bad id', 'ArgumentInvalid'],
      ['x', 'ArgumentInvalid'],
    ]);
    expect(response.body.errors[0]).toMatchObject({ moduleId: null, operation: 'create' });
    expect(typeof response.body.errors[0].errorStatus).toBe('string');
    expect((await call(hub, 'GET', '/devices/new')).status).toBe(200);
  });

  it('updates and deletes with eTag checks in the IfMatchETag modes', async () => {
    await using hub = await createHub();
    await hub.createDevice('a');
    await hub.createDevice('b');
    const etagA = (await call(hub, 'GET', '/devices/a')).body.etag;
    const response = await call(hub, 'POST', '/devices', {
      body: [
        { id: 'a', importMode: 'UpdateIfMatchETag', eTag: etagA, status: 'disabled' },
        { id: 'b', importMode: 'DeleteIfMatchETag', eTag: 'c3RhbGU=' },
        { id: 'b', importMode: 'delete' },
      ],
    });
    expect(
      response.body.errors.map((error: { deviceId: string; errorCode: string }) => [
        error.deviceId,
        error.errorCode,
      ]),
    ).toEqual([
      ['b', 'PreconditionFailed'],
      ['b', 'ArgumentInvalid'],
    ]);
    expect((await call(hub, 'GET', '/devices/a')).body.status).toBe('disabled');
    const deleted = await call(hub, 'POST', '/devices', {
      body: [{ id: 'b', importMode: 'Delete' }],
    });
    expect(deleted.status).toBe(200);
    expect((await call(hub, 'GET', '/devices/b')).status).toBe(404);
  });

  it('applies twin modes like a PATCH: merge, versions, twinETag check and desired notifications', async () => {
    await using hub = await createHub();
    await hub.createDevice('a');
    await hub.createDevice('b');
    await hub.createModule('b', 'm1');
    const events: unknown[] = [];
    hubInternals(hub).core.onDesiredChanged((event) => events.push(event));
    const response = await call(hub, 'POST', '/devices', {
      body: [
        {
          id: 'a',
          importMode: 'updateTwin',
          tags: { t: 1 },
          properties: { desired: { x: 1 } },
          status: 'enabled',
        },
        {
          id: 'b',
          moduleId: 'm1',
          importMode: 'updateTwinIfMatchETag',
          twinETag: etagOf(1),
          properties: { desired: { y: 2 } },
        },
        { id: 'b', importMode: 'updateTwinIfMatchETag', twinETag: etagOf(5), tags: { z: 1 } },
      ],
    });
    expect(response.status).toBe(400);
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors[0]).toMatchObject({
      deviceId: 'b',
      moduleId: null,
      errorCode: 'PreconditionFailed',
    });
    const a = (await call(hub, 'GET', '/twins/a')).body;
    expect([
      a.tags,
      a.properties.desired.x,
      a.properties.desired.$version,
      a.etag,
      a.version,
    ]).toEqual([{ t: 1 }, 1, 2, etagOf(2), 3]);
    const module = (await call(hub, 'GET', '/twins/b/modules/m1')).body;
    expect(module.properties.desired.y).toBe(2);
    expect(events).toEqual([
      { deviceId: 'a', notification: { x: 1, $version: 2 }, version: 2 },
      { deviceId: 'b', moduleId: 'm1', notification: { y: 2, $version: 2 }, version: 2 },
    ]);
  });

  it('sets twin data when creating through bulk, and commits the request in one transaction', async () => {
    await using hub = await createHub();
    const storage = hubInternals(hub).core.storage;
    const before = storage.flushCount;
    const items = Array.from({ length: 100 }, (_, index) => ({
      id: `dev${String(index)}`,
      importMode: 'create',
      tags: { index },
    }));
    const response = await call(hub, 'POST', '/devices', { body: items });
    expect(response.status).toBe(200);
    expect(storage.flushCount - before).toBe(1);
    expect((await call(hub, 'GET', '/twins/dev42')).body.tags).toEqual({ index: 42 });
  });

  it('rejects more than 100 items and non-array bodies as a whole', async () => {
    await using hub = await createHub();
    const tooMany = await call(hub, 'POST', '/devices', {
      body: Array.from({ length: 101 }, (_, i) => ({ id: `d${String(i)}` })),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.headers.get('iothub-errorcode')).toBe('ArgumentInvalid');
    expect((await call(hub, 'GET', '/devices')).body).toEqual([]);
    expect((await call(hub, 'POST', '/devices', { body: { id: 'x' } })).status).toBe(400);
  });

  it('lets ServiceConnect run twin-only batches but not identity changes', async () => {
    await using hub = await createHub();
    await hub.createDevice('a');
    const key =
      WELL_KNOWN_POLICIES.find((policy) => policy.keyName === 'service')?.primaryKey ?? '';
    const authorization = await serviceToken(hub, { keyName: 'service', key });
    const twins = await call(hub, 'POST', '/devices', {
      authorization,
      body: [{ id: 'a', importMode: 'updateTwin', tags: { k: 1 } }],
    });
    expect(twins.status).toBe(200);
    const identities = await call(hub, 'POST', '/devices', {
      authorization,
      body: [{ id: 'b', importMode: 'create' }],
    });
    expect(identities.status).toBe(401);
  });
});
