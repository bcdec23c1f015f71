import { describe, expect, it } from 'vitest';
import { createHub, type Hub } from '../src/index.js';
import { hubInternals } from '../src/hub.js';
import { call, etagOf } from './helpers.js';

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z$/;

/** Builds base state S1 of docs/internals/twin-semantics.md#test-vectors on device `dev1`: dv 5, rv 7, e 6, v 13. */
async function createS1(hub: Hub): Promise<void> {
  await hub.createDevice('dev1');
  const core = hubInternals(hub).core;
  const patch = async (body: unknown) => {
    const response = await call(hub, 'PATCH', '/twins/dev1', { body });
    expect(response.status).toBe(200);
  };
  await patch({ tags: { location: { region: 'US', plant: 'Redmond43' } } });
  await patch({
    properties: { desired: { telemetryConfig: { sendFrequency: '5m', mode: 'eco' } } },
  });
  await patch({ properties: { desired: { fw: { version: '1.0', url: 'http://a' } } } });
  await patch({ properties: { desired: { list: [1, 2, 3] } } });
  await patch({ properties: { desired: { ghost: null } } });
  for (let i = 0; i < 5; i += 1) await core.updateReported('dev1', undefined, { battery: 50 + i });
  await core.updateReported('dev1', undefined, {
    battery: 55,
    telemetryConfig: { sendFrequency: '5m', status: 'success' },
  });
}

async function twinOf(hub: Hub, id = 'dev1') {
  const response = await call(hub, 'GET', `/twins/${id}`);
  expect(response.status).toBe(200);
  return response.body;
}

function content(section: Record<string, unknown>): Record<string, unknown> {
  const { $metadata: _metadata, $version: _version, ...rest } = section;
  return rest;
}

describe('twin REST API', () => {
  it('returns the fresh twin of a new device exactly as IoT Hub does (TV-01)', async () => {
    await using hub = await createHub();
    await call(hub, 'PUT', '/devices/dev1', { body: { deviceId: 'dev1' } });
    const response = await call(hub, 'GET', '/twins/dev1');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('etag')).toBe('"AAAAAAAAAAE="');
    const twin = response.body;
    expect(twin).toMatchObject({
      deviceId: 'dev1',
      etag: 'AAAAAAAAAAE=',
      status: 'enabled',
      statusUpdateTime: '0001-01-01T00:00:00Z',
      connectionState: 'Disconnected',
      lastActivityTime: '0001-01-01T00:00:00Z',
      cloudToDeviceMessageCount: 0,
      authenticationType: 'sas',
      x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
      modelId: '',
      version: 2,
      capabilities: { iotEdge: false },
    });
    expect(twin.tags).toBeUndefined();
    expect(typeof twin.deviceEtag).toBe('string');
    expect(twin.properties.desired.$version).toBe(1);
    expect(twin.properties.reported.$version).toBe(1);
    expect(Object.keys(twin.properties.desired.$metadata)).toEqual(['$lastUpdated']);
    expect(twin.properties.desired.$metadata.$lastUpdated).toMatch(TIMESTAMP);
  });

  it('builds base state S1 with the documented counters', async () => {
    await using hub = await createHub();
    await createS1(hub);
    const twin = await twinOf(hub);
    expect(twin.etag).toBe(etagOf(6));
    expect(twin.version).toBe(13);
    expect(twin.properties.desired.$version).toBe(5);
    expect(twin.properties.reported.$version).toBe(7);
  });

  it('adds, overwrites and deletes desired properties with one version bump (TV-02)', async () => {
    await using hub = await createHub();
    await createS1(hub);
    const response = await call(hub, 'PATCH', '/twins/dev1', {
      body: {
        properties: {
          desired: {
            newProperty: { nestedProperty: 'newValue' },
            telemetryConfig: { sendFrequency: '10m' },
            fw: null,
          },
        },
      },
    });
    expect(response.status).toBe(200);
    const twin = response.body;
    expect(content(twin.properties.desired)).toEqual({
      telemetryConfig: { sendFrequency: '10m', mode: 'eco' },
      list: [1, 2, 3],
      newProperty: { nestedProperty: 'newValue' },
    });
    expect(twin.properties.desired.$version).toBe(6);
    expect(twin.etag).toBe('AAAAAAAAAAc=');
    expect(twin.version).toBe(14);
    expect(twin.properties.reported.$version).toBe(7);
    expect(twin.tags).toEqual({ location: { region: 'US', plant: 'Redmond43' } });
    expect(response.headers.get('etag')).toBe('"AAAAAAAAAAc="');
  });

  it('bumps versions for a null on a missing key without changing content (TV-04)', async () => {
    await using hub = await createHub();
    await createS1(hub);
    const before = await twinOf(hub);
    const twin = (
      await call(hub, 'PATCH', '/twins/dev1', {
        body: { properties: { desired: { ghost: null } } },
      })
    ).body;
    expect(content(twin.properties.desired)).toEqual(content(before.properties.desired));
    expect([twin.properties.desired.$version, twin.etag, twin.version]).toEqual([6, etagOf(7), 14]);
  });

  it('replaces arrays wholesale and stores mixed arrays exactly (TV-08, TV-09)', async () => {
    await using hub = await createHub();
    await createS1(hub);
    let twin = (
      await call(hub, 'PATCH', '/twins/dev1', { body: { properties: { desired: { list: [9] } } } })
    ).body;
    expect(twin.properties.desired.list).toEqual([9]);
    const mixed = [1, 'someString', false, { Id: 123, Name: 'someName' }];
    twin = (
      await call(hub, 'PATCH', '/twins/dev1', {
        body: { properties: { desired: { list: mixed } } },
      })
    ).body;
    expect(twin.properties.desired.list).toEqual(mixed);
    expect(hubInternals(hub).core.getDeviceTwin('dev1').desired.list).toEqual(mixed);
  });

  it('leaves an object unchanged when patched with an empty object (TV-10)', async () => {
    await using hub = await createHub();
    await createS1(hub);
    const twin = (
      await call(hub, 'PATCH', '/twins/dev1', {
        body: { properties: { desired: { telemetryConfig: {} } } },
      })
    ).body;
    expect(twin.properties.desired.telemetryConfig).toEqual({ sendFrequency: '5m', mode: 'eco' });
    expect(twin.properties.desired.$version).toBe(6);
  });

  it('merges tags without touching desired or its version (TV-12)', async () => {
    await using hub = await createHub();
    await createS1(hub);
    const notifications: unknown[] = [];
    hubInternals(hub).core.onDesiredChanged((event) => notifications.push(event));
    const twin = (
      await call(hub, 'PATCH', '/twins/dev1', { body: { tags: { location: { floor: '1' } } } })
    ).body;
    expect(twin.tags).toEqual({ location: { region: 'US', plant: 'Redmond43', floor: '1' } });
    expect([twin.etag, twin.version, twin.properties.desired.$version]).toEqual([etagOf(7), 14, 5]);
    expect(notifications).toEqual([]);
  });

  it('counts a combined tags and desired patch as one write (TV-13)', async () => {
    await using hub = await createHub();
    await createS1(hub);
    const twin = (
      await call(hub, 'PATCH', '/twins/dev1', {
        body: { tags: { env: 'prod' }, properties: { desired: { x: 1 } } },
      })
    ).body;
    expect([twin.etag, twin.properties.desired.$version, twin.version]).toEqual([etagOf(7), 6, 14]);
  });

  it('replaces tags and desired with PUT and notifies the full desired document (TV-17)', async () => {
    await using hub = await createHub();
    await createS1(hub);
    const notifications: unknown[] = [];
    hubInternals(hub).core.onDesiredChanged((event) => notifications.push(event));
    const response = await call(hub, 'PUT', '/twins/dev1', {
      body: { tags: { a: '1' }, properties: { desired: { x: 1 } } },
    });
    expect(response.status).toBe(200);
    const twin = response.body;
    expect(twin.tags).toEqual({ a: '1' });
    expect(content(twin.properties.desired)).toEqual({ x: 1 });
    expect(content(twin.properties.reported)).toEqual({
      battery: 55,
      telemetryConfig: { sendFrequency: '5m', status: 'success' },
    });
    expect([twin.properties.desired.$version, twin.etag, twin.version]).toEqual([6, etagOf(7), 14]);
    expect(notifications).toEqual([
      { deviceId: 'dev1', notification: { x: 1, $version: 6 }, version: 6 },
    ]);
  });

  it('rejects null values in a PUT with the hub message and changes nothing (TV-18)', async () => {
    await using hub = await createHub();
    await createS1(hub);
    const response = await call(hub, 'PUT', '/twins/dev1', { body: { tags: { 'my-tag': null } } });
    expect(response.status).toBe(400);
    expect(response.headers.get('iothub-errorcode')).toBe('ArgumentInvalid');
    expect(response.body.Message).toMatch(/^ErrorCode:ArgumentInvalid;/);
    expect(response.body.Message).toContain(
      'Value of Property or Tag cannot be null. Error in Property/Tag my-tag',
    );
    expect((await twinOf(hub)).etag).toBe(etagOf(6));
  });

  it('answers 412 PreconditionFailed for a stale quoted If-Match and applies nothing (TV-19)', async () => {
    await using hub = await createHub();
    await createS1(hub);
    const response = await call(hub, 'PATCH', '/twins/dev1', {
      body: { properties: { desired: { x: 1 } } },
      headers: { 'if-match': '"AAAAAAAAAAU="' },
    });
    expect(response.status).toBe(412);
    expect(response.headers.get('iothub-errorcode')).toBe('PreconditionFailed');
    expect(response.body.Message).toMatch(/^ErrorCode:PreconditionFailed;/);
    const twin = await twinOf(hub);
    expect([twin.etag, twin.properties.desired.$version]).toEqual([etagOf(6), 5]);
  });

  it('accepts the current ETag quoted, unquoted and as a wildcard (TV-20)', async () => {
    await using hub = await createHub();
    await createS1(hub);
    const patch = (ifMatch: string) =>
      call(hub, 'PATCH', '/twins/dev1', {
        body: { properties: { desired: { x: 1 } } },
        headers: { 'if-match': ifMatch },
      });
    expect((await patch('"AAAAAAAAAAY="')).body.etag).toBe(etagOf(7));
    expect((await patch(etagOf(7))).body.etag).toBe(etagOf(8));
    expect((await patch('"*"')).status).toBe(200);
    expect((await patch('*')).status).toBe(200);
  });

  it('ignores an unquoted stale If-Match in ignore-unquoted mode but still checks quoted ones', async () => {
    await using hub = await createHub({ ifMatchMode: 'ignore-unquoted' });
    await hub.createDevice('dev1');
    const patch = (ifMatch: string) =>
      call(hub, 'PATCH', '/twins/dev1', {
        body: { tags: { a: 1 } },
        headers: { 'if-match': ifMatch },
      });
    expect((await patch('AAAAAAAAAAU=')).status).toBe(200);
    expect((await patch('"AAAAAAAAAAU="')).status).toBe(412);
  });

  it('keeps the service ETag valid across reported writes (TV-21)', async () => {
    await using hub = await createHub();
    await createS1(hub);
    const { version } = await hubInternals(hub).core.updateReported('dev1', undefined, {
      battery: 54,
    });
    expect(version).toBe(8);
    const twin = await twinOf(hub);
    expect([twin.etag, twin.version, twin.properties.reported.battery]).toEqual([
      etagOf(6),
      14,
      54,
    ]);
    const response = await call(hub, 'PATCH', '/twins/dev1', {
      body: { properties: { desired: { x: 1 } } },
      headers: { 'if-match': '"AAAAAAAAAAY="' },
    });
    expect(response.status).toBe(200);
  });

  it('ignores read-only members that SDKs send in whole Twin objects (TV-24)', async () => {
    await using hub = await createHub();
    await createS1(hub);
    const before = await twinOf(hub);
    const response = await call(hub, 'PATCH', '/twins/dev1', {
      body: {
        deviceId: 'dev1',
        etag: 'AAAAAAAAAAY=',
        version: 13,
        status: 'disabled',
        properties: { desired: { x: 1, $version: 5, $metadata: {} }, reported: {} },
      },
    });
    expect(response.status).toBe(200);
    const twin = response.body;
    expect(content(twin.properties.desired)).toEqual({
      ...content(before.properties.desired),
      x: 1,
    });
    expect(twin.properties.reported).toEqual(before.properties.reported);
    expect(twin.status).toBe('enabled');
    expect(twin.properties.desired.$version).toBe(6);
  });

  it('follows the version arithmetic over a sequence of writes (TV-25)', async () => {
    await using hub = await createHub();
    await hub.createDevice('dev1');
    const core = hubInternals(hub).core;
    for (let i = 0; i < 3; i += 1)
      await call(hub, 'PATCH', '/twins/dev1', { body: { properties: { desired: { d: i } } } });
    for (let i = 0; i < 10; i += 1) await core.updateReported('dev1', undefined, { r: i });
    for (let i = 0; i < 2; i += 1)
      await call(hub, 'PATCH', '/twins/dev1', { body: { tags: { t: i } } });
    await call(hub, 'PATCH', '/twins/dev1', {
      body: { tags: { t: 9 }, properties: { desired: { d: 9 } } },
    });
    const twin = await twinOf(hub);
    expect([
      twin.properties.desired.$version,
      twin.properties.reported.$version,
      twin.etag,
      twin.version,
    ]).toEqual([5, 11, 'AAAAAAAAAAc=', 18]);
  });

  it('supports module twins with the same semantics', async () => {
    await using hub = await createHub();
    await hub.createDevice('dev1');
    await hub.createModule('dev1', 'mod+1');
    const patched = await call(hub, 'PATCH', '/twins/dev1/modules/mod%2B1', {
      body: { properties: { desired: { a: 1 } } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      deviceId: 'dev1',
      moduleId: 'mod+1',
      etag: etagOf(2),
      version: 3,
    });
    const replaced = await call(hub, 'PUT', '/twins/dev1/modules/mod%2B1', {
      body: { tags: { b: 2 } },
    });
    expect(replaced.body.tags).toEqual({ b: 2 });
    expect(content(replaced.body.properties.desired)).toEqual({});
    expect(
      (await call(hub, 'GET', '/twins/dev1/modules/other')).headers.get('iothub-errorcode'),
    ).toBe('ModuleNotFound');
    expect((await call(hub, 'GET', '/twins/dev1/modules/other')).status).toBe(404);
  });
});

describe('twin validation over REST', () => {
  const invalid = async (body: unknown, apiVersion?: string) => {
    await using hub = await createHub();
    await hub.createDevice('dev1');
    const response = await call(hub, 'PATCH', '/twins/dev1', {
      body,
      ...(apiVersion === undefined ? {} : { apiVersion }),
    });
    const twin = await twinOf(hub);
    return { response, twin };
  };

  it('rejects a key with a dot with the hub text and leaves the twin unchanged (TV-29)', async () => {
    const { response, twin } = await invalid({ properties: { desired: { 'a.b': 1 } } });
    expect(response.status).toBe(400);
    expect(response.body.Message).toBe(
      "ErrorCode:ArgumentInvalid;Property or Tag name has invalid characters. Error in Property/Tag a.b. Must not contain Control Characters, '.', '$', '#', or ' '.",
    );
    expect(twin.etag).toBe(etagOf(1));
  });

  it.each([['a#b'], ['a b'], ['$x'], ['a\u0001b']])(
    'rejects the key %j in tags and desired (TV-30)',
    async (key) => {
      for (const body of [{ tags: { [key]: 1 } }, { properties: { desired: { [key]: 1 } } }]) {
        const { response } = await invalid(body);
        expect(response.status).toBe(400);
        expect(response.headers.get('iothub-errorcode')).toBe('ArgumentInvalid');
      }
    },
  );

  it('limits keys to 1024 UTF-8 bytes (TV-31)', async () => {
    expect((await invalid({ tags: { ['k'.repeat(1024)]: 1 } })).response.status).toBe(200);
    expect((await invalid({ tags: { ['k'.repeat(1025)]: 1 } })).response.status).toBe(400);
    expect((await invalid({ tags: { ['é'.repeat(512)]: 1 } })).response.status).toBe(200);
    expect((await invalid({ tags: { ['é'.repeat(513)]: 1 } })).response.status).toBe(400);
  });

  it('limits strings to 4096 UTF-8 bytes (TV-32)', async () => {
    expect((await invalid({ tags: { s: 'a'.repeat(4096) } })).response.status).toBe(200);
    expect((await invalid({ tags: { s: 'a'.repeat(4097) } })).response.status).toBe(400);
    expect((await invalid({ tags: { s: 'é'.repeat(2049) } })).response.status).toBe(400);
  });

  it('limits integers to the documented range (TV-33)', async () => {
    expect(
      (await invalid({ tags: { n: 4503599627370495, m: -4503599627370496, f: 3.14 } })).response
        .status,
    ).toBe(200);
    expect((await invalid({ tags: { n: 4503599627370496 } })).response.status).toBe(400);
    expect((await invalid({ tags: { n: -4503599627370497 } })).response.status).toBe(400);
  });

  it('limits nesting to 10 levels (TV-34)', async () => {
    const nest = (levels: number) => {
      let value: Record<string, unknown> = { property: 'value' };
      for (let i = levels; i >= 1; i -= 1) value = { [`l${String(i)}`]: value };
      return value;
    };
    expect((await invalid({ tags: nest(10) })).response.status).toBe(200);
    expect((await invalid({ tags: nest(11) })).response.status).toBe(400);
    expect((await invalid({ properties: { desired: nest(11) } })).response.status).toBe(400);
  });

  it('rejects null inside arrays (TV-35)', async () => {
    expect((await invalid({ properties: { desired: { arr: ['a', null] } } })).response.status).toBe(
      400,
    );
    expect(
      (await invalid({ properties: { desired: { arr: [{ f: null }] } } })).response.status,
    ).toBe(400);
    expect((await invalid({ properties: { desired: { arr: [] } } })).response.status).toBe(200);
  });

  it('enforces the 8 KB tags limit inclusively and keeps tags on failure (TV-36)', async () => {
    await using hub = await createHub();
    await hub.createDevice('dev1');
    const full = { k1: 'a'.repeat(4094), k2: 'a'.repeat(4094) };
    expect((await call(hub, 'PATCH', '/twins/dev1', { body: { tags: full } })).status).toBe(200);
    const over = await call(hub, 'PATCH', '/twins/dev1', { body: { tags: { k3: 'a' } } });
    expect(over.status).toBe(400);
    expect((await twinOf(hub)).tags).toEqual(full);
  });

  it('enforces the 32 KB reported limit (TV-37)', async () => {
    await using hub = await createHub();
    await hub.createDevice('dev1');
    const core = hubInternals(hub).core;
    const patch: Record<string, string> = {};
    for (let i = 1; i <= 8; i += 1) patch[`r${String(i)}`] = 'a'.repeat(4094);
    await expect(core.updateReported('dev1', undefined, patch)).resolves.toEqual({ version: 2 });
    await expect(core.updateReported('dev1', undefined, { r9: 'a' })).rejects.toMatchObject({
      statusCode: 400,
      code: 'ArgumentInvalid',
    });
  });

  it('accepts a twin whose tags have the documented size 22 (TV-38)', async () => {
    const { response } = await invalid({ tags: { ab: 'xyz', n: 1, b: true, o: { k: 'v' } } });
    expect(response.status).toBe(200);
  });

  it('rejects arrays on api-versions before 2019-10-01 (TV-39)', async () => {
    const old = await invalid({ properties: { desired: { a: [1] } } }, '2018-06-30');
    expect(old.response.status).toBe(400);
    expect(old.response.body.Message).toContain('arrays are not supported');
    expect(
      (await invalid({ properties: { desired: { a: [1] } } }, '2021-04-12')).response.status,
    ).toBe(200);
  });

  it('answers 404 DeviceNotFound for an unknown device (TV-40)', async () => {
    await using hub = await createHub();
    const response = await call(hub, 'GET', '/twins/nope');
    expect(response.status).toBe(404);
    expect(response.headers.get('iothub-errorcode')).toBe('DeviceNotFound');
    expect(response.body.Message).toMatch(/^ErrorCode:DeviceNotFound;/);
    expect(response.body.ExceptionMessage).toMatch(/^Tracking ID:/);
  });

  it('answers 400 ArgumentInvalid for malformed JSON and for a non-object body', async () => {
    await using hub = await createHub();
    await hub.createDevice('dev1');
    const malformed = await call(hub, 'PATCH', '/twins/dev1', { body: '{"tags":' });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('iothub-errorcode')).toBe('ArgumentInvalid');
    expect(malformed.body.Message).toContain('not valid JSON');
    expect((await call(hub, 'PATCH', '/twins/dev1', { body: '[1]' })).status).toBe(400);
    expect((await call(hub, 'PATCH', '/twins/dev1')).status).toBe(400);
  });

  it('answers PATCH tags:null with 400 as the emulator default', async () => {
    const { response } = await invalid({ tags: null });
    expect(response.status).toBe(400);
  });
});
