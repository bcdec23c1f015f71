import { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { figureTable } from './figures.ts';
import { startHubProcess } from './hub-process.ts';
import { GIVE_UP_MS, lifetime, seconds, tcp, tlsSocket } from './peers.ts';

const record = figureTable('how long each silent connection lives (built CLI, default limits)');

function silentWebSocket(httpsPort: number, subprotocol: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const webSocket = new WebSocket(
      `wss://127.0.0.1:${String(httpsPort)}/$iothub/websocket`,
      [subprotocol],
      { ca },
    );
    webSocket.once('error', reject);
    webSocket.once('open', () => {
      const started = performance.now();
      const giveUp = setTimeout(() => {
        webSocket.removeAllListeners('close');
        webSocket.terminate();
        resolve(Number.POSITIVE_INFINITY);
      }, GIVE_UP_MS);
      webSocket.once('close', () => {
        clearTimeout(giveUp);
        resolve(Math.round(performance.now() - started));
      });
    });
  });
}

describe('silent connections', () => {
  it('closes every kind of silent connection at its deadline', async () => {
    await using hub = await startHubProcess();
    const { https, mqtt, amqp } = hub.ports;
    const cases: [string, Promise<number>][] = [
      ['HTTPS: TCP, no TLS handshake', tcp(https).then(lifetime)],
      ['MQTT: TCP, no TLS handshake', tcp(mqtt).then(lifetime)],
      ['AMQP: TCP, no TLS handshake', tcp(amqp).then(lifetime)],
      ['HTTPS: TLS, no request', tlsSocket(https, hub.ca).then(lifetime)],
      ['MQTT: TLS, no CONNECT', tlsSocket(mqtt, hub.ca).then(lifetime)],
      ['AMQP: TLS, no protocol header', tlsSocket(amqp, hub.ca).then(lifetime)],
      ['MQTT over WebSocket: upgraded, no CONNECT', silentWebSocket(https, 'mqtt', hub.ca)],
      ['AMQP over WebSocket: upgraded, no header', silentWebSocket(https, 'AMQPWSB10', hub.ca)],
    ];
    const lifetimes: number[] = [];
    for (const [what, lived] of cases) {
      const ms = await lived;
      record(what, seconds(ms));
      lifetimes.push(ms);
    }
    expect(Math.max(...lifetimes)).toBeLessThan(35_000);
  });
});
