/**
 * Test support: raw peers on real sockets for the limit and deadline tests — a TCP socket that
 * never starts TLS, a TLS socket that never speaks, a WebSocket that never sends, and a writer
 * that keeps sending until the hub closes the connection. Not part of the package's public API.
 *
 * @internal
 */
import { IOTHUB_WEBSOCKET_PATH } from '@twinkit/twin-model/protocol';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { WebSocket } from 'ws';

/**
 * Opens a TCP connection to 127.0.0.1 (no TLS).
 *
 * @param port - the port
 */
export function openTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: '127.0.0.1', port }, () => {
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * Opens a TLS connection to 127.0.0.1 and waits for the handshake.
 *
 * @param port - the port
 * @param ca - the hub's CA certificate
 */
export function openTls(port: number, ca: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * Opens a WebSocket on the hub's `/$iothub/websocket` and waits for the upgrade.
 *
 * @param httpsPort - the hub's HTTPS port
 * @param subprotocol - `mqtt` or `AMQPWSB10`
 * @param ca - the hub's CA certificate
 */
export function openWebSocket(
  httpsPort: number,
  subprotocol: string,
  ca: string,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const webSocket = new WebSocket(
      `wss://127.0.0.1:${String(httpsPort)}${IOTHUB_WEBSOCKET_PATH}`,
      [subprotocol],
      { ca },
    );
    webSocket.once('open', () => {
      resolve(webSocket);
    });
    webSocket.once('error', reject);
  });
}

/**
 * Resolves with how long, from now, the peer took to see its connection closed.
 *
 * @param peer - a socket or WebSocket
 */
export function closedAfter(peer: Socket | WebSocket): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (): void => {
      resolve(performance.now() - started);
    };
    peer.once('close', done);
    peer.on('error', () => undefined);
    // A socket only sees the hub's end once what the hub sent before it was read.
    if ('resume' in peer) peer.resume();
  });
}

/**
 * Writes `first`, then filler in 16 KiB chunks, until the hub closes the connection or `max`
 * bytes went out.
 *
 * @param socket - the socket
 * @param first - the bytes that announce something (a packet or frame header)
 * @param max - give up after this many bytes
 * @returns the bytes written before the close
 */
export async function writeUntilClosed(
  socket: Socket,
  first: Buffer,
  max: number,
): Promise<number> {
  const filler = Buffer.alloc(16 * 1024, 0x61);
  socket.on('error', () => undefined);
  let written = 0;
  let chunk = first;
  while (!socket.destroyed && written < max) {
    const ok = socket.write(chunk);
    written += chunk.length;
    chunk = filler;
    if (!ok)
      await new Promise<void>((resolve) => {
        socket.once('drain', resolve);
        socket.once('close', resolve);
      });
    else await new Promise((resolve) => setImmediate(resolve));
  }
  return written;
}
