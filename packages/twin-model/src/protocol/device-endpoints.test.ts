import { describe, expect, it } from 'vitest';
import {
  AMQP_ERROR_CONDITION,
  DEVICE_TOPIC_LEVEL,
  IOTHUB_WEBSOCKET_PATH,
  IOT_HUB_DEVICE_LIMITS,
  KnownAmqpSaslMechanism,
  KnownWebSocketSubprotocol,
  METHOD_REQUEST_TOPIC_FILTER,
  METHOD_RESPONSE_TOPIC_PREFIX,
  TWIN_TOPIC_PREFIX,
} from './index.js';

describe('device endpoint names', () => {
  it('name the WebSocket path and subprotocols of the wire contract', () => {
    expect(IOTHUB_WEBSOCKET_PATH).toBe('/$iothub/websocket');
    expect(KnownWebSocketSubprotocol).toEqual({ mqtt: 'mqtt', amqp: 'AMQPWSB10' });
  });

  it('name the MQTT topics of the wire contract', () => {
    expect(TWIN_TOPIC_PREFIX).toBe('$iothub/twin/');
    expect(METHOD_REQUEST_TOPIC_FILTER).toBe('$iothub/methods/POST/#');
    expect(METHOD_RESPONSE_TOPIC_PREFIX).toBe('$iothub/methods/res/');
    expect(DEVICE_TOPIC_LEVEL).toEqual({
      telemetry: 'messages/events',
      cloudToDeviceFilter: 'messages/devicebound/#',
      moduleInputsFilter: 'inputs/#',
    });
  });

  it('spell the AMQP error conditions as AMQP 1.0 §2.8.15 does', () => {
    expect(AMQP_ERROR_CONDITION.unauthorizedAccess).toBe('amqp:unauthorized-access');
    expect(AMQP_ERROR_CONDITION.resourceLimitExceeded).toBe('amqp:resource-limit-exceeded');
    expect(AMQP_ERROR_CONDITION.messageSizeExceeded).toBe('amqp:link:message-size-exceeded');
  });

  it('list the SASL mechanisms of the wire contract in the order IoT Hub advertises them', () => {
    expect(Object.values(KnownAmqpSaslMechanism)).toEqual([
      'MSSBCBS',
      'ANONYMOUS',
      'PLAIN',
      'EXTERNAL',
    ]);
  });

  it("carry IoT Hub's device limits in bytes", () => {
    expect(IOT_HUB_DEVICE_LIMITS.deviceToCloudMessage).toBe(262_144);
    expect(IOT_HUB_DEVICE_LIMITS.reportedProperties).toBe(32_768);
    expect(Object.isFrozen(IOT_HUB_DEVICE_LIMITS)).toBe(true);
  });
});
