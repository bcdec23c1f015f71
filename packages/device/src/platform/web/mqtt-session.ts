/**
 * One MQTT 3.1.1 connection over a WebSocket (subprotocol `mqtt`, binary frames, MQTT-6.0), for
 * the web build: what mqtt.js's browser build did for the transport, in a few kilobytes and on
 * `Uint8Array` only (issue #16). It keeps IoT Hub's settings, as the Node build asks mqtt.js to:
 * protocol level 4, clean session off (docs/internals/wire-contract.md#mqtt-sessions), no
 * reconnect and no resubscription (the DeviceClient owns both,
 * docs/internals/architecture.md#transport-boundary), nothing queued while not connected.
 *
 * @internal
 */
import type { MqttConnection, MqttConnectionOptions, MqttGrant } from '../types.js';
import {
  DISCONNECT_PACKET,
  encodeConnect,
  encodePuback,
  encodePublish,
  encodeSubscribe,
  encodeUnsubscribe,
  MqttPacketReader,
  PINGREQ_PACKET,
  type IncomingPacket,
} from './mqtt-codec.js';

/** The WebSocket surface the session needs; the global `WebSocket` and `ws`'s both have it. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number }) => void): void;
}

/** Builds a WebSocket the way `new WebSocket(url, protocol)` does. */
export type WebSocketConstructor = new (url: string, protocol: string) => WebSocketLike;

/** The broker refused the CONNECT; `code` is the CONNACK return code (MQTT-3.2.2.3). */
export class MqttConnackError extends Error {
  override readonly name = 'MqttConnackError';
  readonly code: number;

  constructor(code: number) {
    super(`The broker refused the connection with CONNACK return code ${String(code)}.`);
    this.code = code;
  }
}

const WEBSOCKET_OPEN = 1;
const encoder = new TextEncoder();

type Listener = (...args: never[]) => void;
type Pending = (error: Error | undefined, packet?: IncomingPacket) => void;

/**
 * An MQTT client session on one WebSocket; see {@link MqttConnection} for its events.
 *
 * @internal
 */
export class WebSocketMqttSession implements MqttConnection {
  readonly #socket: WebSocketLike;
  readonly #options: MqttConnectionOptions;
  readonly #reader: MqttPacketReader;
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #dataListeners = new Set<(chunk: Uint8Array) => void>();
  /** Callbacks waiting for a PUBACK, SUBACK or UNSUBACK, by packet id. */
  readonly #pending = new Map<number, Pending>();
  readonly #closeCallbacks: (() => void)[] = [];
  #state: 'connecting' | 'connected' | 'closing' | 'closed' = 'connecting';
  #nextPacketId = 1;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #keepAliveTimer: ReturnType<typeof setInterval> | undefined;
  #awaitingPong = false;

  readonly stream = {
    on: (event: 'data', listener: (chunk: Uint8Array) => void): void => {
      this.#dataListeners.add(listener);
    },
  };

  /**
   * Opens the WebSocket and sends CONNECT once it is open.
   *
   * @param options - where to connect and with which credentials
   * @param WebSocketClass - the WebSocket implementation (the runtime's global one by default)
   */
  constructor(options: MqttConnectionOptions, WebSocketClass: WebSocketConstructor) {
    this.#options = options;
    this.#reader = new MqttPacketReader(options.maxPacketBytes);
    this.#socket = new WebSocketClass(options.url, 'mqtt');
    this.#socket.binaryType = 'arraybuffer';
    this.#socket.addEventListener('open', () => {
      this.#send(
        encodeConnect({
          clientId: options.clientId,
          username: options.username,
          ...(options.password === undefined ? {} : { password: options.password }),
          keepAliveInSeconds: options.keepAliveInSeconds,
          cleanSession: false,
        }),
      );
    });
    this.#socket.addEventListener('message', (event) => {
      this.#onData(event.data);
    });
    this.#socket.addEventListener('error', () => {
      // The event carries no reason; the close event that follows has the code.
    });
    this.#socket.addEventListener('close', (event) => {
      this.#onClose(event.code);
    });
    this.#connectTimer = setTimeout(() => {
      this.#fail(
        new Error(
          `The broker did not accept the connection within ${String(options.connectTimeoutInMs)} ms.`,
        ),
      );
    }, options.connectTimeoutInMs);
  }

  on(event: string, listener: Listener): this {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return this;
  }

  off(event: string, listener: Listener): this {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  emit(event: 'error', error: Error): boolean {
    return this.#dispatch(event, error);
  }

  publish(
    topic: string,
    payload: string,
    options: { qos: 0 | 1 },
    callback: (error?: Error) => void,
  ): void {
    this.#whenConnected(callback, () => {
      const bytes = encoder.encode(payload);
      if (options.qos === 0) {
        this.#send(encodePublish(topic, bytes, 0));
        queueMicrotask(() => {
          callback();
        });
        return;
      }
      const packetId = this.#allocate((error) => {
        callback(error);
      });
      this.#send(encodePublish(topic, bytes, 1, packetId));
    });
  }

  subscribe(
    filter: string,
    options: { qos: 0 | 1 },
    callback: (error: Error | null, granted?: MqttGrant[]) => void,
  ): void {
    this.#whenConnected(
      (error) => {
        callback(error ?? null);
      },
      () => {
        const packetId = this.#allocate((error, packet) => {
          if (error !== undefined || packet?.type !== 'suback') callback(error ?? null);
          else callback(null, [{ topic: filter, qos: packet.grantedQos[0] ?? 128 }]);
        });
        this.#send(encodeSubscribe(packetId, filter, options.qos));
      },
    );
  }

  unsubscribe(filter: string, callback: (error?: Error) => void): void {
    this.#whenConnected(callback, () => {
      const packetId = this.#allocate((error) => {
        callback(error);
      });
      this.#send(encodeUnsubscribe(packetId, filter));
    });
  }

  end(force = false, _options?: object, callback?: () => void): void {
    if (callback !== undefined) {
      if (this.#state === 'closed') queueMicrotask(callback);
      else this.#closeCallbacks.push(callback);
    }
    if (this.#state === 'closed') return;
    if (force) {
      this.#close();
      return;
    }
    if (this.#state === 'closing') return;
    // A graceful end says DISCONNECT first, so the broker publishes no will and logs no error
    // (MQTT-3.14); the socket's close event then finishes it (#onClose).
    if (this.#state === 'connected') this.#send(DISCONNECT_PACKET);
    this.#state = 'closing';
    this.#stopTimers();
    this.#socket.close(1000);
  }

  /** Runs `action` on a connected session, or fails `callback` (nothing is queued offline). */
  #whenConnected(callback: (error?: Error) => void, action: () => void): void {
    if (this.#state !== 'connected') {
      queueMicrotask(() => {
        callback(new Error('The MQTT connection is not open.'));
      });
      return;
    }
    try {
      action();
    } catch (error) {
      queueMicrotask(() => {
        callback(error as Error);
      });
    }
  }

  /** Takes the next free packet id (1 to 65535, MQTT-2.3.1-1) for an acknowledged packet. */
  #allocate(pending: Pending): number {
    if (this.#pending.size >= 65_535) throw new Error('Every MQTT packet id is in use.');
    while (this.#pending.has(this.#nextPacketId)) this.#advancePacketId();
    const packetId = this.#nextPacketId;
    this.#advancePacketId();
    this.#pending.set(packetId, pending);
    return packetId;
  }

  #advancePacketId(): void {
    this.#nextPacketId = this.#nextPacketId === 65_535 ? 1 : this.#nextPacketId + 1;
  }

  #send(bytes: Uint8Array): void {
    if (this.#socket.readyState === WEBSOCKET_OPEN) this.#socket.send(bytes);
  }

  #onData(data: unknown): void {
    if (!this.#isOpen()) return;
    if (!(data instanceof ArrayBuffer)) {
      this.#fail(
        new Error(
          'The broker sent a text WebSocket frame; MQTT uses binary frames (MQTT-6.0.0-1).',
        ),
      );
      return;
    }
    const chunk = new Uint8Array(data);
    for (const listener of [...this.#dataListeners]) listener(chunk);
    // A data listener may have ended the session (the transport's packet-size guard does).
    if (!this.#isOpen()) return;
    let packets: IncomingPacket[];
    try {
      packets = this.#reader.feed(chunk);
    } catch (error) {
      this.#fail(error as Error);
      return;
    }
    for (const packet of packets) {
      if (!this.#isOpen()) return;
      this.#onPacket(packet);
    }
  }

  /** Connecting or connected; a listener called since the last check may have ended the session. */
  #isOpen(): boolean {
    return this.#state === 'connecting' || this.#state === 'connected';
  }

  #onPacket(packet: IncomingPacket): void {
    if (this.#state === 'connecting') {
      if (packet.type !== 'connack') {
        this.#fail(new Error(`The broker sent ${packet.type} before CONNACK (MQTT-3.2.0-1).`));
        return;
      }
      clearTimeout(this.#connectTimer);
      if (packet.returnCode !== 0) {
        this.#fail(new MqttConnackError(packet.returnCode));
        return;
      }
      this.#state = 'connected';
      this.#startKeepAlive();
      this.#dispatch('connect');
      return;
    }
    switch (packet.type) {
      case 'connack':
        this.#fail(new Error('The broker sent a second CONNACK (MQTT-3.2.0-1).'));
        return;
      case 'publish':
        if (packet.qos === 1 && packet.packetId !== undefined) {
          this.#send(encodePuback(packet.packetId));
        }
        this.#dispatch('message', packet.topic, packet.payload);
        return;
      case 'puback':
      case 'suback':
      case 'unsuback': {
        const pending = this.#pending.get(packet.packetId);
        this.#pending.delete(packet.packetId);
        pending?.(undefined, packet);
        return;
      }
      case 'pingresp':
        this.#awaitingPong = false;
        return;
    }
  }

  #dispatch(event: string, ...args: unknown[]): boolean {
    const set = this.#listeners.get(event);
    if (set === undefined || set.size === 0) return false;
    for (const listener of [...set]) (listener as (...values: unknown[]) => void)(...args);
    return true;
  }

  /**
   * Sends PINGREQ every keep-alive period, so the broker hears from the client within it
   * (MQTT-3.1.2-23); a PINGRESP still missing one period later means the connection is dead.
   */
  #startKeepAlive(): void {
    const periodInMs = this.#options.keepAliveInSeconds * 1000;
    if (periodInMs <= 0) return;
    this.#keepAliveTimer = setInterval(() => {
      if (this.#awaitingPong) {
        this.#fail(
          new Error(
            `The broker did not answer a keep-alive ping within ${String(this.#options.keepAliveInSeconds)} s.`,
          ),
        );
        return;
      }
      this.#awaitingPong = true;
      this.#send(PINGREQ_PACKET);
    }, periodInMs);
  }

  /** Reports `error`, then closes. */
  #fail(error: Error): void {
    if (this.#state === 'closed') return;
    this.#dispatch('error', error);
    this.#close();
  }

  /**
   * Closes at once, without waiting for the WebSocket's closing handshake, which a dead network
   * can hold up for a long time; the socket's own close event then finds nothing left to do.
   */
  #close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closing';
    this.#socket.close(1000);
    this.#onClose();
  }

  /** Finishes the session once: fails what waits for an answer, then emits `close`. */
  #onClose(code?: number): void {
    if (this.#state === 'closed') return;
    const unexpected = this.#state !== 'closing';
    this.#state = 'closed';
    this.#stopTimers();
    if (unexpected) {
      this.#dispatch(
        'error',
        new Error(`The WebSocket to the broker closed (code ${String(code ?? 1006)}).`),
      );
    }
    const closed = new Error('The MQTT connection closed before the broker answered.');
    for (const pending of this.#pending.values()) pending(closed);
    this.#pending.clear();
    this.#dispatch('close');
    for (const callback of this.#closeCallbacks.splice(0)) callback();
  }

  #stopTimers(): void {
    clearTimeout(this.#connectTimer);
    clearInterval(this.#keepAliveTimer);
  }
}
