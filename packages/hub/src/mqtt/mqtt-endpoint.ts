/**
 * The hub's MQTT 3.1.1 endpoint on aedes: CONNECT authentication, per-identity topic isolation,
 * twin GET / reported PATCH / desired notifications, clean-session=0 persistence, connection
 * state and fault injection. It opens no sockets: listeners hand it streams through
 * {@link MqttEndpoint.handle} (TLS) or {@link MqttEndpoint.handleUpgrade} (WebSocket), the way
 * `net.createServer(aedes.handle)` works (house-style 0.10).
 *
 * @see ../../../../shared/spec/protocol.md §4
 */
import { createHash, randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  Aedes,
  type AedesPublishPacket,
  type AuthenticateError,
  type Client,
  type ConnectPacket,
  type PublishPacket,
  type Subscription,
} from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { JsonObject } from '@twinkit/twin-model';
import { formatDeviceErrorBody, isHubError } from '@twinkit/twin-model/errors';
import {
  desiredPatchTopic,
  parseMqttUsername,
  twinResponseTopic,
} from '@twinkit/twin-model/protocol';
import {
  DeferredActions,
  bestEffort,
  identityKey,
  sameIdentity,
  scheduleExpiry,
  type ExpiryTimer,
} from '../device-endpoint/endpoint-support.js';
import {
  DeviceEndpointFaultState,
  createDeviceEndpointFaults,
  releaseHeldDesired,
  respondUnderFault,
  sendDesiredUnderFault,
  type DeviceEndpointFaults,
  type DeviceTwinOperation,
  type HeldDesired,
} from '../faults/device-endpoint-faults.js';
import type {
  MqttAuthenticationFailureReason,
  MqttClientCertificate,
  MqttDesiredChange,
  MqttHubCore,
  MqttIdentity,
} from './mqtt-hub-core.js';
import {
  classifyDevicePublish,
  isSubscriptionAllowed,
  parseMqttClientId,
  topicMatchesFilter,
  type MqttTwinRequest,
} from './topic-access.js';
import { selectMqttSubprotocol } from './websocket.js';

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
   * `mqtt` subprotocol in the spelling the client offered (protocol.md §1). Call it only for
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
  isConnected(identity: MqttIdentity): boolean;
  /** Number of live, authenticated connections. */
  readonly connectionCount: number;
  /** Closes every connection (sessions are forgotten) and stops listening to the hub. Idempotent. */
  close(): Promise<void>;
}

interface OutgoingPublish {
  readonly topic: string;
  readonly body: string;
}

/** One live connection; `held` is the desired notification a reorder fault holds back. */
interface Session extends HeldDesired<OutgoingPublish> {
  readonly identity: MqttIdentity;
  readonly key: string;
  readonly client: Client;
  readonly sasToken: string | undefined;
  expiry: ExpiryTimer | undefined;
  /** Twin requests run one after another so reported patches apply in the order sent. */
  queue: Promise<void>;
}

interface PendingConnect {
  clientId: string;
  info: MqttConnectionInfo;
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

/** CONNACK refusal codes (MQTT 3.1.1 §3.2.2.3) the endpoint uses. */
type ConnackRefusal = 2 | 3 | 4 | 5;

// protocol.md §4.2 says which failure gets which code.
const CONNACK_IDENTIFIER_REJECTED = 2;
const CONNACK_SERVER_UNAVAILABLE = 3;
const CONNACK_BAD_USERNAME_OR_PASSWORD = 4;
const CONNACK_NOT_AUTHORIZED = 5;

function connackCodeFor(reason: MqttAuthenticationFailureReason): ConnackRefusal {
  return reason === 'disabled' ? CONNACK_SERVER_UNAVAILABLE : CONNACK_NOT_AUTHORIZED;
}

// aedes reads `returnCode` off the error and sends it in the CONNACK.
function authError(returnCode: ConnackRefusal, message: string): AuthenticateError {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- aedes types the code as a const enum, which isolatedModules cannot import
  return Object.assign(new Error(message), { returnCode });
}

function thumbprintsOf(der: Uint8Array): MqttClientCertificate {
  return {
    sha1Thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
    sha256Thumbprint: createHash('sha256').update(der).digest('hex').toUpperCase(),
  };
}

function noop(): void {
  // Deliberately empty: completion callbacks whose outcome does not matter.
}

class AedesMqttEndpoint implements MqttEndpoint {
  readonly faults: DeviceEndpointFaults;
  readonly #core: MqttHubCore;
  readonly #broker: Aedes;
  readonly #now: () => number;
  readonly #faultState = new DeviceEndpointFaultState();
  readonly #pending = new WeakMap<Client, PendingConnect>();
  readonly #sessions = new WeakMap<Client, Session>();
  /** The live connection of each identity (one per identity, §4.1). */
  readonly #connections = new Map<string, Session>();
  /** Tokens expired early by a fault; refused from then on. */
  readonly #expiredTokens = new Set<string>();
  readonly #deferred = new DeferredActions();
  readonly #unsubscribers: (() => void)[] = [];
  readonly #webSockets: WebSocketServer;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(core: MqttHubCore, broker: Aedes, options: MqttEndpointOptions) {
    this.#core = core;
    this.#broker = broker;
    this.#now = options.now ?? (() => Date.now());
    this.#webSockets = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      handleProtocols: (protocols) => selectMqttSubprotocol(protocols) ?? false,
    });
    this.faults = createDeviceEndpointFaults(this.#faultState, {
      dropConnection: (identity) => this.#dropConnection(identity),
      expireToken: (identity) => this.#expireToken(identity),
      releaseHeld: () => {
        for (const session of this.#connections.values()) {
          releaseHeldDesired(session, (held) => {
            this.#deliver(session.client, held.topic, held.body);
          });
        }
      },
    });

    broker.preConnect = (client, packet, callback) => {
      this.#rememberClientId(client, packet);
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
    broker.on('clientReady', (client) => {
      this.#onClientReady(client);
    });
    broker.on('clientDisconnect', (client) => {
      this.#onClientGone(client);
    });
    (broker as unknown as EventEmitter).on('error', (error: Error) => options.onError?.(error));

    this.#unsubscribers.push(
      core.onDesiredChanged((change) => {
        this.#onDesiredChanged(change);
      }),
    );
    if (core.onIdentityRevoked) {
      this.#unsubscribers.push(
        core.onIdentityRevoked((identity) => {
          this.#revoke(identity);
        }),
      );
    }
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  handle(stream: Duplex, info: MqttConnectionInfo = {}): void {
    if (this.#closed) {
      stream.destroy();
      return;
    }
    const client = this.#broker.handle(stream);
    this.#pending.set(client, { clientId: '', info });
    // aedes grants whatever QoS was requested before any hook sees the subscription, so QoS 2
    // requests are lowered to 1 as they are parsed (protocol.md §4.4: granted = min(requested, 1)).
    (client as unknown as ClientInternals)._parser?.prependListener('packet', (packet) => {
      if (packet.cmd !== 'subscribe' || !packet.subscriptions) return;
      for (const subscription of packet.subscriptions)
        subscription.qos = Math.min(subscription.qos, 1);
    });
    stream.once('close', () => {
      this.#clearExpiry(this.#sessions.get(client));
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

  isConnected(identity: MqttIdentity): boolean {
    return this.#connections.has(identityKey(identity));
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
    for (const unsubscribe of this.#unsubscribers.splice(0)) unsubscribe();
    this.#deferred.clear();
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

  #rememberClientId(client: Client, packet: ConnectPacket): void {
    const pending = this.#pending.get(client);
    this.#pending.set(client, { clientId: packet.clientId, info: pending?.info ?? {} });
  }

  async #authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<void> {
    const pending = this.#pending.get(client);
    // protocol.md §4.1: the identity comes from the client id and must agree with the username.
    const identity = parseMqttClientId(pending?.clientId ?? '');
    if (identity === undefined) {
      throw authError(
        CONNACK_IDENTIFIER_REJECTED,
        'client id must be <deviceId> or <deviceId>/<moduleId>',
      );
    }
    const parsedUsername = username === undefined ? undefined : parseMqttUsername(username);
    if (
      parsedUsername?.deviceId !== identity.deviceId ||
      parsedUsername.moduleId !== identity.moduleId
    ) {
      throw authError(
        CONNACK_BAD_USERNAME_OR_PASSWORD,
        'username must be <host>/<clientId>/?api-version=… and name the same identity as the client id',
      );
    }
    const sasToken =
      password === undefined || password.length === 0 ? undefined : password.toString('utf8');
    if (sasToken !== undefined && this.#expiredTokens.has(sasToken)) {
      throw authError(CONNACK_NOT_AUTHORIZED, 'the SAS token has expired');
    }
    const certificateDer = pending?.info.clientCertificate;
    const clientCertificate =
      certificateDer === undefined ? undefined : thumbprintsOf(certificateDer);
    const result = await this.#core.authenticate({ identity, sasToken, clientCertificate });
    if (!result.ok) throw authError(connackCodeFor(result.reason), result.message);
    if (this.#closed) throw authError(CONNACK_SERVER_UNAVAILABLE, 'the hub is shutting down');
    const session: Session = {
      identity,
      key: identityKey(identity),
      client,
      sasToken,
      expiry: undefined,
      queue: Promise.resolve(),
      held: undefined,
    };
    this.#sessions.set(client, session);
    // protocol.md §3.5: the hub closes a connection whose token has expired; the SDK reconnects
    // with a fresh token.
    if (result.expiresOnInSeconds !== undefined) {
      session.expiry = scheduleExpiry(
        result.expiresOnInSeconds * 1000,
        () => this.#now(),
        () => {
          session.client.close();
        },
      );
    }
  }

  #clearExpiry(session: Session | undefined): void {
    if (session?.expiry === undefined) return;
    session.expiry.cancel();
    session.expiry = undefined;
  }

  #onClientReady(client: Client): void {
    const session = this.#sessions.get(client);
    if (session === undefined) return;
    this.#connections.set(session.key, session);
    bestEffort(() =>
      this.#core.setConnectionState(session.identity, 'Connected', new Date(this.#now())),
    );
  }

  #onClientGone(client: Client): void {
    const session = this.#sessions.get(client);
    if (session !== undefined) this.#forget(session);
  }

  /**
   * Ends the bookkeeping of a connection right away, so that once the hub decided to close it
   * (a fault, a revoked identity) a new connection of the identity is the only one it knows.
   */
  #forget(session: Session): void {
    this.#clearExpiry(session);
    session.held = undefined;
    // A newer connection of the same identity may already have replaced this one (§4.1 kick).
    if (this.#connections.get(session.key) !== session) return;
    this.#connections.delete(session.key);
    bestEffort(() =>
      this.#core.setConnectionState(session.identity, 'Disconnected', new Date(this.#now())),
    );
  }

  #revoke(identity: MqttIdentity): void {
    for (const session of [...this.#connections.values()]) {
      const matches =
        session.identity.deviceId === identity.deviceId &&
        (identity.moduleId === undefined || session.identity.moduleId === identity.moduleId);
      if (!matches) continue;
      this.#forget(session);
      session.client.close();
    }
  }

  // --- PUBLISH / SUBSCRIBE ----------------------------------------------------------------------

  #authorizePublish(client: Client | null, packet: PublishPacket): Error | null {
    const session = client === null ? undefined : this.#sessions.get(client);
    if (session === undefined) return new Error('not authenticated');
    // protocol.md §4.4: a QoS 2 PUBLISH makes the hub close the connection.
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
    bestEffort(() => this.#core.touchActivity(session.identity, new Date(this.#now())));
    const verdict = classifyDevicePublish(session.identity, packet.topic);
    if (verdict.kind !== 'twin') return;
    const payload =
      typeof packet.payload === 'string' ? packet.payload : packet.payload.toString('utf8');
    // A failure here must not stall the requests queued behind this one.
    session.queue = session.queue
      .then(() => this.#answerTwinRequest(session, verdict.request, payload))
      .catch(noop);
  }

  // --- twins ------------------------------------------------------------------------------------

  async #answerTwinRequest(
    session: Session,
    request: MqttTwinRequest,
    payload: string,
  ): Promise<void> {
    const operation: DeviceTwinOperation = request.kind === 'get' ? 'getTwin' : 'updateReported';
    const fault = this.#faultState.takeTwinResponseFault(operation, session.identity);
    const { topic, body } = await respondUnderFault(fault, {
      applyHubFault: () =>
        this.#core.applyTwinFault?.(operation, session.identity) ?? Promise.resolve(undefined),
      perform: () => this.#performTwinRequest(session, request, payload),
      error: (statusCode, code, message) => ({
        topic: twinResponseTopic(statusCode, request.rid),
        body: this.#errorBody(code, message),
      }),
    });
    this.#deferred.run(fault.delayInMs, () => {
      this.#deliver(session.client, topic, body);
    });
  }

  async #performTwinRequest(
    session: Session,
    request: MqttTwinRequest,
    payload: string,
  ): Promise<{ topic: string; body: string }> {
    try {
      if (request.kind === 'get') {
        // §4.5: 200 with the device view (both sections, both $version, no tags or $metadata).
        const twin = await this.#core.getTwin(session.identity);
        return { topic: twinResponseTopic(200, request.rid), body: JSON.stringify(twin) };
      }
      let patch: unknown;
      try {
        patch = JSON.parse(payload);
      } catch {
        return {
          topic: twinResponseTopic(400, request.rid),
          body: this.#errorBody(
            'ArgumentInvalid',
            'The reported properties patch is not valid JSON.',
          ),
        };
      }
      // §4.6: 204, the new reported $version in the topic only, and an empty body.
      const { version } = await this.#core.updateReported(
        session.identity,
        patch,
        request.baseVersion,
      );
      return { topic: twinResponseTopic(204, request.rid, version), body: '' };
    } catch (error) {
      if (isHubError(error)) {
        return {
          topic: twinResponseTopic(error.statusCode, request.rid),
          body: this.#errorBody(error.code, this.#core.wireMessageOf?.(error) ?? error.message),
        };
      }
      return {
        topic: twinResponseTopic(500, request.rid),
        body: this.#errorBody('ServerError', 'The hub failed to process the twin request.'),
      };
    }
  }

  // §4.8: every error carries a JSON body with a numeric errorCode; Node's SDK looks only at that.
  #errorBody(code: string | number, message: string): string {
    const trackingId = randomUUID().replaceAll('-', '');
    return JSON.stringify(
      formatDeviceErrorBody(code, message, trackingId, new Date(this.#now()).toISOString()),
    );
  }

  #onDesiredChanged(change: MqttDesiredChange): void {
    const identity: MqttIdentity = { deviceId: change.deviceId, moduleId: change.moduleId };
    const session = this.#connections.get(identityKey(identity));
    if (session === undefined || !sameIdentity(session.identity, identity)) return;
    const topic = desiredPatchTopic(change.version);
    // §4.7: only while connected and subscribed; nothing is queued for later.
    if (!this.#isSubscribed(session.client, topic)) return;
    const body = JSON.stringify(change.notification satisfies JsonObject);
    const fault = this.#faultState.takeDesiredFault(identity);
    sendDesiredUnderFault(fault, session, { topic, body }, (notification) => {
      this.#deliver(session.client, notification.topic, notification.body);
    });
  }

  #isSubscribed(client: Client, topic: string): boolean {
    const subscriptions = (client as unknown as ClientInternals).subscriptions ?? {};
    return Object.keys(subscriptions).some((filter) => topicMatchesFilter(filter, topic));
  }

  // §4.4: the hub's own twin publishes go out at QoS 0, straight to the one connection they are
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

  // --- faults -----------------------------------------------------------------------------------

  #dropConnection(identity: MqttIdentity): boolean {
    const session = this.#connections.get(identityKey(identity));
    if (session === undefined) return false;
    this.#forget(session);
    session.client.conn.destroy();
    return true;
  }

  #expireToken(identity: MqttIdentity): boolean {
    const session = this.#connections.get(identityKey(identity));
    if (session === undefined) return false;
    if (session.sasToken !== undefined) this.#expiredTokens.add(session.sasToken);
    this.#forget(session);
    session.client.close();
    return true;
  }
}

/**
 * The DER bytes of the client certificate of a TLS socket, when the peer sent one.
 *
 * @param socket - any socket; only TLS sockets can carry a certificate
 * @returns the certificate's DER bytes, or `undefined`
 */
export function certificateOfSocket(socket: unknown): Uint8Array | undefined {
  const tlsSocket = socket as {
    getPeerCertificate?: (detailed?: boolean) => { raw?: Buffer } | null;
  };
  if (typeof tlsSocket.getPeerCertificate !== 'function') return undefined;
  const raw = tlsSocket.getPeerCertificate(false)?.raw;
  return raw === undefined || raw.length === 0 ? undefined : new Uint8Array(raw);
}

/**
 * Creates the hub's MQTT endpoint on a fresh aedes broker with in-memory persistence (which keeps
 * clean-session=0 subscriptions across reconnects, protocol.md §4.3).
 *
 * @param core - what the endpoint needs from the hub
 * @param options - clock and error hook
 * @returns the endpoint; feed it streams and close it with the hub
 * @example
 * ```ts
 * const endpoint = await createMqttEndpoint(core);
 * tls.createServer({ key, cert }, (socket) => endpoint.handle(socket)).listen(8883);
 * ```
 */
export async function createMqttEndpoint(
  core: MqttHubCore,
  options: MqttEndpointOptions = {},
): Promise<MqttEndpoint> {
  // Client ids are `<deviceId>/<moduleId>`, up to 257 characters; the 23-character MQTT 3.1 limit
  // does not apply to 3.1.1, but raise it anyway for clients that announce level 3.
  const broker = await Aedes.createBroker({ maxClientsIdLength: 257 });
  return new AedesMqttEndpoint(core, broker, options);
}
