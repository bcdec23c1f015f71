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
import type { DeviceIdentity } from './device-endpoint/endpoint-support.js';
import type {
  DelayTwinResponsesOptions,
  DeviceEndpointFaultTarget,
  DeviceEndpointFaults,
  DeviceTwinOperation,
  DuplicateDesiredOptions,
  FailTwinResponsesOptions,
} from './faults/device-endpoint-faults.js';

export type {
  DelayTwinResponsesOptions,
  DeviceEndpointFaultTarget,
  DeviceEndpointFaults,
  DeviceIdentity,
  DeviceTwinOperation,
  DuplicateDesiredOptions,
  FailTwinResponsesOptions,
};
export {
  DEFAULT_DEVICE_ENDPOINT_LIMITS,
  DEFAULT_LISTENER_LIMITS,
  type DeviceEndpointLimits,
  type ListenerLimits,
} from './device-endpoint/limits.js';
export type { ConnectionRefusal } from './device-endpoint/protocol-endpoint.js';

/** A device, or a module of a device, as one MQTT client identity: a {@link DeviceIdentity}. */
export type MqttIdentity = DeviceIdentity;

// The MQTT and AMQP endpoints share one fault model; these names predate it and stay as aliases.

/** The faults of the MQTT endpoint (`hub.faults.mqtt`): a {@link DeviceEndpointFaults}. */
export type MqttFaults = DeviceEndpointFaults;
/** Which identities an MQTT fault applies to: a {@link DeviceEndpointFaultTarget}. */
export type MqttFaultTarget = DeviceEndpointFaultTarget;
/** The faults of the AMQP endpoint (`hub.faults.amqp`): a {@link DeviceEndpointFaults}. */
export type AmqpFaults = DeviceEndpointFaults;
/** Which identities an AMQP fault applies to: a {@link DeviceEndpointFaultTarget}. */
export type AmqpFaultTarget = DeviceEndpointFaultTarget;
/** Options of `hub.faults.amqp.failNextTwinResponses`: {@link FailTwinResponsesOptions}. */
export type AmqpFailTwinResponsesOptions = FailTwinResponsesOptions;
/** Options of `hub.faults.amqp.delayNextTwinResponses`: {@link DelayTwinResponsesOptions}. */
export type AmqpDelayTwinResponsesOptions = DelayTwinResponsesOptions;
/** Options of `hub.faults.amqp.duplicateNextDesired`: {@link DuplicateDesiredOptions}. */
export type AmqpDuplicateDesiredOptions = DuplicateDesiredOptions;
/** A device, or a module of a device, as one AMQP twin identity: a {@link DeviceIdentity}. */
export type AmqpIdentity = DeviceIdentity;
/** A device twin operation whose AMQP responses can be faulted: a {@link DeviceTwinOperation}. */
export type AmqpTwinOperation = DeviceTwinOperation;
