/**
 * The limits that keep an unauthenticated or misbehaving peer from making the hub buffer, wait or
 * hold without bound: what the device endpoints accept (HubOptions.limits) and what each listener
 * accepts (ListenOptions.limits). Every limit has a documented default; docs/security.md explains
 * each one and the figures measured with them.
 */
import { IOT_HUB_DEVICE_LIMITS } from '@twinkit/twin-model/protocol';

/** Limits of the device endpoints (MQTT and AMQP, over TLS and WebSocket). */
export interface DeviceEndpointLimits {
  /**
   * Largest MQTT packet before the peer authenticated (its CONNECT). Default 8,192 bytes: a
   * CONNECT with a SAS token and a long username is well under 1 KB.
   */
  mqttMaxPacketBytesBeforeAuth: number;
  /**
   * Largest MQTT packet after. Default 266,240 bytes: IoT Hub's 256 KB device-to-cloud message
   * (https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-quotas-throttling) plus 4 KB for
   * the topic and its property bag.
   */
  mqttMaxPacketBytes: number;
  /**
   * Largest AMQP frame before the peer authenticated: the protocol header, SASL, OPEN, BEGIN,
   * ATTACH and the CBS put-token, so also the largest `$cbs` message of an unauthenticated
   * peer. Default 4,096 bytes (the SDKs' put-token is under 1 KB).
   */
  amqpMaxFrameBytesBeforeAuth: number;
  /** The AMQP `max-frame-size` the hub announces in OPEN and enforces. Default 262,144 bytes. */
  amqpMaxFrameBytes: number;
  /**
   * Largest AMQP message (all transfer frames of one delivery), also announced as the receiver
   * links' `max-message-size`. Default 262,144 bytes (IoT Hub's 256 KB message).
   */
  amqpMaxMessageBytes: number;
  /**
   * How long a connection may take, once its transport is up (TLS done, WebSocket upgraded),
   * to authenticate: an accepted MQTT CONNECT, or an AMQP OPEN plus a valid SASL PLAIN or CBS
   * token. Default 30,000 ms.
   */
  authTimeoutInMs: number;
  /**
   * The AMQP `idle-time-out` the hub announces in OPEN; a connection with no frame for twice
   * that long is closed with `amqp:resource-limit-exceeded` (AMQP 1.0 §2.4.5). Default 240,000 ms.
   */
  amqpIdleTimeoutInMs: number;
  /**
   * Twin requests one connection may have queued or running; more are answered 429 at once.
   * Default 128: above the 100 credits the AMQP endpoint grants each link, so a client that
   * waits for credit never meets it.
   */
  maxInFlightTwinRequests: number;
}

/** Limits of each listener `listen()` opens (HTTPS, MQTT over TLS, AMQP over TLS). */
export interface ListenerLimits {
  /**
   * Connections each listener holds at once; past it, new connections are closed right away and
   * reported to `ListenOptions.onConnectionRefused`. Default 10,000.
   */
  maxConnections: number;
  /** How long a TLS handshake may take. Default 10,000 ms. */
  tlsHandshakeTimeoutInMs: number;
  /**
   * How long the HTTP request head may take on the HTTPS port, which bounds WebSocket upgrades
   * that never finish. Default 10,000 ms.
   */
  requestHeadersTimeoutInMs: number;
  /**
   * How long a whole HTTP request, body included, may take on the HTTPS port (a peer that
   * trickles a body is cut off). Default 60,000 ms; never less than the head's deadline.
   */
  requestTimeoutInMs: number;
}

/** Defaults of {@link DeviceEndpointLimits}. */
export const DEFAULT_DEVICE_ENDPOINT_LIMITS: Readonly<DeviceEndpointLimits> = Object.freeze({
  mqttMaxPacketBytesBeforeAuth: 8 * 1024,
  mqttMaxPacketBytes: IOT_HUB_DEVICE_LIMITS.deviceToCloudMessage + 4 * 1024,
  amqpMaxFrameBytesBeforeAuth: 4 * 1024,
  amqpMaxFrameBytes: 256 * 1024,
  amqpMaxMessageBytes: IOT_HUB_DEVICE_LIMITS.deviceToCloudMessage,
  authTimeoutInMs: 30_000,
  amqpIdleTimeoutInMs: 240_000,
  maxInFlightTwinRequests: 128,
});

/** Defaults of {@link ListenerLimits}. */
export const DEFAULT_LISTENER_LIMITS: Readonly<ListenerLimits> = Object.freeze({
  maxConnections: 10_000,
  tlsHandshakeTimeoutInMs: 10_000,
  requestHeadersTimeoutInMs: 10_000,
  requestTimeoutInMs: 60_000,
});

/** The smallest frame AMQP 1.0 allows a peer to announce (AMQP 1.0 §2.7.1 `MIN-MAX-FRAME-SIZE`). */
const AMQP_MIN_MAX_FRAME_SIZE = 512;

const MINIMUMS: Readonly<Record<string, number>> = {
  mqttMaxPacketBytesBeforeAuth: 64,
  mqttMaxPacketBytes: 64,
  amqpMaxFrameBytesBeforeAuth: AMQP_MIN_MAX_FRAME_SIZE,
  amqpMaxFrameBytes: AMQP_MIN_MAX_FRAME_SIZE,
  amqpMaxMessageBytes: AMQP_MIN_MAX_FRAME_SIZE,
};

function resolve<T extends object>(
  defaults: Readonly<T>,
  given: Partial<T> | undefined,
  where: string,
): T {
  const resolved = { ...defaults };
  for (const [name, value] of Object.entries(given ?? {})) {
    if (!Object.hasOwn(defaults, name)) {
      throw new TypeError(
        `Unknown limit '${name}' in ${where}; known limits: ${Object.keys(defaults).join(', ')}.`,
      );
    }
    if (value === undefined) continue;
    const minimum = MINIMUMS[name] ?? 1;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
      throw new RangeError(
        `${where}.${name} must be an integer of at least ${String(minimum)}, got ${JSON.stringify(value)}.`,
      );
    }
    (resolved as Record<string, number>)[name] = value;
  }
  return resolved;
}

/**
 * Fills in and checks device-endpoint limits.
 *
 * @param given - the limits given in `HubOptions.limits`
 * @returns every limit
 * @throws {@link TypeError} for an unknown limit; {@link RangeError} for a value that is not a
 *   positive integer (or below the protocol's minimum)
 */
export function resolveDeviceEndpointLimits(
  given: Partial<DeviceEndpointLimits> | undefined,
): DeviceEndpointLimits {
  const limits = resolve(DEFAULT_DEVICE_ENDPOINT_LIMITS, given, 'HubOptions.limits');
  if (limits.amqpMaxFrameBytesBeforeAuth > limits.amqpMaxFrameBytes)
    throw new RangeError(
      'HubOptions.limits.amqpMaxFrameBytesBeforeAuth must not exceed amqpMaxFrameBytes.',
    );
  if (limits.mqttMaxPacketBytesBeforeAuth > limits.mqttMaxPacketBytes)
    throw new RangeError(
      'HubOptions.limits.mqttMaxPacketBytesBeforeAuth must not exceed mqttMaxPacketBytes.',
    );
  return limits;
}

/**
 * Fills in and checks listener limits.
 *
 * @param given - the limits given in `ListenOptions.limits`
 * @returns every limit
 * @throws {@link TypeError} for an unknown limit; {@link RangeError} for a value that is not a
 *   positive integer
 */
export function resolveListenerLimits(given: Partial<ListenerLimits> | undefined): ListenerLimits {
  return resolve(DEFAULT_LISTENER_LIMITS, given, 'ListenOptions.limits');
}
