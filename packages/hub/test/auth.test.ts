import { SignJWT } from 'jose';
import { createSasToken } from '@twinkit/twin-model/protocol';
import { describe, expect, it } from 'vitest';
import { WELL_KNOWN_POLICIES, createHub } from '../src/index.js';
import { createTestAccessToken } from '../src/testing.js';
import { call, serviceToken } from './helpers.js';

const policy = (name: string) => {
  const found = WELL_KNOWN_POLICIES.find((candidate) => candidate.keyName === name);
  if (found === undefined) throw new Error(`no policy ${name}`);
  return found;
};
const tokenFor = (
  hub: { serviceConnectionString: string },
  name: string,
  extra: { resourceUri?: string; expiresOnInSeconds?: number } = {},
) => serviceToken(hub, { keyName: name, key: policy(name).primaryKey, ...extra });

describe('REST authentication with shared access policies', () => {
  it('answers 401 IotHubUnauthorizedAccess without an Authorization header', async () => {
    await using hub = await createHub();
    const response = await call(hub, 'GET', '/devices', { authorization: null });
    expect(response.status).toBe(401);
    expect(response.headers.get('iothub-errorcode')).toBe('IotHubUnauthorizedAccess');
    expect(response.body.Message).toMatch(/^ErrorCode:IotHubUnauthorizedAccess;/);
  });

  it('grants each well-known policy exactly its permissions', async () => {
    await using hub = await createHub();
    await hub.createDevice('dev1');
    const cases: [string, { registryRead: boolean; registryWrite: boolean; service: boolean }][] = [
      ['iothubowner', { registryRead: true, registryWrite: true, service: true }],
      ['service', { registryRead: false, registryWrite: false, service: true }],
      ['registryRead', { registryRead: true, registryWrite: false, service: false }],
      ['registryReadWrite', { registryRead: true, registryWrite: true, service: false }],
      ['device', { registryRead: false, registryWrite: false, service: false }],
    ];
    for (const [name, expected] of cases) {
      const authorization = await tokenFor(hub, name);
      const read = await call(hub, 'GET', '/devices/dev1', { authorization });
      const write = await call(hub, 'PUT', `/devices/new-${name}`, { authorization, body: {} });
      const twin = await call(hub, 'GET', '/twins/dev1', { authorization });
      const query = await call(hub, 'POST', '/devices/query', {
        authorization,
        body: { query: 'SELECT * FROM devices' },
      });
      expect([read.status, write.status, twin.status, query.status], name).toEqual([
        expected.registryRead ? 200 : 401,
        expected.registryWrite ? 200 : 401,
        expected.service ? 200 : 401,
        expected.service ? 200 : 401,
      ]);
    }
  });

  it('accepts tokens signed with the secondary key and the port-qualified host name', async () => {
    await using hub = await createHub();
    const secondary = await serviceToken(hub, {
      keyName: 'iothubowner',
      key: policy('iothubowner').secondaryKey ?? '',
    });
    expect((await call(hub, 'GET', '/devices', { authorization: secondary })).status).toBe(200);
    const withPort = await tokenFor(hub, 'iothubowner', { resourceUri: 'localhost:8443' });
    expect((await call(hub, 'GET', '/devices', { authorization: withPort })).status).toBe(200);
  });

  it('rejects expired tokens, wrong keys, unknown policies, device tokens and foreign hosts', async () => {
    await using hub = await createHub();
    const now = Math.floor(Date.now() / 1000);
    const expired = await tokenFor(hub, 'iothubowner', { expiresOnInSeconds: now - 10 });
    const wrongKey = await serviceToken(hub, {
      keyName: 'iothubowner',
      key: policy('service').primaryKey,
    });
    const unknown = await serviceToken(hub, {
      keyName: 'nobody',
      key: policy('service').primaryKey,
    });
    const device = await createSasToken({
      resourceUri: 'localhost/devices/dev1',
      key: policy('service').primaryKey,
      expiresOnInSeconds: now + 60,
    });
    const foreign = await tokenFor(hub, 'iothubowner', { resourceUri: 'other.example' });
    for (const [label, authorization] of [
      ['expired', expired],
      ['wrong key', wrongKey],
      ['unknown policy', unknown],
      ['device token', device],
      ['foreign host', foreign],
      ['garbage', 'SharedAccessSignature nonsense'],
      ['scheme', 'Basic abc'],
    ] as const) {
      const response = await call(hub, 'GET', '/devices', { authorization });
      expect(response.status, label).toBe(401);
      expect(response.body.Message, label).not.toContain(policy('iothubowner').primaryKey);
    }
    const expiredResponse = await call(hub, 'GET', '/devices', { authorization: expired });
    expect(expiredResponse.body.Message).toContain('expired');
  });

  it('limits a token scoped to one device path to that path', async () => {
    await using hub = await createHub();
    await hub.createDevice('dev1');
    await hub.createDevice('dev2');
    const scoped = await tokenFor(hub, 'iothubowner', { resourceUri: 'localhost/devices/dev1' });
    expect((await call(hub, 'GET', '/devices/dev1', { authorization: scoped })).status).toBe(200);
    expect((await call(hub, 'GET', '/devices/dev2', { authorization: scoped })).status).toBe(401);
  });

  it('uses custom policies instead of the well-known ones when configured', async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    await using hub = await createHub({
      policies: [{ keyName: 'ops', primaryKey: key, rights: ['RegistryRead'] }],
    });
    expect(hub.serviceConnectionString).toBe(
      `HostName=localhost;SharedAccessKeyName=ops;SharedAccessKey=${key}`,
    );
    expect((await call(hub, 'GET', '/devices')).status).toBe(200);
    const owner = await tokenFor(hub, 'iothubowner');
    expect((await call(hub, 'GET', '/devices', { authorization: owner })).status).toBe(401);
  });

  it('refuses invalid policy configuration', async () => {
    await expect(
      createHub({ policies: [{ keyName: 'x', primaryKey: 'short', rights: ['RegistryRead'] }] }),
    ).rejects.toThrow(TypeError);
  });
});

describe('REST authentication with Bearer tokens', () => {
  const key = 'a-test-signing-key-that-is-long-enough-for-hs256';

  it('accepts JWTs from the configured issuer and maps roles to permissions', async () => {
    await using hub = await createHub({ tokenIssuer: { key } });
    await hub.createDevice('dev1');
    const bearer = async (roles: string[]) =>
      `Bearer ${(await createTestAccessToken({ key, roles })).token}`;
    const reader = await bearer(['IoTHub.Registry.Read']);
    expect((await call(hub, 'GET', '/devices/dev1', { authorization: reader })).status).toBe(200);
    expect((await call(hub, 'GET', '/twins/dev1', { authorization: reader })).status).toBe(401);
    const contributor = await bearer(['IoT Hub Data Contributor']);
    expect(
      (
        await call(hub, 'PATCH', '/twins/dev1', {
          authorization: contributor,
          body: { tags: { a: 1 } },
        })
      ).status,
    ).toBe(200);
    expect(
      (await call(hub, 'PUT', '/devices/dev2', { authorization: contributor, body: {} })).status,
    ).toBe(200);
    const twinReader = await bearer(['IoT Hub Data Reader']);
    expect((await call(hub, 'GET', '/twins/dev1', { authorization: twinReader })).status).toBe(200);
    expect(
      (
        await call(hub, 'PATCH', '/twins/dev1', {
          authorization: twinReader,
          body: { tags: { a: 2 } },
        })
      ).status,
    ).toBe(401);
  });

  it('rejects JWTs that are expired, for another audience, or signed with another key', async () => {
    await using hub = await createHub({ tokenIssuer: { key, issuer: 'https://issuer.test' } });
    const roles = ['IoT Hub Data Contributor'];
    const good = await createTestAccessToken({ key, roles, issuer: 'https://issuer.test' });
    expect(
      (await call(hub, 'GET', '/devices', { authorization: `Bearer ${good.token}` })).status,
    ).toBe(200);
    const cases = [
      await createTestAccessToken({
        key,
        roles,
        issuer: 'https://issuer.test',
        expiresInSeconds: -120,
      }),
      await createTestAccessToken({
        key,
        roles,
        issuer: 'https://issuer.test',
        audience: 'https://storage.azure.com',
      }),
      await createTestAccessToken({ key: `${key}-other`, roles, issuer: 'https://issuer.test' }),
      await createTestAccessToken({ key, roles, issuer: 'https://elsewhere.test' }),
    ];
    for (const { token } of cases) {
      expect(
        (await call(hub, 'GET', '/devices', { authorization: `Bearer ${token}` })).status,
      ).toBe(401);
    }
  });

  it('requires an expiry (exp) on Bearer tokens', async () => {
    await using hub = await createHub({ tokenIssuer: { key } });
    const forever = await new SignJWT({ roles: ['IoT Hub Data Contributor'] })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setAudience('https://iothubs.azure.net')
      .setIssuedAt()
      .sign(new TextEncoder().encode(key));
    const response = await call(hub, 'GET', '/devices', { authorization: `Bearer ${forever}` });
    expect(response.status).toBe(401);
    expect(response.body.Message).toContain('(exp)');
  });

  it('treats role names as data: __proto__, toString and constructor grant nothing', async () => {
    await using hub = await createHub({ tokenIssuer: { key } });
    for (const role of ['__proto__', 'toString', 'constructor', 'hasOwnProperty', 'valueOf']) {
      const { token } = await createTestAccessToken({ key, roles: [role] });
      const response = await call(hub, 'GET', '/devices', { authorization: `Bearer ${token}` });
      expect(response.status, role).toBe(401);
      expect(response.body.Message, role).toContain('not allowed');
    }
    // Mixed with a real role, they neither break nor widen it.
    const { token } = await createTestAccessToken({
      key,
      roles: ['__proto__', 'IoT Hub Data Reader', 'constructor'],
    });
    expect((await call(hub, 'GET', '/devices', { authorization: `Bearer ${token}` })).status).toBe(
      200,
    );
    expect(
      (await call(hub, 'PUT', '/devices/x', { authorization: `Bearer ${token}`, body: {} })).status,
    ).toBe(401);
  });

  it('rejects Bearer tokens when no issuer is configured', async () => {
    await using hub = await createHub();
    const { token } = await createTestAccessToken({ key, roles: ['IoT Hub Data Contributor'] });
    const response = await call(hub, 'GET', '/devices', { authorization: `Bearer ${token}` });
    expect(response.status).toBe(401);
    expect(response.body.Message).toContain('tokenIssuer');
  });
});
