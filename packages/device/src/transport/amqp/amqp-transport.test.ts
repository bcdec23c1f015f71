import { createSasToken } from '@twinkit/twin-model/protocol';
import { TransportError, UnauthorizedError } from '@twinkit/twin-model/errors';
import { startAmqpTestHub, type AmqpTestHub, type KeyedIdentity } from '@twinkit/hub/testing';
import { describe, expect, it, vi } from 'vitest';
import { DeviceClient } from '../../device-client.js';
import type { DesiredChange } from '../../desired/desired-router.js';
import { describeTransportContract, type TransportContractFixture } from '../transport.contract.js';
import type { ConnectParams, TransportHandlers } from '../transport.js';
import { amqp } from './index.js';

const WRONG_KEY = Buffer.alloc(32, 9).toString('base64');

async function connectParams(
  hub: AmqpTestHub,
  identity: KeyedIdentity,
  options: { webSocket?: boolean; key?: string; expiresOnInSeconds?: number } = {},
): Promise<ConnectParams> {
  const path = `localhost/devices/${identity.deviceId}${identity.moduleId === undefined ? '' : `/modules/${identity.moduleId}`}`;
  const params: ConnectParams = {
    hostName: 'localhost',
    // The development certificate names 127.0.0.1 too; dialling the IP avoids ::1 lookups.
    endpointHost: '127.0.0.1',
    endpointPort: options.webSocket === true ? hub.httpsPort : hub.amqpPort,
    deviceId: identity.deviceId,
    sasToken: await createSasToken({
      resourceUri: path,
      key: options.key ?? identity.key,
      expiresOnInSeconds: options.expiresOnInSeconds ?? Math.floor(Date.now() / 1000) + 3600,
    }),
    ca: hub.hub.caCertificate,
    keepAliveInSeconds: 60,
  };
  if (identity.moduleId !== undefined) params.moduleId = identity.moduleId;
  return params;
}

async function fixture(webSocket: boolean): Promise<TransportContractFixture> {
  const hub = await startAmqpTestHub();
  const device = await hub.createDevice('dev-1');
  return {
    factory: amqp({ webSocket }),
    connectParams: () => connectParams(hub, device, { webSocket }),
    badConnectParams: () => connectParams(hub, device, { webSocket, key: WRONG_KEY }),
    updateDesired: (patch) => hub.updateDesired(device, patch),
    failNext: (operation, statusCode) => {
      hub.hub.faults.failNext({
        operation: operation === 'getTwin' ? 'deviceGetTwin' : 'deviceUpdateReported',
        statusCode,
      });
      return Promise.resolve();
    },
    dropConnection: () => {
      hub.endpoint.faults.dropConnection(device);
      return Promise.resolve();
    },
    [Symbol.asyncDispose]: () => hub.close(),
  };
}

describeTransportContract('AMQP over TLS', () => fixture(false));
describeTransportContract('AMQP over WebSocket', () => fixture(true));

function recorder(): { handlers: TransportHandlers; disconnects: unknown[]; patches: unknown[] } {
  const disconnects: unknown[] = [];
  const patches: unknown[] = [];
  return {
    disconnects,
    patches,
    handlers: {
      desiredPatch: (patch, version) => patches.push({ patch, version }),
      disconnected: (error) => disconnects.push(error),
    },
  };
}

describe('AmqpTransport', () => {
  it('renews the token with a new CBS put-token on the same connection', async () => {
    await using hub = await startAmqpTestHub();
    const device = await hub.createDevice('dev-1');
    const { handlers, disconnects } = recorder();
    const transport = amqp()(handlers, { operationTimeoutInMs: 4_000 });
    await transport.connect(
      await connectParams(hub, device, { expiresOnInSeconds: Math.floor(Date.now() / 1000) + 600 }),
    );
    expect(hub.endpoint.connectionCount).toBe(1);
    await transport.updateCredentials(await connectParams(hub, device));
    expect(hub.endpoint.connectionCount).toBe(1);
    const { version } = await transport.patchReported({ renewed: true });
    expect(version).toBe(2);
    expect(disconnects).toEqual([]);
    await transport.disconnect();
  });

  it('rejects a renewal the hub refuses with UnauthorizedError', async () => {
    await using hub = await startAmqpTestHub();
    const device = await hub.createDevice('dev-1');
    const transport = amqp()(recorder().handlers, { operationTimeoutInMs: 4_000 });
    await transport.connect(await connectParams(hub, device));
    await expect(
      transport.updateCredentials(await connectParams(hub, device, { key: WRONG_KEY })),
    ).rejects.toBeInstanceOf(UnauthorizedError);
    await transport.disconnect();
  });

  it('reports UnauthorizedError through disconnected when the hub detaches the twin links on token expiry', async () => {
    await using hub = await startAmqpTestHub();
    const device = await hub.createDevice('dev-1');
    const { handlers, disconnects } = recorder();
    const transport = amqp()(handlers, { operationTimeoutInMs: 4_000 });
    await transport.connect(await connectParams(hub, device));
    hub.endpoint.faults.expireToken(device);
    await vi.waitFor(() => {
      expect(disconnects).toHaveLength(1);
    });
    expect(disconnects[0]).toBeInstanceOf(UnauthorizedError);
    await expect(transport.getTwin()).rejects.toBeInstanceOf(TransportError);
  });

  it('reads and updates a module twin', async () => {
    await using hub = await startAmqpTestHub();
    await hub.createDevice('dev-1');
    const module = await hub.createModule('dev-1', 'mod-1');
    const transport = amqp()(recorder().handlers, { operationTimeoutInMs: 4_000 });
    await transport.connect(await connectParams(hub, module));
    await transport.patchReported({ fromModule: 1 });
    const twin = await transport.getTwin();
    expect(twin.reported).toMatchObject({ fromModule: 1, $version: 2 });
    expect(hub.core.getTwin('dev-1')?.reported).toEqual({});
    await transport.disconnect();
  });

  it('times out a request the hub holds back with OperationTimeoutError', async () => {
    await using hub = await startAmqpTestHub();
    const device = await hub.createDevice('dev-1');
    const transport = amqp()(recorder().handlers, { operationTimeoutInMs: 4_000 });
    await transport.connect(await connectParams(hub, device));
    hub.endpoint.faults.delayNextTwinResponses({ operation: 'getTwin', delayInMs: 1_000 });
    await expect(transport.getTwin({ timeoutInMs: 100 })).rejects.toMatchObject({
      name: 'OperationTimeoutError',
    });
    await transport.disconnect();
  });

  it('rejects with the abort reason when a request is aborted in flight', async () => {
    await using hub = await startAmqpTestHub();
    const device = await hub.createDevice('dev-1');
    const transport = amqp()(recorder().handlers, { operationTimeoutInMs: 4_000 });
    await transport.connect(await connectParams(hub, device));
    hub.endpoint.faults.delayNextTwinResponses({ operation: 'getTwin', delayInMs: 1_000 });
    const controller = new AbortController();
    const pending = transport.getTwin({ abortSignal: controller.signal });
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await transport.disconnect();
  });

  it('fails to connect with TransportError when nothing listens on the port', async () => {
    let port: number;
    let device: KeyedIdentity;
    let params: ConnectParams;
    {
      await using hub = await startAmqpTestHub();
      device = await hub.createDevice('dev-1');
      params = await connectParams(hub, device);
      port = hub.amqpPort;
    }
    const transport = amqp({ port })(recorder().handlers, { operationTimeoutInMs: 2_000 });
    await expect(transport.connect(params)).rejects.toBeInstanceOf(TransportError);
  });
});

describe('DeviceClient over amqp()', () => {
  it(
    'resyncs desired changes missed while the connection was down and flushes queued reported updates',
    { timeout: 20_000 },
    async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.hub.createDevice('dev-1');
      const client = DeviceClient.fromConnectionString(
        `HostName=localhost:${String(hub.amqpPort)};DeviceId=dev-1;SharedAccessKey=${device.primaryKey}`,
        {
          transport: amqp(),
          ca: hub.hub.caCertificate,
          retryOptions: { retryDelayInMs: 50, maxRetryDelayInMs: 200 },
        },
      );
      await using _client = client;
      const changes: DesiredChange[] = [];
      client.onDesired('rate', (change) => {
        changes.push(change);
      });
      await client.open();
      await hub.updateDesired({ deviceId: 'dev-1' }, { rate: 1 });
      await vi.waitFor(() => {
        expect(changes.map((change) => change.value)).toEqual([1]);
      });
      const states: string[] = [];
      client.on('connectionStateChange', (change) => {
        states.push(change.state);
      });
      // A desired change and a reported update made around a dropped connection still arrive: the
      // change by notification or by the resync after reconnecting, the update from the outbox.
      hub.endpoint.faults.dropConnection({ deviceId: 'dev-1' });
      await hub.updateDesired({ deviceId: 'dev-1' }, { rate: 2 });
      const reported = client.updateReportedProperties({ offline: true });
      await vi.waitFor(() => {
        expect(changes.map((change) => change.value)).toEqual([1, 2]);
      });
      await expect(reported).resolves.toMatchObject({ version: expect.any(Number) as number });
      expect(states).toEqual(expect.arrayContaining(['reconnecting', 'connected']));
      expect(hub.core.getTwin('dev-1')?.reported).toEqual({ offline: true });
    },
  );
});

describe('amqp', () => {
  it('refuses a port outside 1-65535', () => {
    expect(() => amqp({ port: 70_000 })).toThrow(RangeError);
  });
});
