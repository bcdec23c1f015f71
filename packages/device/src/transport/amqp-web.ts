/**
 * What `@twinkit/device/amqp` resolves to outside Node (the `default` export condition):
 * AMQP needs raw TLS sockets, so `amqp()` throws, while isomorphic apps still type-check
 * against the same signature (docs/internals/architecture.md#runtime-seams).
 *
 * @module @twinkit/device/amqp (web dialect)
 */
import { UnsupportedRuntimeError } from '@twinkit/twin-model/errors';
import type { AmqpTransportOptions } from './amqp-options.js';
import type { TransportFactory } from './transport.js';

export { DEFAULT_AMQP_CLIENT_VERSION, type AmqpTransportOptions } from './amqp-options.js';

/**
 * The AMQP transport is Node only; in browsers and edge runtimes use `mqtt({ webSocket: true })`.
 *
 * @param _options - ignored
 * @returns never
 * @throws {@link UnsupportedRuntimeError} always
 * @example
 * ```ts
 * import { mqtt } from '@twinkit/device';
 * const device = DeviceClient.fromConnectionString(cs, { transport: mqtt({ webSocket: true }) });
 * ```
 */
export function amqp(_options: AmqpTransportOptions = {}): TransportFactory {
  throw new UnsupportedRuntimeError(
    'The AMQP transport needs Node.js (raw TLS sockets). In browsers and edge runtimes use mqtt({ webSocket: true }).',
  );
}
