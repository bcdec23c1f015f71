/**
 * Node implementation of `#platform/mqtt-connection`: mqtt.js's Node build, `mqtts://` over
 * TCP+TLS or `wss://` through `ws`, with an optional CA and client certificate.
 *
 * @internal
 */
import type { MqttConnectionOptions, OpenMqttConnection } from '../types.js';
import type * as Mqtt from 'mqtt';

type MqttModule = typeof Mqtt;

// Loaded when the first client opens: importing the package stays cheap (docs/benchmarks.md).
let mqttModule: Promise<MqttModule> | undefined;

/** Opens an mqtt.js client (Node build). */
export const openMqttConnection: OpenMqttConnection = async (options) => {
  const { connect } = await (mqttModule ??= import('mqtt'));
  return connect(options.url, {
    ...baseMqttOptions(options),
    rejectUnauthorized: true,
    // `ws` buffers a whole WebSocket message before mqtt.js sees it (100 MiB by default). A
    // message may carry more than one MQTT packet, hence the headroom; the transport's packet
    // guard enforces the packet limit itself.
    wsOptions: { maxPayload: 2 * options.maxPacketBytes },
    // mqtt.js copies these TLS options into wsOptions for wss:// as well.
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    ...(options.clientCertificate === undefined
      ? {}
      : {
          cert: options.clientCertificate.certificate,
          key: options.clientCertificate.key,
          ...(options.clientCertificate.passphrase === undefined
            ? {}
            : { passphrase: options.clientCertificate.passphrase }),
        }),
  });
};

/**
 * Settings the Node build passes to mqtt.js (the web session keeps the same ones, see
 * `web/mqtt-session.ts`).
 *
 * @param options - the connection options
 * @returns the options for mqtt.js's `connect`
 */
function baseMqttOptions(options: MqttConnectionOptions): {
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
