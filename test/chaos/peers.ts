/**
 * Misbehaving peers on real sockets (127.0.0.1 only): TCP sockets that never start TLS, TLS
 * sockets that never speak or announce huge packets, WebSocket upgrades that never finish.
 * Every loop here is bounded in count and time.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';

/** Opens a TCP socket (no TLS). */
export function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Opens a TLS socket and waits for the handshake. */
export function tlsSocket(port: number, ca: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () =>
      resolve(socket),
    );
    socket.once('error', reject);
  });
}

/** How long chaos files wait for the hub to close a connection before they give up. */
export const GIVE_UP_MS = 45_000;

/**
 * Resolves with the ms until the socket closes (it is read, so the hub's end is seen), or
 * `Infinity` when the hub still held it after {@link GIVE_UP_MS} (the socket is then closed).
 */
export function lifetime(socket: Socket): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    const giveUp = setTimeout(() => {
      socket.removeAllListeners('close');
      socket.destroy();
      resolve(Number.POSITIVE_INFINITY);
    }, GIVE_UP_MS);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(giveUp);
      resolve(Math.round(performance.now() - started));
    });
    socket.resume();
  });
}

/** A lifetime for the figure table. */
export function seconds(ms: number): string {
  return Number.isFinite(ms)
    ? `${(ms / 1000).toFixed(1)} s`
    : `still open after ${String(GIVE_UP_MS / 1000)} s`;
}

/** Whether a socket is still open after `ms`. */
export async function openAfter(socket: Socket, ms: number): Promise<boolean> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return !socket.destroyed;
}

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Writes `header` then filler for `durationInMs` or until the socket closes.
 *
 * @returns the bytes written
 */
export async function pour(socket: Socket, header: Buffer, durationInMs: number): Promise<number> {
  const filler = Buffer.alloc(64 * 1024, 0x61);
  const until = performance.now() + durationInMs;
  let written = 0;
  socket.on('error', () => undefined);
  let chunk = header;
  while (!socket.destroyed && performance.now() < until) {
    const ok = socket.write(chunk);
    written += chunk.length;
    chunk = filler;
    if (!ok)
      await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), sleep(200)]);
  }
  return written;
}
