/**
 * @module @twinkit/device/amqp
 *
 * The AMQP transport factory (Node only; the `default` export condition maps this subpath to
 * `transport/amqp-web.ts`, whose `amqp()` throws `UnsupportedRuntimeError`, house-style 4.8).
 */
import type { TransportFactory } from '../transport.js';
import { AmqpTransport, type AmqpTransportOptions } from './amqp-transport.js';

/**
 * AMQP 1.0 transport: TLS on 5671 by default, or WebSocket on 443 with `{ webSocket: true }`.
 * Authenticates through CBS put-token and renews tokens on the open connection (protocol.md §5).
 *
 * @param options - WebSocket, port, path and client version
 * @returns the factory to pass as `{ transport }`
 * @throws {@link RangeError} when `port` is not an integer between 1 and 65535
 * @example
 * ```ts
 * import { DeviceClient } from '@twinkit/device';
 * import { amqp } from '@twinkit/device/amqp';
 *
 * const device = DeviceClient.fromConnectionString(cs, { transport: amqp({ webSocket: true }) });
 * ```
 */
export function amqp(options: AmqpTransportOptions = {}): TransportFactory {
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535)) {
    throw new RangeError('amqp({ port }) must be an integer between 1 and 65535');
  }
  const settings = { ...options };
  return (handlers, context) => new AmqpTransport(settings, handlers, context);
}

export { DEFAULT_AMQP_CLIENT_VERSION, type AmqpTransportOptions } from './amqp-transport.js';
