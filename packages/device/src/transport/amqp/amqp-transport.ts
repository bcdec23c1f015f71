/**
 * `DeviceTransport` over AMQP 1.0 (rhea-promise), TLS on 5671 or WebSocket on 443
 * (protocol.md §5). One connection and session per identity: CBS `$cbs` links for put-token
 * (also how a renewed token is presented, §3.5), and a twin link pair with a shared
 * channel-correlation-id (§5.3). rhea's reconnect is off; a lost connection, or a twin link the
 * hub detaches, is reported through `handlers.disconnected` and the DeviceClient decides what
 * happens next (house-style 4.7 rule 2). Node only.
 *
 * @internal
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { DeviceTwin, JsonObject } from '@twinkit/twin-model';
import { OperationTimeoutError, TransportError, type HubError } from '@twinkit/twin-model/errors';
import {
  API_VERSION,
  CBS_NODE,
  CBS_PROPERTY,
  CBS_PUT_TOKEN_OPERATION,
  DESIRED_NOTIFICATIONS_RESOURCE,
  KnownCbsTokenType,
  KnownTwinAmqpOperation,
  REPORTED_PROPERTIES_RESOURCE,
  TWIN_ANNOTATION,
  TWIN_LINK_PROPERTY,
  deviceResourceUri,
  parseSasToken,
  twinLinkAddress,
} from '@twinkit/twin-model/protocol';
import {
  Connection,
  ConnectionEvents,
  message as amqpMessage,
  type ConnectionOptions,
  type EventContext,
  type Message,
  type Receiver,
  type Sender,
  type Session,
} from 'rhea-promise';
import { withDeadline } from '../../internal/abort.js';
import { createLogger } from '../../internal/logger.js';
import { DEFAULT_AMQP_CLIENT_VERSION, type AmqpTransportOptions } from '../amqp-options.js';
import { RequestTracker } from '../request-tracker.js';
import type {
  ConnectParams,
  DeviceTransport,
  OperationOptions,
  TransportContext,
  TransportHandlers,
  TransportRequestOptions,
  UpdateReportedResult,
} from '../transport.js';
import {
  describeIdentity,
  errorContextOf,
  readDeviceTwin,
  resolveEndpoint,
  type ErrorContext,
} from '../transport-helpers.js';
import { translateAmqpError, translateCbsStatus, translateTwinStatus } from './translate-error.js';
import { WebSocketStream } from './websocket-stream.js';

/** The WebSocket subprotocol of AMQP over WebSocket (protocol.md §1). */
const AMQP_WEBSOCKET_SUBPROTOCOL = 'AMQPWSB10';

interface TwinResponse {
  status: number | undefined;
  version: number | undefined;
  body: string | undefined;
}

interface CbsResponse {
  statusCode: number | undefined;
  description: string | undefined;
}

interface Live {
  readonly connection: Connection;
  readonly session: Session;
  readonly cbs: { sender: Sender; receiver: Receiver } | undefined;
  readonly twinSender: Sender;
  readonly twinReceiver: Receiver;
}

/** The body of a received message as text (data sections, or an amqp-value string/binary). */
function bodyText(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  if (typeof body === 'object' && 'content' in body) {
    const section = body as { content: unknown; multiple?: boolean };
    const parts =
      section.multiple === true && Array.isArray(section.content)
        ? section.content
        : [section.content];
    return Buffer.concat(
      parts.filter((part): part is Uint8Array => part instanceof Uint8Array),
    ).toString('utf8');
  }
  return undefined;
}

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * The AMQP implementation of {@link DeviceTransport}.
 *
 * @internal
 */
export class AmqpTransport implements DeviceTransport {
  readonly #options: AmqpTransportOptions;
  readonly #handlers: TransportHandlers;
  readonly #context: TransportContext;
  readonly #tracker = new RequestTracker<TwinResponse>();
  readonly #cbsTracker = new RequestTracker<CbsResponse>();
  readonly #retired = new WeakSet<Connection>();
  readonly #log = createLogger('twin:device:amqp');
  #live: Live | undefined;
  #params: ConnectParams | undefined;

  constructor(
    options: AmqpTransportOptions,
    handlers: TransportHandlers,
    context: TransportContext,
  ) {
    this.#options = options;
    this.#handlers = handlers;
    this.#context = context;
  }

  async connect(params: ConnectParams, options: TransportRequestOptions = {}): Promise<void> {
    if (this.#live !== undefined) await this.disconnect();
    this.#params = params;
    const timeoutInMs = options.timeoutInMs ?? this.#context.operationTimeoutInMs;
    try {
      this.#live = await withDeadline('connect', timeoutInMs, options.abortSignal, (signal) =>
        this.#open(params, signal, timeoutInMs),
      );
    } catch (error) {
      if (options.abortSignal?.aborted === true && error === options.abortSignal.reason)
        throw error;
      if (error instanceof OperationTimeoutError) throw error;
      const { target } = this.#endpoint(params);
      throw translateAmqpError(error, { ...this.#errorContext('Connect'), target });
    }
  }

  async disconnect(options: OperationOptions = {}): Promise<void> {
    const live = this.#live;
    this.#live = undefined;
    if (live === undefined) return;
    this.#retire(live, new TransportError('The client disconnected before the hub answered.'));
    await this.#close(live.connection, options.abortSignal);
  }

  async getTwin(options: TransportRequestOptions = {}): Promise<DeviceTwin> {
    const operation = 'Twin read';
    const response = await this.#request(
      operation,
      { [TWIN_ANNOTATION.operation]: KnownTwinAmqpOperation.get },
      ' ',
      options,
    );
    this.#throwIfFailed(response, operation);
    return readDeviceTwin(response.body, operation);
  }

  async patchReported(
    patch: JsonObject,
    options: TransportRequestOptions = {},
  ): Promise<UpdateReportedResult> {
    const operation = 'Reported properties update';
    const response = await this.#request(
      operation,
      {
        [TWIN_ANNOTATION.operation]: KnownTwinAmqpOperation.patch,
        [TWIN_ANNOTATION.resource]: REPORTED_PROPERTIES_RESOURCE,
      },
      JSON.stringify(patch),
      options,
    );
    this.#throwIfFailed(response, operation);
    if (response.version === undefined) {
      throw new TransportError(`${operation} was accepted but the hub sent no version`, {
        retryable: false,
      });
    }
    return { version: response.version };
  }

  async setDesiredSubscription(
    enabled: boolean,
    options: TransportRequestOptions = {},
  ): Promise<void> {
    const operation = enabled ? 'Desired subscription' : 'Desired unsubscription';
    const response = await this.#request(
      operation,
      {
        [TWIN_ANNOTATION.operation]: enabled
          ? KnownTwinAmqpOperation.put
          : KnownTwinAmqpOperation.delete,
        [TWIN_ANNOTATION.resource]: DESIRED_NOTIFICATIONS_RESOURCE,
      },
      ' ',
      options,
    );
    this.#throwIfFailed(response, operation);
  }

  async updateCredentials(
    params: ConnectParams,
    options: TransportRequestOptions = {},
  ): Promise<void> {
    const live = this.#requireLive('Credential update');
    this.#params = params;
    if (live.cbs === undefined || params.sasToken === undefined) return;
    // §3.5: AMQP renews with a new put-token on the existing connection; links and the desired
    // subscription stay as they are.
    this.#log.info(`presenting a renewed token for ${describeIdentity(params)} on $cbs`);
    const timeoutInMs = options.timeoutInMs ?? this.#context.operationTimeoutInMs;
    await this.#putToken(live.cbs.sender, params, {
      timeoutInMs,
      abortSignal: options.abortSignal,
    });
  }

  // --- connection -------------------------------------------------------------------------------

  async #open(params: ConnectParams, signal: AbortSignal, timeoutInMs: number): Promise<Live> {
    const connection = new Connection(this.#connectionOptions(params, timeoutInMs));
    const checkpoint = (): void => {
      if (signal.aborted) throw signal.reason;
    };
    this.#log.info(
      `connecting ${describeIdentity(params)} over AMQP${this.#options.webSocket === true ? ' (WebSocket)' : ''}`,
    );
    try {
      await connection.open({ abortSignal: signal });
      checkpoint();
      const session = await connection.createSession({ abortSignal: signal });
      checkpoint();
      const onLinkError = (context: EventContext): void => {
        this.#onLost(connection, linkErrorOf(context));
      };
      let cbs: Live['cbs'];
      if (params.sasToken !== undefined) {
        const sender = await session.createSender({
          target: { address: CBS_NODE },
          onError: onLinkError,
          onClose: onLinkError,
          onSessionError: onLinkError,
          onSessionClose: onLinkError,
          abortSignal: signal,
        });
        const receiver = await session.createReceiver({
          source: { address: CBS_NODE },
          onMessage: (context) => {
            this.#onCbsMessage(context.message);
          },
          onError: onLinkError,
          onClose: onLinkError,
          onSessionError: onLinkError,
          onSessionClose: onLinkError,
          abortSignal: signal,
        });
        checkpoint();
        cbs = { sender, receiver };
        await this.#putToken(sender, params, { timeoutInMs, abortSignal: signal });
        checkpoint();
      }
      const address = twinLinkAddress(params.deviceId, params.moduleId);
      // §5.3: the same channel-correlation-id on both links of the pair.
      const properties = {
        [TWIN_LINK_PROPERTY.channelCorrelationId]: `twin:${randomUUID()}`,
        [TWIN_LINK_PROPERTY.apiVersion]: API_VERSION,
        [TWIN_LINK_PROPERTY.clientVersion]:
          this.#options.clientVersion ?? DEFAULT_AMQP_CLIENT_VERSION,
      };
      const twinReceiver = await session.createReceiver({
        source: { address },
        properties,
        snd_settle_mode: 1,
        rcv_settle_mode: 0,
        onMessage: (context) => {
          this.#onTwinMessage(connection, context.message);
        },
        onError: onLinkError,
        onClose: onLinkError,
        onSessionError: onLinkError,
        onSessionClose: onLinkError,
        abortSignal: signal,
      });
      checkpoint();
      const twinSender = await session.createSender({
        target: { address },
        properties,
        snd_settle_mode: 1,
        rcv_settle_mode: 0,
        onError: onLinkError,
        onClose: onLinkError,
        onSessionError: onLinkError,
        onSessionClose: onLinkError,
        abortSignal: signal,
      });
      checkpoint();
      const onConnectionLost = (context: EventContext): void => {
        this.#onLost(
          connection,
          context.error ?? (context.connection as { error?: unknown } | undefined)?.error,
        );
      };
      connection.on(ConnectionEvents.disconnected, onConnectionLost);
      connection.on(ConnectionEvents.connectionClose, onConnectionLost);
      connection.on(ConnectionEvents.connectionError, onConnectionLost);
      if (!connection.isOpen())
        throw new TransportError('The connection closed while the twin links were attached.');
      this.#log.info(`connected ${describeIdentity(params)}`);
      return { connection, session, cbs, twinSender, twinReceiver };
    } catch (error) {
      this.#retired.add(connection);
      this.#cbsTracker.failAll(error);
      void this.#close(connection, undefined);
      throw error;
    }
  }

  #connectionOptions(params: ConnectParams, timeoutInMs: number): ConnectionOptions {
    const webSocket = this.#options.webSocket === true;
    const { host, port } = this.#endpoint(params);
    const tls: Record<string, unknown> = {};
    if (params.ca !== undefined) tls.ca = params.ca;
    // An IP address is not a valid SNI name (RFC 6066); the certificate is then checked against the IP.
    if (isIP(host) === 0) tls.servername = host;
    if (params.clientCertificate !== undefined) {
      tls.cert = params.clientCertificate.certificate;
      tls.key = params.clientCertificate.key;
      if (params.clientCertificate.passphrase !== undefined)
        tls.passphrase = params.clientCertificate.passphrase;
    }
    const base = {
      // §5.1: Node and C# put the hub FQDN in OPEN; no SASL layer, authentication goes through CBS.
      hostname: params.hostName,
      container_id: randomUUID(),
      reconnect: false,
      // Request/response traffic: Nagle plus delayed ACKs would add ~40 ms to some answers.
      tcp_no_delay: true,
      idle_time_out: Math.max(params.keepAliveInSeconds, 1) * 1000 * 2,
      operationTimeoutInSeconds: Math.max(1, Math.ceil(timeoutInMs / 1000)),
    };
    if (!webSocket) return { ...base, ...tls, transport: 'tls', host, port };
    const path = this.#options.webSocketPath ?? '/$iothub/websocket';
    return {
      ...base,
      connection_details: () => ({
        host,
        port,
        options: {},
        connect: (_port: number, _host: string, _options: unknown, callback: () => void) =>
          new WebSocketStream({
            host,
            port,
            path,
            protocol: AMQP_WEBSOCKET_SUBPROTOCOL,
            tls,
            onOpen: callback,
          }),
      }),
    } as unknown as ConnectionOptions;
  }

  #endpoint(params: ConnectParams): ReturnType<typeof resolveEndpoint> {
    const webSocket = this.#options.webSocket === true;
    return resolveEndpoint(params, this.#options.port, webSocket ? 443 : 5671);
  }

  async #putToken(
    sender: Sender,
    params: ConnectParams,
    options: { timeoutInMs: number; abortSignal: AbortSignal | undefined },
  ): Promise<void> {
    const token = params.sasToken;
    if (token === undefined) return;
    const operation = 'CBS put-token';
    const { rid, response } = this.#cbsTracker.start(operation, options);
    // §5.2: Node sends the token's `sr` (still URL-encoded) as the audience.
    let audience: string;
    try {
      audience = parseSasToken(token).rawResource;
    } catch {
      audience = encodeURIComponent(
        deviceResourceUri(params.hostName, params.deviceId, params.moduleId),
      );
    }
    const request: Message = {
      message_id: rid,
      reply_to: 'cbs',
      to: CBS_NODE,
      application_properties: {
        [CBS_PROPERTY.operation]: CBS_PUT_TOKEN_OPERATION,
        [CBS_PROPERTY.type]: KnownCbsTokenType.serviceBusSas,
        [CBS_PROPERTY.name]: audience,
      },
      body: token,
    };
    try {
      sender.send(request);
    } catch (error) {
      this.#cbsTracker.fail(rid, error);
    }
    const answer = await response;
    if (answer.statusCode !== 200) {
      throw translateCbsStatus(answer.statusCode, answer.description, {
        operation: 'Connect',
        deviceId: params.deviceId,
        moduleId: params.moduleId,
      });
    }
  }

  #onCbsMessage(message: Message | undefined): void {
    if (message?.correlation_id === undefined) return;
    const properties = (message.application_properties ?? {}) as Record<string, unknown>;
    const description = properties[CBS_PROPERTY.statusDescription];
    this.#cbsTracker.resolve(String(message.correlation_id), {
      statusCode: numberOf(properties[CBS_PROPERTY.statusCode]),
      description: typeof description === 'string' ? description : undefined,
    });
  }

  #onTwinMessage(connection: Connection, message: Message | undefined): void {
    if (message === undefined || this.#retired.has(connection)) return;
    const annotations = (message.message_annotations ?? {}) as Record<string, unknown>;
    const body = bodyText(message.body);
    // §5.5: responses carry the request's correlation-id, notifications none.
    if (message.correlation_id !== undefined) {
      const rid = String(message.correlation_id);
      const status = numberOf(annotations[TWIN_ANNOTATION.status]);
      this.#log.verbose(`response ${String(status)} for correlation-id ${rid}`);
      this.#tracker.resolve(rid, {
        status,
        version: numberOf(annotations[TWIN_ANNOTATION.version]),
        body,
      });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(body ?? '');
    } catch {
      // Dropping it is safe: the next patch shows a version gap and the client re-reads the twin.
      this.#log.warning('ignored a desired notification whose body is not JSON');
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
    const { $version, ...patch } = value as JsonObject;
    const version = numberOf($version) ?? numberOf(annotations[TWIN_ANNOTATION.version]);
    if (version === undefined) {
      this.#log.warning('ignored a desired notification without a version');
      return;
    }
    this.#log.verbose(`desired patch $version=${String(version)}`);
    this.#handlers.desiredPatch(patch, version);
  }

  #onLost(connection: Connection, cause: unknown): void {
    const live = this.#live;
    if (this.#retired.has(connection) || live?.connection !== connection) return;
    this.#live = undefined;
    const error = translateAmqpError(cause, this.#errorContext('Connection'));
    this.#log.info(`connection lost: ${error.message}`);
    this.#retire(
      live,
      error instanceof TransportError ? error : new TransportError(error.message, { cause: error }),
    );
    void this.#close(connection, undefined);
    this.#handlers.disconnected(error);
  }

  #retire(live: Live, error: TransportError): void {
    this.#retired.add(live.connection);
    this.#tracker.failAll(error);
    this.#cbsTracker.failAll(error);
  }

  async #close(connection: Connection, signal: AbortSignal | undefined): Promise<void> {
    try {
      await withDeadline('disconnect', this.#context.operationTimeoutInMs, signal, (inner) =>
        connection.close({ abortSignal: inner }),
      );
    } catch {
      // The hub did not answer the CLOSE; drop the socket instead.
      (
        connection as unknown as { _connection?: { socket?: { destroy?: () => void } } }
      )._connection?.socket?.destroy?.();
    }
  }

  // --- requests ---------------------------------------------------------------------------------

  #request(
    operation: string,
    annotations: Record<string, string>,
    body: string,
    options: TransportRequestOptions,
  ): Promise<TwinResponse> {
    const live = this.#live;
    if (live === undefined) {
      return Promise.reject(
        new TransportError(`${operation} failed: the transport is not connected.`),
      );
    }
    const { rid, response } = this.#tracker.start(operation, {
      timeoutInMs: options.timeoutInMs ?? this.#context.operationTimeoutInMs,
      abortSignal: options.abortSignal,
    });
    // §5.4: correlation-id as a string, symbol-keyed annotations, a data-section body.
    const request: Message = {
      correlation_id: rid,
      message_annotations: annotations,
      body: amqpMessage.data_section(Buffer.from(body, 'utf8')) as unknown,
    };
    try {
      live.twinSender.send(request);
    } catch (error) {
      this.#tracker.fail(rid, translateAmqpError(error, this.#errorContext(operation)));
    }
    return response;
  }

  #throwIfFailed(response: TwinResponse, operation: string): void {
    const error: HubError | undefined = translateTwinStatus(
      response.status,
      response.body,
      this.#errorContext(operation),
    );
    if (error !== undefined) throw error;
  }

  #requireLive(operation: string): Live {
    const live = this.#live;
    if (live === undefined)
      throw new TransportError(`${operation} failed: the transport is not connected.`);
    return live;
  }

  #errorContext(operation: string): ErrorContext {
    return errorContextOf(operation, this.#params);
  }
}

function linkErrorOf(context: EventContext): unknown {
  const link = context.receiver ?? context.sender;
  const linkError = (link as { error?: unknown } | undefined)?.error;
  if (linkError !== undefined) return linkError;
  const session = context.session as { error?: unknown } | undefined;
  return session?.error ?? context.error;
}
