/**
 * One end-to-end flow per transport with `@twinkit/device` and `@twinkit/service` from the
 * install, against the installed CLI hub: device open, getTwin, reported update, the service
 * reads it, the service updates desired with the ETag, the device receives it
 * (runtimes/transports.mjs). The device is created with `twinkit-hub device create`; the device
 * trusts the hub's CA through the `ca` option, the service through NODE_EXTRA_CA_CERTS.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { startCliHub, type CliHub } from './helpers/cli-hub.ts';
import { resultOf, runProgram } from './helpers/run-program.ts';

const { appDir } = inject('packedApp');
let hub: CliHub;

beforeAll(async () => {
  hub = await startCliHub(appDir);
  return () => hub[Symbol.asyncDispose]();
});

/** The device's connection string, connecting to `localhost:<port>` as the hub's host. */
function withGateway(connectionString: string, port: number): string {
  const parts = new Map(
    connectionString.split(';').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at), part.slice(at + 1)] as const;
    }),
  );
  const hostName = (parts.get('HostName') ?? '').replace(/:\d+$/, '');
  return `HostName=${hostName};DeviceId=${parts.get('DeviceId') ?? ''};SharedAccessKey=${parts.get('SharedAccessKey') ?? ''};GatewayHostName=localhost:${String(port)}`;
}

const transports = [
  { name: 'mqtt', label: 'MQTT', port: () => hub.ports.mqtt },
  { name: 'mqtt-ws', label: 'MQTT over WebSocket', port: () => hub.ports.https },
  { name: 'amqp', label: 'AMQP', port: () => hub.ports.amqp },
  { name: 'amqp-ws', label: 'AMQP over WebSocket', port: () => hub.ports.https },
] as const;

describe('the device and service flow from the install, per transport', () => {
  for (const transport of transports) {
    it(`runs over ${transport.label}`, async () => {
      const deviceId = `transport-${transport.name}`;
      const created = await hub.createDevice(deviceId);
      // `device create` names the MQTT port; each transport dials the port that serves it.
      const connectionString = withGateway(created.connectionString, transport.port());
      const output = await runProgram(process.execPath, ['runtimes/transports.mjs'], {
        cwd: appDir,
        env: {
          NODE_EXTRA_CA_CERTS: hub.readiness.caFile,
          TWINKIT_FLOW: JSON.stringify({
            serviceConnectionString: hub.readiness.serviceConnectionString,
            deviceId,
            connectionString,
            transport: transport.name,
            caFile: hub.readiness.caFile,
            label: transport.name,
          }),
        },
      });
      expect(resultOf(output)).toEqual({
        ok: true,
        device: {
          openedDesiredVersion: 1,
          reportedVersion: 2,
          serviceSawReported: transport.name,
          serviceSawReportedVersion: 2,
          desiredColor: `green-${transport.name}`,
          staleUpdate: {
            name: 'PreconditionFailedError',
            statusCode: 412,
            isPreconditionFailedError: true,
          },
        },
      });
    });
  }
});
