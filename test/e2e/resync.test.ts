/**
 * Desired changes made while a device was offline. IoT Hub keeps no backlog for a disconnected
 * device (docs/internals/twin-semantics.md#desired-notifications, TV-42), so the client must re-read the twin after it reconnects
 * and hand over what changed as ONE change, deletions as `null` (docs/internals/twin-semantics.md#desired-notifications, TV-44; docs/internals/wire-contract.md#reconnect).
 */
import { DeviceClient, type DesiredChange } from '@twinkit/device';
import { startTestHub } from '@twinkit/hub/testing';
import { describe, expect, it, vi } from 'vitest';
import {
  DEADLINE_IN_MS,
  TokenGate,
  createRegistry,
  deviceOptions,
  patchDesired,
  recordStates,
  waitForState,
} from './helpers.js';

const waitOptions = { timeout: DEADLINE_IN_MS, interval: 10 };

describe('DeviceClient desired resync', () => {
  it('hands the changes made while it was offline to its handlers as one resync change after it reconnects by itself', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { primaryKey } = await testHub.createDevice('myDeviceId');
    const gate = new TokenGate(primaryKey);
    await using device = DeviceClient.fromTokenProvider(
      { hostName: `localhost:${String(testHub.mqttPort)}`, deviceId: 'myDeviceId' },
      gate.provider,
      deviceOptions(testHub),
    );
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
    await device.getTwin();
    await patchDesired(registry, 'myDeviceId', {
      climate: { minTemperature: 60, fanMode: 'auto', hvac: { systemControl: { fanOn: true } } },
    });
    await vi.waitFor(() => {
      expect(all.map((change) => change.version)).toEqual([2]);
    }, waitOptions);
    const states = recordStates(device);

    // Offline: the connection drops and the reconnect waits at the token gate.
    gate.shut();
    expect(testHub.hub.faults.mqtt.dropConnection({ deviceId: 'myDeviceId' })).toBe(true);
    await waitForState(device, 'reconnecting');
    await vi.waitFor(() => {
      expect(gate.waiting).toBe(1);
    }, waitOptions);
    await patchDesired(registry, 'myDeviceId', { climate: { minTemperature: 68, fanMode: null } });
    await patchDesired(registry, 'myDeviceId', {
      climate: { maxTemperature: 76, hvac: null },
      telemetry: { interval: 5 },
    });
    expect(device.isConnected).toBe(false);

    gate.open();
    await vi.waitFor(() => {
      expect(all).toHaveLength(2);
    }, waitOptions);
    expect(all[1]).toEqual({
      path: '',
      value: { climate: { minTemperature: 68, maxTemperature: 76 }, telemetry: { interval: 5 } },
      version: 4,
      patch: {
        climate: { minTemperature: 68, fanMode: null, maxTemperature: 76, hvac: null },
        telemetry: { interval: 5 },
      },
      reason: 'resync',
    });
    expect(climate.map((change) => [change.version, change.reason])).toEqual([
      [2, climate[0]?.reason],
      [4, 'resync'],
    ]);
    expect(climate[1]?.value).toEqual({ minTemperature: 68, maxTemperature: 76 });
    expect(fanOn.map((change) => [change.version, change.value])).toEqual([
      [2, true],
      [4, null],
    ]);
    expect(states.map((change) => change.reason)).toEqual(['connection-lost', 'reconnected']);

    // The subscription survived: the next change arrives as an ordinary patch, and nothing repeats.
    await patchDesired(registry, 'myDeviceId', { telemetry: { interval: 10 } });
    await vi.waitFor(() => {
      expect(all.map((change) => change.version)).toEqual([2, 4, 5]);
    }, waitOptions);
    expect(all[2]).toMatchObject({ reason: 'patch', patch: { telemetry: { interval: 10 } } });
    expect(climate).toHaveLength(2);
  });

  it('delivers nothing after a reconnect when nothing changed meanwhile', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { primaryKey } = await testHub.createDevice('myDeviceId');
    const gate = new TokenGate(primaryKey);
    await using device = DeviceClient.fromTokenProvider(
      { hostName: `localhost:${String(testHub.mqttPort)}`, deviceId: 'myDeviceId' },
      gate.provider,
      deviceOptions(testHub),
    );
    await device.open();
    const all: DesiredChange[] = [];
    device.onDesired((change) => {
      all.push(change);
    });
    await device.getTwin();
    await patchDesired(registry, 'myDeviceId', { climate: { minTemperature: 60 } });
    await vi.waitFor(() => {
      expect(all).toHaveLength(1);
    }, waitOptions);

    testHub.hub.faults.mqtt.dropConnection({ deviceId: 'myDeviceId' });
    await waitForState(device, 'reconnecting');
    await waitForState(device, 'connected');
    // Tags are invisible to devices (TV-45), so this change is a barrier that must stay silent…
    await registry.updateTwin('myDeviceId', { tags: { plant: 'Redmond43' } });
    // …and this one must arrive as the very next change, not after a spurious resync.
    await patchDesired(registry, 'myDeviceId', { climate: { maxTemperature: 76 } });
    await vi.waitFor(() => {
      expect(all).toHaveLength(2);
    }, waitOptions);
    expect(all[1]).toMatchObject({ version: 3, patch: { climate: { maxTemperature: 76 } } });
  });
});
