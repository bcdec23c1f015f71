/**
 * One device cannot reach another's data. A raw MQTT 3.1.1 client (mqtt.js 5) holding device A's
 * credentials tries device B's topics and identity; the hub refuses every attempt, and device B,
 * connected through the SDK meanwhile, notices nothing (docs/internals/wire-contract.md#mqtt-connect, docs/internals/wire-contract.md#mqtt-topics).
 */
import { ErrorWithSubackPacket, connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { type DesiredChange } from '@twinkit/device';
import { startTestHub, type TestHub } from '@twinkit/hub/testing';
import { createSasToken, deviceResourceUri, mqttUsername } from '@twinkit/twin-model/protocol';
import { describe, expect, it, vi } from 'vitest';
import {
  DEADLINE_IN_MS,
  createDeviceClient,
  createRegistry,
  patchDesired,
  recordStates,
} from './helpers.js';

const waitOptions = { timeout: DEADLINE_IN_MS, interval: 10 };

interface Received {
  topic: string;
  body: string;
}

/** A raw mqtt.js client that disposes itself. */
async function rawClient(
  testHub: TestHub,
  options: IClientOptions,
): Promise<MqttClient & AsyncDisposable> {
  const client = await connectAsync(`mqtts://127.0.0.1:${String(testHub.mqttPort)}`, {
    protocolVersion: 4,
    clean: false,
    reconnectPeriod: 0,
    connectTimeout: DEADLINE_IN_MS,
    ca: testHub.caCertificate,
    ...options,
  });
  return Object.assign(client, { [Symbol.asyncDispose]: () => client.endAsync(true) });
}

async function deviceToken(deviceId: string, key: string): Promise<string> {
  return createSasToken({
    resourceUri: deviceResourceUri('localhost', deviceId),
    key,
    expiresOnInSeconds: Math.floor(Date.now() / 1000) + 3600,
  });
}

/** Device B connected through the SDK, subscribed to desired changes, with reported state. */
async function setUp(testHub: TestHub) {
  const registry = createRegistry(testHub);
  const a = await testHub.createDevice('deviceA');
  const b = await testHub.createDevice('deviceB');
  const deviceB = createDeviceClient(testHub, b.connectionString);
  await deviceB.open();
  const changesOfB: DesiredChange[] = [];
  deviceB.onDesired((change) => {
    changesOfB.push(change);
  });
  await deviceB.getTwin();
  await deviceB.updateReportedProperties({ secret: 'of B' });
  const statesOfB = recordStates(deviceB);
  const credentialsOfA: IClientOptions = {
    clientId: 'deviceA',
    username: mqttUsername({ hostName: 'localhost', deviceId: 'deviceA' }),
    password: await deviceToken('deviceA', a.primaryKey),
  };
  return { registry, deviceB, changesOfB, statesOfB, credentialsOfA };
}

/** B is still connected, was never disturbed, kept its twin, and still receives its desired changes. */
async function expectBUnaffected(
  testHub: TestHub,
  fixture: Awaited<ReturnType<typeof setUp>>,
): Promise<void> {
  const { registry, deviceB, changesOfB, statesOfB } = fixture;
  expect(deviceB.isConnected).toBe(true);
  expect(statesOfB).toEqual([]);
  const twin = await registry.getTwin('deviceB');
  expect(twin.properties.reported).toMatchObject({ secret: 'of B', $version: 2 });
  expect(twin.connectionState).toBe('Connected');
  const version = await patchDesired(registry, 'deviceB', { probe: 'after the intrusion' });
  await vi.waitFor(() => {
    expect(changesOfB.at(-1)?.version).toBe(version);
  }, waitOptions);
}

describe('hub MQTT isolation between devices', () => {
  it("refuses device A's subscriptions to device B's topics and grants its own", async () => {
    await using testHub = await startTestHub();
    const fixture = await setUp(testHub);
    await using _deviceB = fixture.deviceB;
    await using intruder = await rawClient(testHub, fixture.credentialsOfA);

    // mqtt.js rejects a SUBSCRIBE whose SUBACK carries a failure (0x80) and attaches the packet.
    const refused = intruder.subscribeAsync(
      ['devices/deviceB/messages/devicebound/#', 'devices/deviceB/modules/m1/#'],
      { qos: 1 },
    );
    await expect(refused).rejects.toBeInstanceOf(ErrorWithSubackPacket);
    const error = (await refused.catch((caught: unknown) => caught)) as ErrorWithSubackPacket;
    expect(error.packet.granted).toEqual([0x80, 0x80]);

    const granted = await intruder.subscribeAsync('devices/deviceA/messages/devicebound/#', {
      qos: 1,
    });
    expect(granted.map((grant) => grant.qos)).toEqual([1]);
    expect(intruder.connected).toBe(true);
    await expectBUnaffected(testHub, fixture);
  });

  it("closes device A's connection when it publishes on device B's topics, and B is unaffected", async () => {
    await using testHub = await startTestHub();
    const fixture = await setUp(testHub);
    await using _deviceB = fixture.deviceB;
    await using intruder = await rawClient(testHub, fixture.credentialsOfA);
    const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));

    intruder.publish('devices/deviceB/messages/events/', '{"spoofed":true}', { qos: 1 });
    await closed;
    expect(intruder.connected).toBe(false);
    await expectBUnaffected(testHub, fixture);
  });

  it("refuses device A's credentials under device B's client id without disconnecting B", async () => {
    await using testHub = await startTestHub();
    const fixture = await setUp(testHub);
    await using _deviceB = fixture.deviceB;

    const impostor = rawClient(testHub, {
      ...fixture.credentialsOfA,
      clientId: 'deviceB',
      username: mqttUsername({ hostName: 'localhost', deviceId: 'deviceB' }),
    });
    await expect(impostor).rejects.toMatchObject({ code: 5 });
    // Nor may A's client id claim B in its username.
    const mismatched = rawClient(testHub, {
      ...fixture.credentialsOfA,
      username: mqttUsername({ hostName: 'localhost', deviceId: 'deviceB' }),
    });
    await expect(mismatched).rejects.toMatchObject({ code: 4 });
    await expectBUnaffected(testHub, fixture);
  });

  it("answers device A's twin requests from A's twin only and never forwards B's desired changes to A", async () => {
    await using testHub = await startTestHub();
    const fixture = await setUp(testHub);
    await using _deviceB = fixture.deviceB;
    await using intruder = await rawClient(testHub, fixture.credentialsOfA);
    const received: Received[] = [];
    intruder.on('message', (topic, payload) =>
      received.push({ topic, body: payload.toString('utf8') }),
    );
    await intruder.subscribeAsync(
      ['$iothub/twin/res/#', '$iothub/twin/PATCH/properties/desired/#'],
      { qos: 0 },
    );

    await intruder.publishAsync('$iothub/twin/GET/?$rid=get-1', ' ');
    await intruder.publishAsync(
      '$iothub/twin/PATCH/properties/reported/?$rid=patch-1',
      '{"secret":"of A"}',
    );
    await vi.waitFor(() => {
      expect(received).toHaveLength(2);
    }, waitOptions);
    expect(received[0]?.topic).toBe('$iothub/twin/res/200/?$rid=get-1');
    expect(JSON.parse(received[0]?.body ?? 'null')).toEqual({
      desired: { $version: 1 },
      reported: { $version: 1 },
    });
    expect(received[1]?.topic).toBe('$iothub/twin/res/204/?$rid=patch-1&$version=2');

    // B's desired change goes to B only; A's own change then arrives as A's very next message.
    await patchDesired(fixture.registry, 'deviceB', { forB: true });
    await patchDesired(fixture.registry, 'deviceA', { forA: true });
    await vi.waitFor(() => {
      expect(received).toHaveLength(3);
    }, waitOptions);
    expect(received[2]).toEqual({
      topic: '$iothub/twin/PATCH/properties/desired/?$version=2',
      body: '{"forA":true,"$version":2}',
    });
    expect(fixture.changesOfB.at(-1)).toMatchObject({ patch: { forB: true } });
    expect((await fixture.registry.getTwin('deviceA')).properties.reported).toMatchObject({
      secret: 'of A',
    });
    await expectBUnaffected(testHub, fixture);
  });
});
