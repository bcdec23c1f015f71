/**
 * `DeviceTransport` over AMQP 1.0 (rhea-promise), TLS on 5671 or WebSocket on 443
 * (docs/internals/wire-contract.md#amqp). One connection and session per identity: CBS `$cbs` links for put-token
 * (also how a renewed token is presented, docs/internals/wire-contract.md#token-lifetimes), and a twin link pair with a shared
 * channel-correlation-id (docs/internals/wire-contract.md#amqp-twin-links). rhea's reconnect is off; a lost connection, or a twin link the
 * hub detaches, is reported through `handlers.disconnected` and the DeviceClient decides what
 * happens next (docs/internals/architecture.md#transport-boundary). Node only.
 *
 * @internal
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { DeviceTwin, JsonObject } from '@twinkit/twin-model';
import {
  OperationTimeoutError,
  TransportError,
  UnexpectedResponseError,
  type HubError,
} from '@twinkit/twin-model/errors';
import {
  API_VERSION,
  CBS_NODE,
  DESIRED_NOTIFICATIONS_RESOURCE,
  KnownTwinAmqpOperation,
  REPORTED_PROPERTIES_RESOURCE,
  TWIN_ANNOTATION,
  TWIN_LINK_PROPERTY,
  twinLinkAddress,
} from '@twinkit/twin-model/protocol';
import {
  Connection,
  ConnectionEvents,
  type EventContext,
  type Message,
  type Receiver,
  type Sender,
  type Session,
} from 'rhea-promise';
import { createLogger, withDeadline } from '@twinkit/twin-model/internal';
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
import { describeIdentity, errorContextOf, type ErrorContext } from '../transport-helpers.js';
import { MAX_TWIN_MESSAGE_BYTES, malformedVersionError, readDeviceTwin } from '../twin-response.js';
import {
  AMQP_MAX_FRAME_BYTES,
  amqpEndpoint,
  createAmqpConnectionOptions,
} from './amqp-connection-options.js';
import {
  createPutTokenRequest,
  createTwinRequest,
  readCbsResponse,
  readTwinMessage,
  type CbsResponse,
  type TwinResponse,
} from './amqp-messages.js';
import { AmqpFrameGuard } from './frame-guard.js';
import { translateAmqpError, translateCbsStatus, translateTwinStatus } from './translate-error.js';

interface Live {
  readonly connection: Connection;
  readonly session: Session;
  readonly cbs: { sender: Sender; receiver: Receiver } | undefined;
  readonly twinSender: Sender;
  readonly twinReceiver: Receiver;
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
      const { target } = amqpEndpoint(params, this.#options);
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
    return readDeviceTwin(response.body, operation, response.status);
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
      throw malformedVersionError(
        `the response to an accepted ${operation}`,
        undefined,
        response.status,
      );
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
    // docs/internals/wire-contract.md#token-lifetimes: AMQP renews with a new put-token on the existing connection; links and the desired
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
    const opened: { connection?: Connection } = {};
    const connection = new Connection(
      createAmqpConnectionOptions(params, this.#options, timeoutInMs, (stream) => {
        this.#guardFrames(stream, opened);
      }),
    );
    opened.connection = connection;
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
      // docs/internals/wire-contract.md#amqp-twin-links: the same channel-correlation-id on both links of the pair.
      const properties = {
        [TWIN_LINK_PROPERTY.channelCorrelationId]: `twin:${randomUUID()}`,
        [TWIN_LINK_PROPERTY.apiVersion]: API_VERSION,
        [TWIN_LINK_PROPERTY.clientVersion]:
          this.#options.clientVersion ?? DEFAULT_AMQP_CLIENT_VERSION,
        // docs/internals/wire-contract.md#model-id: as Java and C# do, on both twin links.
        ...(params.modelId === undefined ? {} : { [TWIN_LINK_PROPERTY.modelId]: params.modelId }),
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

  /**
   * Closes the connection as soon as the peer sends a frame or message larger than the device
   * accepts (rhea would buffer it whole first); waiting requests fail with the reason.
   */
  #guardFrames(stream: Duplex, opened: { connection?: Connection }): void {
    const guard = new AmqpFrameGuard({
      maxFrameBytes: AMQP_MAX_FRAME_BYTES,
      maxMessageBytes: MAX_TWIN_MESSAGE_BYTES,
    });
    stream.on('data', (chunk: Uint8Array) => {
      const violation = guard.feed(chunk);
      if (violation === undefined) return;
      const error = new UnexpectedResponseError(
        `The hub sent ${violation}; the connection was closed.`,
        undefined,
        `AMQP frames of at most ${String(AMQP_MAX_FRAME_BYTES)} bytes and messages of at most ${String(MAX_TWIN_MESSAGE_BYTES)} bytes`,
      );
      this.#log.warning(error.message);
      const connection = opened.connection;
      if (connection !== undefined && !this.#retired.has(connection)) {
        this.#tracker.failAll(error);
        this.#cbsTracker.failAll(error);
      }
      stream.destroy(error);
    });
  }

  async #putToken(
    sender: Sender,
    params: ConnectParams,
    options: { timeoutInMs: number; abortSignal: AbortSignal | undefined },
  ): Promise<void> {
    const token = params.sasToken;
    if (token === undefined) return;
    const { rid, response } = this.#cbsTracker.start('CBS put-token', options);
    try {
      sender.send(createPutTokenRequest(rid, token, params));
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
    const answer = readCbsResponse(message);
    if (answer !== undefined) this.#cbsTracker.resolve(answer.rid, answer.response);
  }

  #onTwinMessage(connection: Connection, message: Message | undefined): void {
    if (message === undefined || this.#retired.has(connection)) return;
    const received = readTwinMessage(message);
    switch (received.kind) {
      case 'response':
        if (received.response instanceof UnexpectedResponseError) {
          this.#log.warning(received.response.message);
          this.#tracker.fail(received.rid, received.response);
        } else {
          this.#log.verbose(
            `response ${String(received.response.status)} for correlation-id ${received.rid}`,
          );
          this.#tracker.resolve(received.rid, received.response);
        }
        return;
      case 'notification':
        this.#log.verbose(`desired patch $version=${String(received.version)}`);
        this.#handlers.desiredPatch(received.patch, received.version);
        return;
      case 'violation':
        this.#log.warning(received.error.message);
        this.#handlers.protocolViolation?.(received.error);
        return;
    }
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
    try {
      live.twinSender.send(createTwinRequest(rid, annotations, body));
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
