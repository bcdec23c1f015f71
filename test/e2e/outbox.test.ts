/**
 * The offline outbox: reported-property updates made while the connection is down wait, fold
 * into one merge patch, and reach the hub in call order once the client has reconnected by
 * itself; with `outbox: false` they fail fast instead (DeviceClientOptions.outbox).
 */
import {
  DeviceClient,
  TransportError,
  isTransportError,
  type DeviceClientOptions,
} from '@twinkit/device';
import { startTestHub, type TestHub } from '@twinkit/hub/testing';
import { describe, expect, it, vi } from 'vitest';
import {
  DEADLINE_IN_MS,
  TokenGate,
  createRegistry,
  deviceOptions,
  waitForState,
} from './helpers.js';

const waitOptions = { timeout: DEADLINE_IN_MS, interval: 10 };

/** A device whose reconnects wait at a token gate, so the test decides how long it is offline. */
async function gatedDevice(testHub: TestHub, options: DeviceClientOptions = {}) {
  const { primaryKey } = await testHub.createDevice('myDeviceId');
  const gate = new TokenGate(primaryKey);
  const device = DeviceClient.fromTokenProvider(
    { hostName: `localhost:${String(testHub.mqttPort)}`, deviceId: 'myDeviceId' },
    gate.provider,
    { ...deviceOptions(testHub), ...options },
  );
  await device.open();
  return { device, gate };
}

/** Drops the device's connection and waits until its reconnect is held at the gate. */
async function goOffline(testHub: TestHub, device: DeviceClient, gate: TokenGate): Promise<void> {
  gate.shut();
  expect(testHub.hub.faults.mqtt.dropConnection({ deviceId: 'myDeviceId' })).toBe(true);
  await waitForState(device, 'reconnecting');
  await vi.waitFor(() => {
    expect(gate.waiting).toBe(1);
  }, waitOptions);
}

describe('DeviceClient reported outbox', () => {
  it('sends reported updates made while disconnected after it reconnects, coalesced into one write in call order', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { device, gate } = await gatedDevice(testHub);
    await using _device = device;
    expect(
      (await device.updateReportedProperties({ firmware: { version: '1.0.0' }, battery: 100 }))
        .version,
    ).toBe(2);

    await goOffline(testHub, device, gate);
    const sends = [
      device.updateReportedProperties({ connectivity: { type: 'wifi' }, battery: 90 }),
      device.updateReportedProperties({ battery: 80 }),
      device.updateReportedProperties({ connectivity: { type: 'cellular', signal: -70 } }),
      device.updateReportedProperties({ firmware: null }),
    ];
    // Nothing reached the hub while offline.
    expect((await registry.getTwin('myDeviceId')).properties.reported.$version).toBe(2);

    gate.open();
    const results = await Promise.all(sends);
    // One coalesced write: every caller shares its version.
    expect(results.map((result) => result.version)).toEqual([3, 3, 3, 3]);
    const twin = await registry.getTwin('myDeviceId');
    expect(twin.properties.reported).toMatchObject({
      connectivity: { type: 'cellular', signal: -70 },
      battery: 80,
      $version: 3,
    });
    expect(twin.properties.reported).not.toHaveProperty('firmware');
    expect((await device.getTwin()).reported).toEqual({
      connectivity: { type: 'cellular', signal: -70 },
      battery: 80,
      $version: 3,
    });
  });

  it('keeps call order across a patch that was in flight when the connection dropped', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { device, gate } = await gatedDevice(testHub);
    await using _device = device;

    // The hub applies the first patch but its answer is lost with the connection.
    testHub.hub.faults.mqtt.delayNextTwinResponses({
      deviceId: 'myDeviceId',
      operation: 'updateReported',
      delayInMs: 10_000,
    });
    const first = device.updateReportedProperties({ mode: 'first', firstOnly: true });
    await vi.waitFor(async () => {
      expect((await registry.getTwin('myDeviceId')).properties.reported.mode).toBe('first');
    }, waitOptions);
    const second = device.updateReportedProperties({ mode: 'second' });
    await goOffline(testHub, device, gate);
    const third = device.updateReportedProperties({ mode: 'third' });
    gate.open();

    const results = await Promise.all([first, second, third]);
    const versions = results.map((result) => result.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    const twin = await registry.getTwin('myDeviceId');
    expect(twin.properties.reported).toMatchObject({ mode: 'third', firstOnly: true });
    expect(twin.properties.reported.$version).toBe(versions[2]);
  });

  it('fails fast with TransportError while disconnected when the outbox is off, and sends again once reconnected', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { device, gate } = await gatedDevice(testHub, { outbox: false });
    await using _device = device;
    await device.updateReportedProperties({ battery: 100 });

    await goOffline(testHub, device, gate);
    const offline = device.updateReportedProperties({ battery: 50 });
    await expect(offline).rejects.toBeInstanceOf(TransportError);
    expect(isTransportError(await offline.catch((error: unknown) => error))).toBe(true);

    gate.open();
    await waitForState(device, 'connected');
    // The refused update was not kept for later.
    const twin = await registry.getTwin('myDeviceId');
    expect(twin.properties.reported).toMatchObject({ battery: 100, $version: 2 });
    expect((await device.updateReportedProperties({ battery: 40 })).version).toBe(3);
  });
});
