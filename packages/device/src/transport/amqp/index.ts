/**
 * The AMQP transport factory (Node only; the `default` export condition maps this subpath to
 * `transport/amqp-web.ts`, whose `amqp()` throws `UnsupportedRuntimeError`, docs/internals/architecture.md#runtime-seams).
 *
 * @module @twinkit/device/amqp
 */
import type { AmqpTransportOptions } from '../amqp-options.js';
import type { TransportFactory } from '../transport.js';
import { assertValidPort } from '../transport-helpers.js';
import { LazyAmqpTransport } from './lazy-amqp-transport.js';

/**
 * AMQP 1.0 transport: TLS on 5671 by default, or WebSocket on 443 with `{ webSocket: true }`.
 * Authenticates through CBS put-token and renews tokens on the open connection (docs/internals/wire-contract.md#amqp).
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
  assertValidPort('amqp', options.port);
  const settings = { ...options };
  // rhea is loaded when the client opens, not when this entry is imported.
  return (handlers, context) => new LazyAmqpTransport(settings, handlers, context);
}

export { DEFAULT_AMQP_CLIENT_VERSION, type AmqpTransportOptions } from '../amqp-options.js';
