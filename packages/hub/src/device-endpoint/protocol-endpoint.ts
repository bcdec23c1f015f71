/**
 * What `listen()` needs from a device endpoint (MQTT, AMQP) to serve it next to HTTPS: a TLS port
 * of its own, and the WebSocket upgrades of its subprotocol on `/$iothub/websocket`.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ListenerLimits } from './limits.js';

/** A connection a listener refused because it held its maximum of connections. */
export interface ConnectionRefusal {
  /** Which listener refused it. */
  readonly listener: 'https' | 'mqtt' | 'amqp';
  /** Why, naming the option that sets the limit. */
  readonly reason: string;
  /** The peer's address, when known. */
  readonly remoteAddress?: string | undefined;
}

/** Options `listen()` passes to {@link ProtocolEndpoint.listen}. */
export interface ProtocolListenOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: { readonly key: string; readonly cert: string };
  /** Connection cap and TLS handshake deadline of the listener. */
  readonly limits: ListenerLimits;
  /** Told about each connection refused at the cap. */
  readonly onConnectionRefused?: ((refusal: ConnectionRefusal) => void) | undefined;
}

/** A protocol endpoint (MQTT, AMQP) that `listen()` can start next to HTTPS. */
export interface ProtocolEndpoint {
  readonly protocol: 'mqtt' | 'amqp';
  /** WebSocket subprotocols it serves on `/$iothub/websocket` of the HTTPS port, e.g. `['mqtt', 'MQTT']`. */
  readonly webSocketSubprotocols?: readonly string[];
  /**
   * Starts serving on a TCP+TLS port.
   *
   * @param options - address, port, TLS material and listener limits
   * @returns the bound port and a close function
   * @throws the listen error (e.g. `EADDRINUSE`) when the port cannot be bound
   */
  listen(options: ProtocolListenOptions): Promise<{ port: number; close(): Promise<void> }>;
  /** Takes over a WebSocket upgrade request on `/$iothub/websocket` whose subprotocol it serves. */
  handleUpgrade?(request: IncomingMessage, socket: Duplex, head: Buffer): void;
}
