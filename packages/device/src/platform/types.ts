/**
 * Signatures of the runtime seams (docs/internals/architecture.md#runtime-seams). `#platform/mqtt-connection` resolves by
 * package `imports` condition to `platform/node/mqtt-connection.ts` (mqtt.js Node build: mqtts
 * over TCP+TLS and wss) or `platform/web/mqtt-connection.ts` (mqtt.js browser build over the
 * global WebSocket). Both implement {@link OpenMqttConnection}.
 *
 * @internal
 */
import type { MqttClient } from 'mqtt';
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

/**
 * Starts connecting an MQTT 3.1.1 client with IoT Hub's settings (clean=false, no automatic
 * reconnect: the DeviceClient owns reconnects). mqtt.js is loaded by the first call, not when the
 * package is imported, so a program that never opens a client never loads it.
 *
 * @throws {@link UnsupportedRuntimeError} when the runtime cannot honour an option
 */
export type OpenMqttConnection = (options: MqttConnectionOptions) => Promise<MqttClient>;

/**
 * Settings both platforms pass to mqtt.js.
 *
 * @param options - the connection options
 * @returns the mqtt.js options shared by both builds
 */
export function baseMqttOptions(options: MqttConnectionOptions): {
  protocolVersion: 4;
  clean: false;
  reconnectPeriod: 0;
  resubscribe: false;
  queueQoSZero: false;
  clientId: string;
  username: string;
  password?: string;
  keepalive: number;
  connectTimeout: number;
} {
  return {
    // IoT Hub speaks MQTT 3.1.1 (docs/internals/wire-contract.md#mqtt-connect).
    protocolVersion: 4,
    // Every official SDK connects with clean=0 so the hub keeps twin subscriptions (docs/internals/wire-contract.md#mqtt-sessions).
    clean: false,
    // The client owns reconnects and resubscription (docs/internals/architecture.md#transport-boundary).
    reconnectPeriod: 0,
    resubscribe: false,
    // A QoS 0 request queued while offline would be answered on a connection nobody waits on.
    queueQoSZero: false,
    clientId: options.clientId,
    username: options.username,
    ...(options.password === undefined ? {} : { password: options.password }),
    keepalive: options.keepAliveInSeconds,
    connectTimeout: options.connectTimeoutInMs,
  };
}
