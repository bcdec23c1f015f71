/**
 * The hub's AMQP 1.0 endpoint on rhea (protocol.md §5): connections with or without SASL
 * (MSSBCBS, ANONYMOUS, PLAIN, EXTERNAL advertised), CBS put-token on `$cbs` with per-connection
 * grants that expire at `se`, twin links at `/devices/{id}[/modules/{mid}]/twin` (relative or
 * absolute `amqps://host[:port]/…`), twin GET / reported PATCH / desired PUT and DELETE,
 * desired notifications, connection state and fault injection. Served over TLS by `listen()`
 * on its own port and over WebSocket (`AMQPWSB10`) on `/$iothub/websocket` of the HTTPS port.
 *
 * @see ../../../../shared/spec/protocol.md §5, §7, §9
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import rhea, {
  type Connection,
  type Container,
  type EventContext,
  type Message,
  type Receiver,
  type Sender,
} from 'rhea';
import { WebSocketServer, type WebSocket } from 'ws';
import type { JsonObject } from '@twinkit/twin-model';
import { formatDeviceErrorBody, isHubError } from '@twinkit/twin-model/errors';
import {
  CBS_NODE,
  CBS_PROPERTY,
  DESIRED_NOTIFICATIONS_RESOURCE,
  KnownTwinAmqpOperation,
  REPORTED_PROPERTIES_RESOURCE,
  TWIN_ANNOTATION,
  TWIN_LINK_PROPERTY,
  parseTwinLinkAddress,
} from '@twinkit/twin-model/protocol';
import {
  DeferredActions,
  bestEffort,
  identityKey,
  scheduleExpiry,
  serveListener,
  type DeviceIdentity,
  type ExpiryTimer,
} from '../device-endpoint/endpoint-support.js';
import {
  DEVICE_TWIN_FAULT_OPERATIONS,
  DeviceEndpointFaultState,
  createDeviceEndpointFaults,
  releaseHeldDesired,
  respondUnderFault,
  sendDesiredUnderFault,
  type DeviceEndpointFaults,
  type DeviceTwinOperation,
} from '../faults/device-endpoint-faults.js';
import type { DesiredChangeEvent, HubCore, ProtocolEndpoint } from '../hub-core.js';
import { wireTextOf } from '../rest/hub-failure.js';
import {
  amqpInt,
  amqpLong,
  bodyText,
  encodeMessage,
  type OutgoingMessage,
} from './amqp-message.js';
import { grantCovers, readPutToken, verifyPutToken, type CbsGrant, type CbsStatus } from './cbs.js';

/** The WebSocket subprotocol of AMQP over WebSocket (protocol.md §1). */
export const AMQP_WEBSOCKET_SUBPROTOCOL = 'AMQPWSB10';

/** Options for {@link createAmqpEndpoint}. */
export interface AmqpEndpointOptions {
  /** The clock, in milliseconds since the epoch (grant expiry). Default `Date.now`. */
  now?: (() => number) | undefined;
  /** Idle timeout the hub announces in OPEN, in ms; rhea then sends empty frames to keep clients alive. Default 240 000. */
  idleTimeoutInMs?: number | undefined;
}

/** The AMQP endpoint as registered with the hub core, so `listen()` can start it. */
export interface AmqpEndpoint extends ProtocolEndpoint, AsyncDisposable {
  readonly protocol: 'amqp';
  /** AMQP faults (surfaced as `hub.faults.amqp`). */
  readonly faults: DeviceEndpointFaults;
  /** Number of open AMQP connections. */
  readonly connectionCount: number;
  /**
   * Tells whether an identity has a live connection (a verified CBS grant or an attached twin link).
   *
   * @param identity - the device or module
   */
  isConnected(identity: DeviceIdentity): boolean;
  /** Closes every connection and stops listening to the hub. Idempotent. */
  close(): Promise<void>;
}

interface TwinLink {
  readonly identity: DeviceIdentity;
  readonly key: string;
  readonly channelId: string | undefined;
  readonly state: ConnectionState;
}

interface TwinSenderLink extends TwinLink {
  readonly link: Sender;
  /** Subscribed to desired notifications by a PUT (§5.5: subscriptions are per link). */
  subscribed: boolean;
  held: OutgoingMessage | undefined;
}

interface TwinReceiverLink extends TwinLink {
  readonly link: Receiver;
}

interface ConnectionState {
  readonly connection: Connection;
  /** Ends the transport abruptly (a socket destroy, a WebSocket terminate). */
  readonly drop: () => void;
  readonly grants: Map<string, CbsGrant>;
  readonly grantTimers: Map<string, ExpiryTimer>;
  readonly cbsSenders: Set<Sender>;
  readonly twinSenders: Set<TwinSenderLink>;
  readonly twinReceivers: Map<Receiver, TwinReceiverLink>;
  /** Identities with a live grant or link on this connection (for connection state). */
  readonly identities: Map<string, DeviceIdentity>;
  /** Twin requests of one identity run one after another so reported patches apply in order. */
  readonly queues: Map<string, Promise<void>>;
  closed: boolean;
}

/** rhea keeps these on links and connections without declaring them. */
interface LinkInternals {
  local: {
    attach: {
      source?: unknown;
      target?: unknown;
      snd_settle_mode?: number;
      rcv_settle_mode?: number;
    };
  };
  remote: {
    attach?: {
      source?: { address?: unknown } | null;
      target?: { address?: unknown } | null;
      properties?: Record<string, unknown> | null;
    };
  };
  set_source(fields: object): void;
  set_target(fields: object): void;
}

interface ConnectionInternals {
  socket?: { destroy?: () => void; end?: () => void };
  options: { id?: string };
  sasl_transport?: {
    transports?: Record<number, { mechanism?: { grant?: CbsGrant } }>;
    mechanism?: { grant?: CbsGrant };
  };
}

const DEFAULT_IDLE_TIMEOUT_MS = 240_000;

function describeIdentity(identity: DeviceIdentity): string {
  return identity.moduleId === undefined
    ? `device '${identity.deviceId}'`
    : `module '${identity.deviceId}/${identity.moduleId}'`;
}

function noop(): void {
  // Deliberately empty: outcomes that do not matter.
}

function internalsOf(link: Sender | Receiver): LinkInternals {
  return link as unknown as LinkInternals;
}

/**
 * Echoes the client's source and target in the hub's ATTACH (§5.3: echo name, flipped role,
 * source and target); a refusal later nulls one of them before the frame is written.
 *
 * @returns the addresses of both termini
 */
function echoTermini(link: LinkInternals): { source: unknown; target: unknown } {
  const source = link.remote.attach?.source;
  const target = link.remote.attach?.target;
  if (source !== undefined && source !== null) link.set_source(source);
  if (target !== undefined && target !== null) link.set_target(target);
  return { source: source?.address, target: target?.address };
}

/** IoT Hub's link-error description: the device error body as JSON (protocol.md §5.6). */
function linkErrorDescription(code: string, message: string): string {
  return JSON.stringify(
    formatDeviceErrorBody(
      code,
      message,
      randomUUID().replaceAll('-', ''),
      new Date().toISOString(),
    ),
  );
}

class RheaAmqpEndpoint implements AmqpEndpoint {
  readonly protocol = 'amqp' as const;
  readonly webSocketSubprotocols: readonly string[] = [AMQP_WEBSOCKET_SUBPROTOCOL];
  readonly faults: DeviceEndpointFaults;
  readonly #core: HubCore;
  readonly #container: Container;
  readonly #now: () => number;
  readonly #idleTimeoutInMs: number;
  readonly #faultState = new DeviceEndpointFaultState();
  readonly #states = new Map<Connection, ConnectionState>();
  /** Connections by identity, for desired fan-out and connection state. */
  readonly #byIdentity = new Map<string, Set<ConnectionState>>();
  /** Tokens expired early by a fault; refused from then on. */
  readonly #refusedTokens = new Set<string>();
  readonly #webSockets: WebSocketServer;
  readonly #webSocketsById = new Map<string, WebSocket>();
  readonly #deferred = new DeferredActions();
  readonly #unsubscribers: (() => void)[] = [];
  #webSocketCounter = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(core: HubCore, options: AmqpEndpointOptions) {
    this.#core = core;
    this.#now = options.now ?? (() => Date.now());
    this.#idleTimeoutInMs = options.idleTimeoutInMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#container = rhea.create_container({ id: `twinkit-hub-${core.hostName}` });
    this.#configureSasl();
    this.#webSockets = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      // Echo the spelling the client offered (protocol.md §1).
      handleProtocols: (protocols) =>
        [...protocols].find((protocol) => protocol.toUpperCase() === AMQP_WEBSOCKET_SUBPROTOCOL) ??
        false,
    });
    this.faults = createDeviceEndpointFaults(this.#faultState, {
      dropConnection: (identity) => this.#dropConnection(identity),
      expireToken: (identity) => this.#expireToken(identity),
      releaseHeld: () => {
        for (const connection of this.#states.values()) {
          for (const sender of connection.twinSenders) {
            releaseHeldDesired(sender, (held) => {
              this.#send(sender.link, held);
            });
          }
        }
      },
    });
    this.#wireContainer();
    this.#unsubscribers.push(
      core.onDesiredChanged((event) => {
        this.#onDesiredChanged(event);
      }),
      core.onIdentityChanged((event) => {
        this.#revoke({ deviceId: event.deviceId, moduleId: event.moduleId });
      }),
    );
  }

  get connectionCount(): number {
    return this.#states.size;
  }

  isConnected(identity: DeviceIdentity): boolean {
    return (this.#byIdentity.get(identityKey(identity))?.size ?? 0) > 0;
  }

  // --- transports -----------------------------------------------------------------------------

  #connectionOptions(): Record<string, unknown> {
    return {
      container_id: this.#container.id,
      idle_time_out: this.#idleTimeoutInMs,
      max_frame_size: 256 * 1024,
      // Request/response traffic: Nagle plus delayed ACKs would add ~40 ms to some answers.
      tcp_no_delay: true,
      // Client senders get credit as soon as they attach (§5.3); requests arrive pre-settled, and
      // CBS requests are accepted by hand so the disposition precedes the answer (§5.2).
      receiver_options: { autoaccept: false, credit_window: 100 },
      // Responses and notifications go out settled (§5.3).
      sender_options: { snd_settle_mode: 1 },
    };
  }

  async listen(options: {
    host: string;
    port: number;
    tls: { key: string; cert: string };
  }): Promise<{ port: number; close(): Promise<void> }> {
    if (this.#closed) throw new Error('The AMQP endpoint is closed.');
    const server = this.#container.listen({
      ...this.#connectionOptions(),
      transport: 'tls',
      host: options.host,
      port: options.port,
      key: options.tls.key,
      cert: options.tls.cert,
    });
    // A client that fails the handshake must not take the listener down.
    server.on('tlsClientError', (_error, socket) => {
      socket.destroy();
    });
    return serveListener(server, 'secureConnection', options.port);
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#webSockets.handleUpgrade(request, socket, head, (webSocket) => {
      if (webSocket.protocol.toUpperCase() !== AMQP_WEBSOCKET_SUBPROTOCOL) {
        webSocket.terminate();
        return;
      }
      this.#webSocketCounter += 1;
      const id = `amqp-ws-${String(this.#webSocketCounter)}`;
      this.#webSocketsById.set(id, webSocket);
      webSocket.once('close', () => this.#webSocketsById.delete(id));
      this.#container.websocket_accept(
        webSocket as unknown as Parameters<Container['websocket_accept']>[0],
        {
          ...this.#connectionOptions(),
          id,
        } as Parameters<Container['websocket_accept']>[1],
      );
    });
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
    for (const state of [...this.#states.values()]) {
      this.#forget(state);
      state.drop();
    }
    for (const webSocket of this.#webSockets.clients) webSocket.terminate();
    await new Promise<void>((resolve) => {
      this.#webSockets.close(() => {
        resolve();
      });
    });
  }

  // --- SASL -------------------------------------------------------------------------------------

  #configureSasl(): void {
    // §5.1: advertise MSSBCBS ANONYMOUS PLAIN EXTERNAL, answer ok. ANONYMOUS among them makes rhea
    // accept the bare AMQP header too (Node and C# send no SASL layer). Insertion order is the
    // advertised order.
    const mechanisms = this.#container.sasl_server_mechanisms as Record<string, unknown> & {
      enable_anonymous(): void;
    };
    mechanisms.MSSBCBS = () => ({
      outcome: undefined as boolean | undefined,
      start(this: { outcome?: boolean }) {
        this.outcome = true;
      },
    });
    mechanisms.enable_anonymous();
    // PLAIN carries a SAS token as the password (one token per connection, §5.1); a valid one
    // becomes a grant of the connection, an invalid one fails SASL.
    mechanisms.PLAIN = () => this.#plainMechanism();
    mechanisms.EXTERNAL = () => ({
      outcome: undefined as boolean | undefined,
      start(this: { outcome?: boolean }) {
        this.outcome = true;
      },
    });
  }

  #plainMechanism(): {
    outcome?: boolean;
    username?: string;
    grant?: CbsGrant;
    start(response: Buffer | undefined): Promise<void>;
  } {
    const core = this.#core;
    const refused = this.#refusedTokens;
    const mechanism: {
      outcome?: boolean;
      username?: string;
      grant?: CbsGrant;
      start(response: Buffer | undefined): Promise<void>;
    } = {
      async start(response) {
        const fields = (response ?? Buffer.alloc(0)).toString('utf8').split('\u0000');
        const username = fields[1] ?? '';
        const password = fields[2] ?? '';
        const token = password.trim();
        // The username is `<deviceId>@sas.<hub>` or `<policy>@sas.root.<hub>`; the token's sr says the rest.
        const sr = /(?:^|&|\s)sr=([^&]*)/.exec(token)?.[1] ?? '';
        const result = await verifyPutToken(core, { token, audience: sr }, refused);
        mechanism.username = username;
        if (result.ok) {
          mechanism.grant = result.grant;
          mechanism.outcome = true;
        } else {
          mechanism.outcome = false;
        }
      },
    };
    return mechanism;
  }

  // --- connections --------------------------------------------------------------------------------

  #wireContainer(): void {
    const container = this.#container;
    // Unhandled link and session errors are emitted on the container; they must not crash the hub.
    container.on('error', noop);
    container.on('connection_open', (context: EventContext) => {
      this.#onConnectionOpen(context.connection);
    });
    container.on('connection_close', (context: EventContext) => {
      this.#onConnectionGone(context.connection);
    });
    container.on('disconnected', (context: EventContext) => {
      this.#onConnectionGone(context.connection);
    });
    container.on('sender_open', (context: EventContext) => {
      if (context.sender !== undefined) this.#onSenderOpen(context.connection, context.sender);
    });
    container.on('receiver_open', (context: EventContext) => {
      if (context.receiver !== undefined)
        this.#onReceiverOpen(context.connection, context.receiver);
    });
    container.on('sender_close', (context: EventContext) => {
      if (context.sender !== undefined) this.#onLinkClosed(context.connection, context.sender);
    });
    container.on('receiver_close', (context: EventContext) => {
      if (context.receiver !== undefined) this.#onLinkClosed(context.connection, context.receiver);
    });
    container.on('message', (context: EventContext) => {
      this.#onMessage(context);
    });
  }

  #stateOf(connection: Connection): ConnectionState {
    let state = this.#states.get(connection);
    if (state === undefined) {
      const internals = connection as unknown as ConnectionInternals;
      const id = internals.options.id;
      state = {
        connection,
        drop: () => {
          const webSocket = id === undefined ? undefined : this.#webSocketsById.get(id);
          if (webSocket !== undefined) webSocket.terminate();
          else internals.socket?.destroy?.();
        },
        grants: new Map(),
        grantTimers: new Map(),
        cbsSenders: new Set(),
        twinSenders: new Set(),
        twinReceivers: new Map(),
        identities: new Map(),
        queues: new Map(),
        closed: false,
      };
      this.#states.set(connection, state);
    }
    return state;
  }

  #onConnectionOpen(connection: Connection): void {
    const state = this.#stateOf(connection);
    if (this.#closed) {
      state.drop();
      return;
    }
    const internals = connection as unknown as ConnectionInternals;
    const sasl = internals.sasl_transport;
    const grant = sasl?.transports?.[3]?.mechanism?.grant ?? sasl?.mechanism?.grant;
    if (grant !== undefined) this.#addGrant(state, grant);
  }

  #onConnectionGone(connection: Connection): void {
    const state = this.#states.get(connection);
    if (state !== undefined) this.#forget(state);
  }

  /** Ends the bookkeeping of a connection: grants, timers, links, connection state. */
  #forget(state: ConnectionState): void {
    if (state.closed) return;
    state.closed = true;
    this.#states.delete(state.connection);
    for (const timer of state.grantTimers.values()) timer.cancel();
    state.grantTimers.clear();
    state.grants.clear();
    state.twinSenders.clear();
    state.twinReceivers.clear();
    state.cbsSenders.clear();
    for (const [key, identity] of [...state.identities]) this.#removeIdentity(state, key, identity);
  }

  #addIdentity(state: ConnectionState, identity: DeviceIdentity): void {
    const key = identityKey(identity);
    if (state.identities.has(key)) return;
    state.identities.set(key, identity);
    let states = this.#byIdentity.get(key);
    if (states === undefined) {
      states = new Set();
      this.#byIdentity.set(key, states);
    }
    states.add(state);
    if (states.size === 1)
      bestEffort(() => {
        this.#core.setConnectionState(identity.deviceId, identity.moduleId, 'Connected');
      });
  }

  #removeIdentity(state: ConnectionState, key: string, identity: DeviceIdentity): void {
    state.identities.delete(key);
    const states = this.#byIdentity.get(key);
    if (states === undefined) return;
    states.delete(state);
    if (states.size > 0) return;
    this.#byIdentity.delete(key);
    bestEffort(() => {
      this.#core.setConnectionState(identity.deviceId, identity.moduleId, 'Disconnected');
    });
  }

  // --- links ----------------------------------------------------------------------------------

  /** A client receiver attached: the hub sends on it (`$cbs` answers, twin responses and notifications). */
  #onSenderOpen(connection: Connection, sender: Sender): void {
    const state = this.#stateOf(connection);
    const link = internalsOf(sender);
    const { source } = echoTermini(link);
    link.local.attach.snd_settle_mode = 1;
    link.local.attach.rcv_settle_mode = 0;
    if (source === CBS_NODE) {
      state.cbsSenders.add(sender);
      return;
    }
    const twin = this.#admitTwinLink(state, sender, source, 'source');
    if (twin === undefined) return;
    state.twinSenders.add({ ...twin, link: sender, subscribed: false, held: undefined });
  }

  /** A client sender attached: the hub receives on it (put-token requests, twin requests). */
  #onReceiverOpen(connection: Connection, receiver: Receiver): void {
    const state = this.#stateOf(connection);
    const link = internalsOf(receiver);
    const { target } = echoTermini(link);
    link.local.attach.rcv_settle_mode = 0;
    if (target === CBS_NODE) return;
    const twin = this.#admitTwinLink(state, receiver, target, 'target');
    if (twin === undefined) return;
    state.twinReceivers.set(receiver, { ...twin, link: receiver });
  }

  /**
   * Decides whether a twin link may attach: a twin address, a well-formed
   * channel-correlation-id, and a CBS grant covering the identity (§5.2, §5.3). Refusals detach
   * with the AMQP error conditions IoT Hub uses (§5.6).
   */
  #admitTwinLink(
    state: ConnectionState,
    link: Sender | Receiver,
    address: unknown,
    terminus: 'source' | 'target',
  ): TwinLink | undefined {
    const parsed = typeof address === 'string' ? parseTwinLinkAddress(address) : undefined;
    if (parsed === undefined) {
      this.#refuse(
        link,
        terminus,
        'amqp:not-found',
        'LinkAddressNotFound',
        `The link address '${String(address)}' did not match any of the expected formats.`,
      );
      return undefined;
    }
    const identity: DeviceIdentity =
      parsed.moduleId === undefined
        ? { deviceId: parsed.deviceId }
        : { deviceId: parsed.deviceId, moduleId: parsed.moduleId };
    const properties = internalsOf(link).remote.attach?.properties ?? {};
    const channelId = properties[TWIN_LINK_PROPERTY.channelCorrelationId];
    if (channelId !== undefined && channelId !== null && typeof channelId !== 'string') {
      this.#refuse(
        link,
        terminus,
        'amqp:invalid-field',
        'ArgumentInvalid',
        `The link property ${TWIN_LINK_PROPERTY.channelCorrelationId} must be a string.`,
      );
      return undefined;
    }
    if (!this.#authorized(state, identity)) {
      this.#refuse(
        link,
        terminus,
        'amqp:unauthorized-access',
        'IotHubUnauthorizedAccess',
        `No valid CBS token on this connection covers ${describeIdentity(identity)}; put one on $cbs first.`,
      );
      return undefined;
    }
    this.#addIdentity(state, identity);
    return {
      identity,
      key: identityKey(identity),
      channelId: typeof channelId === 'string' ? channelId : undefined,
      state,
    };
  }

  #authorized(state: ConnectionState, identity: DeviceIdentity): boolean {
    const now = this.#now();
    const covered = [...state.grants.values()].some((grant) =>
      grantCovers(grant, this.#core.hostName, identity, now),
    );
    if (!covered) return false;
    const entry = this.#core.getEntry(identity.deviceId, identity.moduleId);
    if (entry === undefined) return false;
    return this.#core.getEntry(identity.deviceId)?.identity.status !== 'disabled';
  }

  #refuse(
    link: Sender | Receiver,
    terminus: 'source' | 'target',
    condition: string,
    code: string,
    message: string,
  ): void {
    // A null terminus in our ATTACH is the refusal; the DETACH carries the reason (§5.3, §5.6).
    internalsOf(link).local.attach[terminus] = null;
    link.close({ condition, description: linkErrorDescription(code, message) });
  }

  #onLinkClosed(connection: Connection, link: Sender | Receiver): void {
    const state = this.#states.get(connection);
    if (state === undefined) return;
    state.cbsSenders.delete(link as Sender);
    state.twinReceivers.delete(link as Receiver);
    for (const twin of state.twinSenders) if (twin.link === link) state.twinSenders.delete(twin);
  }

  // --- messages -------------------------------------------------------------------------------

  #onMessage(context: EventContext): void {
    const receiver = context.receiver;
    const message = context.message;
    if (receiver === undefined || message === undefined) return;
    const state = this.#states.get(context.connection);
    if (state === undefined || state.closed) return;
    const target = internalsOf(receiver).remote.attach?.target?.address;
    if (target === CBS_NODE) {
      this.#onPutToken(state, context, message);
      return;
    }
    // Requests arrive pre-settled (§5.3). Settling them locally anyway is what frees rhea's
    // session buffer: without it the session window closes after 2048 requests. For a
    // pre-settled delivery no DISPOSITION goes out.
    (context.delivery as { accept?: () => void } | undefined)?.accept?.();
    const twin = state.twinReceivers.get(receiver);
    if (twin === undefined) return;
    bestEffort(() => {
      this.#core.touchActivity(twin.identity.deviceId, twin.identity.moduleId);
    });
    const queue = state.queues.get(twin.key) ?? Promise.resolve();
    const next = queue.then(() => this.#answerTwinRequest(twin, message)).catch(noop);
    state.queues.set(twin.key, next);
  }

  // §5.2: settle (accept) the put-token first, then answer on the $cbs receiver of the
  // connection, echoing message-id as correlation-id with its AMQP type.
  #onPutToken(state: ConnectionState, context: EventContext, message: Message): void {
    const delivery = context.delivery as { accept?: () => void } | undefined;
    delivery?.accept?.();
    const correlationId = message.message_id;
    const replyTo = typeof message.reply_to === 'string' ? message.reply_to : undefined;
    const answer = (status: CbsStatus): void => {
      // The disposition goes out on rhea's next tick; answer after it.
      setImmediate(() => {
        this.#sendCbsResponse(state, replyTo, correlationId, status);
      });
    };
    const read = readPutToken(
      message.application_properties as Record<string, unknown> | undefined,
      message.body,
    );
    if (!read.ok) {
      answer(read);
      return;
    }
    verifyPutToken(this.#core, read.request, this.#refusedTokens).then(
      (result) => {
        if (state.closed) return;
        if (!result.ok) {
          answer(result);
          return;
        }
        this.#addGrant(state, result.grant);
        answer({ statusCode: 200, description: 'OK' });
      },
      () => {
        answer({ statusCode: 500, description: 'The hub failed to check the token.' });
      },
    );
  }

  #sendCbsResponse(
    state: ConnectionState,
    replyTo: string | undefined,
    correlationId: unknown,
    status: CbsStatus,
  ): void {
    if (state.closed) return;
    const senders = [...state.cbsSenders].filter((sender) => sender.is_open());
    // Prefer the receiver whose target is the request's reply-to (C# uses a GUID address).
    const sender =
      senders.find(
        (candidate) =>
          replyTo !== undefined &&
          internalsOf(candidate).remote.attach?.target?.address === replyTo,
      ) ?? senders[0];
    if (sender === undefined) return;
    const bytes = encodeMessage({
      correlationId,
      to: replyTo,
      applicationProperties: {
        [CBS_PROPERTY.statusCode]: amqpInt(status.statusCode),
        [CBS_PROPERTY.statusDescription]: status.description,
      },
    });
    sender.send(bytes, undefined, 0);
  }

  #addGrant(state: ConnectionState, grant: CbsGrant): void {
    // A renewal for the same scope replaces the old grant and its expiry (§3.5).
    state.grantTimers.get(grant.resource)?.cancel();
    state.grants.set(grant.resource, grant);
    this.#scheduleGrantExpiry(state, grant);
    if (
      grant.identity !== undefined &&
      this.#core.getEntry(grant.identity.deviceId, grant.identity.moduleId) !== undefined
    ) {
      this.#addIdentity(state, grant.identity);
    }
  }

  // §3.5: the hub closes what an expired token opened; schedule it at `se`.
  #scheduleGrantExpiry(state: ConnectionState, grant: CbsGrant): void {
    const timer = scheduleExpiry(
      grant.expiresAtMs,
      () => this.#now(),
      () => {
        state.grantTimers.delete(grant.resource);
        if (state.grants.get(grant.resource) !== grant) return;
        state.grants.delete(grant.resource);
        this.#detachUncovered(state, 'The SAS token has expired.');
      },
    );
    state.grantTimers.set(grant.resource, timer);
  }

  /** Detaches the twin links no live grant covers any more, with `amqp:unauthorized-access`. */
  #detachUncovered(state: ConnectionState, reason: string): void {
    const description = linkErrorDescription('IotHubUnauthorizedAccess', reason);
    const now = this.#now();
    const stillCovered = (identity: DeviceIdentity): boolean =>
      [...state.grants.values()].some((grant) =>
        grantCovers(grant, this.#core.hostName, identity, now),
      );
    for (const twin of [...state.twinSenders]) {
      if (stillCovered(twin.identity)) continue;
      state.twinSenders.delete(twin);
      twin.link.close({ condition: 'amqp:unauthorized-access', description });
    }
    for (const [receiver, twin] of [...state.twinReceivers]) {
      if (stillCovered(twin.identity)) continue;
      state.twinReceivers.delete(receiver);
      receiver.close({ condition: 'amqp:unauthorized-access', description });
    }
    for (const [key, identity] of [...state.identities]) {
      if (!stillCovered(identity)) this.#removeIdentity(state, key, identity);
    }
  }

  // --- twins ------------------------------------------------------------------------------------

  async #answerTwinRequest(twin: TwinReceiverLink, message: Message): Promise<void> {
    const annotations = (message.message_annotations ?? {}) as Record<string, unknown>;
    const operation = annotations[TWIN_ANNOTATION.operation];
    const resource = annotations[TWIN_ANNOTATION.resource];
    const correlationId = message.correlation_id;
    let response: OutgoingMessage;
    let delayInMs: number | undefined;
    if (
      operation === KnownTwinAmqpOperation.get ||
      (operation === KnownTwinAmqpOperation.patch && resource === REPORTED_PROPERTIES_RESOURCE)
    ) {
      const kind: DeviceTwinOperation =
        operation === KnownTwinAmqpOperation.get ? 'getTwin' : 'updateReported';
      ({ response, delayInMs } = await this.#twinOperation(twin, kind, message, annotations));
    } else if (
      (operation === KnownTwinAmqpOperation.put || operation === KnownTwinAmqpOperation.delete) &&
      resource === DESIRED_NOTIFICATIONS_RESOURCE
    ) {
      this.#setSubscription(twin, operation === KnownTwinAmqpOperation.put);
      // §5.4: any 2xx is accepted; 200 assumed (§10).
      response = { annotations: { [TWIN_ANNOTATION.status]: amqpInt(200) } };
    } else {
      response = this.#errorResponse(
        400,
        'ArgumentInvalid',
        `Unsupported twin operation '${String(operation)}' on resource '${String(resource)}'.`,
      );
    }
    response.correlationId = correlationId;
    this.#deferred.run(delayInMs, () => {
      this.#sendTwinResponse(twin, response);
    });
  }

  async #twinOperation(
    twin: TwinReceiverLink,
    kind: DeviceTwinOperation,
    message: Message,
    annotations: Record<string, unknown>,
  ): Promise<{ response: OutgoingMessage; delayInMs: number | undefined }> {
    const fault = this.#faultState.takeTwinResponseFault(kind, twin.identity);
    const response = await respondUnderFault(fault, {
      applyHubFault: () => this.#core.faults.apply(DEVICE_TWIN_FAULT_OPERATIONS[kind]),
      perform: () => this.#performTwinOperation(twin, kind, message, annotations),
      error: (statusCode, code, text) => this.#errorResponse(statusCode, code, text),
    });
    return { response, delayInMs: fault.delayInMs };
  }

  async #performTwinOperation(
    twin: TwinReceiverLink,
    kind: DeviceTwinOperation,
    message: Message,
    annotations: Record<string, unknown>,
  ): Promise<OutgoingMessage> {
    const { deviceId, moduleId } = twin.identity;
    try {
      if (kind === 'getTwin') {
        // §5.4: status 200 and one data section with the device view (both $version, no tags).
        const document = this.#core.getDeviceTwin(deviceId, moduleId);
        return {
          annotations: { [TWIN_ANNOTATION.status]: amqpInt(200) },
          body: JSON.stringify(document),
        };
      }
      const text = bodyText(message.body);
      let patch: unknown;
      try {
        patch = JSON.parse(text ?? '');
      } catch {
        return this.#errorResponse(
          400,
          'ArgumentInvalid',
          'The reported properties patch is not valid JSON.',
        );
      }
      // A non-null `version` annotation is taken as the reported base version (§5.4, UNCONFIRMED).
      const base = annotations[TWIN_ANNOTATION.version];
      const baseVersion = typeof base === 'number' ? base : undefined;
      const { version } = await this.#core.updateReported(deviceId, moduleId, patch, baseVersion);
      // §5.4: 204 with the new reported version as a long, no body.
      return {
        annotations: {
          [TWIN_ANNOTATION.status]: amqpInt(204),
          [TWIN_ANNOTATION.version]: amqpLong(version),
        },
      };
    } catch (error) {
      if (isHubError(error))
        return this.#errorResponse(
          error.statusCode,
          error.code,
          wireTextOf(error) ?? error.message,
        );
      return this.#errorResponse(500, 'ServerError', 'The hub failed to process the twin request.');
    }
  }

  #errorResponse(statusCode: number, code: string | number, text: string): OutgoingMessage {
    const body = formatDeviceErrorBody(
      code,
      text,
      randomUUID().replaceAll('-', ''),
      new Date(this.#now()).toISOString(),
    );
    return {
      annotations: { [TWIN_ANNOTATION.status]: amqpInt(statusCode) },
      body: JSON.stringify(body),
    };
  }

  /** The hub sender paired with a client sender: same channel-correlation-id, else the identity's (§5.3). */
  #pairedSenders(twin: TwinLink): TwinSenderLink[] {
    const candidates = [...twin.state.twinSenders].filter(
      (sender) => sender.key === twin.key && sender.link.is_open(),
    );
    const paired = candidates.filter(
      (sender) => twin.channelId !== undefined && sender.channelId === twin.channelId,
    );
    return paired.length > 0 ? paired : candidates.slice(0, 1);
  }

  #setSubscription(twin: TwinReceiverLink, subscribed: boolean): void {
    for (const sender of this.#pairedSenders(twin)) {
      sender.subscribed = subscribed;
      if (!subscribed) sender.held = undefined;
    }
  }

  #sendTwinResponse(twin: TwinReceiverLink, response: OutgoingMessage): void {
    if (twin.state.closed) return;
    const sender = this.#pairedSenders(twin)[0];
    if (sender === undefined) return;
    this.#send(sender.link, response);
  }

  #send(sender: Sender, message: OutgoingMessage): void {
    if (!sender.is_open()) return;
    sender.send(encodeMessage(message), undefined, 0);
  }

  // §5.5: after a PUT, on the twin receiver link, no correlation-id, data section with $version,
  // and the `version` annotation as a long. Once per change, in version order (§7).
  #onDesiredChanged(event: DesiredChangeEvent): void {
    const identity: DeviceIdentity = { deviceId: event.deviceId, moduleId: event.moduleId };
    const states = this.#byIdentity.get(identityKey(identity));
    if (states === undefined) return;
    const notification: OutgoingMessage = {
      annotations: { [TWIN_ANNOTATION.version]: amqpLong(event.version) },
      body: JSON.stringify(event.notification satisfies JsonObject),
    };
    for (const state of states) {
      for (const sender of state.twinSenders) {
        if (sender.key !== identityKey(identity) || !sender.subscribed) continue;
        const fault = this.#faultState.takeDesiredFault(identity);
        sendDesiredUnderFault(fault, sender, notification, (outgoing) => {
          this.#send(sender.link, outgoing);
        });
      }
    }
  }

  // --- revocation and faults -------------------------------------------------------------------

  /** A deleted or disabled identity, or new keys: its grants go and its links are detached. */
  #revoke(identity: DeviceIdentity): void {
    for (const state of [...this.#states.values()]) {
      let changed = false;
      for (const [resource, grant] of [...state.grants]) {
        const matches =
          grant.identity === undefined
            ? false
            : grant.identity.deviceId === identity.deviceId &&
              (identity.moduleId === undefined || grant.identity.moduleId === identity.moduleId);
        if (!matches) continue;
        state.grants.delete(resource);
        state.grantTimers.get(resource)?.cancel();
        state.grantTimers.delete(resource);
        changed = true;
      }
      if (changed)
        this.#detachUncovered(
          state,
          `The credentials of ${describeIdentity(identity)} were revoked.`,
        );
    }
  }

  #statesOf(identity: DeviceIdentity): ConnectionState[] {
    return [...(this.#byIdentity.get(identityKey(identity)) ?? [])];
  }

  #dropConnection(identity: DeviceIdentity): boolean {
    const states = this.#statesOf(identity);
    for (const connection of states) {
      this.#forget(connection);
      connection.drop();
    }
    return states.length > 0;
  }

  #expireToken(identity: DeviceIdentity): boolean {
    let expired = false;
    const now = this.#now();
    for (const connection of this.#statesOf(identity)) {
      for (const [resource, grant] of [...connection.grants]) {
        if (!grantCovers(grant, this.#core.hostName, identity, now)) continue;
        this.#refusedTokens.add(grant.token);
        connection.grants.delete(resource);
        connection.grantTimers.get(resource)?.cancel();
        connection.grantTimers.delete(resource);
        expired = true;
      }
      this.#detachUncovered(connection, 'The SAS token has expired.');
    }
    return expired;
  }
}

/**
 * Creates the hub's AMQP endpoint for a hub core. Register it with `core.registerEndpoint` so
 * `listen()` serves AMQP over TLS (5671 with standard ports) and over WebSocket on the HTTPS port;
 * close it before the core.
 *
 * @param core - the hub core
 * @param options - clock and idle timeout
 * @returns the endpoint
 * @example
 * ```ts
 * const amqp = createAmqpEndpoint(core);
 * core.registerEndpoint(amqp);
 * await using server = await listen(hub, { amqpPort: 0 });
 * ```
 */
export function createAmqpEndpoint(core: HubCore, options: AmqpEndpointOptions = {}): AmqpEndpoint {
  return new RheaAmqpEndpoint(core, options);
}

/**
 * Creates the AMQP endpoint for a hub core and registers it.
 *
 * @param core - the hub core
 * @param options - endpoint options
 * @returns the endpoint
 * @internal
 */
export function attachAmqpEndpoint(core: HubCore, options: AmqpEndpointOptions = {}): AmqpEndpoint {
  const endpoint = createAmqpEndpoint(core, options);
  core.registerEndpoint(endpoint);
  return endpoint;
}

/**
 * The AMQP endpoint registered with a hub core, if any.
 *
 * @param core - the hub core
 * @returns the endpoint, or `undefined` when the hub serves no AMQP
 * @internal
 */
export function findAmqpEndpoint(core: HubCore): AmqpEndpoint | undefined {
  for (const candidate of core.endpoints) {
    if (candidate instanceof RheaAmqpEndpoint) return candidate;
  }
  return undefined;
}
