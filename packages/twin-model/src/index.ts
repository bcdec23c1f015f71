/**
 * The shared laws of an Azure IoT Hub device twin: types, merge-patch and diff, versions and
 * ETags, `$metadata`, validation and limits, paths, and the wire contract. No dependencies and no
 * Node built-ins: it runs in Node, browsers and edge runtimes. Subpaths: `/errors`, `/protocol`,
 * `/query`.
 *
 * @module @twinkit/twin-model
 */

// --- types ---
export type {
  AuthenticationType,
  ConnectionState,
  DeviceStatus,
  DeviceTwin,
  DeviceTwinSection,
  JsonObject,
  JsonPrimitive,
  JsonValue,
  MergePatch,
  Twin,
  TwinMetadata,
  TwinPropertiesSection,
  TwinSectionName,
  TwinUpdate,
  X509Thumbprint,
} from './types.js';

// --- model (patch, diff, versions, etags, metadata, limits, validation, paths, twin documents) ---
export { applyPatch } from './patch/apply-patch.js';
export { diff } from './patch/diff.js';
export { cloneJson, isJsonObject, jsonEqual } from './patch/json.js';
export {
  ARRAYS_MIN_API_VERSION,
  BOOLEAN_SIZE,
  MAX_DEPTH,
  MAX_DESIRED_SIZE,
  MAX_KEY_LENGTH_BYTES,
  MAX_REPORTED_SIZE,
  MAX_SAFE_TWIN_INTEGER,
  MAX_STRING_LENGTH_BYTES,
  MAX_TAGS_SIZE,
  MIN_SAFE_TWIN_INTEGER,
  NUMBER_SIZE,
  apiVersionSupportsArrays,
  sectionSizeLimit,
} from './limits.js';
export {
  TwinRuleMessage,
  assertValidSection,
  computeSectionSize,
  hasForbiddenKeyCharacter,
  utf8Length,
  validateSection,
  type ValidateSectionOptions,
  type ValidationResult,
} from './validate.js';
export {
  checkDesiredVersion,
  formatEtag,
  ifMatchSatisfied,
  parseEtag,
  type DesiredVersionVerdict,
  type IfMatchMode,
} from './version.js';
export {
  createSectionMetadata,
  formatTimestamp,
  updateSectionMetadata,
  type MetadataStamp,
} from './metadata.js';
export { formatPath, getAtPath, parsePath, patchTouchesPath } from './path.js';
export {
  createStoredTwin,
  replaceTwin,
  toDeviceTwin,
  toServiceTwin,
  twinErrorText,
  updateReported,
  updateTwin,
  type ReportedWriteOptions,
  type ReportedWriteResult,
  type StoredTwin,
  type TwinIdentityFields,
  type TwinWriteOptions,
  type TwinWriteResult,
} from './twin-document.js';
// MODEL-EXPORTS-END

// --- errors (also at @twinkit/twin-model/errors) ---
export {
  BadRequestError,
  ConflictError,
  DeviceNotFoundError,
  HubError,
  KnownHubErrorCode,
  OperationTimeoutError,
  PayloadTooLargeError,
  PreconditionFailedError,
  QuerySyntaxError,
  QuotaExceededError,
  ServiceUnavailableError,
  ThrottledError,
  TransportError,
  TwinValidationError,
  UnauthorizedError,
  UnsupportedRuntimeError,
  createHubError,
  isBadRequestError,
  isConflictError,
  isDeviceNotFoundError,
  isHubError,
  isOperationTimeoutError,
  isPayloadTooLargeError,
  isPreconditionFailedError,
  isQuerySyntaxError,
  isQuotaExceededError,
  isRetryableError,
  isServiceUnavailableError,
  isThrottledError,
  isTransportError,
  isTwinValidationError,
  isUnauthorizedError,
  isUnsupportedRuntimeError,
  type CreateHubErrorInput,
  type HubErrorCode,
  type ValidationIssue,
} from './errors/index.js';

// --- protocol (also at @twinkit/twin-model/protocol) ---
export {
  API_VERSION,
  BULK_PATH,
  CBS_NODE,
  CBS_PROPERTY,
  CBS_PUT_TOKEN_OPERATION,
  DESIRED_NOTIFICATIONS_RESOURCE,
  DESIRED_PATCH_TOPIC_FILTER,
  HEADER,
  JSON_CONTENT_TYPE,
  KnownCbsTokenType,
  KnownTwinAmqpOperation,
  QUERY_PATH,
  REPORTED_PROPERTIES_RESOURCE,
  SAS_TOKEN_PREFIX,
  TWIN_ANNOTATION,
  TWIN_LINK_PROPERTY,
  TWIN_RESPONSE_TOPIC_FILTER,
  computeSasSignature,
  createSasToken,
  decodeBase64,
  desiredPatchTopic,
  devicePath,
  deviceResourceUri,
  encodeBase64,
  formatDeviceConnectionString,
  formatServiceConnectionString,
  isBase64,
  isQuoted,
  modulePath,
  modulesPath,
  mqttClientId,
  mqttUsername,
  parseConnectionString,
  parseDeviceConnectionString,
  parseMqttUsername,
  parseSasToken,
  parseServiceConnectionString,
  parseTwinLinkAddress,
  parseTwinTopic,
  quoteEtag,
  reportedPatchTopic,
  resourceCovers,
  splitHostPort,
  twinGetTopic,
  twinLinkAddress,
  twinPath,
  twinResponseTopic,
  unquoteEtag,
  verifySasToken,
  withApiVersion,
  type CreateSasTokenOptions,
  type DeviceConnectionString,
  type MqttUsernameOptions,
  type ParsedMqttUsername,
  type ParsedSasToken,
  type ParsedTwinLinkAddress,
  type ParsedTwinTopic,
  type ParseServiceConnectionStringOptions,
  type ResourceCoversOptions,
  type SasVerification,
  type ServiceConnectionString,
  type ServiceSasConnectionString,
  type TwinAmqpOperation,
  type VerifySasTokenOptions,
} from './protocol/index.js';
// PROTOCOL-EXPORTS-END

// --- paging (also at @twinkit/twin-model/query) ---
export {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  clampPageSize,
  createPagedIterator,
  type ContinuablePage,
  type PageFetcher,
  type PageSettings,
  type PagedAsyncIterableIterator,
} from './paging.js';
// PAGING-EXPORTS-END
