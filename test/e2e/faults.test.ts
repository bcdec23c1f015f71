/**
 * The unhappy paths of desired notifications and credentials, driven by the hub's MQTT faults
 * (docs/internals/architecture.md#testing): duplicated and reordered notifications must still reach handlers once
 * each and in version order (docs/internals/twin-semantics.md#desired-notifications, TV-43, TV-44), and an expired SAS token must
 * end in a reconnect with a fresh one that keeps the desired subscription (docs/internals/wire-contract.md#token-lifetimes, docs/internals/wire-contract.md#mqtt-sessions).
 */
import { DeviceClient, type DesiredChange } from '@twinkit/device';
import { startTestHub, type TestHub } from '@twinkit/hub/testing';
import type { Registry } from '@twinkit/service';
import { describe, expect, it, vi } from 'vitest';
import {
  DEADLINE_IN_MS,
  TokenGate,
  createDeviceClient,
  createRegistry,
  deviceOptions,
  patchDesired,
  recordStates,
  waitForStateChange,
} from './helpers.js';

const waitOptions = { timeout: DEADLINE_IN_MS, interval: 10 };

/** Subscribes to every desired change and returns once the subscription is known to be live. */
async function subscribe(device: DeviceClient, registry: Registry): Promise<DesiredChange[]> {
  const changes: DesiredChange[] = [];
  device.onDesired((change) => {
    changes.push(change);
  });
  // The first read is the baseline; the warm-up change then proves notifications flow.
  await device.getTwin();
  await patchDesired(registry, 'myDeviceId', { warmUp: true });
  await vi.waitFor(() => {
    expect(changes.map((change) => change.version)).toEqual([2]);
  }, waitOptions);
  return changes;
}

/** A connected device (from its connection string) with a live all-changes subscription. */
async function subscribedDevice(testHub: TestHub) {
  const registry = createRegistry(testHub);
  const { connectionString } = await testHub.createDevice('myDeviceId');
  const device = createDeviceClient(testHub, connectionString);
  await device.open();
  const changes = await subscribe(device, registry);
  return { registry, device, changes };
}

/**
 * The subscription outlived the reconnect. The first change may still meet the re-read that
 * follows every reconnect (and then arrives as `resync`); the second one, made after the first
 * arrived, can only come as a notification.
 */
async function expectStillSubscribed(registry: Registry, changes: DesiredChange[]): Promise<void> {
  const first = await patchDesired(registry, 'myDeviceId', { climate: { minTemperature: 68 } });
  await vi.waitFor(() => {
    expect(changes.map((change) => change.version)).toEqual([2, first]);
  }, waitOptions);
  const second = await patchDesired(registry, 'myDeviceId', { climate: { maxTemperature: 76 } });
  await vi.waitFor(() => {
    expect(changes.map((change) => change.version)).toEqual([2, first, second]);
  }, waitOptions);
  expect(changes[2]).toMatchObject({ reason: 'patch', patch: { climate: { maxTemperature: 76 } } });
  expect((await registry.getTwin('myDeviceId')).connectionState).toBe('Connected');
}

describe('DeviceClient under MQTT faults', () => {
  it('delivers each desired version once when the hub sends notifications twice', async () => {
    await using testHub = await startTestHub();
    const { registry, device, changes } = await subscribedDevice(testHub);
    await using _device = device;

    testHub.hub.faults.mqtt.duplicateNextDesired({ deviceId: 'myDeviceId', times: 2 });
    await patchDesired(registry, 'myDeviceId', { climate: { minTemperature: 68 } });
    await patchDesired(registry, 'myDeviceId', { climate: { maxTemperature: 76 } });
    await patchDesired(registry, 'myDeviceId', { done: true });

    await vi.waitFor(() => {
      expect(changes.map((change) => change.version)).toContain(5);
    }, waitOptions);
    expect(changes.map((change) => [change.version, change.reason])).toEqual([
      [2, changes[0]?.reason],
      [3, 'patch'],
      [4, 'patch'],
      [5, 'patch'],
    ]);
    expect(changes[2]?.value).toEqual({
      warmUp: true,
      climate: { minTemperature: 68, maxTemperature: 76 },
    });
  });

  it('resolves a reordered notification (a version gap) with one re-read and never goes back a version', async () => {
    await using testHub = await startTestHub();
    const { registry, device, changes } = await subscribedDevice(testHub);
    await using _device = device;

    // Version 3 is held back and sent right after version 4.
    testHub.hub.faults.mqtt.reorderNextDesired({ deviceId: 'myDeviceId' });
    await patchDesired(registry, 'myDeviceId', { climate: { minTemperature: 68 }, warmUp: null });
    await patchDesired(registry, 'myDeviceId', { climate: { maxTemperature: 76 } });

    await vi.waitFor(() => {
      expect(changes.map((change) => change.version)).toContain(4);
    }, waitOptions);
    await patchDesired(registry, 'myDeviceId', { done: true });
    await vi.waitFor(() => {
      expect(changes.map((change) => change.version)).toContain(5);
    }, waitOptions);

    expect(changes.map((change) => [change.version, change.reason])).toEqual([
      [2, changes[0]?.reason],
      [4, 'resync'],
      [5, 'patch'],
    ]);
    // The re-read's change covers both versions, the deletion as null.
    expect(changes[1]?.patch).toEqual({
      climate: { minTemperature: 68, maxTemperature: 76 },
      warmUp: null,
    });
    expect(changes[2]?.value).toEqual({
      climate: { minTemperature: 68, maxTemperature: 76 },
      done: true,
    });
  });

  it('reconnects with a fresh SAS token from its provider after its token expires and keeps its desired subscription', async () => {
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
    const changes = await subscribe(device, registry);
    const states = recordStates(device);
    expect(gate.tokens).toHaveLength(1);

    const reconnected = waitForStateChange(device, (change) => change.reason === 'reconnected');
    expect(testHub.hub.faults.mqtt.expireToken({ deviceId: 'myDeviceId' })).toBe(true);
    await reconnected;

    expect(gate.tokens).toHaveLength(2);
    expect(gate.tokens[1]).not.toBe(gate.tokens[0]);
    expect(states.map((change) => [change.previousState, change.state, change.reason])).toEqual([
      ['connected', 'reconnecting', 'connection-lost'],
      ['reconnecting', 'connected', 'reconnected'],
    ]);
    await expectStillSubscribed(registry, changes);
  });
  it('reconnects after its token expires when it signs tokens from a connection-string key', async () => {
    await using testHub = await startTestHub();
    const { registry, device, changes } = await subscribedDevice(testHub);
    await using _device = device;
    const states = recordStates(device);
    const settled = waitForStateChange(
      device,
      (c) => c.state === 'connected' || c.state === 'disconnected',
    );
    expect(testHub.hub.faults.mqtt.expireToken({ deviceId: 'myDeviceId' })).toBe(true);
    await settled;
    expect(states.map((c) => [c.state, c.reason])).toEqual([
      ['reconnecting', 'connection-lost'],
      ['connected', 'reconnected'],
    ]);
    await expectStillSubscribed(registry, changes);
  });
});
