// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- an ambient module declaration (mqtt's browser build ships no types) must reach every program that compiles this file, not only the device package's own
/// <reference path="./mqtt-browser.d.ts" />
/**
 * Web implementation of `#platform/mqtt-connection` (browsers, workers, Deno, Bun, edge
 * runtimes): mqtt.js's browser build over the global `WebSocket`. Only `wss://` works there,
 * and the runtime's own trust store decides TLS, so CA and client-certificate options are
 * refused with a clear error instead of being silently ignored.
 *
 * @internal
 */
import { UnsupportedRuntimeError } from '@twinkit/twin-model/errors';
import { baseMqttOptions, type OpenMqttConnection } from '../types.js';
import type browserMqttBuild from 'mqtt/dist/mqtt.esm';

type MqttModule = { default: typeof browserMqttBuild };

// Loaded when the first client opens, so importing the package costs nothing of mqtt.js; a
// bundler may put it in a chunk of its own.
let mqttModule: Promise<MqttModule> | undefined;

/** Opens an mqtt.js client (browser build, global WebSocket). */
export const openMqttConnection: OpenMqttConnection = async (options) => {
  if (!options.url.startsWith('wss://')) {
    throw new UnsupportedRuntimeError(
      'MQTT over TCP needs Node; in browsers and edge runtimes use mqtt({ webSocket: true }).',
    );
  }
  if (options.clientCertificate !== undefined) {
    throw new UnsupportedRuntimeError(
      'X.509 client certificates need the Node dialect; a WebSocket in this runtime cannot present one.',
    );
  }
  if (options.ca !== undefined) {
    throw new UnsupportedRuntimeError(
      'The ca option needs the Node dialect; in this runtime trust the CA through the platform trust store.',
    );
  }
  if (typeof globalThis.WebSocket !== 'function') {
    throw new UnsupportedRuntimeError(
      'This runtime has no global WebSocket, which MQTT over WebSocket needs.',
    );
  }
  const { default: browserMqtt } = await (mqttModule ??= import('mqtt/dist/mqtt.esm'));
  return browserMqtt.connect(options.url, {
    ...baseMqttOptions(options),
    forceNativeWebSocket: true,
  });
};
