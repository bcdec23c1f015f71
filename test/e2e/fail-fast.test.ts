/**
 * Fail fast and say why: a TLS certificate the device does not trust, and a refused connection on
 * a port the user gave, end `open()` at once with a typed error whose message says what to do,
 * over MQTT and AMQP, each over TCP+TLS and WebSocket, against the real hub. Once `open()` has
 * succeeded, the same failures during a reconnect are reported on `retry-scheduled` events and
 * retried with backoff (the hub may be restarting or rotating its certificate).
 */
import { createServer } from 'node:net';
import {
  ConnectionRefusedError,
  DeviceClient,
  TlsTrustError,
  mqtt,
  type DeviceClientOptions,
  type TransportFactory,
} from '@twinkit/device';
import { amqp } from '@twinkit/device/amqp';
import { createHub, listen, type Hub, type HubServer } from '@twinkit/hub';
import { startTestHub, type TestHub } from '@twinkit/hub/testing';
import { formatDeviceConnectionString } from '@twinkit/twin-model/protocol';
import { describe, expect, it, vi } from 'vitest';
import { DEADLINE_IN_MS, FAST_RETRY, recordStates } from './helpers.js';

/** A port nothing listens on: bound once to learn a free one, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface Transport {
  name: string;
  factory: (port?: number) => TransportFactory;
  port: (testHub: TestHub) => number;
}

const transports: Transport[] = [
  {
    name: 'MQTT over TLS',
    factory: (port) => mqtt(port === undefined ? {} : { port }),
    port: (testHub) => testHub.mqttPort ?? 0,
  },
  {
    name: 'MQTT over WebSocket',
    factory: (port) => mqtt(port === undefined ? { webSocket: true } : { webSocket: true, port }),
    port: (testHub) => testHub.httpsPort ?? 0,
  },
  {
    name: 'AMQP over TLS',
    factory: (port) => amqp(port === undefined ? {} : { port }),
    port: (testHub) => testHub.amqpPort ?? 0,
  },
  {
    name: 'AMQP over WebSocket',
    factory: (port) => amqp(port === undefined ? { webSocket: true } : { webSocket: true, port }),
    port: (testHub) => testHub.httpsPort ?? 0,
  },
];

/** The default 30 s deadline: a retried failure would outlive the test's own timeout. */
const patientOptions: DeviceClientOptions = { retryOptions: FAST_RETRY };

async function deviceKey(testHub: TestHub): Promise<string> {
  return (await testHub.hub.createDevice('dev-1')).primaryKey;
}

describe.each(transports)('open() over $name', ({ factory, port }) => {
  it('rejects at once with TlsTrustError when the hub CA is not trusted', async () => {
    await using testHub = await startTestHub();
    const key = await deviceKey(testHub);
    await using device = DeviceClient.fromConnectionString(
      formatDeviceConnectionString({
        hostName: 'localhost',
        deviceId: 'dev-1',
        sharedAccessKey: key,
      }),
      { ...patientOptions, transport: factory(port(testHub)) },
    );
    const states = recordStates(device);
    const error = await device.open().catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(TlsTrustError);
    expect(error).toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', retryable: false });
    expect((error as Error).message).toContain('NODE_EXTRA_CA_CERTS=<ca.pem>');
    expect(states.map((change) => change.reason)).toEqual(['open-requested', 'open-failed']);
    expect(states.at(-1)?.error).toBe(error);
  });

  it('rejects at once with TlsTrustError when the certificate names another host', async () => {
    await using testHub = await startTestHub();
    const key = await deviceKey(testHub);
    // 0.0.0.0 reaches the hub on 127.0.0.1 (Linux routes it to the loopback interface), but the
    // certificate names only localhost, 127.0.0.1 and ::1.
    await using device = DeviceClient.fromConnectionString(
      formatDeviceConnectionString({
        hostName: 'localhost',
        deviceId: 'dev-1',
        sharedAccessKey: key,
        gatewayHostName: `0.0.0.0:${String(port(testHub))}`,
      }),
      { ...patientOptions, ca: testHub.caCertificate, transport: factory() },
    );
    await expect(device.open()).rejects.toMatchObject({
      name: 'TlsTrustError',
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });

  it('rejects at once with ConnectionRefusedError for a HostName port nothing listens on', async () => {
    await using testHub = await startTestHub();
    const key = await deviceKey(testHub);
    const unused = await closedPort();
    await using device = DeviceClient.fromConnectionString(
      formatDeviceConnectionString({
        hostName: `127.0.0.1:${String(unused)}`,
        deviceId: 'dev-1',
        sharedAccessKey: key,
      }),
      { ...patientOptions, ca: testHub.caCertificate, transport: factory() },
    );
    const error = await device.open().catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(ConnectionRefusedError);
    expect(error).toMatchObject({
      code: 'ECONNREFUSED',
      address: `127.0.0.1:${String(unused)}`,
      retryable: false,
    });
    expect((error as Error).message).toMatch(/Check the port/);
  });

  it('rejects at once with ConnectionRefusedError for a transport port nothing listens on', async () => {
    await using testHub = await startTestHub();
    const key = await deviceKey(testHub);
    const unused = await closedPort();
    await using device = DeviceClient.fromConnectionString(
      formatDeviceConnectionString({
        hostName: 'localhost',
        deviceId: 'dev-1',
        sharedAccessKey: key,
      }),
      { ...patientOptions, ca: testHub.caCertificate, transport: factory(unused) },
    );
    await expect(device.open()).rejects.toBeInstanceOf(ConnectionRefusedError);
  });
});

describe('open() with GatewayHostName', () => {
  it('rejects at once with ConnectionRefusedError when the gateway port refuses', async () => {
    await using testHub = await startTestHub();
    const key = await deviceKey(testHub);
    const unused = await closedPort();
    await using device = DeviceClient.fromConnectionString(
      formatDeviceConnectionString({
        hostName: 'localhost',
        deviceId: 'dev-1',
        sharedAccessKey: key,
        gatewayHostName: `127.0.0.1:${String(unused)}`,
      }),
      { ...patientOptions, ca: testHub.caCertificate },
    );
    await expect(device.open()).rejects.toMatchObject({
      name: 'ConnectionRefusedError',
      address: `127.0.0.1:${String(unused)}`,
    });
  });
});

function serveMqttAt(hub: Hub, mqttPort: number): Promise<HubServer> {
  return listen(hub, { host: '127.0.0.1', httpsPort: 0, mqttPort, amqpPort: 0 });
}

describe('after open() succeeded', () => {
  it('keeps reconnecting through refused connections and an untrusted certificate, reporting each failure', async () => {
    await using hub = await createHub();
    const first = await serveMqttAt(hub, 0);
    const mqttPort = first.ports.mqtt ?? 0;
    const { primaryKey } = await hub.createDevice('dev-1');
    await using device = DeviceClient.fromConnectionString(
      formatDeviceConnectionString({
        hostName: `localhost:${String(mqttPort)}`,
        deviceId: 'dev-1',
        sharedAccessKey: primaryKey,
      }),
      { ca: hub.caCertificate, retryOptions: FAST_RETRY, operationTimeoutInMs: DEADLINE_IN_MS },
    );
    await device.open();
    const states = recordStates(device);
    const waitOptions = { timeout: DEADLINE_IN_MS, interval: 10 };

    // The hub goes away: the explicit port now refuses, and the device keeps trying.
    await first.close();
    await vi.waitFor(() => {
      expect(
        states.filter(
          (change) =>
            change.reason === 'retry-scheduled' && change.error instanceof ConnectionRefusedError,
        ).length,
      ).toBeGreaterThanOrEqual(2);
    }, waitOptions);

    // Another hub, with another CA, answers on that port: untrusted, reported, still retried.
    {
      await using stranger = await createHub();
      await using _strangerServer = await serveMqttAt(stranger, mqttPort);
      await vi.waitFor(() => {
        expect(
          states.filter(
            (change) =>
              change.reason === 'retry-scheduled' && change.error instanceof TlsTrustError,
          ).length,
        ).toBeGreaterThanOrEqual(2);
      }, waitOptions);
      expect(device.connectionState).toBe('reconnecting');
    }

    // The device's own hub comes back on its port, and the device finds it.
    await using _second = await serveMqttAt(hub, mqttPort);
    await vi.waitFor(() => {
      expect(device.connectionState).toBe('connected');
    }, waitOptions);
    expect(states.map((change) => change.state)).not.toContain('disconnected');
    await expect(device.updateReportedProperties({ back: true })).resolves.toMatchObject({
      version: 2,
    });
  });
});
