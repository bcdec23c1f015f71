/**
 * The options of the AMQP transport, shared by the Node dialect (`amqp/amqp-transport.ts`) and
 * the web dialect's stub (`amqp-web.ts`), so both type-check against one shape (docs/internals/architecture.md#runtime-seams
 * item 4).
 */

/** Options of the AMQP transport, passed to `amqp(options)`. */
export interface AmqpTransportOptions {
  /** AMQP over WebSocket (`wss://host:443/$iothub/websocket`, `AMQPWSB10`) instead of TLS on 5671. Default `false`. */
  webSocket?: boolean;
  /**
   * Port to connect to. Default: the port in `GatewayHostName`/`HostName` when one is given,
   * else 5671 (TLS) or 443 (WebSocket).
   */
  port?: number;
  /** WebSocket path. Default `/$iothub/websocket` (docs/internals/wire-contract.md#endpoints). */
  webSocketPath?: string;
  /** Sent as the `com.microsoft:client-version` link property; identifies the app to the hub. */
  clientVersion?: string;
}

/** The client version sent when the app names none. */
export const DEFAULT_AMQP_CLIENT_VERSION = 'twinkit-device/0.1.0';
