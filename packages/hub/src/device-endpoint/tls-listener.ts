/**
 * The TLS listener of a device endpoint (MQTT on 8883, AMQP on 5671): a thin `tls.Server` with a
 * handshake deadline and a connection cap, that hands each established socket to the endpoint.
 * It asks for (but does not require) a client certificate, so X.509 devices can authenticate by
 * thumbprint while SAS devices send none; certificates are judged by the hub, not by TLS.
 */
import { createServer, type TLSSocket } from 'node:tls';
import type { ProtocolListenOptions } from './protocol-endpoint.js';
import { serveListener, type ServedListener } from './endpoint-support.js';

/**
 * Serves a device endpoint over TLS.
 *
 * @param listener - which listener this is, for refusal reports
 * @param options - address, port, TLS material and limits
 * @param onSocket - takes each socket once its TLS handshake completed
 * @returns the bound port and a close function that also ends open connections
 * @throws the listen error (e.g. `EADDRINUSE`) when the port cannot be bound
 */
export async function serveTls(
  listener: 'mqtt' | 'amqp',
  options: ProtocolListenOptions,
  onSocket: (socket: TLSSocket) => void,
): Promise<ServedListener> {
  const { limits } = options;
  const server = createServer(
    {
      key: options.tls.key,
      cert: options.tls.cert,
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: limits.tlsHandshakeTimeoutInMs,
      // Twin answers are small writes: with Nagle's algorithm each waits for the client's delayed
      // ACK (40 ms on Linux) before it leaves, so every request would take 40 ms.
      noDelay: true,
    },
    onSocket,
  );
  // Past the cap Node closes new sockets before any TLS work and emits 'drop'.
  server.maxConnections = limits.maxConnections;
  server.on('drop', (data?: { remoteAddress?: string }) => {
    options.onConnectionRefused?.({
      listener,
      reason: `the ${listener.toUpperCase()} listener holds its maximum of ${String(limits.maxConnections)} connections (ListenOptions.limits.maxConnections)`,
      remoteAddress: data?.remoteAddress,
    });
  });
  // A client that fails (or never finishes) the handshake must not take the listener down.
  server.on('tlsClientError', (_error, socket) => {
    socket.destroy();
  });
  server.listen(options.port, options.host);
  return serveListener(server, 'connection', options.port);
}
