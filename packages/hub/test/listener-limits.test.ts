import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { closedAfter, openTcp, openTls } from '../src/device-endpoint/raw-peer.js';
import { createHub, listen, type ConnectionRefusal } from '../src/index.js';

function occupyPort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address !== null ? address.port : 0 });
    });
  });
}

describe('listener limits', { timeout: 20_000 }, () => {
  it('closes TCP connections that never start TLS, on every port, at the handshake deadline', async () => {
    await using hub = await createHub();
    await using server = await listen(hub, {
      mqttPort: 0,
      amqpPort: 0,
      limits: { tlsHandshakeTimeoutInMs: 300 },
    });
    const { https, mqtt, amqp } = server.ports;
    for (const port of [https, mqtt, amqp]) {
      const socket = await openTcp(port ?? 0);
      const lived = await closedAfter(socket);
      expect(lived).toBeGreaterThanOrEqual(250);
      expect(lived).toBeLessThan(5_000);
    }
  });

  it('closes an HTTPS connection whose request head (a WebSocket upgrade) never finishes', async () => {
    await using hub = await createHub();
    await using server = await listen(hub, { limits: { requestHeadersTimeoutInMs: 500 } });
    const socket = await openTls(server.ports.https, hub.caCertificate);
    const closing = closedAfter(socket);
    socket.write('GET /$iothub/websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n');
    const lived = await closing;
    expect(lived).toBeGreaterThanOrEqual(400);
    expect(lived).toBeLessThan(5_000);
  });

  it('refuses connections past the cap of a listener and says why', async () => {
    await using hub = await createHub();
    const refusals: ConnectionRefusal[] = [];
    await using server = await listen(hub, {
      mqttPort: 0,
      limits: { maxConnections: 2 },
      onConnectionRefused: (refusal) => refusals.push(refusal),
    });
    const port = server.ports.mqtt ?? 0;
    const held = [await openTls(port, hub.caCertificate), await openTls(port, hub.caCertificate)];
    const third = await openTcp(port);
    expect(await closedAfter(third)).toBeLessThan(5_000);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ listener: 'mqtt' });
    expect(refusals[0]?.reason).toContain('maxConnections');
    for (const socket of held) socket.destroy();
  });

  it('names the port and the option when the MQTT or AMQP port is in use', async () => {
    await using hub = await createHub();
    const busy = await occupyPort();
    try {
      await expect(listen(hub, { mqttPort: busy.port })).rejects.toThrow(
        /MQTT on 127\.0\.0\.1:\d+: the port is already in use.*--mqtt-port/,
      );
      await expect(listen(hub, { amqpPort: busy.port })).rejects.toThrow(
        /AMQP on 127\.0\.0\.1:\d+: the port is already in use.*--amqp-port/,
      );
    } finally {
      busy.server.close();
    }
  });

  it('checks limits when the hub and the listener are made', async () => {
    await expect(createHub({ limits: { mqttMaxPacketBytes: 0 } })).rejects.toThrow(RangeError);
    await expect(createHub({ limits: { amqpMaxFrameBytes: 100 } })).rejects.toThrow(/at least 512/);
    await expect(
      createHub({ limits: { bogus: 1 } as unknown as { authTimeoutInMs: number } }),
    ).rejects.toThrow(TypeError);
    await using hub = await createHub();
    await expect(listen(hub, { limits: { maxConnections: -1 } })).rejects.toThrow(RangeError);
  });
});
