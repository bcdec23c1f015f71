/**
 * The back-end client for Azure IoT Hub device twins: read, update (with ETags), replace, update
 * in bulk and query twins, and manage device and module identities. It speaks the hub's REST API
 * (on Node over undici's dispatcher, elsewhere over `fetch`) and signs with WebCrypto, so it runs
 * in Node, browsers, Deno, Bun and Workers. Errors are the shared `@twinkit/twin-model/errors` classes, re-exported
 * here with their guards.
 *
 * @example
 * ```ts
 * import { Registry, isPreconditionFailedError } from '@twinkit/service';
 *
 * const registry = Registry.fromConnectionString(process.env.IOTHUB_CONNECTION_STRING!);
 * const twin = await registry.getTwin('dev-1');
 * await registry.updateTwin(twin, { properties: { desired: { rate: 5 } } }, { onlyIfUnchanged: true });
 * ```
 *
 * @module @twinkit/service
 */

// --- client ---
export { Registry, MAX_BULK_ITEMS } from './registry.js';
export { IdentityOperations } from './registry-identities.js';
export type { TwinClient } from './twins/twin-client.js';
export { Query, type QueryPageResult } from './query.js';
export {
  ReportedTimeoutError,
  type GetRolloutStatusOptions,
  type RolloutDevice,
  type RolloutStatus,
  type WaitForReportedOptions,
} from './rollouts.js';
export {
  createDeviceConnectionString,
  type CreateDeviceConnectionStringOptions,
} from './connection-string.js';

// --- credentials ---
export {
  IOT_HUB_TOKEN_SCOPE,
  SasKeyCredential,
  type AccessToken,
  type GetTokenOptions,
  type NamedKeyCredential,
  type RegistryCredential,
  type TokenCredential,
} from './auth/credentials.js';

// --- options and models ---
export type {
  AdditionalPolicy,
  CreateIdentityOptions,
  CreateQueryOptions,
  FetchInit,
  FetchLike,
  GetIdentityOptions,
  GetTwinOptions,
  IdentityWriteOptions,
  ListDevicesOptions,
  OperationOptions,
  PipelinePolicy,
  PipelineRequest,
  PipelineResponse,
  QueryNextOptions,
  QueryOptions,
  QueryTwinsOptions,
  RegistryOptions,
  ReplaceTwinOptions,
  RetryOptions,
  SendRequest,
  UpdateTwinOptions,
  UpdateTwinsOptions,
  UpdateTwinWithRetryOptions,
} from './options.js';
export type {
  BulkTwinUpdate,
  BulkTwinUpdateItemResult,
  Device,
  DeviceDescription,
  IdentityAuthentication,
  Module,
  ModuleDescription,
  SymmetricKey,
  TwinId,
  TwinReference,
  UpdateTwinsResult,
} from './models.js';
export type {
  JsonObject,
  JsonValue,
  MergePatch,
  PagedAsyncIterableIterator,
  PageSettings,
  Twin,
  TwinUpdate,
} from '@twinkit/twin-model';

// --- logging (one level and sink shared with @twinkit/device) ---
export {
  getLogLevel,
  setLogLevel,
  setLogSink,
  type LogEntry,
  type LogLevel,
  type LogSink,
} from '@twinkit/twin-model/internal';

// --- errors (the shared vocabulary, re-exported) ---
export {
  BadRequestError,
  ConflictError,
  ConnectionRefusedError,
  DeviceNotFoundError,
  HubError,
  KnownHubErrorCode,
  ModuleNotFoundError,
  NotFoundError,
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
  isBadRequestError,
  isConflictError,
  isConnectionRefusedError,
  isDeviceNotFoundError,
  isHubError,
  isModuleNotFoundError,
  isNotFoundError,
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
  type HubErrorCode,
  type HubErrorName,
  type ValidationIssue,
} from '@twinkit/twin-model/errors';
