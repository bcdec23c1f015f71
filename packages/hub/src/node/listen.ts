/**
 * `listen()`: serves a hub over HTTPS (node:https with @hono/node-server's request listener),
 * plus the MQTT and AMQP endpoints registered on the hub, and WebSocket upgrades on
 * `/$iothub/websocket` for the endpoints that take them (docs/internals/wire-contract.md#endpoints).
 * Requests under `/explorer` go to the explorer with the TCP peer's address, which its loopback
 * check needs.
 */
import {
  createServer as createHttpServer,
  IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { getRequestListener } from '@hono/node-server';
import { IOTHUB_WEBSOCKET_PATH } from '@twinkit/twin-model/protocol';
import { resolveListenerLimits, type ListenerLimits } from '../device-endpoint/limits.js';
import type { ExplorerOptions } from '../explorer/explorer-access.js';
import { createExplorerHandler, isExplorerUrl } from '../explorer/explorer-handler.js';
import type { ConnectionRefusal } from '../device-endpoint/protocol-endpoint.js';
import { hubInternals, STANDARD_PORTS, type Hub } from '../hub.js';
import { readBodyFromNode } from '../rest/read-json.js';

/** Options of {@link listen}. */
export interface ListenOptions {
  /** Address to bind; default `127.0.0.1`. */
  host?: string;
  /** HTTPS port (REST and WebSocket upgrades); 0 = any free port. Default 0, or 443 with `standardPorts`. */
  httpsPort?: number;
  /** MQTT over TLS port; default 0, or 8883 with `standardPorts`. Only used when the hub has an MQTT endpoint. */
  mqttPort?: number;
  /** AMQP over TLS port; default 0, or 5671 with `standardPorts`. Only used when the hub has an AMQP endpoint. */
  amqpPort?: number;
  /** Use IoT Hub's ports (443, 8883, 5671) where no port is given, so unmodified SDKs connect with `HostName=localhost`. */
  standardPorts?: boolean;
  /** Serve plain HTTP instead of HTTPS. Only allowed on loopback addresses. */
  plainHttp?: boolean;
  /**
   * Limits of each listener: the connection cap, the TLS handshake deadline and the request-head
   * deadline of the HTTPS port (which bounds WebSocket upgrades). Each one left out keeps its
   * default; see {@link ListenerLimits} and docs/security.md.
   */
  limits?: Partial<ListenerLimits>;
  /**
   * Told about each connection a listener refused because it held its maximum of connections.
   * Default: ignored (the peer sees its connection closed at once).
   */
  onConnectionRefused?: (refusal: ConnectionRefusal) => void;
  /**
   * The web explorer at `/explorer` on the HTTPS port. Default: served, to loopback peers that
   * name a loopback host only; `{ token }` lets any peer in that presents the token;
   * `{ enabled: false }` turns it off. See docs/security.md.
   */
  explorer?: ExplorerOptions;
}

/** A protocol the hub does not serve yet, with the port that was asked for. */
export interface NotServedEndpoint {
  protocol: 'mqtt' | 'amqp';
  requestedPort: number;
}

/** A running hub server. */
export interface HubServer extends AsyncDisposable {
  /** The bound address. */
  readonly host: string;
  /** Bound ports; `mqtt`/`amqp` only when the hub serves them. */
  readonly ports: { https: number; mqtt?: number; amqp?: number };
  /**
   * Base URLs (`https://127.0.0.1:<port>`, or `http://` with `plainHttp`), and the explorer's
   * page (`<https>/explorer`) unless it is turned off.
   */
  readonly urls: { https: string; explorer?: string };
  /** Protocols asked for (by port) that this hub version does not serve yet. */
  readonly notServed: readonly NotServedEndpoint[];
  /** Stops accepting connections, closes open ones, and stops the protocol endpoints. Idempotent. */
  close(): Promise<void>;
}

/** What each listener is called in errors, and the option (and CLI flag) that moves it. */
const PORT_OPTIONS = Object.freeze({
  https: { what: 'HTTPS', option: 'ListenOptions.httpsPort, or --https-port with the CLI' },
  mqtt: { what: 'MQTT', option: 'ListenOptions.mqttPort, or --mqtt-port with the CLI' },
  amqp: { what: 'AMQP', option: 'ListenOptions.amqpPort, or --amqp-port with the CLI' },
});

/**
 * Whether an address is a loopback address (127.0.0.0/8, ::1, `localhost`).
 *
 * @param host - an address or host name
 */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/**
 * Serves a hub: HTTPS REST on one port (with WebSocket upgrades for the protocol endpoints),
 * and each registered protocol endpoint (MQTT, AMQP) on its own TLS port.
 *
 * @param hub - a hub from `createHub()`
 * @param options - address, ports, plain HTTP on loopback
 * @returns the server, with its bound ports
 * @throws {@link RangeError} for `plainHttp` on a non-loopback address, an invalid port or limit
 * @throws {@link TypeError} for an unknown limit
 * @throws the listen error (e.g. `EADDRINUSE`, `EACCES`) when a port cannot be bound
 * @example
 * ```ts
 * await using hub = await createHub();
 * await using server = await listen(hub, { httpsPort: 0 });
 * console.log(server.urls.https); // https://127.0.0.1:<port>
 * ```
 */
export async function listen(hub: Hub, options: ListenOptions = {}): Promise<HubServer> {
  const { core, certificates, served, timeline } = hubInternals(hub);
  const host = options.host ?? '127.0.0.1';
  if (options.plainHttp === true && !isLoopback(host)) {
    throw new RangeError(
      `plainHttp is only allowed on loopback addresses, not '${host}'. Use HTTPS (the default).`,
    );
  }
  const pick = (value: number | undefined, standard: number) => {
    const port = value ?? (options.standardPorts === true ? standard : 0);
    if (!Number.isInteger(port) || port < 0 || port > 65_535)
      throw new RangeError(`Invalid port ${String(port)}.`);
    return port;
  };
  const httpsPort = pick(options.httpsPort, STANDARD_PORTS.https);
  const limits = resolveListenerLimits(options.limits);
  const explorer =
    options.explorer?.enabled === false ? undefined : createExplorerHandler(hub, options.explorer);
  // Without the explorer nobody reads the twins' timelines, so the hub stops keeping them.
  timeline.setRecording(explorer !== undefined);
  const handle = getRequestListener((request, env) => {
    if (explorer !== undefined && isExplorerUrl(request.url))
      return explorer.fetch(request, env.incoming.socket.remoteAddress);
    if (env.incoming instanceof IncomingMessage) readBodyFromNode(request, env.incoming);
    return hub.fetch(request);
  });
  // node:http ignores a listener's promise; the adapter answers errors itself.
  const listener = (request: IncomingMessage, response: ServerResponse): void => {
    void handle(request, response);
  };
  // The request head must arrive in time (a WebSocket upgrade that never finishes is one), and a
  // whole request too (a peer that trickles a body is cut off): Node's defaults (60 s and 300 s)
  // would let a few slow clients hold connections for minutes. Node checks those deadlines every
  // connectionsCheckingInterval, so the check runs at least as often.
  const httpOptions = {
    headersTimeout: limits.requestHeadersTimeoutInMs,
    requestTimeout: Math.max(limits.requestTimeoutInMs, limits.requestHeadersTimeoutInMs),
    connectionsCheckingInterval: Math.min(1_000, limits.requestHeadersTimeoutInMs),
  };
  const server: HttpServer =
    options.plainHttp === true
      ? createHttpServer(httpOptions, listener)
      : createHttpsServer(
          {
            ...httpOptions,
            key: certificates.serverKey,
            cert: certificates.serverCertificate,
            handshakeTimeout: limits.tlsHandshakeTimeoutInMs,
          },
          listener,
        );
  server.keepAliveTimeout = 65_000;
  server.maxConnections = limits.maxConnections;
  server.on('drop', (data?: { remoteAddress?: string }) => {
    options.onConnectionRefused?.({
      listener: 'https',
      reason: `the HTTPS listener holds its maximum of ${String(limits.maxConnections)} connections (ListenOptions.limits.maxConnections)`,
      remoteAddress: data?.remoteAddress,
    });
  });
  const sockets = new Set<Socket | Duplex>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0];
    const offered = (request.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((value) => value.trim())
      .filter((value) => value !== '');
    const endpoint =
      path === IOTHUB_WEBSOCKET_PATH
        ? core.endpoints.find(
            (candidate) =>
              candidate.handleUpgrade !== undefined &&
              offered.some((p) => candidate.webSocketSubprotocols?.includes(p)),
          )
        : undefined;
    if (endpoint?.handleUpgrade === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    endpoint.handleUpgrade(request, socket, head);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(describeListenError(error, host, httpsPort, 'https'));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(httpsPort, host);
  });
  const address = server.address();
  const boundHttps = typeof address === 'object' && address !== null ? address.port : httpsPort;

  const closers: (() => Promise<void>)[] = [];
  const ports: { https: number; mqtt?: number; amqp?: number } = { https: boundHttps };
  const notServed: NotServedEndpoint[] = [];
  const closeHttp = () =>
    new Promise<void>((resolve) => {
      explorer?.close();
      server.close(() => {
        resolve();
      });
      for (const socket of sockets) socket.destroy();
    });
  try {
    for (const protocol of ['mqtt', 'amqp'] as const) {
      const port = pick(
        protocol === 'mqtt' ? options.mqttPort : options.amqpPort,
        STANDARD_PORTS[protocol],
      );
      const endpoint = core.endpoints.find((candidate) => candidate.protocol === protocol);
      if (endpoint === undefined) {
        if (
          (protocol === 'mqtt' ? options.mqttPort : options.amqpPort) !== undefined ||
          options.standardPorts === true
        ) {
          notServed.push({ protocol, requestedPort: port });
        }
        continue;
      }
      const started = await endpoint
        .listen({
          host,
          port,
          tls: { key: certificates.serverKey, cert: certificates.serverCertificate },
          limits,
          onConnectionRefused: options.onConnectionRefused,
        })
        .catch((error: unknown) => {
          throw describeListenError(error as NodeJS.ErrnoException, host, port, protocol);
        });
      ports[protocol] = started.port;
      closers.push(() => started.close());
    }
  } catch (error) {
    await Promise.allSettled(closers.map((close) => close()));
    await closeHttp();
    throw error;
  }

  const scheme = options.plainHttp === true ? 'http' : 'https';
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;
  // Connection strings the hub hands out from now on name these ports (until this server closes).
  Object.assign(served, ports);
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      if (served.https === ports.https) {
        delete served.https;
        delete served.mqtt;
        delete served.amqp;
      }
      await Promise.allSettled(closers.map((closeEndpoint) => closeEndpoint()));
      await closeHttp();
    })();
    return closing;
  };
  const https = `${scheme}://${urlHost}:${String(boundHttps)}`;
  return {
    host,
    ports,
    urls: explorer === undefined ? { https } : { https, explorer: `${https}/explorer` },
    notServed,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function describeListenError(
  error: NodeJS.ErrnoException,
  host: string,
  port: number,
  listener: keyof typeof PORT_OPTIONS,
): Error {
  const { what, option } = PORT_OPTIONS[listener];
  const where = `${host}:${String(port)}`;
  if (error.code === 'EADDRINUSE') {
    return new Error(
      `Cannot serve ${what} on ${where}: the port is already in use. Stop the other server or pick another port (${option}; 0 picks any free port).`,
      { cause: error },
    );
  }
  if (error.code === 'EACCES') {
    return new Error(
      `Cannot serve ${what} on ${where}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE).`,
      { cause: error },
    );
  }
  return new Error(`Cannot serve ${what} on ${where}: ${error.message}`, { cause: error });
}
