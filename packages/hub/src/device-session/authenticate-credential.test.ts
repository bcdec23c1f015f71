import { createSasToken } from '@twinkit/twin-model/protocol';
import { describe, expect, it } from 'vitest';
import { WELL_KNOWN_POLICIES, createHub } from '../index.js';
import { hubInternals } from '../hub.js';
import { authenticateCredential } from './credentials.js';

const policy = (name: string) => {
  const found = WELL_KNOWN_POLICIES.find((candidate) => candidate.keyName === name);
  if (found === undefined) throw new Error(`no policy ${name}`);
  return found;
};

describe('authenticateCredential', () => {
  it('accepts device and module tokens signed with their keys and scoped to them', async () => {
    await using hub = await createHub();
    const device = await hub.createDevice('dev1');
    const module = await hub.createModule('dev1', 'm1');
    const core = hubInternals(hub).core;
    const expiresOnInSeconds = Math.floor(Date.now() / 1000) + 600;
    const deviceToken = await createSasToken({
      resourceUri: 'localhost/devices/dev1',
      key: device.secondaryKey,
      expiresOnInSeconds,
    });
    await expect(
      authenticateCredential(
        core,
        { sasToken: deviceToken, claimed: { deviceId: 'dev1' } },
        Date.now(),
      ),
    ).resolves.toMatchObject({ ok: true, grant: { expiresAtMs: expiresOnInSeconds * 1000 } });
    const moduleToken = await createSasToken({
      resourceUri: 'localhost:8883/devices/dev1/modules/m1',
      key: module.primaryKey,
      expiresOnInSeconds,
    });
    await expect(
      authenticateCredential(
        core,
        { sasToken: moduleToken, claimed: { deviceId: 'dev1', moduleId: 'm1' } },
        Date.now(),
      ),
    ).resolves.toMatchObject({ ok: true });
    await expect(
      authenticateCredential(
        core,
        { sasToken: deviceToken, claimed: { deviceId: 'dev1', moduleId: 'm1' } },
        Date.now(),
      ),
    ).resolves.toMatchObject({
      ok: false,
      reason: 'bad-credentials',
    });
    const policyToken = await createSasToken({
      resourceUri: 'localhost/devices/dev1',
      key: policy('device').primaryKey,
      keyName: 'device',
      expiresOnInSeconds,
    });
    await expect(
      authenticateCredential(
        core,
        { sasToken: policyToken, claimed: { deviceId: 'dev1' } },
        Date.now(),
      ),
    ).resolves.toMatchObject({ ok: true });
  });

  it('refuses unknown, disabled, foreign-scoped, expired and malformed tokens', async () => {
    await using hub = await createHub();
    const device = await hub.createDevice('dev1');
    await hub.createDevice('off', { status: 'disabled' });
    const core = hubInternals(hub).core;
    const now = Math.floor(Date.now() / 1000);
    const sign = (resourceUri: string, expiresOnInSeconds = now + 60) =>
      createSasToken({ resourceUri, key: device.primaryKey, expiresOnInSeconds });
    await expect(
      authenticateCredential(
        core,
        { sasToken: await sign('localhost/devices/ghost'), claimed: { deviceId: 'ghost' } },
        Date.now(),
      ),
    ).resolves.toMatchObject({
      reason: 'unknown-identity',
    });
    const offKey = core.getEntry('off')?.identity.authentication.symmetricKey.primaryKey ?? '';
    const offToken = await createSasToken({
      resourceUri: 'localhost/devices/off',
      key: offKey,
      expiresOnInSeconds: now + 60,
    });
    await expect(
      authenticateCredential(
        core,
        { sasToken: offToken, claimed: { deviceId: 'off' } },
        Date.now(),
      ),
    ).resolves.toMatchObject({
      reason: 'disabled',
    });
    await expect(
      authenticateCredential(
        core,
        { sasToken: await sign('localhost/devices/dev2'), claimed: { deviceId: 'dev1' } },
        Date.now(),
      ),
    ).resolves.toMatchObject({
      reason: 'bad-credentials',
    });
    await expect(
      authenticateCredential(
        core,
        { sasToken: await sign('localhost/devices/dev1', now - 5), claimed: { deviceId: 'dev1' } },
        Date.now(),
      ),
    ).resolves.toMatchObject({
      reason: 'expired',
    });
    await expect(
      authenticateCredential(
        core,
        { sasToken: 'not a token', claimed: { deviceId: 'dev1' } },
        Date.now(),
      ),
    ).resolves.toMatchObject({ reason: 'bad-credentials' });
    const servicePolicy = await createSasToken({
      resourceUri: 'localhost/devices/dev1',
      key: policy('service').primaryKey,
      keyName: 'service',
      expiresOnInSeconds: now + 60,
    });
    await expect(
      authenticateCredential(
        core,
        { sasToken: servicePolicy, claimed: { deviceId: 'dev1' } },
        Date.now(),
      ),
    ).resolves.toMatchObject({ reason: 'bad-credentials' });
  });
});
