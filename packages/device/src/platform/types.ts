/**
 * Signatures of the runtime seams (docs/internals/architecture.md#runtime-seams). `#platform/mqtt-connection` resolves by
 * package `imports` condition to `platform/node/mqtt-connection.ts` (mqtt.js Node build: mqtts
 * over TCP+TLS and wss) or `platform/web/mqtt-connection.ts` (our own small MQTT 3.1.1 session
 * over the global WebSocket). Both implement {@link OpenMqttConnection}.
 *
 * @internal
 */
import type { ClientCertificate } from '../transport/transport.js';

/** What the MQTT transport asks a platform to open. */
export interface MqttConnectionOptions {
  /** `mqtts://host:port` or `wss://host:port/$iothub/websocket`. */
  url: string;
  clientId: string;
  username: string;
  /** The SAS token; absent for X.509. */
  password?: string;
  keepAliveInSeconds: number;
  /** CONNECT → CONNACK deadline. */
  connectTimeoutInMs: number;
  /** The largest MQTT packet the broker may send; bounds what a WebSocket buffers too. */
  maxPacketBytes: number;
  /** Extra PEM CA to trust. */
  ca?: string;
  /** TLS client certificate. */
  clientCertificate?: ClientCertificate;
}

/** A subscription's outcome: the granted QoS, or 128 for a refusal (MQTT-3.9.3). */
export interface MqttGrant {
  topic: string;
  qos: number;
}

/**
 * The part of mqtt.js's `MqttClient` the MQTT transport uses, so the Node build can hand over
 * mqtt.js itself and the web build its own session. Events: `connect` once CONNACK accepts;
 * `error` for a refusal (with the CONNACK return code as a numeric `code`) or a failure;
 * `message` for each PUBLISH; `close` once, when the connection is gone.
 */
export interface MqttConnection {
  /** The raw bytes from the broker, as they arrive, before they are parsed. */
  readonly stream: {
    on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  };
  on(event: 'connect' | 'close', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'message', listener: (topic: string, payload: Uint8Array) => void): this;
  off(event: 'connect' | 'close', listener: () => void): this;
  off(event: 'error', listener: (error: Error) => void): this;
  emit(event: 'error', error: Error): boolean;
  publish(
    topic: string,
    payload: string,
    options: { qos: 0 | 1 },
    callback: (error?: Error) => void,
  ): unknown;
  subscribe(
    filter: string,
    options: { qos: 0 | 1 },
    callback: (error: Error | null, granted?: MqttGrant[]) => void,
  ): unknown;
  unsubscribe(filter: string, callback: (error?: Error) => void): unknown;
  /**
   * Closes the connection: gracefully (DISCONNECT first) unless `force`; `callback` runs once
   * it is closed.
   */
  end(force?: boolean, options?: object, callback?: () => void): unknown;
}

/**
 * Starts connecting an MQTT 3.1.1 client with IoT Hub's settings (clean=false, no automatic
 * reconnect: the DeviceClient owns reconnects). The Node build loads mqtt.js on the first call, not
 * when the package is imported, so a program that never opens a client never loads it.
 *
 * @throws {@link UnsupportedRuntimeError} when the runtime cannot honour an option
 */
export type OpenMqttConnection = (options: MqttConnectionOptions) => Promise<MqttConnection>;
