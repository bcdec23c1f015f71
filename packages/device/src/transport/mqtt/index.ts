/**
 * The MQTT transport factory.
 */
import type { TransportFactory } from '../transport.js';
import { assertValidPort } from '../transport-helpers.js';
import { MqttTransport, type MqttTransportOptions } from './mqtt-transport.js';

/**
 * MQTT 3.1.1 transport: TCP+TLS on 8883 by default, or WebSocket on 443 with
 * `{ webSocket: true }` (the only form that works in browsers and edge runtimes). It is the
 * default when a DeviceClient is built without `transport`.
 *
 * @param options - WebSocket, port, path and client type
 * @returns the factory to pass as `{ transport }`
 * @example
 * ```ts
 * const device = DeviceClient.fromConnectionString(cs, { transport: mqtt({ webSocket: true }) });
 * ```
 */
export function mqtt(options: MqttTransportOptions = {}): TransportFactory {
  assertValidPort('mqtt', options.port);
  return (handlers, context) => new MqttTransport(options, handlers, context);
}

export type { MqttTransportOptions } from './mqtt-transport.js';
