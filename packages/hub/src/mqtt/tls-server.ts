/**
 * The MQTT-over-TLS listener adapter (port 8883 by default): a thin `tls.Server` that hands each
 * socket, with its client certificate, to the endpoint. Every IoT Hub surface is TLS-only
 * (protocol.md §1).
 */
import { createServer, type Server, type TlsOptions } from 'node:tls';
import { certificateOfSocket, type MqttEndpoint } from './mqtt-endpoint.js';

/**
 * Creates a TLS server that serves the MQTT endpoint. It asks for (but does not require) a client
 * certificate, so X.509 devices can authenticate by thumbprint while SAS devices send none;
 * certificates are judged by the hub, not by the TLS layer.
 *
 * @param endpoint - the MQTT endpoint
 * @param tlsOptions - at least `key` and `cert` of the hub's server certificate
 * @returns the server, not yet listening
 * @example
 * ```ts
 * const server = createMqttTlsServer(endpoint, { key, cert });
 * server.listen(8883, '127.0.0.1');
 * ```
 */
export function createMqttTlsServer(endpoint: MqttEndpoint, tlsOptions: TlsOptions): Server {
  const server = createServer(
    { ...tlsOptions, requestCert: true, rejectUnauthorized: false },
    (socket) => {
      endpoint.handle(socket, { clientCertificate: certificateOfSocket(socket) });
    },
  );
  // A client that fails the handshake must not take the listener down.
  server.on('tlsClientError', (_error, socket) => socket.destroy());
  return server;
}
