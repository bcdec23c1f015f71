/**
 * Test support for the MQTT endpoint's own tests: a real hub served on 127.0.0.1 port 0 (HTTPS
 * plus MQTT over TLS), raw MQTT.js 5 clients, SAS tokens and the service REST calls that drive
 * desired changes. Not part of the package's public API.
 *
 * @internal
 */
import { connect, MqttClient, type IClientOptions, type IConnackPacket } from 'mqtt';
import { WebSocket, createWebSocketStream } from 'ws';
import type { JsonObject } from '@twinkit/twin-model';
import {
  IOTHUB_WEBSOCKET_PATH,
  KnownWebSocketSubprotocol,
  mqttUsername,
  twinPath,
} from '@twinkit/twin-model/protocol';
import {
  startEndpointTestHub,
  type EndpointTestHub,
  type KeyedIdentity,
} from '../device-endpoint/endpoint-test-hub.js';
import { hubInternals, type HubOptions } from '../hub.js';
import type { ListenOptions } from '../node/listen.js';
import type { MqttEndpoint } from './mqtt-endpoint.js';

export type { KeyedIdentity } from '../device-endpoint/endpoint-test-hub.js';

/** Options for {@link MqttTestHub.connect}. */
export interface TestConnectOptions extends Omit<Partial<IClientOptions>, 'password'> {
  /** The CONNECT password; default a fresh SAS token. `undefined` sends none (X.509 tests). */
  password?: string | Buffer | undefined;
  /** `tls` (default) dials the MQTT port; `wss` the WebSocket path of the HTTPS port. */
  transport?: 'tls' | 'wss';
  /** Token expiry; default one hour from now. Ignored when `password` is given. */
  expiresOnInSeconds?: number;
}

/** A connected client and its CONNACK. */
export interface TestConnection {
  readonly client: MqttClient;
  readonly connack: IConnackPacket;
}

/** A served hub with helpers for MQTT endpoint tests. */
export interface MqttTestHub extends EndpointTestHub {
  /** The hub's MQTT endpoint (`hub.faults.mqtt` is its `faults`). */
  readonly endpoint: MqttEndpoint;
  readonly mqttPort: number;
  /**
   * Connects a raw MQTT 3.1.1 client as an identity (clean=0 unless overridden, no auto-reconnect).
   *
   * @param identity - identity and key
   * @param options - MQTT.js options and the transport
   * @returns the client and its CONNACK
   * @throws the MQTT.js error (with `code` = the CONNACK return code) when the hub refuses
   */
  connect(identity: KeyedIdentity, options?: TestConnectOptions): Promise<TestConnection>;
  /**
   * The service view of a twin (connection state and the like).
   *
   * @param deviceId - the device
   */
  serviceTwin(deviceId: string): Promise<JsonObject>;
}

/**
 * Creates an in-memory hub and serves it on 127.0.0.1 (HTTPS plus MQTT over TLS, port 0 unless
 * told otherwise). Disposing of it ends the clients it connected first.
 *
 * @param listenOptions - ports and listener limits for `listen()`
 * @param hubOptions - `createHub()` options (device endpoint limits)
 * @returns the running hub; dispose of it with `await using`
 */
export async function startMqttTestHub(
  listenOptions: ListenOptions = {},
  hubOptions: HubOptions = {},
): Promise<MqttTestHub> {
  const base = await startEndpointTestHub(listenOptions, hubOptions);
  const { hub, server } = base;
  const mqttPort = server.ports.mqtt;
  if (mqttPort === undefined) {
    await base.close();
    throw new Error('listen() did not start the MQTT endpoint');
  }
  const clients = new Set<MqttClient>();
  const close = async (): Promise<void> => {
    await Promise.all([...clients].map((client) => client.endAsync(true)));
    await base.close();
  };
  return {
    ...base,
    endpoint: hubInternals(hub).mqtt,
    mqttPort,
    async connect(identity, options = {}) {
      const { transport = 'tls', expiresOnInSeconds, password, ...mqttOptions } = options;
      const clientId =
        identity.moduleId === undefined
          ? identity.deviceId
          : `${identity.deviceId}/${identity.moduleId}`;
      const clientOptions: IClientOptions = {
        protocolVersion: 4,
        clientId,
        username: mqttUsername({
          hostName: hub.hostName,
          deviceId: identity.deviceId,
          ...(identity.moduleId === undefined ? {} : { moduleId: identity.moduleId }),
        }),
        clean: false,
        keepalive: 0,
        reconnectPeriod: 0,
        connectTimeout: 4000,
        ca: hub.caCertificate,
        ...mqttOptions,
      };
      // X.509 tests pass `password: undefined` together with a client certificate.
      const secret =
        'password' in options ? password : await base.deviceToken(identity, expiresOnInSeconds);
      if (secret !== undefined) clientOptions.password = secret;
      const client =
        transport === 'tls'
          ? connect(`mqtts://127.0.0.1:${String(mqttPort)}`, clientOptions)
          : // MQTT.js's own wss builder reaches `ws` through `require`, which the workspace's
            // vitest conditions resolve to ws's ESM wrapper (no createWebSocketStream on its
            // default export), so the stream is built here.
            new MqttClient(
              () =>
                createWebSocketStream(
                  new WebSocket(
                    `wss://127.0.0.1:${String(server.ports.https)}${IOTHUB_WEBSOCKET_PATH}`,
                    [KnownWebSocketSubprotocol.mqtt],
                    {
                      ca: hub.caCertificate,
                    },
                  ),
                ),
              clientOptions,
            );
      clients.add(client);
      return new Promise<TestConnection>((resolve, reject) => {
        const onError = (error: Error) => {
          client.off('connect', onConnect);
          client.end(true);
          reject(error);
        };
        const onConnect = (connack: IConnackPacket) => {
          client.off('error', onError);
          resolve({ client, connack });
        };
        client.once('error', onError);
        client.once('connect', onConnect);
      });
    },
    async serviceTwin(deviceId) {
      const response = await base.serviceRequest('GET', twinPath(deviceId));
      return (await response.json()) as JsonObject;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A message a client received, payload as text. */
export interface ReceivedMessage {
  readonly topic: string;
  readonly payload: string;
}

/**
 * Records every message a client receives and hands them out in arrival order, so tests can
 * wait on events instead of sleeping.
 */
export class MessageLog {
  readonly #received: ReceivedMessage[] = [];
  readonly #waiters: {
    predicate: (message: ReceivedMessage) => boolean;
    resolve: (message: ReceivedMessage) => void;
  }[] = [];

  /**
   * Starts recording a client's messages.
   *
   * @param client - the MQTT.js client
   */
  constructor(client: MqttClient) {
    client.on('message', (topic, payload) => {
      const message = { topic, payload: payload.toString('utf8') };
      const index = this.#waiters.findIndex((waiter) => waiter.predicate(message));
      const waiter = this.#waiters[index];
      if (waiter === undefined) {
        this.#received.push(message);
        return;
      }
      this.#waiters.splice(index, 1);
      waiter.resolve(message);
    });
  }

  /** Messages received and not yet taken. */
  get pending(): readonly ReceivedMessage[] {
    return this.#received;
  }

  /**
   * Takes the first message (received or still to come) whose topic starts with a prefix.
   *
   * @param prefix - topic prefix
   * @returns the message
   */
  next(prefix: string): Promise<ReceivedMessage> {
    const predicate = (message: ReceivedMessage) => message.topic.startsWith(prefix);
    const index = this.#received.findIndex(predicate);
    const found = this.#received[index];
    if (found !== undefined) {
      this.#received.splice(index, 1);
      return Promise.resolve(found);
    }
    return new Promise((resolve) => {
      this.#waiters.push({ predicate, resolve });
    });
  }
}

/**
 * Resolves when a client's connection closes.
 *
 * @param client - the MQTT.js client
 */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected && client.disconnected) resolve();
    client.once('close', () => {
      resolve();
    });
  });
}
