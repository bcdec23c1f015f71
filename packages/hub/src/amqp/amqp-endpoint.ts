/**
 * The hub's AMQP 1.0 endpoint on rhea (docs/internals/wire-contract.md#amqp): a codec over the device-session core.
 * It accepts connections with or without SASL (MSSBCBS, ANONYMOUS, PLAIN, EXTERNAL advertised),
 * CBS put-tokens on `$cbs`, and twin links at `/devices/{id}[/modules/{mid}]/twin` (relative or
 * absolute `amqps://host[:port]/…`); amqp-connection.ts carries each connection. Bytes reach rhea
 * only through a {@link GuardedStream} with AMQP framing rules, so huge frames and messages are
 * refused on their size fields and silent peers are closed at the authentication deadline; once
 * open, rhea closes a connection idle for twice the announced idle-timeout (AMQP 1.0 §2.4.5).
 * Served over TLS by `listen()` on its own port and over WebSocket (`AMQPWSB10`) on
 * `/$iothub/websocket` of the HTTPS port.
 *
 * @see docs/internals/wire-contract.md#amqp
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import rhea, { type Connection, type Container, type EventContext } from 'rhea';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { KnownAmqpSaslMechanism, KnownWebSocketSubprotocol } from '@twinkit/twin-model/protocol';
import type { DeviceIdentity } from '../device-endpoint/endpoint-support.js';
import { GuardedStream } from '../device-endpoint/guarded-stream.js';
import {
  resolveDeviceEndpointLimits,
  type DeviceEndpointLimits,
} from '../device-endpoint/limits.js';
import type {
  ProtocolEndpoint,
  ProtocolListenOptions,
} from '../device-endpoint/protocol-endpoint.js';
import { serveTls } from '../device-endpoint/tls-listener.js';
import type { Grant } from '../device-session/credentials.js';
import { DeviceSessionCore } from '../device-session/device-session-core.js';
import type { DeviceEndpointFaults } from '../faults/device-endpoint-faults.js';
import type { HubCore } from '../hub-core.js';
import { AmqpDeviceConnection } from './amqp-connection.js';
import { AmqpFrameInspector } from './amqp-frame-inspector.js';

/** The WebSocket subprotocol of AMQP over WebSocket (docs/internals/wire-contract.md#endpoints). */
export const AMQP_WEBSOCKET_SUBPROTOCOL = KnownWebSocketSubprotocol.amqp;

/** Options for {@link createAmqpEndpoint}. */
export interface AmqpEndpointOptions {
  /** The clock, in milliseconds since the epoch (grant expiry). Default `Date.now`. */
  now?: (() => number) | undefined;
  /** Frame and message sizes, deadlines and the in-flight cap; see {@link DeviceEndpointLimits}. */
  limits?: Partial<DeviceEndpointLimits> | undefined;
}

/** The AMQP endpoint as registered with the hub core, so `listen()` can start it. */
export interface AmqpEndpoint extends ProtocolEndpoint, AsyncDisposable {
  readonly protocol: 'amqp';
  /** AMQP faults (surfaced as `hub.faults.amqp`). */
  readonly faults: DeviceEndpointFaults;
  /** Number of open AMQP connections that proved a credential. */
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

interface PlainMechanism {
  outcome?: boolean;
  username?: string;
  grant?: Grant;
  start(response: Buffer | undefined): Promise<void>;
}

/** rhea keeps the SASL mechanism of a connection without declaring it. */
interface ConnectionInternals {
  sasl_transport?: {
    transports?: Record<number, { mechanism?: PlainMechanism }>;
    mechanism?: PlainMechanism;
  };
}

function noop(): void {
  // Deliberately empty: outcomes that do not matter.
}

class RheaAmqpEndpoint implements AmqpEndpoint {
  readonly protocol = 'amqp' as const;
  readonly webSocketSubprotocols: readonly string[] = [AMQP_WEBSOCKET_SUBPROTOCOL];
  readonly faults: DeviceEndpointFaults;
  readonly #core: DeviceSessionCore;
  readonly #limits: DeviceEndpointLimits;
  readonly #container: Container;
  readonly #connections = new Map<Connection, AmqpDeviceConnection>();
  readonly #webSockets: WebSocketServer;
  #counter = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(core: DeviceSessionCore, limits: DeviceEndpointLimits) {
    this.#core = core;
    this.#limits = limits;
    this.faults = core.faults;
    this.#container = rhea.create_container({ id: `twinkit-hub-${core.hostName}` });
    this.#configureSasl();
    this.#webSockets = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      // ws's own default is 100 MiB; no AMQP frame is larger than the frame limit.
      maxPayload: limits.amqpMaxFrameBytes,
      // Echo the spelling the client offered (docs/internals/wire-contract.md#endpoints).
      handleProtocols: (protocols) =>
        [...protocols].find((protocol) => protocol.toUpperCase() === AMQP_WEBSOCKET_SUBPROTOCOL) ??
        false,
    });
    this.#wireContainer();
  }

  get connectionCount(): number {
    return this.#core.connectionCount;
  }

  isConnected(identity: DeviceIdentity): boolean {
    return this.#core.isConnected(identity);
  }

  // --- transports -----------------------------------------------------------------------------

  #connectionOptions(id: string): Record<string, unknown> {
    return {
      id,
      container_id: this.#container.id,
      idle_time_out: this.#limits.amqpIdleTimeoutInMs,
      max_frame_size: this.#limits.amqpMaxFrameBytes,
      // Request/response traffic: Nagle plus delayed ACKs would add ~40 ms to some answers.
      tcp_no_delay: true,
      // Client senders get credit as soon as they attach (docs/internals/wire-contract.md#amqp-twin-links); requests arrive pre-settled, and
      // CBS requests are accepted by hand so the disposition precedes the answer (docs/internals/wire-contract.md#amqp-cbs).
      receiver_options: {
        autoaccept: false,
        credit_window: 100,
        max_message_size: this.#limits.amqpMaxMessageBytes,
      },
      // Responses and notifications go out settled (docs/internals/wire-contract.md#amqp-twin-links).
      sender_options: { snd_settle_mode: 1 },
    };
  }

  /** Serves one AMQP connection over a byte stream (a TLS socket or a WebSocket stream). */
  #accept(stream: Duplex): void {
    if (this.#closed) {
      stream.destroy();
      return;
    }
    this.#counter += 1;
    const guard = new GuardedStream(
      stream,
      new AmqpFrameInspector({
        frameBeforeAuth: this.#limits.amqpMaxFrameBytesBeforeAuth,
        frame: this.#limits.amqpMaxFrameBytes,
        message: this.#limits.amqpMaxMessageBytes,
      }),
      { untrustedDeadlineInMs: this.#limits.authTimeoutInMs },
    );
    const connection = this.#container.create_connection(
      this.#connectionOptions(`amqp-${String(this.#counter)}`) as unknown as Parameters<
        Container['create_connection']
      >[0],
    );
    const state = new AmqpDeviceConnection(connection, this.#core, guard, () => {
      guard.destroy();
    });
    this.#connections.set(connection, state);
    guard.once('close', () => {
      this.#forget(connection);
    });
    (connection as unknown as { accept(socket: Duplex): void }).accept(guard);
  }

  async listen(options: ProtocolListenOptions): Promise<{ port: number; close(): Promise<void> }> {
    if (this.#closed) throw new Error('The AMQP endpoint is closed.');
    return serveTls('amqp', options, (socket) => {
      this.#accept(socket);
    });
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
      this.#accept(createWebSocketStream(webSocket));
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
    for (const state of [...this.#connections.values()]) {
      state.close();
      state.session.hooks.drop();
    }
    this.#connections.clear();
    this.#core.close();
    for (const webSocket of this.#webSockets.clients) webSocket.terminate();
    await new Promise<void>((resolve) => {
      this.#webSockets.close(() => {
        resolve();
      });
    });
  }

  // --- SASL -------------------------------------------------------------------------------------

  #configureSasl(): void {
    // docs/internals/wire-contract.md#amqp-connect: advertise MSSBCBS ANONYMOUS PLAIN EXTERNAL, answer ok. ANONYMOUS among them makes rhea
    // accept the bare AMQP header too (Node and C# send no SASL layer). Insertion order is the
    // advertised order. Identity comes from CBS (or the PLAIN token), decided by the core.
    const mechanisms = this.#container.sasl_server_mechanisms as Record<string, unknown> & {
      enable_anonymous(): void;
    };
    const accept = () => ({
      outcome: undefined as boolean | undefined,
      start(this: { outcome?: boolean }) {
        this.outcome = true;
      },
    });
    mechanisms[KnownAmqpSaslMechanism.cbs] = accept;
    // rhea's own ANONYMOUS mechanism (KnownAmqpSaslMechanism.anonymous).
    mechanisms.enable_anonymous();
    // PLAIN carries a SAS token as the password (one token per connection, docs/internals/wire-contract.md#amqp-connect); the core
    // decides during SASL whether it holds (an invalid one fails SASL), and the connection
    // adopts the grant at OPEN.
    mechanisms[KnownAmqpSaslMechanism.plain] = () => this.#plainMechanism();
    mechanisms[KnownAmqpSaslMechanism.external] = accept;
  }

  #plainMechanism(): PlainMechanism {
    const core = this.#core;
    const mechanism: PlainMechanism = {
      async start(response) {
        const fields = (response ?? Buffer.alloc(0)).toString('utf8').split('\u0000');
        // The username is `<deviceId>@sas.<hub>` or `<policy>@sas.root.<hub>`; the token says the rest.
        mechanism.username = fields[1] ?? '';
        const token = (fields[2] ?? '').trim();
        const result = await core.verify({ sasToken: token });
        mechanism.outcome = result.ok;
        if (result.ok) mechanism.grant = result.grant;
      },
    };
    return mechanism;
  }

  // --- connections ------------------------------------------------------------------------------

  #wireContainer(): void {
    const container = this.#container;
    // Unhandled link and session errors are emitted on the container; they must not crash the hub.
    container.on('error', noop);
    container.on('connection_open', (context: EventContext) => {
      this.#onConnectionOpen(context.connection);
    });
    container.on('connection_close', (context: EventContext) => {
      this.#forget(context.connection);
    });
    container.on('disconnected', (context: EventContext) => {
      this.#forget(context.connection);
    });
    container.on('sender_open', (context: EventContext) => {
      if (context.sender !== undefined)
        this.#connections.get(context.connection)?.onSenderOpen(context.sender);
    });
    container.on('receiver_open', (context: EventContext) => {
      if (context.receiver !== undefined)
        this.#connections.get(context.connection)?.onReceiverOpen(context.receiver);
    });
    const onLinkClosed = (context: EventContext): void => {
      const link = context.sender ?? context.receiver;
      if (link !== undefined) this.#connections.get(context.connection)?.onLinkClosed(link);
    };
    container.on('sender_close', onLinkClosed);
    container.on('receiver_close', onLinkClosed);
    container.on('message', (context: EventContext) => {
      this.#connections.get(context.connection)?.onMessage(context);
    });
  }

  #onConnectionOpen(connection: Connection): void {
    const state = this.#connections.get(connection);
    if (state === undefined) return;
    if (this.#closed) {
      state.session.hooks.drop();
      return;
    }
    const sasl = (connection as unknown as ConnectionInternals).sasl_transport;
    const grant = sasl?.transports?.[3]?.mechanism?.grant ?? sasl?.mechanism?.grant;
    if (grant !== undefined) state.adoptSaslGrant(grant);
  }

  #forget(connection: Connection): void {
    const state = this.#connections.get(connection);
    if (state === undefined) return;
    this.#connections.delete(connection);
    state.close();
  }
}

/**
 * Creates the hub's AMQP endpoint for a hub core, over a device-session core of its own (its
 * faults are `hub.faults.amqp`). Register it with `core.registerEndpoint` so `listen()` serves
 * AMQP over TLS (5671 with standard ports) and over WebSocket on the HTTPS port; close it before
 * the core.
 *
 * @param hub - the hub core
 * @param options - clock and limits
 * @returns the endpoint
 * @throws {@link RangeError} or {@link TypeError} for invalid limits
 * @example
 * ```ts
 * const amqp = createAmqpEndpoint(core);
 * core.registerEndpoint(amqp);
 * await using server = await listen(hub, { amqpPort: 0 });
 * ```
 */
export function createAmqpEndpoint(hub: HubCore, options: AmqpEndpointOptions = {}): AmqpEndpoint {
  const limits = resolveDeviceEndpointLimits(options.limits);
  const core = new DeviceSessionCore(hub, {
    now: options.now,
    maxInFlightTwinRequests: limits.maxInFlightTwinRequests,
  });
  return new RheaAmqpEndpoint(core, limits);
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
