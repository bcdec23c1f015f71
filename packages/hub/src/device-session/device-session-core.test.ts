import { createSasToken } from '@twinkit/twin-model/protocol';
import { describe, expect, it } from 'vitest';
import type { DeviceIdentity } from '../device-endpoint/endpoint-support.js';
import { createHub, hubInternals } from '../hub.js';
import type { DesiredNotification, SessionEndReason } from './device-connection.js';
import { DeviceSessionCore } from './device-session-core.js';

/** A third endpoint, with no protocol and no socket: it only records what the core decides. */
class RecordingCodec {
  readonly ended: { identity: DeviceIdentity; reason: SessionEndReason }[] = [];
  readonly delivered: DesiredNotification[] = [];
  dropped = 0;
  wants = true;
  readonly hooks = {
    endSession: (identity: DeviceIdentity, reason: SessionEndReason) => {
      this.ended.push({ identity, reason });
    },
    drop: () => {
      this.dropped += 1;
    },
    wantsDesired: () => this.wants,
    deliverDesired: (_identity: DeviceIdentity, notification: DesiredNotification) => {
      this.delivered.push(notification);
    },
  };
}

async function setUp() {
  const hub = await createHub();
  const device = await hub.createDevice('dev-1');
  const core = new DeviceSessionCore(hubInternals(hub).core);
  const token = await createSasToken({
    resourceUri: 'localhost/devices/dev-1',
    key: device.primaryKey,
    expiresOnInSeconds: Math.floor(Date.now() / 1000) + 3600,
  });
  return {
    hub,
    core,
    token,
    async [Symbol.asyncDispose]() {
      core.close();
      await hub.close();
    },
  };
}

describe('DeviceSessionCore', () => {
  it('serves a codec with no protocol: authenticate, open a session, twin GET and PATCH', async () => {
    await using fixture = await setUp();
    const codec = new RecordingCodec();
    const connection = fixture.core.openConnection(codec.hooks);
    const dev1 = { deviceId: 'dev-1' };
    expect(connection.openSession(dev1)).toMatchObject({ ok: false, reason: 'not-covered' });
    await expect(connection.authenticate({ sasToken: fixture.token })).resolves.toMatchObject({
      ok: true,
    });
    expect(connection.openSession({ deviceId: 'DEV-1' })).toMatchObject({ ok: false });
    expect(connection.openSession(dev1)).toEqual({ ok: true });
    expect(fixture.core.isConnected(dev1)).toBe(true);
    const [patched, read] = await Promise.all([
      connection.twin(dev1, { kind: 'patch-reported', body: '{"temperature":21}' }),
      connection.twin(dev1, { kind: 'get' }),
    ]);
    expect(patched).toEqual({ status: 204, version: 2 });
    // Requests of one identity run in order: the GET sees the PATCH.
    expect(read?.status).toBe(200);
    expect(JSON.parse(read?.body ?? '{}')).toMatchObject({
      reported: { temperature: 21, $version: 2 },
    });
    await expect(
      connection.twin(dev1, { kind: 'patch-reported', body: 'not json' }),
    ).resolves.toMatchObject({ status: 400 });
  });

  it('fans desired changes out to sessions that want them, and revokes disabled devices', async () => {
    await using fixture = await setUp();
    const codec = new RecordingCodec();
    const connection = fixture.core.openConnection(codec.hooks);
    await connection.authenticate({ sasToken: fixture.token });
    connection.openSession({ deviceId: 'dev-1' });
    const internals = hubInternals(fixture.hub).core;
    await internals.writeTwin(
      { deviceId: 'dev-1' },
      'update',
      { properties: { desired: { mode: 'eco' } } },
      {},
    ).committed;
    expect(codec.delivered).toEqual([{ version: 2, body: '{"mode":"eco","$version":2}' }]);
    await internals.updateIdentity(
      { deviceId: 'dev-1' },
      { status: 'disabled', keysOmitted: true },
      undefined,
    ).committed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(codec.ended).toEqual([{ identity: { deviceId: 'dev-1' }, reason: 'revoked' }]);
    expect(fixture.core.isConnected({ deviceId: 'dev-1' })).toBe(false);
  });

  it('drops connections and expires tokens on faults, refusing the token afterwards', async () => {
    await using fixture = await setUp();
    const codec = new RecordingCodec();
    const dev1 = { deviceId: 'dev-1' };
    const first = fixture.core.openConnection(codec.hooks);
    await first.authenticate({ sasToken: fixture.token });
    first.openSession(dev1);
    expect(fixture.core.faults.dropConnection(dev1)).toBe(true);
    expect(codec.dropped).toBe(1);
    expect(fixture.core.isConnected(dev1)).toBe(false);
    const second = fixture.core.openConnection(codec.hooks);
    await second.authenticate({ sasToken: fixture.token });
    second.openSession(dev1);
    expect(fixture.core.faults.expireToken(dev1)).toBe(true);
    expect(codec.ended).toEqual([{ identity: dev1, reason: 'expired' }]);
    await expect(fixture.core.verify({ sasToken: fixture.token })).resolves.toMatchObject({
      ok: false,
      reason: 'expired',
    });
  });
});
