/**
 * A local Azure IoT Hub for development and tests: device and module identities, twins on
 * SQLite, the service REST API (twins, queries, bulk, registry), SAS and Bearer auth, fault
 * injection and a development CA. `createHub()` is the library (a `fetch` handler, no sockets),
 * `listen()` serves it over HTTPS, and the `twinkit-hub` CLI runs it.
 *
 * @example
 * ```ts
 * import { createHub, listen } from '@twinkit/hub';
 *
 * await using hub = await createHub({ dataDir: '.twinkit-hub' });
 * await using server = await listen(hub, { httpsPort: 8443 });
 * console.log(hub.serviceConnectionString, server.urls.https);
 * ```
 *
 * @module @twinkit/hub
 */
export {
  createHub,
  type CreatedIdentity,
  type CreatedModuleIdentity,
  type DeviceConnectionStrings,
  type Hub,
  type HubFaultControls,
  type HubOptions,
} from './hub.js';
export {
  HubStorageError,
  isHubStorageError,
  type HubStorageFailure,
} from './state/storage-error.js';
export {
  isLoopback,
  listen,
  type HubServer,
  type ListenOptions,
  type NotServedEndpoint,
} from './node/listen.js';
export type { ExplorerOptions } from './explorer/explorer-access.js';
export {
  BEARER_ROLE_ACTIONS,
  KnownHubPermission,
  WELL_KNOWN_POLICIES,
  type HubDataAction,
  type HubPermission,
  type SharedAccessPolicy,
} from './auth/policies.js';
export { IOT_HUB_AUDIENCE, type TokenIssuerOptions } from './auth/authenticate-request.js';
export type {
  DelayNextOptions,
  FailNextOptions,
  HubFaults,
  HubOperation,
} from './faults/fault-injector.js';
export type { DeviceIdentity } from './device-endpoint/endpoint-support.js';
export type {
  DelayTwinResponsesOptions,
  DeviceEndpointFaultTarget,
  DeviceEndpointFaults,
  DeviceTwinOperation,
  DuplicateDesiredOptions,
  FailTwinResponsesOptions,
} from './faults/device-endpoint-faults.js';
export {
  DEFAULT_DEVICE_ENDPOINT_LIMITS,
  DEFAULT_LISTENER_LIMITS,
  type DeviceEndpointLimits,
  type ListenerLimits,
} from './device-endpoint/limits.js';
export type { ConnectionRefusal } from './device-endpoint/protocol-endpoint.js';
