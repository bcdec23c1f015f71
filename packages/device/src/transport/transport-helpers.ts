/**
 * What the MQTT and AMQP transports do the same way on top of their protocols: validating the
 * factory's port, choosing where to dial, and naming the identity in logs and errors. Reading
 * twin responses is `twin-response.ts`.
 *
 * @internal
 */
import type { ConnectTarget } from './connect-failure.js';
import type { ConnectParams } from './transport.js';

/** Who and what a failed request was about, for the messages of translated errors. */
export interface ErrorContext {
  operation: string;
  deviceId: string;
  moduleId?: string | undefined;
  /** Where a connection attempt went; set only for connect failures. */
  target?: ConnectTarget | undefined;
}

/**
 * The error context of an operation of the identity a transport is connected as.
 *
 * @param operation - the operation, as error messages name it
 * @param params - the connection's parameters; none before the first connect
 * @returns the context
 */
export function errorContextOf(operation: string, params: ConnectParams | undefined): ErrorContext {
  return { operation, deviceId: params?.deviceId ?? '', moduleId: params?.moduleId };
}

/**
 * Names the identity of a connection in log lines.
 *
 * @param params - the connection's parameters
 * @returns `'<deviceId>'` or `'<deviceId>/<moduleId>'`, quoted
 */
export function describeIdentity(params: ConnectParams): string {
  return params.moduleId === undefined
    ? `'${params.deviceId}'`
    : `'${params.deviceId}/${params.moduleId}'`;
}

/**
 * Checks the `port` option of a transport factory.
 *
 * @param factory - the factory's name, for the message
 * @param port - the option's value
 * @throws {@link RangeError} when `port` is given and not an integer between 1 and 65535
 */
export function assertValidPort(factory: 'mqtt' | 'amqp', port: number | undefined): void {
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new RangeError(`${factory}({ port }) must be an integer between 1 and 65535`);
  }
}

/**
 * Where a transport dials: its `port` option, else the port of `GatewayHostName`/`HostName`,
 * else the protocol's default.
 *
 * @param params - the connection's parameters
 * @param optionPort - the factory's `port` option
 * @param defaultPort - the protocol's port (8883, 5671 or 443)
 * @returns host, port and whether the user chose the port
 */
export function resolveEndpoint(
  params: ConnectParams,
  optionPort: number | undefined,
  defaultPort: number,
): { host: string; port: number; target: ConnectTarget } {
  const explicit = optionPort ?? params.endpointPort;
  const port = explicit ?? defaultPort;
  const host = params.endpointHost;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port,
    target: { address: `${shown}:${String(port)}`, portIsExplicit: explicit !== undefined },
  };
}
