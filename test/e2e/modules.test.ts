/**
 * Module identity twins and `GatewayHostName`. A module connects with `ModuleId=` in its
 * connection string and gets its own twin, separate from its device's (docs/internals/wire-contract.md#device-connection-strings, docs/internals/wire-contract.md#mqtt-connect);
 * `GatewayHostName=host:port` sends the connection elsewhere while tokens still name the hub
 * host (`HostName=localhost`).
 */
import { mqtt, type DesiredChange } from '@twinkit/device';
import { startTestHub } from '@twinkit/hub/testing';
import { formatDeviceConnectionString } from '@twinkit/twin-model/protocol';
import { describe, expect, it, vi } from 'vitest';
import { DEADLINE_IN_MS, createDeviceClient, createRegistry } from './helpers.js';

const waitOptions = { timeout: DEADLINE_IN_MS, interval: 10 };

describe('module identity twins', () => {
  it('gives a module its own twin, next to its connected device, through a GatewayHostName', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const device = await testHub.createDevice('myDeviceId');
    const created = await testHub.hub.createModule('myDeviceId', 'myModule');
    expect(created.connectionString).toContain(`HostName=localhost:${String(testHub.mqttPort)};`);
    expect(created.connectionString).toContain('ModuleId=myModule');

    await using deviceClient = createDeviceClient(testHub, device.connectionString);
    // The host name stays clean (it is what the SAS token names); the socket goes to the gateway.
    await using moduleClient = createDeviceClient(
      testHub,
      formatDeviceConnectionString({
        hostName: 'localhost',
        deviceId: 'myDeviceId',
        moduleId: 'myModule',
        sharedAccessKey: created.primaryKey,
        gatewayHostName: `127.0.0.1:${String(testHub.mqttPort)}`,
      }),
    );
    expect(moduleClient.identity).toMatchObject({
      hostName: 'localhost',
      deviceId: 'myDeviceId',
      moduleId: 'myModule',
    });
    await deviceClient.open();
    await moduleClient.open();

    const moduleChanges: DesiredChange[] = [];
    const deviceChanges: DesiredChange[] = [];
    moduleClient.onDesired((change) => {
      moduleChanges.push(change);
    });
    deviceClient.onDesired((change) => {
      deviceChanges.push(change);
    });
    expect(await moduleClient.getTwin()).toEqual({
      desired: { $version: 1 },
      reported: { $version: 1 },
    });
    await deviceClient.getTwin();

    expect((await moduleClient.updateReportedProperties({ role: 'module' })).version).toBe(2);
    await deviceClient.updateReportedProperties({ role: 'device' });
    const moduleTwin = await registry.getModuleTwin('myDeviceId', 'myModule');
    expect(moduleTwin).toMatchObject({ deviceId: 'myDeviceId', moduleId: 'myModule' });
    expect(moduleTwin.properties.reported).toMatchObject({ role: 'module', $version: 2 });
    expect((await registry.getTwin('myDeviceId')).properties.reported).toMatchObject({
      role: 'device',
      $version: 2,
    });

    await registry.updateTwin(
      moduleTwin,
      { properties: { desired: { forModule: 1 } } },
      { onlyIfUnchanged: true },
    );
    await registry.updateTwin('myDeviceId', { properties: { desired: { forDevice: 1 } } });
    await vi.waitFor(() => {
      expect(moduleChanges).toHaveLength(1);
      expect(deviceChanges).toHaveLength(1);
    }, waitOptions);
    expect(moduleChanges[0]).toMatchObject({ version: 2, patch: { forModule: 1 } });
    expect(deviceChanges[0]).toMatchObject({ version: 2, patch: { forDevice: 1 } });

    // Both identities stay connected side by side: neither connection replaced the other.
    expect(deviceClient.isConnected && moduleClient.isConnected).toBe(true);
    const modules = await registry.getModuleTwin('myDeviceId', 'myModule');
    expect(modules.connectionState).toBe('Connected');
    expect((await registry.getTwin('myDeviceId')).connectionState).toBe('Connected');
  });
});

describe('GatewayHostName', () => {
  const gateways = [
    {
      name: 'MQTT over TCP+TLS',
      port: (ports: { mqtt: number; https: number }) => ports.mqtt,
      transport: () => mqtt(),
    },
    {
      name: 'MQTT over WebSocket',
      port: (ports: { mqtt: number; https: number }) => ports.https,
      transport: () => mqtt({ webSocket: true }),
    },
  ];

  it.each(gateways)(
    'connects a device to 127.0.0.1:<port> while it authenticates as HostName=localhost ($name)',
    async ({ port, transport }) => {
      await using testHub = await startTestHub();
      const registry = createRegistry(testHub);
      const created = await testHub.hub.createDevice('myDeviceId');
      const gatewayPort = port({ mqtt: testHub.mqttPort!, https: testHub.httpsPort! });
      const connectionString = formatDeviceConnectionString({
        hostName: 'localhost',
        deviceId: 'myDeviceId',
        sharedAccessKey: created.primaryKey,
        gatewayHostName: `127.0.0.1:${String(gatewayPort)}`,
      });
      expect(connectionString).toContain(`GatewayHostName=127.0.0.1:${String(gatewayPort)}`);

      await using device = createDeviceClient(testHub, connectionString, {
        transport: transport(),
      });
      await device.open();
      await device.updateReportedProperties({ via: 'gateway' });
      expect((await registry.getTwin('myDeviceId')).properties.reported).toMatchObject({
        via: 'gateway',
        $version: 2,
      });
    },
  );
});
