/**
 * How the AMQP transport opens a connection with rhea: where to dial, the TLS settings, the
 * OPEN fields (docs/internals/wire-contract.md#amqp-connect), and the socket or WebSocket the frame guard watches. Node only.
 *
 * @internal
 */
import { IOTHUB_WEBSOCKET_PATH, KnownWebSocketSubprotocol } from '@twinkit/twin-model/protocol';
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions as TlsOptions } from 'node:tls';
import type { ConnectionOptions } from 'rhea-promise';
import type { AmqpTransportOptions } from '../amqp-options.js';
import type { ConnectParams } from '../transport.js';
import { resolveEndpoint } from '../transport-helpers.js';
import { MAX_TWIN_MESSAGE_BYTES } from '../twin-response.js';
import { WebSocketStream } from './websocket-stream.js';

/**
 * The `max-frame-size` the device announces in OPEN, and enforces on what it receives: 64 KiB.
 * A larger message arrives as several transfer frames.
 */
export const AMQP_MAX_FRAME_BYTES = 64 * 1024;

/**
 * Where an AMQP connection goes: the transport's `port`, else the one in
 * `GatewayHostName`/`HostName`, else 5671 (TLS) or 443 (WebSocket).
 *
 * @param params - the connection's parameters
 * @param options - the transport's options
 * @returns host, port and the connect target for error messages
 */
export function amqpEndpoint(
  params: ConnectParams,
  options: AmqpTransportOptions,
): ReturnType<typeof resolveEndpoint> {
  return resolveEndpoint(params, options.port, options.webSocket === true ? 443 : 5671);
}

/**
 * rhea options for one connection.
 *
 * @param params - the connection's parameters
 * @param options - the transport's options
 * @param timeoutInMs - the connect deadline
 * @param watch - receives the byte stream (TLS socket or WebSocket) as soon as it exists
 * @returns the options for `new Connection(…)`
 */
export function createAmqpConnectionOptions(
  params: ConnectParams,
  options: AmqpTransportOptions,
  timeoutInMs: number,
  watch: (stream: Duplex) => void,
): ConnectionOptions {
  const { host, port } = amqpEndpoint(params, options);
  const tls: Record<string, unknown> = {};
  if (params.ca !== undefined) tls.ca = params.ca;
  // An IP address is not a valid SNI name (RFC 6066); the certificate is then checked against the IP.
  if (isIP(host) === 0) tls.servername = host;
  if (params.clientCertificate !== undefined) {
    tls.cert = params.clientCertificate.certificate;
    tls.key = params.clientCertificate.key;
    if (params.clientCertificate.passphrase !== undefined)
      tls.passphrase = params.clientCertificate.passphrase;
  }
  const base = {
    // docs/internals/wire-contract.md#amqp-connect: Node and C# put the hub FQDN in OPEN; no SASL layer, authentication goes through CBS.
    hostname: params.hostName,
    container_id: randomUUID(),
    reconnect: false,
    // Request/response traffic: Nagle plus delayed ACKs would add ~40 ms to some answers.
    tcp_no_delay: true,
    idle_time_out: Math.max(params.keepAliveInSeconds, 1) * 1000 * 2,
    max_frame_size: AMQP_MAX_FRAME_BYTES,
    operationTimeoutInSeconds: Math.max(1, Math.ceil(timeoutInMs / 1000)),
  };
  if (options.webSocket !== true) {
    return {
      ...base,
      ...tls,
      transport: 'tls',
      host,
      port,
      // rhea's own tls.connect, with the stream handed to the frame guard.
      connect: (
        connectPort: number,
        connectHost: string,
        socketOptions: TlsOptions,
        callback: () => void,
      ) => {
        const socket = tlsConnect(connectPort, connectHost, socketOptions, callback);
        watch(socket);
        return socket;
      },
    } as unknown as ConnectionOptions;
  }
  const path = options.webSocketPath ?? IOTHUB_WEBSOCKET_PATH;
  return {
    ...base,
    connection_details: () => ({
      host,
      port,
      options: {},
      connect: (_port: number, _host: string, _options: unknown, callback: () => void) => {
        const stream = new WebSocketStream({
          host,
          port,
          path,
          protocol: KnownWebSocketSubprotocol.amqp,
          tls,
          // A WebSocket frame may carry several AMQP frames; the frame guard checks those.
          maxFrameBytes: MAX_TWIN_MESSAGE_BYTES,
          onOpen: callback,
        });
        watch(stream);
        return stream;
      },
    }),
  } as unknown as ConnectionOptions;
}
