/**
 * IoT Plug and Play writable properties over every transport: handlers answer desired changes
 * with `{ value, ac, av, ad }` (docs/internals/wire-contract.md#writable-property-acknowledgements),
 * root and component properties, refusals and failures, "in progress" followed by the final
 * answer, and the start-up pass that answers what changed while the device was offline.
 */
import {
  WritablePropertyResponse,
  WritablePropertyValidationError,
  mqtt,
  type TransportFactory,
} from '@twinkit/device';
import { amqp } from '@twinkit/device/amqp';
import { startTestHub, type TestHub } from '@twinkit/hub/testing';
import type { Registry } from '@twinkit/service';
import type { JsonObject } from '@twinkit/twin-model';
import { describe, expect, it } from 'vitest';
import { createDeviceClient, createRegistry } from './helpers.js';

const transports: readonly { name: string; transport: (testHub: TestHub) => TransportFactory }[] = [
  { name: 'MQTT over TLS', transport: () => mqtt() },
  { name: 'AMQP over TLS', transport: (testHub) => amqp({ port: testHub.amqpPort! }) },
  {
    name: 'MQTT over WebSocket',
    transport: (testHub) => mqtt({ webSocket: true, port: testHub.httpsPort! }),
  },
  {
    name: 'AMQP over WebSocket',
    transport: (testHub) => amqp({ webSocket: true, port: testHub.httpsPort! }),
  },
];

function reportedAt(registry: Registry, deviceId: string, path: string[], av: number, ac?: number) {
  return registry.waitForReported(
    deviceId,
    (twin) => {
      let node: unknown = twin.properties.reported;
      for (const key of path) node = (node as JsonObject | undefined)?.[key];
      const ack = node as { av?: number; ac?: number } | undefined;
      return (ack?.av ?? 0) >= av && (ac === undefined || ack?.ac === ac);
    },
    { timeoutInMs: 8_000, pollIntervalInMs: 20, maxPollIntervalInMs: 100 },
  );
}

describe.each(transports)('writable properties over $name', ({ transport }) => {
  it('acknowledges root and component properties, refusals (400) and failures (500)', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { connectionString } = await testHub.createDevice('thermo');
    await using device = createDeviceClient(testHub, connectionString, {
      transport: transport(testHub),
      modelId: 'dtmi:com:example:TemperatureController;2',
    });
    const seen: { value: number; version: number }[] = [];
    device.onWritableProperty('targetTemperature', (value, { version }) => {
      seen.push({ value: value as number, version });
      if ((value as number) > 40) throw new WritablePropertyValidationError('above 40 °C');
      return new WritablePropertyResponse(value, 'applied');
    });
    device.onWritableProperty({ component: 'thermostat1', name: 'targetTemperature' }, () => {
      throw new Error('heater offline');
    });
    await device.open();

    let twin = await registry.updateTwin('thermo', {
      properties: { desired: { targetTemperature: 21 } },
    });
    let version = twin.properties.desired.$version;
    twin = await reportedAt(registry, 'thermo', ['targetTemperature'], version);
    expect(twin.properties.reported.targetTemperature).toEqual({
      value: 21,
      ac: 200,
      av: version,
      ad: 'applied',
    });

    twin = await registry.updateTwin('thermo', {
      properties: { desired: { targetTemperature: 55 } },
    });
    version = twin.properties.desired.$version;
    twin = await reportedAt(registry, 'thermo', ['targetTemperature'], version);
    expect(twin.properties.reported.targetTemperature).toEqual({
      value: 55,
      ac: 400,
      av: version,
      ad: 'above 40 °C',
    });

    twin = await registry.updateTwin('thermo', {
      properties: { desired: { thermostat1: { __t: 'c', targetTemperature: 19 } } },
    });
    version = twin.properties.desired.$version;
    twin = await reportedAt(registry, 'thermo', ['thermostat1', 'targetTemperature'], version);
    expect(twin.properties.reported.thermostat1).toEqual({
      __t: 'c',
      targetTemperature: {
        value: 19,
        ac: 500,
        av: version,
        ad: 'The device failed to apply it: heater offline',
      },
    });
    expect(seen.map((entry) => entry.value)).toEqual([21, 55]);

    const status = await registry.getRolloutStatus('targetTemperature');
    expect(status.counts).toMatchObject({ total: 1, failed: 1 });
    expect(status.failed[0]?.ack).toMatchObject({ ac: 400, ad: 'above 40 °C' });
  });

  it('reports 202 while in progress, then the final answer', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { connectionString } = await testHub.createDevice('slow');
    await using device = createDeviceClient(testHub, connectionString, {
      transport: transport(testHub),
    });
    let finish = (): void => undefined;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    device.onWritableProperty('mode', async (value, context) => {
      await context.reportInProgress({ description: 'switching' });
      await finished;
      return value;
    });
    await device.open();
    const twin = await registry.updateTwin('slow', { properties: { desired: { mode: 'eco' } } });
    const version = twin.properties.desired.$version;
    const inProgress = await reportedAt(registry, 'slow', ['mode'], version, 202);
    expect(inProgress.properties.reported.mode).toEqual({
      value: 'eco',
      ac: 202,
      av: version,
      ad: 'switching',
    });
    expect((await registry.getRolloutStatus('mode')).counts.inProgress).toBe(1);
    finish();
    const done = await reportedAt(registry, 'slow', ['mode'], version, 200);
    expect(done.properties.reported.mode).toEqual({ value: 'eco', ac: 200, av: version });
    expect((await registry.getRolloutStatus('mode')).counts.acknowledged).toBe(1);
  });

  it('after open(), answers once what changed while the device was offline', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { connectionString } = await testHub.createDevice('late');
    const first = createDeviceClient(testHub, connectionString, { transport: transport(testHub) });
    const calls: number[] = [];
    first.onWritableProperty('targetTemperature', (value) => {
      calls.push(value as number);
    });
    await first.open();
    let twin = await registry.updateTwin('late', {
      properties: { desired: { targetTemperature: 20 } },
    });
    await reportedAt(registry, 'late', ['targetTemperature'], twin.properties.desired.$version);
    await first.close();

    // Offline: two changes; the device must apply only the newest, once.
    await registry.updateTwin('late', { properties: { desired: { targetTemperature: 22 } } });
    twin = await registry.updateTwin('late', {
      properties: { desired: { targetTemperature: 23 } },
    });
    const version = twin.properties.desired.$version;
    await using second = createDeviceClient(testHub, connectionString, {
      transport: transport(testHub),
    });
    second.onWritableProperty('targetTemperature', (value) => {
      calls.push(value as number);
    });
    await second.open();
    twin = await reportedAt(registry, 'late', ['targetTemperature'], version);
    expect(twin.properties.reported.targetTemperature).toEqual({ value: 23, ac: 200, av: version });
    // A later open with nothing new answers nothing.
    await second.close();
    await second.open();
    await second.getTwin();
    expect(calls).toEqual([20, 23]);
  });
});
