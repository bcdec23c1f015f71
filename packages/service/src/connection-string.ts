import {
  formatDeviceConnectionString,
  type DeviceConnectionString,
} from '@twinkit/twin-model/protocol';
import type { Device, Module } from './models.js';

/** Options of {@link createDeviceConnectionString}. */
export interface CreateDeviceConnectionStringOptions {
  /** Which of the identity's keys to use. Default `primary`. */
  key?: 'primary' | 'secondary';
  /** A `GatewayHostName` to connect through (IoT Edge). */
  gatewayHostName?: string;
}

/**
 * Builds the connection string a device (or module) app uses, from its identity and the hub host
 * (docs/internals/wire-contract.md#device-connection-strings). Handy right after `createDevice`.
 *
 * @param identity - a device or module as returned by the registry, with SAS keys
 * @param hostName - the hub host, e.g. `registry.hostName` (a `:port` is kept)
 * @param options - which key, optional gateway
 * @returns `HostName=…;DeviceId=…[;ModuleId=…];SharedAccessKey=…`
 * @throws {@link TypeError} when the identity has no symmetric key of that kind
 * @example
 * ```ts
 * const device = await registry.createDevice('dev-1');
 * const cs = createDeviceConnectionString(device, registry.hostName);
 * ```
 */
export function createDeviceConnectionString(
  identity:
    | Pick<Device, 'deviceId' | 'authentication'>
    | Pick<Module, 'deviceId' | 'moduleId' | 'authentication'>,
  hostName: string,
  options: CreateDeviceConnectionStringOptions = {},
): string {
  const which = options.key ?? 'primary';
  const keys = identity.authentication.symmetricKey;
  const key = which === 'primary' ? keys?.primaryKey : keys?.secondaryKey;
  if (typeof key !== 'string' || key === '') {
    throw new TypeError(
      `The identity '${identity.deviceId}' has no ${which} symmetric key; connection strings need SAS authentication`,
    );
  }
  const parts: DeviceConnectionString = {
    hostName,
    deviceId: identity.deviceId,
    sharedAccessKey: key,
  };
  if ('moduleId' in identity && typeof identity.moduleId === 'string')
    parts.moduleId = identity.moduleId;
  if (options.gatewayHostName !== undefined) parts.gatewayHostName = options.gatewayHostName;
  return formatDeviceConnectionString(parts);
}
