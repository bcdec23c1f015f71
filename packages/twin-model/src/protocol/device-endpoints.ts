/**
 * The device-facing names and limits that are neither MQTT twin topics nor AMQP twin addresses:
 * the WebSocket path and subprotocols both device protocols share on port 443 (docs/internals/wire-contract.md#endpoints),
 * the MQTT topic filters and prefixes of direct methods, telemetry and module inputs (docs/internals/wire-contract.md#mqtt-topics), the
 * AMQP 1.0 error conditions IoT Hub detaches and closes with (docs/internals/wire-contract.md#amqp-errors), and IoT Hub's own size
 * limits the hub holds devices to.
 */

/** The path IoT Hub serves MQTT and AMQP over WebSocket on (docs/internals/wire-contract.md#endpoints). */
export const IOTHUB_WEBSOCKET_PATH = '/$iothub/websocket';

/**
 * The WebSocket subprotocols of the device protocols (docs/internals/wire-contract.md#endpoints). `mqtt` is matched case-insensitively
 * (the C SDK offers `MQTT`); `AMQPWSB10` is the AMQP WebSocket binding's name.
 */
export const KnownWebSocketSubprotocol = /* @__PURE__ */ Object.freeze({
  mqtt: 'mqtt',
  amqp: 'AMQPWSB10',
} as const);

/** The topic prefix of every twin request and response (docs/internals/wire-contract.md#mqtt-topics). */
export const TWIN_TOPIC_PREFIX = '$iothub/twin/';

/** The filter devices subscribe to for direct-method requests (docs/internals/wire-contract.md#mqtt-topics). */
export const METHOD_REQUEST_TOPIC_FILTER = '$iothub/methods/POST/#';

/** The topic prefix of direct-method responses a device publishes (docs/internals/wire-contract.md#mqtt-topics). */
export const METHOD_RESPONSE_TOPIC_PREFIX = '$iothub/methods/res/';

/**
 * Topic levels after `devices/<id>[/modules/<mid>]/` (docs/internals/wire-contract.md#mqtt-topics): telemetry is published under
 * `messages/events`, cloud-to-device messages arrive under `messages/devicebound/#`, and module
 * inputs under `inputs/#`.
 */
export const DEVICE_TOPIC_LEVEL = /* @__PURE__ */ Object.freeze({
  telemetry: 'messages/events',
  cloudToDeviceFilter: 'messages/devicebound/#',
  moduleInputsFilter: 'inputs/#',
} as const);

/**
 * The SASL mechanisms IoT Hub advertises on its AMQP port, in its order (docs/internals/wire-contract.md#amqp-connect):
 * `MSSBCBS` (claims-based security follows), `ANONYMOUS`, `PLAIN` (a SAS token as the password)
 * and `EXTERNAL`.
 */
export const KnownAmqpSaslMechanism = /* @__PURE__ */ Object.freeze({
  cbs: 'MSSBCBS',
  anonymous: 'ANONYMOUS',
  plain: 'PLAIN',
  external: 'EXTERNAL',
} as const);

/** AMQP 1.0 error conditions (AMQP 1.0 §2.8.15) IoT Hub uses on links and connections (docs/internals/wire-contract.md#amqp-errors). */
export const AMQP_ERROR_CONDITION = /* @__PURE__ */ Object.freeze({
  unauthorizedAccess: 'amqp:unauthorized-access',
  notFound: 'amqp:not-found',
  invalidField: 'amqp:invalid-field',
  resourceLimitExceeded: 'amqp:resource-limit-exceeded',
  frameSizeTooSmall: 'amqp:frame-size-too-small',
  messageSizeExceeded: 'amqp:link:message-size-exceeded',
} as const);

/**
 * IoT Hub's size limits for what a device sends, in bytes.
 *
 * - `deviceToCloudMessage`: 256 KB per device-to-cloud message
 *   (https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-quotas-throttling, "Other limits").
 * - `reportedProperties`: 32 KB of reported properties per twin
 *   (https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-device-twins, "Device twin size").
 */
export const IOT_HUB_DEVICE_LIMITS = /* @__PURE__ */ (() =>
  Object.freeze({
    deviceToCloudMessage: 256 * 1024,
    reportedProperties: 32 * 1024,
  } as const))();
