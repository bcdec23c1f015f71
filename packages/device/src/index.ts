/**
 * The device side of Azure IoT Hub device twins: {@link DeviceClient} (devices and modules)
 * with `getTwin`, `updateReportedProperties`, `onDesired` and `watchDesired`; reconnect with
 * backoff, SAS renewal, desired resync after every reconnect and on version gaps, an offline
 * outbox that an optional {@link DeviceStateStore} keeps across restarts; and the {@link mqtt} transport (TCP+TLS on Node, WebSocket everywhere). Errors are
 * the shared twinkit vocabulary, re-exported here with their guards.
 *
 * @module @twinkit/device
 */
export {
  DeviceClient,
  DEFAULT_KEEP_ALIVE_IN_SECONDS,
  DEFAULT_OPERATION_TIMEOUT_IN_MS,
  DEFAULT_TOKEN_RENEWAL_MARGIN_IN_SECONDS,
  DEFAULT_TOKEN_VALIDITY_IN_SECONDS,
  type DesiredHandler,
} from './device-client.js';
export type {
  CloseOptions,
  DeviceClientOptions,
  FlushStateOptions,
  FromSasTokenOptions,
  GetTwinOptions,
  OpenOptions,
  OperationOptions,
  UpdateReportedPropertiesOptions,
  WatchDesiredOptions,
} from './options.js';
export {
  KnownConnectionChangeReason,
  KnownConnectionStatus,
  type ConnectionChangeReason,
  type ConnectionStateChange,
  type ConnectionStatus,
  type DeviceClientEvents,
} from './connection-state.js';
export {
  KnownDesiredChangeReason,
  type DesiredChange,
  type DesiredChangeReason,
  type DesiredPath,
  type DesiredValueAt,
} from './desired/desired-router.js';
export { DEFAULT_MAX_QUEUED_CHANGES } from './desired/desired-queue.js';
export { DEFAULT_OUTBOX_OPTIONS, type OutboxOptions } from './outbox/reported-outbox.js';
export { DEFAULT_RETRY_OPTIONS, type RetryOptions } from './options.js';
export {
  DEVICE_STATE_FORMAT,
  type DeviceStateStore,
  type PersistedDesired,
  type PersistedDeviceState,
  type PersistedIdentity,
  type PersistedReportedPatch,
} from './store/device-state.js';
export {
  StoreCorruptError,
  StoreForeignError,
  StoreLockedError,
  isStoreCorruptError,
  isStoreForeignError,
  isStoreLockedError,
  type StoreErrorName,
} from './store/store-errors.js';
export type { Unsubscribe } from './internal/emitter.js';
export {
  WritablePropertyResponse,
  WritablePropertyValidationError,
  type ComponentPropertyName,
  type ComponentPropertyValue,
  type WritablePropertyContext,
  type WritablePropertyHandler,
  type WritablePropertyResult,
  type WritablePropertyTarget,
} from './pnp/writable-properties.js';
// One level and sink for every twinkit package, shared with @twinkit/service.
export {
  getLogLevel,
  setLogLevel,
  setLogSink,
  type LogEntry,
  type LogLevel,
  type LogSink,
} from '@twinkit/twin-model/internal';
export type { DeviceAuth, DeviceCredential, DeviceIdentity } from './auth/credential.js';
export { SasKeyCredential, type SasKeyCredentialOptions } from './auth/sas-key-credential.js';
export { SasTokenCredential, type SasTokenProvider } from './auth/sas-token-credential.js';
export { X509Credential } from './auth/x509-credential.js';
export { mqtt, type MqttTransportOptions } from './transport/mqtt/index.js';
export type {
  ClientCertificate,
  ConnectParams,
  DeviceTransport,
  TransportContext,
  TransportFactory,
  TransportHandlers,
  TransportRequestOptions,
  UpdateReportedResult,
} from './transport/transport.js';
export type { DeviceTwin, JsonObject, JsonValue, MergePatch } from '@twinkit/twin-model';
export {
  BadRequestError,
  ConflictError,
  ConnectionRefusedError,
  DeviceNotFoundError,
  HubError,
  KnownHubErrorCode,
  OperationTimeoutError,
  PayloadTooLargeError,
  PreconditionFailedError,
  QuotaExceededError,
  ServiceUnavailableError,
  ThrottledError,
  TlsTrustError,
  TransportError,
  TwinValidationError,
  UnauthorizedError,
  UnexpectedResponseError,
  UnsupportedRuntimeError,
  isBadRequestError,
  isConflictError,
  isConnectionRefusedError,
  isDeviceNotFoundError,
  isHubError,
  isOperationTimeoutError,
  isPayloadTooLargeError,
  isPreconditionFailedError,
  isQuotaExceededError,
  isRetryableError,
  isServiceUnavailableError,
  isThrottledError,
  isTlsTrustError,
  isTransportError,
  isTwinValidationError,
  isUnauthorizedError,
  isUnexpectedResponseError,
  isUnsupportedRuntimeError,
  type ValidationIssue,
} from '@twinkit/twin-model/errors';
