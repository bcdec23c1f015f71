/**
 * The device flows of the Azure IoT twin samples, over real sockets: MQTT over TCP+TLS and MQTT
 * over WebSocket on the HTTPS port. Read the twin, report connectivity and see it from the back
 * end, and receive desired changes through the three subscription forms (docs/internals/twin-semantics.md#desired-notifications,
 * docs/internals/wire-contract.md#mqtt).
 */
import { mqtt, type DesiredChange, type TransportFactory } from '@twinkit/device';
import { startTestHub, type TestHub } from '@twinkit/hub/testing';
import type { Twin } from '@twinkit/twin-model';
import { describe, expect, it, vi } from 'vitest';
import { DEADLINE_IN_MS, createDeviceClient, createRegistry, patchDesired } from './helpers.js';

const transports: readonly { name: string; transport: (testHub: TestHub) => TransportFactory }[] = [
  { name: 'MQTT over TCP+TLS', transport: () => mqtt() },
  {
    name: 'MQTT over WebSocket',
    transport: (testHub) => mqtt({ webSocket: true, port: testHub.httpsPort! }),
  },
];

const waitOptions = { timeout: DEADLINE_IN_MS, interval: 10 };

describe.each(transports)('DeviceClient over $name', ({ transport }) => {
  it('reads its twin and reports connectivity that the back end sees in getTwin and in a query', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { connectionString } = await testHub.createDevice('myDeviceId');
    await testHub.createDevice('otherDevice');
    await using device = createDeviceClient(testHub, connectionString, {
      transport: transport(testHub),
    });
    await device.open();

    const twin = await device.getTwin();
    expect(twin).toEqual({ desired: { $version: 1 }, reported: { $version: 1 } });

    const { version } = await device.updateReportedProperties({
      connectivity: { type: 'cellular' },
    });
    expect(version).toBe(2);

    const seen = await registry.getTwin('myDeviceId');
    expect(seen.properties.reported.connectivity).toEqual({ type: 'cellular' });
    expect(seen.properties.reported.$version).toBe(2);
    expect(seen.connectionState).toBe('Connected');
    expect((await device.getTwin()).reported).toEqual({
      connectivity: { type: 'cellular' },
      $version: 2,
    });

    const found: Twin[] = [];
    for await (const item of registry.queryTwins(
      "SELECT * FROM devices WHERE properties.reported.connectivity.type = 'cellular'",
    )) {
      found.push(item);
    }
    expect(found.map((item) => item.deviceId)).toEqual(['myDeviceId']);
  });

  it('delivers each desired patch to the all-patches, grouping and property subscriptions it touches, with versions', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { connectionString } = await testHub.createDevice('myDeviceId');
    await using device = createDeviceClient(testHub, connectionString, {
      transport: transport(testHub),
    });
    await device.open();

    const all: DesiredChange[] = [];
    const climate: DesiredChange[] = [];
    const fanOn: DesiredChange[] = [];
    device.onDesired((change) => {
      all.push(change);
    });
    device.onDesired('climate', (change) => {
      climate.push(change);
    });
    device.onDesired('climate.hvac.systemControl.fanOn', (change) => {
      fanOn.push(change);
    });
    // The first read is the baseline; every change after it reaches the handlers.
    expect((await device.getTwin()).desired.$version).toBe(1);

    // A change to another grouping, which also proves the subscription is live.
    await patchDesired(registry, 'myDeviceId', { telemetry: { interval: 30 } });
    await vi.waitFor(() => {
      expect(all.map((change) => change.version)).toEqual([2]);
    }, waitOptions);
    expect(all[0]).toMatchObject({
      path: '',
      value: { telemetry: { interval: 30 } },
      patch: { telemetry: { interval: 30 } },
    });
    expect(climate).toEqual([]);
    expect(fanOn).toEqual([]);

    await patchDesired(registry, 'myDeviceId', {
      climate: { minTemperature: 68, maxTemperature: 76 },
    });
    await vi.waitFor(() => {
      expect(climate.map((change) => change.version)).toEqual([3]);
    }, waitOptions);
    expect(climate[0]).toEqual({
      path: 'climate',
      value: { minTemperature: 68, maxTemperature: 76 },
      version: 3,
      patch: { climate: { minTemperature: 68, maxTemperature: 76 } },
      reason: 'patch',
    });

    await patchDesired(registry, 'myDeviceId', {
      climate: { hvac: { systemControl: { fanOn: true } } },
    });
    await vi.waitFor(() => {
      expect(fanOn.map((change) => change.version)).toEqual([4]);
    }, waitOptions);
    expect(fanOn[0]).toMatchObject({
      path: 'climate.hvac.systemControl.fanOn',
      value: true,
      version: 4,
      reason: 'patch',
    });

    // Another grouping again, then a deletion: the fan handler hears the deletion as null.
    await patchDesired(registry, 'myDeviceId', { telemetry: { interval: 60 } });
    await patchDesired(registry, 'myDeviceId', { climate: { hvac: null } });
    await vi.waitFor(() => {
      expect(all.map((change) => change.version)).toEqual([2, 3, 4, 5, 6]);
    }, waitOptions);
    // Dispatch is synchronous across subscriptions, so once version 6 reached the all-patches
    // handler, every handler has seen everything it will.
    expect(climate.map((change) => change.version)).toEqual([3, 4, 6]);
    expect(climate[1]?.value).toEqual({
      minTemperature: 68,
      maxTemperature: 76,
      hvac: { systemControl: { fanOn: true } },
    });
    expect(climate[2]?.value).toEqual({ minTemperature: 68, maxTemperature: 76 });
    expect(fanOn.map((change) => [change.version, change.value])).toEqual([
      [4, true],
      [6, null],
    ]);
    expect(all.every((change) => change.reason === 'patch' || change.version === 2)).toBe(true);
    expect(all[4]?.value).toEqual({
      telemetry: { interval: 60 },
      climate: { minTemperature: 68, maxTemperature: 76 },
    });
  });

  it('yields desired changes from watchDesired until its abortSignal aborts, then rejects with the reason', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { connectionString } = await testHub.createDevice('myDeviceId');
    await using device = createDeviceClient(testHub, connectionString, {
      transport: transport(testHub),
    });
    await device.open();

    const controller = new AbortController();
    const reason = new Error('the consumer is done');
    const seen: DesiredChange[] = [];
    const consuming = (async () => {
      for await (const change of device.watchDesired('climate', {
        abortSignal: controller.signal,
      })) {
        seen.push(change);
        if (seen.length === 2) controller.abort(reason);
      }
    })();
    await device.getTwin();

    await patchDesired(registry, 'myDeviceId', { telemetry: { interval: 30 } });
    await patchDesired(registry, 'myDeviceId', { climate: { minTemperature: 68 } });
    await vi.waitFor(() => {
      expect(seen).toHaveLength(1);
    }, waitOptions);
    await patchDesired(registry, 'myDeviceId', { climate: { maxTemperature: 76 } });

    await expect(consuming).rejects.toBe(reason);
    expect(seen[0]).toMatchObject({ path: 'climate', value: { minTemperature: 68 }, version: 3 });
    expect(seen[1]).toMatchObject({
      value: { minTemperature: 68, maxTemperature: 76 },
      version: 4,
      reason: 'patch',
    });
    // Aborting ended only the iterator; the device stays connected and serves other callers.
    expect(device.isConnected).toBe(true);
  });
});
