/**
 * Web implementation of `#platform/mqtt-connection` (browsers, workers, Deno, Bun, edge
 * runtimes): our own MQTT 3.1.1 session over the global `WebSocket` (`mqtt-session.ts`), which
 * keeps the device web bundle small (issue #16; mqtt.js's browser build was 86 % of it). Only
 * `wss://` works there, and the runtime's own trust store decides TLS, so CA and
 * client-certificate options are refused with a clear error instead of being silently ignored.
 *
 * @internal
 */
import { UnsupportedRuntimeError } from '@twinkit/twin-model/errors';
import type { MqttConnection, MqttConnectionOptions, OpenMqttConnection } from '../types.js';
import { WebSocketMqttSession, type WebSocketConstructor } from './mqtt-session.js';

/** Opens an MQTT session over the runtime's global WebSocket. */
export const openMqttConnection: OpenMqttConnection = (options) =>
  openMqttOverWebSocket(
    options,
    typeof globalThis.WebSocket === 'function' ? globalThis.WebSocket : undefined,
  );

/**
 * Opens an MQTT session over the given WebSocket implementation (tests pass `ws`'s).
 *
 * @param options - where to connect and with which credentials
 * @param WebSocketClass - the WebSocket implementation; `undefined` when the runtime has none
 * @returns the session, connecting
 * @throws {@link UnsupportedRuntimeError} for TCP, for TLS options a WebSocket cannot honour, or
 *   without a WebSocket
 */
export function openMqttOverWebSocket(
  options: MqttConnectionOptions,
  WebSocketClass: WebSocketConstructor | undefined,
): Promise<MqttConnection> {
  // A refusal below rejects the promise, as opening a connection that fails would.
  return new Promise((resolve) => {
    resolve(new WebSocketMqttSession(options, requireWebSocket(options, WebSocketClass)));
  });
}

function requireWebSocket(
  options: MqttConnectionOptions,
  WebSocketClass: WebSocketConstructor | undefined,
): WebSocketConstructor {
  if (!options.url.startsWith('wss://')) {
    throw new UnsupportedRuntimeError(
      'MQTT over TCP needs Node; in browsers and edge runtimes use mqtt({ webSocket: true }).',
    );
  }
  if (options.clientCertificate !== undefined) {
    throw new UnsupportedRuntimeError(
      'X.509 client certificates need the Node dialect; a WebSocket in this runtime cannot present one.',
    );
  }
  if (options.ca !== undefined) {
    throw new UnsupportedRuntimeError(
      'The ca option needs the Node dialect; in this runtime trust the CA through the platform trust store.',
    );
  }
  if (WebSocketClass === undefined) {
    throw new UnsupportedRuntimeError(
      'This runtime has no global WebSocket, which MQTT over WebSocket needs.',
    );
  }
  return WebSocketClass;
}
