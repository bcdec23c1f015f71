import type { EventContext } from 'rhea';
import { describe, expect, it } from 'vitest';
import {
  closedAfter,
  openTls,
  openWebSocket,
  writeUntilClosed,
} from '../device-endpoint/raw-peer.js';
import { GET, attachTwin, authorize, openClient, putToken } from './amqp-test-client.js';
import { startAmqpTestHub } from './amqp-test-hub.js';

/** The AMQP 1.0 protocol header without SASL (AMQP 1.0 §2.2). */
const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x00, 0x01, 0x00, 0x00]);

/** A frame header announcing a frame of `size` bytes (AMQP 1.0 §2.3.1). */
function frameHeader(size: number): Buffer {
  const header = Buffer.from([0, 0, 0, 0, 2, 0, 0, 0]);
  header.writeUInt32BE(size, 0);
  return header;
}

function disconnected(client: {
  connection: { once(event: string, listener: () => void): unknown };
}): Promise<void> {
  return new Promise((resolve) => {
    client.connection.once('disconnected', resolve);
  });
}

describe('AMQP endpoint security', () => {
  describe('reach of each credential', () => {
    it('refuses a twin link for a device whose id differs only in case from the token', async () => {
      await using hub = await startAmqpTestHub();
      const mallory = await hub.createDevice('mallory');
      await hub.createDevice('MALLORY');
      await using client = await openClient(hub);
      await authorize(hub, client, mallory);
      const twin = attachTwin(client, '/devices/MALLORY/twin');
      expect((await twin.closed).condition).toBe('amqp:unauthorized-access');
      expect(hub.endpoint.isConnected({ deviceId: 'MALLORY' })).toBe(false);
    });

    it("refuses a twin link for one of the device's modules with the device's token", async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await hub.createModule('dev-1', 'm1');
      await using client = await openClient(hub);
      await authorize(hub, client, device);
      const twin = attachTwin(client, '/devices/dev-1/modules/m1/twin');
      expect((await twin.closed).condition).toBe('amqp:unauthorized-access');
    });

    it('refuses a put-token whose audience differs from the token only in case', async () => {
      await using hub = await startAmqpTestHub();
      const mallory = await hub.createDevice('mallory');
      await using client = await openClient(hub);
      const answer = await putToken(client, {
        token: await hub.deviceToken(mallory),
        audience: 'localhost%2Fdevices%2FMALLORY',
      });
      expect(answer.application_properties?.['status-code']).toBe(401);
    });
  });

  describe('bounded before trusted', () => {
    it('closes a connection that announces a huge frame before OPEN, without reading it', async () => {
      await using hub = await startAmqpTestHub();
      const socket = await openTls(hub.amqpPort, hub.hub.caCertificate);
      const closing = closedAfter(socket);
      const first = Buffer.concat([AMQP_HEADER, frameHeader(0x7fff_ffff)]);
      const written = await writeUntilClosed(socket, first, 64 * 1024 * 1024);
      expect(await closing).toBeLessThan(5_000);
      expect(written).toBeLessThan(8 * 1024 * 1024);
    });

    it('closes an unauthenticated connection that sends a huge $cbs message', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      const client = await openClient(hub);
      const gone = disconnected(client);
      const answer = putToken(client, {
        token: `${await hub.deviceToken(device)}${' '.repeat(1024 * 1024)}`,
        audience: 'localhost%2Fdevices%2Fdev-1',
      });
      await gone;
      const settled = await Promise.race([
        answer.then(() => 'answered'),
        Promise.resolve('no answer'),
      ]);
      expect(settled).toBe('no answer');
    });

    it('caps a message split over many frames once authenticated', async () => {
      await using hub = await startAmqpTestHub({}, { limits: { amqpMaxMessageBytes: 64 * 1024 } });
      const device = await hub.createDevice('dev-1');
      const client = await openClient(hub);
      await authorize(hub, client, device);
      const twin = attachTwin(client, '/devices/dev-1/twin');
      const gone = disconnected(client);
      void twin.request(
        { operation: 'PATCH', resource: '/properties/reported' },
        'x'.repeat(512 * 1024),
      );
      await gone;
    });

    it('closes a TLS connection that never sends the AMQP header, at the deadline', async () => {
      await using hub = await startAmqpTestHub({}, { limits: { authTimeoutInMs: 300 } });
      const socket = await openTls(hub.amqpPort, hub.hub.caCertificate);
      const lived = await closedAfter(socket);
      expect(lived).toBeGreaterThanOrEqual(250);
      expect(lived).toBeLessThan(5_000);
    });

    it('closes a WebSocket that never sends the AMQP header, at the deadline', async () => {
      await using hub = await startAmqpTestHub({}, { limits: { authTimeoutInMs: 300 } });
      const webSocket = await openWebSocket(hub.httpsPort, 'AMQPWSB10', hub.hub.caCertificate);
      const lived = await closedAfter(webSocket);
      expect(lived).toBeGreaterThanOrEqual(250);
      expect(lived).toBeLessThan(5_000);
    });

    it('closes an opened connection that puts no token within the deadline', async () => {
      await using hub = await startAmqpTestHub({}, { limits: { authTimeoutInMs: 300 } });
      const client = await openClient(hub);
      await disconnected(client);
    });

    it('closes an authenticated connection idle for twice the idle-timeout it announces', async () => {
      await using hub = await startAmqpTestHub({}, { limits: { amqpIdleTimeoutInMs: 200 } });
      const device = await hub.createDevice('dev-1');
      const client = await openClient(hub);
      const announced = (
        client.connection as unknown as { remote: { open: { idle_time_out?: number } } }
      ).remote.open.idle_time_out;
      expect(announced).toBe(200);
      await authorize(hub, client, device);
      // Stop rhea's heartbeats, as a peer that hung would.
      const internals = client.connection as unknown as {
        heartbeat_out?: NodeJS.Timeout;
        remote: { open: { idle_time_out?: number | undefined } };
      };
      internals.remote.open.idle_time_out = undefined;
      clearTimeout(internals.heartbeat_out);
      const error = await new Promise<unknown>((resolve) => {
        client.connection.once('connection_close', (context: EventContext) => {
          resolve(context.connection.error);
        });
      });
      expect(error).toMatchObject({ condition: 'amqp:resource-limit-exceeded' });
    });
  });

  describe('in-flight twin requests', () => {
    it('answers 429 past the in-flight cap of a connection', async () => {
      await using hub = await startAmqpTestHub({}, { limits: { maxInFlightTwinRequests: 1 } });
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub);
      await authorize(hub, client, device);
      const twin = attachTwin(client, '/devices/dev-1/twin');
      hub.hub.faults.delayNext({ operation: 'deviceGetTwin', delayInMs: 300 });
      const answers = await Promise.all([twin.request(GET), twin.request(GET)]);
      expect(answers.map((answer) => answer.message_annotations?.status)).toEqual([200, 429]);
    });
  });
});
