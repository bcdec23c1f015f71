/**
 * Device and module identities of the Registry: create, read, update, delete and list
 * (docs/internals/wire-contract.md#identities). Deletes succeed when the identity is already gone.
 */
import {
  createPagedIterator,
  type JsonObject,
  type PagedAsyncIterableIterator,
  type Twin,
} from '@twinkit/twin-model';
import { isDeviceNotFoundError, isModuleNotFoundError } from '@twinkit/twin-model/errors';
import { HEADER, IF_MATCH_ANY, REST_OPERATIONS } from '@twinkit/twin-model/protocol';
import { callRest, type RestClient } from './http/rest-client.js';
import type { Device, DeviceDescription, Module, ModuleDescription } from './models.js';
import type { OperationOptions } from './options.js';
import { pagedQuery, twinsOf } from './queries.js';
import { expectArray, expectIdentified, isIdentified } from './response-shape.js';

/** The device query that pages through a fleet, as the Azure CLI's `az iot hub device-identity list` does. */
const ALL_DEVICES_QUERY = 'SELECT * FROM devices';

function withDefaultAuthentication(
  authentication: DeviceDescription['authentication'],
): JsonObject {
  // The Node SDK's rule: no auth block means SAS with keys the hub generates.
  if (authentication === undefined)
    return { type: 'sas', symmetricKey: { primaryKey: '', secondaryKey: '' } };
  return { type: 'sas', ...authentication } as unknown as JsonObject;
}

/**
 * Creates a device identity.
 *
 * @param client - the registry's client
 * @param description - the device to create
 * @param signal - the operation's signal
 * @returns the device with its keys
 */
export async function createDevice(
  client: RestClient,
  description: DeviceDescription,
  signal: AbortSignal | undefined,
): Promise<Device> {
  const operation = REST_OPERATIONS.createDevice;
  const body = {
    ...description,
    authentication: withDefaultAuthentication(description.authentication),
  };
  const result = await callRest(
    client,
    operation,
    { ids: { deviceId: description.deviceId }, body },
    signal,
  );
  return expectIdentified<Device>(operation.description, result, 'a device identity');
}

/**
 * Reads a device identity.
 *
 * @param client - the registry's client
 * @param deviceId - the device
 * @param signal - the operation's signal
 * @returns the device
 */
export async function getDevice(
  client: RestClient,
  deviceId: string,
  signal: AbortSignal | undefined,
): Promise<Device> {
  const operation = REST_OPERATIONS.getDevice;
  const result = await callRest(client, operation, { ids: { deviceId } }, signal);
  return expectIdentified<Device>(operation.description, result, 'a device identity');
}

/**
 * Replaces a device identity (`PUT` with `If-Match`).
 *
 * @param client - the registry's client
 * @param device - the device as read, changed
 * @param ifMatch - the quoted identity ETag, or `"*"`
 * @param signal - the operation's signal
 * @returns the updated device
 */
export async function updateDevice(
  client: RestClient,
  device: DeviceDescription,
  ifMatch: string,
  signal: AbortSignal | undefined,
): Promise<Device> {
  const operation = REST_OPERATIONS.updateDevice;
  const result = await callRest(
    client,
    operation,
    { ids: { deviceId: device.deviceId }, body: device, headers: { [HEADER.ifMatch]: ifMatch } },
    signal,
  );
  return expectIdentified<Device>(operation.description, result, 'a device identity');
}

/**
 * Creates a module identity.
 *
 * @param client - the registry's client
 * @param deviceId - its device
 * @param description - the module to create
 * @param signal - the operation's signal
 * @returns the module with its keys
 */
export async function createModule(
  client: RestClient,
  deviceId: string,
  description: Omit<ModuleDescription, 'deviceId'>,
  signal: AbortSignal | undefined,
): Promise<Module> {
  const operation = REST_OPERATIONS.createModule;
  const body = {
    ...description,
    deviceId,
    authentication: withDefaultAuthentication(description.authentication),
  };
  const result = await callRest(
    client,
    operation,
    { ids: { deviceId, moduleId: description.moduleId }, body },
    signal,
  );
  return expectIdentified<Module>(operation.description, result, 'a module identity', true);
}

/**
 * Reads a module identity.
 *
 * @param client - the registry's client
 * @param deviceId - its device
 * @param moduleId - the module
 * @param signal - the operation's signal
 * @returns the module
 */
export async function getModule(
  client: RestClient,
  deviceId: string,
  moduleId: string,
  signal: AbortSignal | undefined,
): Promise<Module> {
  const operation = REST_OPERATIONS.getModule;
  const result = await callRest(client, operation, { ids: { deviceId, moduleId } }, signal);
  return expectIdentified<Module>(operation.description, result, 'a module identity', true);
}

/**
 * Deletes a device or module identity; succeeds when it is already gone.
 *
 * @param client - the registry's client
 * @param ids - the device, and the module for a module
 * @param ifMatch - the quoted identity ETag, or `"*"`
 * @param signal - the operation's signal
 */
export async function deleteIdentity(
  client: RestClient,
  ids: { deviceId: string; moduleId: string | undefined },
  ifMatch: string | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  const operation =
    ids.moduleId === undefined ? REST_OPERATIONS.deleteDevice : REST_OPERATIONS.deleteModule;
  try {
    await callRest(
      client,
      operation,
      { ids, headers: { [HEADER.ifMatch]: ifMatch ?? IF_MATCH_ANY } },
      signal,
    );
  } catch (error) {
    if (!isDeviceNotFoundError(error) && !isModuleNotFoundError(error)) throw error;
  }
}

/**
 * The identity fields a device twin carries, as a {@link Device} without keys.
 *
 * @param twin - a device twin from the devices query
 * @returns the device identity it describes
 */
function deviceFromTwin(twin: Twin): Device {
  const device: Device = {
    deviceId: twin.deviceId,
    etag: twin.deviceEtag ?? '',
    status: twin.status ?? 'enabled',
    authentication: { type: twin.authenticationType ?? 'sas' },
  };
  if (twin.x509Thumbprint !== undefined) device.authentication.x509Thumbprint = twin.x509Thumbprint;
  if (twin.statusReason !== undefined) device.statusReason = twin.statusReason;
  if (twin.statusUpdateTime !== undefined) device.statusUpdatedTime = twin.statusUpdateTime;
  if (twin.connectionState !== undefined) device.connectionState = twin.connectionState;
  if (twin.lastActivityTime !== undefined) device.lastActivityTime = twin.lastActivityTime;
  if (twin.cloudToDeviceMessageCount !== undefined)
    device.cloudToDeviceMessageCount = twin.cloudToDeviceMessageCount;
  if (twin.capabilities !== undefined) device.capabilities = twin.capabilities;
  if (twin.deviceScope !== undefined) device.deviceScope = twin.deviceScope;
  if (twin.parentScopes !== undefined) device.parentScopes = twin.parentScopes;
  return device;
}

/**
 * Every device identity, paged through the devices query: IoT Hub's `GET /devices` answers one
 * page of at most 1,000 with no continuation (https://learn.microsoft.com/rest/api/iothub/service/devices/get-devices),
 * and the official SDKs deprecate it for `SELECT * FROM devices` (Azure/azure-iot-sdk-csharp,
 * iothub/service/src/RegistryManager.cs, `GetDevicesAsync`); the Azure CLI lists devices that way
 * (Azure/azure-iot-cli-extension, azext_iot/operations/hub.py, `iot_device_list`).
 *
 * @param client - the registry's client
 * @param options - the caller's abort signal
 * @returns devices without keys, with `byPage()`
 */
export function listDevices(
  client: RestClient,
  options: OperationOptions | undefined,
): PagedAsyncIterableIterator<Device> {
  return pagedQuery(client, 'listDevices', ALL_DEVICES_QUERY, options, (page) =>
    twinsOf<Twin>(page).map(deviceFromTwin),
  );
}

/**
 * The module identities of a device: one page, as IoT Hub answers `GET /devices/{id}/modules`.
 *
 * @param client - the registry's client
 * @param deviceId - the device
 * @param fetchPage - runs the read under the caller's options
 * @returns modules with their keys, with `byPage()`
 */
export function listModules(
  client: RestClient,
  deviceId: string,
  fetchPage: (work: (signal: AbortSignal | undefined) => Promise<Module[]>) => Promise<Module[]>,
): PagedAsyncIterableIterator<Module> {
  return createPagedIterator<Module>(async (settings) => {
    if (settings.continuationToken !== undefined) {
      throw new TypeError(
        'listModules answers every module of a device in one page; it takes no continuationToken',
      );
    }
    const items = await fetchPage(async (signal) => {
      const operation = REST_OPERATIONS.listModules;
      const result = await callRest(client, operation, { ids: { deviceId } }, signal);
      return expectArray(operation.description, result, 'a JSON array of modules', (item) =>
        isIdentified(item, true),
      ) as unknown as Module[];
    });
    return { items };
  });
}
