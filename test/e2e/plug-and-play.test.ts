/**
 * IoT Plug and Play, end to end over every transport: a device announces its model id at
 * connect (docs/internals/wire-contract.md#model-id) and the back end reads it from the twin and
 * selects devices by it in a query.
 */
import { DeviceClient, mqtt, type TransportFactory } from '@twinkit/device';
import { amqp } from '@twinkit/device/amqp';
import { startTestHub, type TestHub } from '@twinkit/hub/testing';
import { describe, expect, it } from 'vitest';
import { createDeviceClient, createRegistry } from './helpers.js';

const THERMOSTAT = 'dtmi:com:example:Thermostat;1';

const transports: readonly { name: string; transport: (testHub: TestHub) => TransportFactory }[] = [
  { name: 'MQTT over TLS', transport: () => mqtt() },
  {
    name: 'MQTT over WebSocket',
    transport: (testHub) => mqtt({ webSocket: true, port: testHub.httpsPort! }),
  },
  { name: 'AMQP over TLS', transport: (testHub) => amqp({ port: testHub.amqpPort! }) },
  {
    name: 'AMQP over WebSocket',
    transport: (testHub) => amqp({ webSocket: true, port: testHub.httpsPort! }),
  },
];

describe.each(transports)('model id over $name', ({ transport }) => {
  it('is announced at connect, shown in the twin and matched by a query', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { connectionString } = await testHub.createDevice('thermostat-1');
    await testHub.createDevice('plain-1');
    expect((await registry.getTwin('thermostat-1')).modelId).toBe('');

    await using device = createDeviceClient(testHub, connectionString, {
      transport: transport(testHub),
      modelId: THERMOSTAT,
    });
    await device.open();
    await device.getTwin();

    expect((await registry.getTwin('thermostat-1')).modelId).toBe(THERMOSTAT);
    const found: string[] = [];
    for await (const twin of registry.queryTwins(
      `SELECT * FROM devices WHERE modelId = '${THERMOSTAT}'`,
    )) {
      found.push(twin.deviceId);
    }
    expect(found).toEqual(['thermostat-1']);
  });
});

describe('modelId option', () => {
  it.each(['dtmi:com:example:Thermostat', 'urn:example:thermostat:1', 'dtmi:com:_bad;1', ''])(
    'refuses %j with a TypeError at construction',
    (modelId) => {
      expect(() =>
        DeviceClient.fromConnectionString('HostName=h;DeviceId=d;SharedAccessKey=a2V5', {
          modelId,
        }),
      ).toThrow(TypeError);
    },
  );
});
