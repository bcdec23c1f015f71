/**
 * Wraps the MQTT endpoint as the `ProtocolEndpoint` that `listen()` starts next to HTTPS: MQTT
 * over TLS on its own port, and MQTT over WebSocket on `/$iothub/websocket` of the HTTPS port.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { KnownWebSocketSubprotocol } from '@twinkit/twin-model/protocol';
import { certificateOfSocket } from '../device-endpoint/client-certificate.js';
import type { ProtocolEndpoint } from '../device-endpoint/protocol-endpoint.js';
import { serveTls } from '../device-endpoint/tls-listener.js';
import type { HubCore } from '../hub-core.js';
import {
  createMqttEndpoint,
  type MqttEndpoint,
  type MqttEndpointOptions,
} from './mqtt-endpoint.js';
import { isMqttWebSocketRequest } from './websocket.js';

/** The MQTT endpoint as registered with the hub core, so `listen()` can start it. */
export interface MqttProtocolEndpoint extends ProtocolEndpoint {
  readonly protocol: 'mqtt';
}

/**
 * Wraps the MQTT endpoint as the `ProtocolEndpoint` that `listen()` starts.
 *
 * @param endpoint - the MQTT endpoint
 * @returns the protocol endpoint to register with `core.registerEndpoint`
 * @internal
 */
export function toProtocolEndpoint(endpoint: MqttEndpoint): MqttProtocolEndpoint {
  const mqtt = KnownWebSocketSubprotocol.mqtt;
  return {
    protocol: 'mqtt',
    // The C SDK offers the subprotocol upper-case (docs/internals/wire-contract.md#endpoints).
    webSocketSubprotocols: [mqtt, mqtt.toUpperCase()],
    listen: (options) =>
      serveTls('mqtt', options, (socket) => {
        endpoint.handle(socket, { clientCertificate: certificateOfSocket(socket) });
      }),
    handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
      if (isMqttWebSocketRequest(request)) endpoint.handleUpgrade(request, socket, head);
      else socket.destroy();
    },
  };
}

/**
 * Creates the MQTT endpoint for a hub core and registers it, so `listen()` serves MQTT over TLS
 * and over WebSocket. Close the returned endpoint before closing the core.
 *
 * @param core - the hub core
 * @param options - endpoint options
 * @returns the endpoint
 * @internal
 */
export async function attachMqttEndpoint(
  core: HubCore,
  options: MqttEndpointOptions = {},
): Promise<MqttEndpoint> {
  const endpoint = await createMqttEndpoint(core, options);
  core.registerEndpoint(toProtocolEndpoint(endpoint));
  return endpoint;
}
