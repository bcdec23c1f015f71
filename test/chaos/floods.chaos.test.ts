import { describe, expect, it } from 'vitest';
import { figureTable } from './figures.ts';
import { startHubProcess } from './hub-process.ts';
import { sleep, tlsSocket } from './peers.ts';

const record = figureTable('floods and connections held (built CLI, default limits)');
const FLOOD_MS = 5_000;
const CONCURRENCY = 32;

/** Junk each protocol refuses on its first bytes. */
const JUNK = {
  https: Buffer.from('NOT-HTTP\r\n\r\n'),
  mqtt: Buffer.from([0x30, 0x02, 0x00, 0x00]), // PUBLISH before CONNECT
  amqp: Buffer.from('JUNKJUNKJUNKJUNK'),
} as const;

/** Opens TLS connections that send junk, `CONCURRENCY` at a time, for FLOOD_MS; counts how many the hub closed. */
async function flood(
  port: number,
  ca: string,
  junk: Buffer,
): Promise<{ closed: number; failed: number }> {
  const until = performance.now() + FLOOD_MS;
  let closed = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        try {
          const socket = await tlsSocket(port, ca);
          await new Promise<void>((resolve) => {
            socket.on('error', () => undefined);
            socket.once('close', () => resolve());
            socket.resume();
            socket.write(junk);
          });
          closed += 1;
        } catch {
          failed += 1;
        }
      }
    }),
  );
  return { closed, failed };
}

describe('floods', () => {
  it('measures how fast each listener turns junk away', async () => {
    await using hub = await startHubProcess();
    for (const protocol of ['https', 'mqtt', 'amqp'] as const) {
      const { closed, failed } = await flood(hub.ports[protocol], hub.ca, JUNK[protocol]);
      record(
        `${protocol.toUpperCase()}: junk connections turned away per second`,
        Math.round(closed / (FLOOD_MS / 1000)),
      );
      record(`${protocol.toUpperCase()}: connections that failed to open`, failed);
      expect(closed).toBeGreaterThan(0);
    }
    record('hub RSS after the floods', `${String(hub.rssInMiB())} MiB`);
  });

  it('holds silent connections only until their deadline', async () => {
    await using hub = await startHubProcess();
    const before = hub.rssInMiB();
    const count = 1_000;
    const sockets = [];
    for (let index = 0; index < count; index += 50)
      sockets.push(
        ...(await Promise.all(Array.from({ length: 50 }, () => tlsSocket(hub.ports.mqtt, hub.ca)))),
      );
    for (const socket of sockets) {
      socket.on('error', () => undefined);
      socket.resume();
    }
    await sleep(2_000);
    const held = sockets.filter((socket) => !socket.destroyed).length;
    record('MQTT: silent TLS connections held at 2 s', `${String(held)} of ${String(count)}`);
    record('MQTT: hub RSS with them held', `${String(before)} → ${String(hub.rssInMiB())} MiB`);
    await sleep(31_000);
    const left = sockets.filter((socket) => !socket.destroyed).length;
    record('MQTT: silent connections left after the 30 s auth deadline', left);
    expect(left).toBe(0);
  });
});
