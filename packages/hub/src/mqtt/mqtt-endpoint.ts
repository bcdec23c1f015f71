/**
 * The hub's MQTT 3.1.1 endpoint on aedes: a codec over the device-session core. It reads
 * CONNECT, PUBLISH and SUBSCRIBE and writes CONNACK and the twin topics; every decision about who
 * may do what (authentication, reach, disabled devices, request order, faults, revocation, token
 * expiry) is the core's. Bytes reach aedes only through a {@link GuardedStream}, so oversized
 * packets and silent peers are refused before aedes buffers anything. It opens no sockets:
 * listeners hand it streams through {@link MqttEndpoint.handle} (TLS) or
 * {@link MqttEndpoint.handleUpgrade} (WebSocket), the way `net.createServer(aedes.handle)` works.
 *
 * @see docs/internals/wire-contract.md#mqtt
 */
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  Aedes,
  type AedesPublishPacket,
  type AuthenticateError,
  type Client,
  type PublishPacket,
  type Subscription,
} from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { desiredPatchTopic, twinResponseTopic } from '@twinkit/twin-model/protocol';
import { certificateOfSocket } from '../device-endpoint/client-certificate.js';
import type { DeviceIdentity } from '../device-endpoint/endpoint-support.js';
import { GuardedStream } from '../device-endpoint/guarded-stream.js';
import {
  resolveDeviceEndpointLimits,
  type DeviceEndpointLimits,
} from '../device-endpoint/limits.js';
import type { DeviceConnection } from '../device-session/device-connection.js';
import { DeviceSessionCore } from '../device-session/device-session-core.js';
import type { DeviceEndpointFaults } from '../faults/device-endpoint-faults.js';
import type { HubCore } from '../hub-core.js';
import {
  CONNACK_SERVER_UNAVAILABLE,
  authError,
  connackCodeFor,
  readConnect,
} from './mqtt-connect.js';
import { MqttPacketInspector } from './mqtt-packet-inspector.js';
import {
  classifyDevicePublish,
  isSubscriptionAllowed,
  topicMatchesFilter,
} from './topic-access.js';
import { selectMqttSubprotocol } from './websocket.js';

export { certificateOfSocket } from '../device-endpoint/client-certificate.js';

/** What the listener knows about a connection that the MQTT packets do not carry. */
export interface MqttConnectionInfo {
  /** DER bytes of the TLS client certificate, when the peer presented one. */
  clientCertificate?: Uint8Array | undefined;
}

/** Options for {@link createMqttEndpoint}. */
export interface MqttEndpointOptions {
  /** The clock, in milliseconds since the epoch (token expiry, timestamps). Default `Date.now`. */
  now?: (() => number) | undefined;
  /** Told about broker-level failures (persistence errors). Default: ignored. */
  onError?: ((error: Error) => void) | undefined;
  /** Packet sizes, deadlines and the in-flight cap; see {@link DeviceEndpointLimits}. */
  limits?: Partial<DeviceEndpointLimits> | undefined;
}

/** The hub's MQTT endpoint. */
export interface MqttEndpoint extends AsyncDisposable {
  /**
   * Serves one MQTT connection over an already-established stream (a TLS socket, or a
   * WebSocket wrapped as a stream).
   *
   * @param stream - the byte stream
   * @param info - what the transport knows about the peer (its client certificate)
   */
  handle(stream: Duplex, info?: MqttConnectionInfo): void;
  /**
   * Completes a WebSocket upgrade at `/$iothub/websocket` and serves MQTT over it, choosing the
   * `mqtt` subprotocol in the spelling the client offered (docs/internals/wire-contract.md#endpoints). Call it only for
   * requests {@link isMqttWebSocketRequest} accepts.
   *
   * @param request - the upgrade request
   * @param socket - the request's socket
   * @param head - the first packet of the upgraded stream
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** MQTT faults (surfaced as `hub.faults.mqtt`). */
  readonly faults: DeviceEndpointFaults;
  /**
   * Tells whether an identity has a live, authenticated connection.
   *
   * @param identity - the device or module
   */
  isConnected(identity: DeviceIdentity): boolean;
  /** Number of live, authenticated connections. */
  readonly connectionCount: number;
  /** Closes every connection (sessions are forgotten) and stops listening to the hub. Idempotent. */
  close(): Promise<void>;
}

/** One authenticated MQTT connection: one identity (docs/internals/wire-contract.md#mqtt-connect). */
interface Session {
  readonly identity: DeviceIdentity;
  readonly client: Client;
  readonly connection: DeviceConnection;
}

interface PendingConnect {
  clientId: string;
  info: MqttConnectionInfo;
  guard: GuardedStream;
}

/** aedes keeps these on the client object but does not declare them. */
interface ClientInternals {
  subscriptions?: Record<string, unknown>;
  _parser?: {
    prependListener(
      event: 'packet',
      listener: (packet: { cmd?: string; subscriptions?: { qos: number }[] }) => void,
    ): unknown;
  };
}

function noop(): void {
  // Deliberately empty: completion callbacks whose outcome does not matter.
}

class AedesMqttEndpoint implements MqttEndpoint {
  readonly faults: DeviceEndpointFaults;
  readonly #core: DeviceSessionCore;
  readonly #broker: Aedes;
  readonly #limits: DeviceEndpointLimits;
  readonly #pending = new WeakMap<Client, PendingConnect>();
  readonly #sessions = new WeakMap<Client, Session>();
  readonly #webSockets: WebSocketServer;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(core: DeviceSessionCore, broker: Aedes, options: MqttEndpointOptions) {
    this.#core = core;
    this.#broker = broker;
    this.#limits = resolveDeviceEndpointLimits(options.limits);
    this.faults = core.faults;
    this.#webSockets = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      // ws's own default is 100 MiB; an MQTT packet is never larger than the packet limit.
      maxPayload: this.#limits.mqttMaxPacketBytes,
      handleProtocols: (protocols) => selectMqttSubprotocol(protocols) ?? false,
    });
    this.#wireBroker(broker, options);
  }

  #wireBroker(broker: Aedes, options: MqttEndpointOptions): void {
    broker.preConnect = (client, packet, callback) => {
      const pending = this.#pending.get(client);
      if (pending !== undefined) pending.clientId = packet.clientId;
      callback(null, true);
    };
    broker.authenticate = (client, username, password, done) => {
      this.#authenticate(client, username, password).then(
        () => {
          done(null, true);
        },
        (error: unknown) => {
          done(error as AuthenticateError, false);
        },
      );
    };
    broker.authorizePublish = (client, packet, callback) => {
      callback(this.#authorizePublish(client, packet));
    };
    broker.authorizeSubscribe = (client, subscription, callback) => {
      callback(null, this.#authorizeSubscribe(client, subscription));
    };
    // IoT Hub has no device-to-device delivery: only the hub's own publishes reach devices.
    broker.authorizeForward = (_client, packet) =>
      Object.hasOwn(packet, 'clientId') ? null : packet;
    broker.published = (packet, client, callback) => {
      callback(null);
      this.#onPublished(packet, client);
    };
    broker.on('clientDisconnect', (client) => {
      this.#sessions.get(client)?.connection.close();
    });
    (broker as unknown as EventEmitter).on('error', (error: Error) => options.onError?.(error));
  }

  get connectionCount(): number {
    return this.#core.connectionCount;
  }

  handle(stream: Duplex, info: MqttConnectionInfo = {}): void {
    if (this.#closed) {
      stream.destroy();
      return;
    }
    const guard = new GuardedStream(
      stream,
      new MqttPacketInspector({
        beforeAuth: this.#limits.mqttMaxPacketBytesBeforeAuth,
        afterAuth: this.#limits.mqttMaxPacketBytes,
      }),
      { untrustedDeadlineInMs: this.#limits.authTimeoutInMs },
    );
    const client = this.#broker.handle(guard);
    this.#pending.set(client, { clientId: '', info, guard });
    // aedes grants whatever QoS was requested before any hook sees the subscription, so QoS 2
    // requests are lowered to 1 as they are parsed (docs/internals/wire-contract.md#mqtt-topics: granted = min(requested, 1)).
    (client as unknown as ClientInternals)._parser?.prependListener('packet', (packet) => {
      if (packet.cmd !== 'subscribe' || !packet.subscriptions) return;
      for (const subscription of packet.subscriptions)
        subscription.qos = Math.min(subscription.qos, 1);
    });
    guard.once('close', () => {
      this.#sessions.get(client)?.connection.close();
    });
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const certificate = certificateOfSocket(request.socket);
    this.#webSockets.handleUpgrade(request, socket, head, (webSocket) => {
      const stream = createWebSocketStream(webSocket);
      this.handle(stream, { clientCertificate: certificate });
    });
  }

  isConnected(identity: DeviceIdentity): boolean {
    return this.#core.isConnected(identity);
  }

  async close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#core.close();
    await new Promise<void>((resolve) => {
      this.#broker.close(() => {
        resolve();
      });
    });
    for (const webSocket of this.#webSockets.clients) webSocket.terminate();
    await new Promise<void>((resolve) => {
      this.#webSockets.close(() => {
        resolve();
      });
    });
  }

  // --- CONNECT --------------------------------------------------------------------------------

  async #authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<void> {
    const pending = this.#pending.get(client);
    const { identity, credential, modelId } = readConnect(
      pending?.clientId ?? '',
      username,
      password,
      pending?.info.clientCertificate,
    );
    if (this.#closed) throw authError(CONNACK_SERVER_UNAVAILABLE, 'the hub is shutting down');
    const connection = this.#core.openConnection({
      endSession: () => {
        client.close();
      },
      drop: () => {
        client.conn.destroy();
      },
      wantsDesired: () => this.#isSubscribed(client, desiredPatchTopic(0)),
      deliverDesired: (_identity, notification) => {
        this.#deliver(client, desiredPatchTopic(notification.version), notification.body);
      },
    });
    const authenticated = await connection.authenticate(credential);
    const opened = authenticated.ok ? connection.openSession(identity, { modelId }) : authenticated;
    if (!opened.ok || client.closed) {
      connection.close();
      throw authError(
        connackCodeFor(opened.ok ? 'not-covered' : opened.reason),
        opened.ok ? 'the connection closed' : opened.message,
      );
    }
    this.#sessions.set(client, { identity, client, connection });
    pending?.guard.trust();
  }

  // --- PUBLISH / SUBSCRIBE ----------------------------------------------------------------------

  #authorizePublish(client: Client | null, packet: PublishPacket): Error | null {
    const session = client === null ? undefined : this.#sessions.get(client);
    if (session === undefined) return new Error('not authenticated');
    // docs/internals/wire-contract.md#mqtt-topics: a QoS 2 PUBLISH makes the hub close the connection.
    if (packet.qos === 2) return new Error('QoS 2 is not supported');
    const verdict = classifyDevicePublish(session.identity, packet.topic);
    if (verdict.kind === 'refused') return new Error(verdict.reason);
    // Retained messages would be replayed to later subscribers; IoT Hub has none.
    packet.retain = false;
    return null;
  }

  #authorizeSubscribe(client: Client, subscription: Subscription): Subscription | null {
    const session = this.#sessions.get(client);
    if (session === undefined || !isSubscriptionAllowed(session.identity, subscription.topic))
      return null;
    subscription.qos = Math.min(subscription.qos, 1) as Subscription['qos'];
    return subscription;
  }

  #onPublished(packet: AedesPublishPacket, client: Client | null): void {
    const session = client === null ? undefined : this.#sessions.get(client);
    if (session === undefined) return;
    const verdict = classifyDevicePublish(session.identity, packet.topic);
    if (verdict.kind !== 'twin') {
      session.connection.recordActivity(session.identity);
      return;
    }
    const { request } = verdict;
    const body =
      typeof packet.payload === 'string' ? packet.payload : packet.payload.toString('utf8');
    const twinRequest =
      request.kind === 'get'
        ? ({ kind: 'get' } as const)
        : ({ kind: 'patch-reported', body, baseVersion: request.baseVersion } as const);
    void session.connection.twin(session.identity, twinRequest).then((response) => {
      if (response === undefined) return;
      // docs/internals/wire-contract.md#mqtt-twin-get, docs/internals/wire-contract.md#mqtt-reported-patch: status and version in the topic; 204 has an empty body.
      this.#deliver(
        session.client,
        twinResponseTopic(response.status, request.rid, response.version),
        response.body ?? '',
      );
    });
  }

  #isSubscribed(client: Client, topic: string): boolean {
    const subscriptions = (client as unknown as ClientInternals).subscriptions ?? {};
    return Object.keys(subscriptions).some((filter) => topicMatchesFilter(filter, topic));
  }

  // docs/internals/wire-contract.md#mqtt-topics: the hub's own twin publishes go out at QoS 0, straight to the one connection they are
  // for (never through topic routing, since every device shares the $iothub/twin/res/# filter).
  #deliver(client: Client, topic: string, body: string): void {
    if (client.closed) return;
    const packet: PublishPacket = {
      cmd: 'publish',
      topic,
      payload: Buffer.from(body, 'utf8'),
      qos: 0,
      retain: false,
      dup: false,
    };
    client.publish(packet, noop);
  }
}

/**
 * Creates the hub's MQTT endpoint on a fresh aedes broker with in-memory persistence (which keeps
 * clean-session=0 subscriptions across reconnects, docs/internals/wire-contract.md#mqtt-sessions), over a device-session core
 * of its own (its faults are `hub.faults.mqtt`).
 *
 * @param hub - the hub core
 * @param options - clock, error hook and limits
 * @returns the endpoint; feed it streams and close it with the hub
 * @throws {@link RangeError} or {@link TypeError} for invalid limits
 * @example
 * ```ts
 * const endpoint = await createMqttEndpoint(core);
 * tls.createServer({ key, cert }, (socket) => endpoint.handle(socket)).listen(8883);
 * ```
 */
export async function createMqttEndpoint(
  hub: HubCore,
  options: MqttEndpointOptions = {},
): Promise<MqttEndpoint> {
  const limits = resolveDeviceEndpointLimits(options.limits);
  // Client ids are `<deviceId>/<moduleId>`, up to 257 characters; the 23-character MQTT 3.1 limit
  // does not apply to 3.1.1, but raise it anyway for clients that announce level 3. The CONNECT
  // deadline is the guard's (authTimeoutInMs); aedes's own is kept as a backstop.
  const broker = await Aedes.createBroker({
    maxClientsIdLength: 257,
    connectTimeout: limits.authTimeoutInMs,
  });
  const core = new DeviceSessionCore(hub, {
    now: options.now,
    maxInFlightTwinRequests: limits.maxInFlightTwinRequests,
  });
  return new AedesMqttEndpoint(core, broker, { ...options, limits });
}
