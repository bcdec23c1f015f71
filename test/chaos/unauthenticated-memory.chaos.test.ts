import { describe, expect, it } from 'vitest';
import { figureTable } from './figures.ts';
import { startHubProcess } from './hub-process.ts';
import { lifetime, pour, seconds, sleep, tlsSocket } from './peers.ts';

const record = figureTable('RSS under unauthenticated abuse (built CLI, default limits)');
const CONNECTIONS = 20;
const POUR_MS = 3_000;

/** An MQTT CONNECT header announcing 256 MB (the largest remaining length). */
const MQTT_256_MB = Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]);
/** The AMQP header, then a frame header announcing 2 GiB. */
const AMQP_HUGE_FRAME = Buffer.from([
  0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0, 0x7f, 0xff, 0xff, 0xff, 2, 0, 0, 0,
]);

describe('memory before trust', () => {
  it('keeps RSS flat while peers announce huge MQTT packets and AMQP frames', async () => {
    await using hub = await startHubProcess();
    const growth: number[] = [];
    const lives: number[] = [];
    for (const [name, port, header] of [
      ['MQTT 256 MB CONNECT', hub.ports.mqtt, MQTT_256_MB],
      ['AMQP 2 GiB frame before OPEN', hub.ports.amqp, AMQP_HUGE_FRAME],
    ] as const) {
      const before = hub.rssInMiB();
      const sockets = await Promise.all(
        Array.from({ length: CONNECTIONS }, () => tlsSocket(port, hub.ca)),
      );
      const lifetimes = sockets.map((socket) => lifetime(socket));
      const written = await Promise.all(sockets.map((socket) => pour(socket, header, POUR_MS)));
      const peak = hub.rssInMiB();
      const lived = await Promise.all(lifetimes);
      const sent = written.reduce((sum, bytes) => sum + bytes, 0);
      record(`${name}: connections`, CONNECTIONS);
      record(`${name}: bytes the peers got out`, `${(sent / 1024 / 1024).toFixed(1)} MiB`);
      record(`${name}: longest connection life`, seconds(Math.max(...lived)));
      record(`${name}: hub RSS before → during`, `${String(before)} → ${String(peak)} MiB`);
      growth.push(peak - before);
      lives.push(Math.max(...lived));
    }
    expect(Math.max(...growth)).toBeLessThan(100);
    expect(Math.max(...lives)).toBeLessThan(5_000);
  });

  it('keeps RSS flat under WebSocket upgrades that never finish', async () => {
    await using hub = await startHubProcess();
    const before = hub.rssInMiB();
    const count = 500;
    const sockets = await Promise.all(
      Array.from({ length: count }, () => tlsSocket(hub.ports.https, hub.ca)),
    );
    const lifetimes = sockets.map((socket) => lifetime(socket));
    for (const socket of sockets)
      socket.write(
        'GET /$iothub/websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nX-Filler: ',
      );
    await sleep(1_000);
    const during = hub.rssInMiB();
    const lived = await Promise.all(lifetimes);
    record('unfinished upgrades: connections', count);
    record(
      'unfinished upgrades: hub RSS before → during',
      `${String(before)} → ${String(during)} MiB`,
    );
    record(
      'unfinished upgrades: connection life (min–max)',
      `${seconds(Math.min(...lived))} – ${seconds(Math.max(...lived))}`,
    );
    expect(during - before).toBeLessThan(150);
    expect(Math.max(...lived)).toBeLessThan(15_000);
  });
});
