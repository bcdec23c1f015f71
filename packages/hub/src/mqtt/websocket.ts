/**
 * Recognising MQTT-over-WebSocket upgrades on the hub's HTTPS port (docs/internals/wire-contract.md#endpoints): path
 * `/$iothub/websocket` (any query string ignored), subprotocol `mqtt` (Node, C#, Python) or
 * `MQTT` (C SDK). AMQP over WebSocket shares the path with subprotocol `AMQPWSB10`, so the
 * subprotocol decides which endpoint gets the connection.
 */
import type { IncomingMessage } from 'node:http';
import { IOTHUB_WEBSOCKET_PATH, KnownWebSocketSubprotocol } from '@twinkit/twin-model/protocol';

/**
 * Picks the MQTT subprotocol among those a client offered, in the client's own spelling, since
 * SDKs compare the echoed value exactly.
 *
 * @param offered - the `Sec-WebSocket-Protocol` values
 * @returns the spelling to echo, or `undefined` when no MQTT subprotocol was offered
 */
export function selectMqttSubprotocol(offered: Iterable<string>): string | undefined {
  for (const protocol of offered) {
    if (protocol.trim().toLowerCase() === KnownWebSocketSubprotocol.mqtt) return protocol.trim();
  }
  return undefined;
}

function requestPath(request: IncomingMessage): string {
  const url = request.url ?? '';
  const end = url.indexOf('?');
  const path = end < 0 ? url : url.slice(0, end);
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * Tells whether an HTTP upgrade request is for MQTT over WebSocket: the IoT Hub path and an
 * `mqtt` subprotocol offer (any case).
 *
 * @param request - the upgrade request
 * @returns `true` when the MQTT endpoint should take it
 * @example
 * ```ts
 * server.on('upgrade', (request, socket, head) => {
 *   if (isMqttWebSocketRequest(request)) endpoint.handleUpgrade(request, socket, head);
 * });
 * ```
 */
export function isMqttWebSocketRequest(request: IncomingMessage): boolean {
  if (requestPath(request) !== IOTHUB_WEBSOCKET_PATH) return false;
  const header = request.headers['sec-websocket-protocol'];
  if (header === undefined) return false;
  return selectMqttSubprotocol(header.split(',')) !== undefined;
}
