/**
 * @module @twinkit/hub
 *
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
 */
export {
  createHub,
  type CreatedIdentity,
  type CreatedModuleIdentity,
  type Hub,
  type HubFaultControls,
  type HubOptions,
} from './hub.js';
export { isLoopback, listen, type HubServer, type ListenOptions, type NotServedEndpoint } from './node/listen.js';
export {
  BEARER_ROLE_ACTIONS,
  KnownHubPermission,
  WELL_KNOWN_POLICIES,
  type HubDataAction,
  type HubPermission,
  type SharedAccessPolicy,
} from './auth/policies.js';
export { IOT_HUB_AUDIENCE, type TokenIssuerOptions } from './auth/authenticate-request.js';
export type { DelayNextOptions, FailNextOptions, HubFaults, HubOperation } from './faults/fault-injector.js';
export type {
  DelayTwinResponsesOptions,
  DuplicateDesiredOptions,
  FailTwinResponsesOptions,
  MqttFaultTarget,
  MqttFaults,
} from './mqtt/mqtt-faults.js';
export type { MqttIdentity } from './mqtt/mqtt-hub-core.js';
export type {
  AmqpDelayTwinResponsesOptions,
  AmqpDuplicateDesiredOptions,
  AmqpFailTwinResponsesOptions,
  AmqpFaultTarget,
  AmqpFaults,
  AmqpIdentity,
  AmqpTwinOperation,
} from './amqp/amqp-faults.js';
