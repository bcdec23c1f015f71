/**
 * The wire contract shared by the device SDK, the service SDK and the hub, so they cannot drift
 * apart: base64, connection strings, SAS tokens (WebCrypto HMAC-SHA256), MQTT twin topics and
 * usernames, REST paths and headers, AMQP twin link addresses and CBS names, and the device endpoints'
 * WebSocket path, subprotocols, method and telemetry topics, AMQP error conditions and size limits. Pure and
 * dependency-free; only the SAS signing helpers are async.
 *
 * @example
 * ```ts
 * import { parseDeviceConnectionString, createSasToken, deviceResourceUri } from '@twinkit/twin-model/protocol';
 *
 * const cs = parseDeviceConnectionString(connectionString);
 * const password = await createSasToken({
 *   resourceUri: deviceResourceUri(cs.hostName, cs.deviceId, cs.moduleId),
 *   key: cs.sharedAccessKey ?? '',
 *   expiresOnInSeconds: Math.ceil(Date.now() / 1000) + 3600,
 * });
 * ```
 *
 * @module @twinkit/twin-model/protocol
 */
export { decodeBase64, encodeBase64, isBase64 } from './base64.js';
export {
  ACK_FIELD,
  COMPONENT_MARKER,
  KnownAckCode,
  MAX_MODEL_ID_LENGTH,
  MQTT_MODEL_ID_PARAMETER,
  isModelId,
  isWritablePropertyAck,
  type WritablePropertyAck,
} from './plug-and-play.js';
export {
  formatDeviceConnectionString,
  formatServiceConnectionString,
  parseConnectionString,
  parseDeviceConnectionString,
  parseServiceConnectionString,
  parseServiceKeyConnectionString,
  splitHostPort,
  type DeviceConnectionString,
  type ParseServiceConnectionStringOptions,
  type ServiceConnectionString,
  type ServiceSasConnectionString,
} from './connection-string.js';
export {
  SAS_TOKEN_PREFIX,
  computeSasSignature,
  createSasToken,
  deviceResourceUri,
  parseSasToken,
  resourceCovers,
  verifySasToken,
  type CreateSasTokenOptions,
  type ParsedSasToken,
  type ResourceCoversOptions,
  type SasVerification,
  type VerifySasTokenOptions,
} from './sas-token.js';
export {
  DESIRED_PATCH_TOPIC_FILTER,
  TWIN_RESPONSE_TOPIC_FILTER,
  desiredPatchTopic,
  mqttClientId,
  mqttUsername,
  parseMqttUsername,
  parseTwinTopic,
  reportedPatchTopic,
  twinGetTopic,
  twinResponseTopic,
  type MqttUsernameOptions,
  type ParsedMqttUsername,
  type ParsedTwinTopic,
} from './mqtt-topics.js';
export {
  API_VERSION,
  API_VERSION_PARAMETER,
  BEARER_SCHEME,
  BULK_PATH,
  HEADER,
  IF_MATCH_ANY,
  JSON_CONTENT_TYPE,
  JSON_MEDIA_TYPE,
  KnownBulkImportMode,
  KnownQueryItemType,
  QUERY_PATH,
  type QueryItemType,
  devicePath,
  isQuoted,
  modulePath,
  modulesPath,
  quoteEtag,
  twinPath,
  unquoteEtag,
  withApiVersion,
} from './rest.js';
export {
  REST_OPERATIONS,
  TWIN_REST_OPERATIONS,
  formatOperationPath,
  type RestFaultName,
  type RestMethod,
  type RestOperation,
  type RestOperationName,
  type RestPermission,
} from './operations.js';
export { amqpBodyText } from './amqp-body.js';
export {
  CBS_NODE,
  CBS_PROPERTY,
  CBS_PUT_TOKEN_OPERATION,
  DESIRED_NOTIFICATIONS_RESOURCE,
  KnownCbsTokenType,
  KnownTwinAmqpOperation,
  REPORTED_PROPERTIES_RESOURCE,
  TWIN_ANNOTATION,
  TWIN_LINK_PROPERTY,
  parseTwinLinkAddress,
  twinLinkAddress,
  type ParsedTwinLinkAddress,
  type TwinAmqpOperation,
} from './amqp-addresses.js';
export {
  AMQP_ERROR_CONDITION,
  DEVICE_TOPIC_LEVEL,
  IOTHUB_WEBSOCKET_PATH,
  IOT_HUB_DEVICE_LIMITS,
  KnownAmqpSaslMechanism,
  KnownWebSocketSubprotocol,
  METHOD_REQUEST_TOPIC_FILTER,
  METHOD_RESPONSE_TOPIC_PREFIX,
  TWIN_TOPIC_PREFIX,
} from './device-endpoints.js';
