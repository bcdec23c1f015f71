import { describe, expect, it } from 'vitest';
import { createHub } from '../src/index.js';
import { hubInternals } from '../src/hub.js';
import { call } from './helpers.js';

const KEY_A = Buffer.alloc(32, 1).toString('base64');
const KEY_B = Buffer.alloc(32, 2).toString('base64');
const THUMBPRINT = 'A'.repeat(40);

describe('device identity REST API', () => {
  it('creates a device with two generated 32-byte keys when the body leaves them empty', async () => {
    await using hub = await createHub();
    const response = await call(hub, 'PUT', '/devices/dev1', {
      body: {
        deviceId: 'dev1',
        authentication: { type: 'sas', symmetricKey: { primaryKey: '', secondaryKey: '' } },
      },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const device = response.body;
    expect(device).toMatchObject({
      deviceId: 'dev1',
      connectionState: 'Disconnected',
      status: 'enabled',
      statusReason: null,
      connectionStateUpdatedTime: '0001-01-01T00:00:00Z',
      statusUpdatedTime: '0001-01-01T00:00:00Z',
      lastActivityTime: '0001-01-01T00:00:00Z',
      cloudToDeviceMessageCount: 0,
      capabilities: { iotEdge: false },
    });
    expect(device.generationId).toMatch(/^\d{18}$/);
    expect(Buffer.from(device.etag, 'base64').toString()).toMatch(/^\d+$/);
    expect(response.headers.get('etag')).toBe(`"${device.etag}"`);
    const { primaryKey, secondaryKey } = device.authentication.symmetricKey;
    expect(Buffer.from(primaryKey, 'base64')).toHaveLength(32);
    expect(Buffer.from(secondaryKey, 'base64')).toHaveLength(32);
    expect(primaryKey).not.toBe(secondaryKey);
    expect(device.authentication.type).toBe('sas');
  });

  it('keeps given keys, and answers 409 DeviceAlreadyExists for a second create', async () => {
    await using hub = await createHub();
    const body = {
      deviceId: 'dev1',
      authentication: { symmetricKey: { primaryKey: KEY_A, secondaryKey: KEY_B } },
    };
    const created = await call(hub, 'PUT', '/devices/dev1', { body });
    expect(created.body.authentication.symmetricKey).toEqual({
      primaryKey: KEY_A,
      secondaryKey: KEY_B,
    });
    const again = await call(hub, 'PUT', '/devices/dev1', { body });
    expect(again.status).toBe(409);
    expect(again.headers.get('iothub-errorcode')).toBe('DeviceAlreadyExists');
    expect(again.body.Message).toMatch(/^ErrorCode:DeviceAlreadyExists;/);
  });

  it('rejects keys that are not base64 of 16 to 64 bytes', async () => {
    await using hub = await createHub();
    const response = await call(hub, 'PUT', '/devices/dev1', {
      body: { authentication: { symmetricKey: { primaryKey: 'short', secondaryKey: KEY_B } } },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('iothub-errorcode')).toBe('ArgumentInvalid');
  });

  it('stores X.509 thumbprint and CA identities without keys', async () => {
    await using hub = await createHub();
    const selfSigned = await call(hub, 'PUT', '/devices/x1', {
      body: {
        authentication: {
          x509Thumbprint: { primaryThumbprint: THUMBPRINT, secondaryThumbprint: null },
        },
      },
    });
    expect(selfSigned.body.authentication).toEqual({
      symmetricKey: { primaryKey: null, secondaryKey: null },
      x509Thumbprint: { primaryThumbprint: THUMBPRINT, secondaryThumbprint: null },
      type: 'selfSigned',
    });
    const ca = await call(hub, 'PUT', '/devices/x2', {
      body: { authentication: { type: 'certificateAuthority' } },
    });
    expect(ca.body.authentication.type).toBe('certificateAuthority');
    expect((await call(hub, 'GET', '/twins/x1')).body.authenticationType).toBe('selfSigned');
    const bad = await call(hub, 'PUT', '/devices/x3', {
      body: { authentication: { type: 'selfSigned' } },
    });
    expect(bad.status).toBe(400);
  });

  it('updates status with If-Match, keeps keys when the update leaves them empty, and checks the etag', async () => {
    await using hub = await createHub();
    const created = (await call(hub, 'PUT', '/devices/dev1', { body: {} })).body;
    const stale = await call(hub, 'PUT', '/devices/dev1', {
      body: { status: 'disabled' },
      headers: { 'if-match': '"MTIz"' },
    });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('iothub-errorcode')).toBe('PreconditionFailed');
    const updated = await call(hub, 'PUT', '/devices/dev1', {
      body: {
        deviceId: 'dev1',
        status: 'disabled',
        authentication: { symmetricKey: { primaryKey: '', secondaryKey: '' } },
      },
      headers: { 'if-match': `"${created.etag}"` },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.status).toBe('disabled');
    expect(updated.body.etag).not.toBe(created.etag);
    expect(updated.body.statusUpdatedTime).not.toBe('0001-01-01T00:00:00Z');
    expect(updated.body.generationId).toBe(created.generationId);
    expect(updated.body.authentication.symmetricKey).toEqual(created.authentication.symmetricKey);
    expect((await call(hub, 'GET', '/twins/dev1')).body.status).toBe('disabled');
    const forced = await call(hub, 'PUT', '/devices/dev1', {
      body: { status: 'enabled' },
      headers: { 'if-match': '"*"' },
    });
    expect(forced.body.status).toBe('enabled');
  });

  it('answers 404 for updating, reading or deleting a missing device', async () => {
    await using hub = await createHub();
    expect((await call(hub, 'GET', '/devices/nope')).status).toBe(404);
    expect(
      (await call(hub, 'PUT', '/devices/nope', { body: {}, headers: { 'if-match': '*' } })).status,
    ).toBe(404);
    const deleted = await call(hub, 'DELETE', '/devices/nope', { headers: { 'if-match': '*' } });
    expect(deleted.status).toBe(404);
    expect(deleted.headers.get('iothub-errorcode')).toBe('DeviceNotFound');
  });

  it('deletes a device with its twin and modules, honouring If-Match', async () => {
    await using hub = await createHub();
    await hub.createDevice('dev1');
    await hub.createModule('dev1', 'm1');
    const etag = (await call(hub, 'GET', '/devices/dev1')).body.etag;
    expect(
      (await call(hub, 'DELETE', '/devices/dev1', { headers: { 'if-match': '"bm9wZQ=="' } }))
        .status,
    ).toBe(412);
    const deleted = await call(hub, 'DELETE', '/devices/dev1', {
      headers: { 'if-match': `"${etag}"` },
    });
    expect(deleted.status).toBe(204);
    expect((await call(hub, 'GET', '/twins/dev1')).status).toBe(404);
    expect((await call(hub, 'GET', '/twins/dev1/modules/m1')).status).toBe(404);
    const recreated = await call(hub, 'PUT', '/devices/dev1', { body: {} });
    expect(recreated.status).toBe(200);
    expect(recreated.body.etag).not.toBe(etag);
    expect((await call(hub, 'GET', '/twins/dev1')).body.etag).toBe('AAAAAAAAAAE=');
  });

  it('lists devices (with and without the trailing slash, honouring top) and modules', async () => {
    await using hub = await createHub();
    for (const id of ['a', 'b', 'c']) await hub.createDevice(id);
    await hub.createModule('a', 'm1');
    await hub.createModule('a', 'm2');
    const all = await call(hub, 'GET', '/devices');
    expect(all.body.map((device: { deviceId: string }) => device.deviceId)).toEqual([
      'a',
      'b',
      'c',
    ]);
    const top = await call(hub, 'GET', '/devices/?top=2');
    expect(top.body).toHaveLength(2);
    const modules = await call(hub, 'GET', '/devices/a/modules');
    expect(modules.body.map((module: { moduleId: string }) => module.moduleId)).toEqual([
      'm1',
      'm2',
    ]);
    expect(modules.body[0]).toMatchObject({ deviceId: 'a', moduleId: 'm1', managedBy: null });
    expect((await call(hub, 'GET', '/devices/zz/modules')).status).toBe(404);
  });

  it('creates, updates and deletes module identities', async () => {
    await using hub = await createHub();
    expect(
      (await call(hub, 'PUT', '/devices/dev1/modules/m1', { body: {} })).headers.get(
        'iothub-errorcode',
      ),
    ).toBe('DeviceNotFound');
    await hub.createDevice('dev1');
    const created = await call(hub, 'PUT', '/devices/dev1/modules/m1', {
      body: { moduleId: 'm1', managedBy: 'me' },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ deviceId: 'dev1', moduleId: 'm1', managedBy: 'me' });
    expect(created.body.status).toBeUndefined();
    const again = await call(hub, 'PUT', '/devices/dev1/modules/m1', { body: {} });
    expect(again.status).toBe(409);
    expect(again.headers.get('iothub-errorcode')).toBe('ModuleAlreadyExistsOnDevice');
    const updated = await call(hub, 'PUT', '/devices/dev1/modules/m1', {
      body: { authentication: { symmetricKey: { primaryKey: KEY_A, secondaryKey: KEY_B } } },
      headers: { 'if-match': '*' },
    });
    expect(updated.body.authentication.symmetricKey.primaryKey).toBe(KEY_A);
    expect((await call(hub, 'GET', '/devices/dev1/modules/m1')).body.moduleId).toBe('m1');
    expect(
      (await call(hub, 'DELETE', '/devices/dev1/modules/m1', { headers: { 'if-match': '*' } }))
        .status,
    ).toBe(204);
    expect(
      (await call(hub, 'GET', '/devices/dev1/modules/m1')).headers.get('iothub-errorcode'),
    ).toBe('ModuleNotFound');
  });

  it('percent-decodes ids without turning + into a space', async () => {
    await using hub = await createHub();
    const id = "a+b%c#d?e(f)!g*h'i$j=k@l;m:n,o";
    const created = await call(hub, 'PUT', `/devices/${encodeURIComponent(id)}`, {
      body: { deviceId: id },
    });
    expect(created.status).toBe(200);
    expect(created.body.deviceId).toBe(id);
    expect((await call(hub, 'GET', `/twins/${encodeURIComponent(id)}`)).body.deviceId).toBe(id);
    expect((await call(hub, 'GET', '/twins/a+b')).status).toBe(404);
  });

  it('rejects ids outside the allowed characters and body ids that contradict the URL', async () => {
    await using hub = await createHub();
    const bad = await call(hub, 'PUT', `/devices/${encodeURIComponent('a b')}`, { body: {} });
    expect(bad.status).toBe(400);
    expect((await call(hub, 'PUT', `/devices/${'x'.repeat(129)}`, { body: {} })).status).toBe(400);
    const mismatch = await call(hub, 'PUT', '/devices/dev1', { body: { deviceId: 'other' } });
    expect(mismatch.status).toBe(400);
  });

  it('answers unknown routes with a 404 JSON error', async () => {
    await using hub = await createHub();
    const response = await call(hub, 'GET', '/nothing/here');
    expect(response.status).toBe(404);
    expect(response.body.Message).toMatch(/^ErrorCode:NotFound;/);
  });
});

describe('Hub.createDevice and createModule', () => {
  it('return keys and a connection string for the hub host name', async () => {
    await using hub = await createHub({ hostName: 'hub.example.test' });
    const device = await hub.createDevice('dev1', { status: 'disabled' });
    expect(device.connectionString).toBe(
      `HostName=hub.example.test;DeviceId=dev1;SharedAccessKey=${device.primaryKey}`,
    );
    const module = await hub.createModule('dev1', 'm1');
    expect(module.connectionString).toBe(
      `HostName=hub.example.test;DeviceId=dev1;ModuleId=m1;SharedAccessKey=${module.primaryKey}`,
    );
    expect(hubInternals(hub).core.getEntry('dev1')?.identity.status).toBe('disabled');
    await expect(hub.createDevice('dev1')).rejects.toMatchObject({
      statusCode: 409,
      code: 'DeviceAlreadyExists',
    });
    await expect(hub.createModule('nope', 'm1')).rejects.toMatchObject({
      statusCode: 404,
      code: 'DeviceNotFound',
    });
  });
});
