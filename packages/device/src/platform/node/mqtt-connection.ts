/**
 * Node implementation of `#platform/mqtt-connection`: mqtt.js's Node build, `mqtts://` over
 * TCP+TLS or `wss://` through `ws`, with an optional CA and client certificate.
 *
 * @internal
 */
import { baseMqttOptions, type OpenMqttConnection } from '../types.js';
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
