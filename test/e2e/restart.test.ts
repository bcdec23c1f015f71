/**
 * A hub restart: the hub keeps twins (SQLite) and its development CA in its data directory, comes
 * back on the same ports, and a device that was connected finds it again on its own, re-reads its
 * twin and hands over the desired changes made meanwhile (docs/internals/twin-semantics.md#desired-notifications, docs/internals/wire-contract.md#reconnect).
 * The back end talks to the hub over real HTTPS, so it survives the restart like the device does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceClient, type DesiredChange } from '@twinkit/device';
import { createHub, listen, type Hub, type HubServer } from '@twinkit/hub';
import { Registry } from '@twinkit/service';
import {
  formatDeviceConnectionString,
  parseServiceConnectionString,
} from '@twinkit/twin-model/protocol';
import { describe, expect, it, vi } from 'vitest';
import {
  DEADLINE_IN_MS,
  FAST_RETRY,
  httpsFetch,
  patchDesired,
  recordStates,
  waitForStateChange,
} from './helpers.js';

const waitOptions = { timeout: DEADLINE_IN_MS, interval: 10 };

async function temporaryDirectory(): Promise<AsyncDisposable & { path: string }> {
  const path = await mkdtemp(join(tmpdir(), 'twinkit-e2e-restart-'));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

function serveAt(hub: Hub, ports?: HubServer['ports']): Promise<HubServer> {
  return listen(hub, {
    host: '127.0.0.1',
    httpsPort: ports?.https ?? 0,
    mqttPort: ports?.mqtt ?? 0,
    amqpPort: ports?.amqp ?? 0,
  });
}

describe('hub restart', () => {
  it('keeps reported state, and a connected device reconnects by itself and resyncs the desired changes made meanwhile', async () => {
    await using dataDir = await temporaryDirectory();
    // Closed mid-test; disposal at the end is then a no-op (both closes are idempotent).
    await using firstHub = await createHub({ dataDir: dataDir.path });
    await using firstServer = await serveAt(firstHub);
    const ports = firstServer.ports;
    const service = parseServiceConnectionString(firstHub.serviceConnectionString);
    const registry = new Registry(
      `localhost:${String(ports.https)}`,
      { name: service.sharedAccessKeyName, key: service.sharedAccessKey },
      {
        fetch: httpsFetch(firstHub.caCertificate),
        retryOptions: { maxRetries: 0 },
      },
    );

    const { primaryKey } = await firstHub.createDevice('myDeviceId');
    const connectionString = formatDeviceConnectionString({
      hostName: `localhost:${String(ports.mqtt)}`,
      deviceId: 'myDeviceId',
      sharedAccessKey: primaryKey,
    });
    await using device = DeviceClient.fromConnectionString(connectionString, {
      ca: firstHub.caCertificate,
      retryOptions: FAST_RETRY,
      operationTimeoutInMs: DEADLINE_IN_MS,
    });
    await device.open();
    const changes: DesiredChange[] = [];
    device.onDesired((change) => {
      changes.push(change);
    });
    await device.getTwin();
    await device.updateReportedProperties({
      firmware: { version: '1.0.0' },
      connectivity: { type: 'cellular' },
    });
    await patchDesired(registry, 'myDeviceId', {
      climate: { minTemperature: 60, fanMode: 'auto' },
    });
    await vi.waitFor(() => {
      expect(changes.map((change) => change.version)).toEqual([2]);
    }, waitOptions);
    const states = recordStates(device);

    // Stop everything, as a process exit would (the device notices the dropped socket).
    await firstServer.close();
    await firstHub.close();
    await waitForStateChange(device, (change) => change.state === 'reconnecting');

    await using secondHub = await createHub({ dataDir: dataDir.path });
    expect(secondHub.caCertificate).toBe(firstHub.caCertificate);
    // Desired changes made right after the restart, before the device can be back.
    const restarted = createRegistryOn(secondHub);
    await patchDesired(restarted, 'myDeviceId', { climate: { minTemperature: 68, fanMode: null } });
    await patchDesired(restarted, 'myDeviceId', { climate: { maxTemperature: 76 } });
    const reconnected = waitForStateChange(device, (change) => change.reason === 'reconnected');
    await using _secondServer = await serveAt(secondHub, ports);
    await reconnected;

    await vi.waitFor(() => {
      expect(changes.map((change) => change.version)).toEqual([2, 4]);
    }, waitOptions);
    expect(changes[1]).toMatchObject({
      reason: 'resync',
      value: { climate: { minTemperature: 68, maxTemperature: 76 } },
      patch: { climate: { minTemperature: 68, fanMode: null, maxTemperature: 76 } },
    });
    expect(states[0]?.reason).toBe('connection-lost');
    expect(states.some((change) => change.reason === 'retry-scheduled')).toBe(true);

    // Reported state and versions came back from disk, for the back end and for the device.
    const twin = await registry.getTwin('myDeviceId');
    expect(twin.properties.reported).toMatchObject({
      firmware: { version: '1.0.0' },
      connectivity: { type: 'cellular' },
      $version: 2,
    });
    expect(twin.properties.desired.$version).toBe(4);
    expect(twin.connectionState).toBe('Connected');
    expect((await device.getTwin()).reported).toEqual({
      firmware: { version: '1.0.0' },
      connectivity: { type: 'cellular' },
      $version: 2,
    });
    const { version } = await device.updateReportedProperties({ firmware: { version: '1.0.1' } });
    expect(version).toBe(3);

    // And the desired subscription is live again on the new hub.
    await patchDesired(registry, 'myDeviceId', { telemetry: { interval: 5 } });
    await vi.waitFor(() => {
      expect(changes.map((change) => [change.version, change.reason])).toEqual([
        [2, changes[0]?.reason],
        [4, 'resync'],
        [5, 'patch'],
      ]);
    }, waitOptions);
  });
});

function createRegistryOn(hub: Hub): Registry {
  return Registry.fromConnectionString(hub.serviceConnectionString, {
    fetch: hub.fetch,
    retryOptions: { maxRetries: 0 },
  });
}
