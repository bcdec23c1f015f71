/**
 * `DeviceTransport` over MQTT 3.1.1 (mqtt.js in Node, our own session in the web build), TCP+TLS or WebSocket (docs/internals/wire-contract.md#mqtt). mqtt.js's
 * own reconnect is off; a lost connection is reported through `handlers.disconnected` and the
 * DeviceClient decides what happens next (docs/internals/architecture.md#transport-boundary). Topics, client id and
 * username come from twin-model/protocol, never from literals here.
 *
 * @internal
 */
import type { DeviceTwin, JsonObject } from '@twinkit/twin-model';
import {
  OperationTimeoutError,
  TransportError,
  UnexpectedResponseError,
} from '@twinkit/twin-model/errors';
import {
  DESIRED_PATCH_TOPIC_FILTER,
  IOTHUB_WEBSOCKET_PATH,
  mqttClientId,
  mqttUsername,
  parseTwinTopic,
  reportedPatchTopic,
  TWIN_RESPONSE_TOPIC_FILTER,
  twinGetTopic,
} from '@twinkit/twin-model/protocol';
import { openMqttConnection } from '#platform/mqtt-connection';
import type { MqttConnection, OpenMqttConnection } from '../../platform/types.js';
import { createLogger, withDeadline } from '@twinkit/twin-model/internal';
import type {
  ConnectParams,
  DeviceTransport,
  OperationOptions,
  TransportContext,
  TransportHandlers,
  TransportRequestOptions,
  UpdateReportedResult,
} from '../transport.js';
import type { ConnectTarget } from '../connect-failure.js';
import { RequestTracker } from '../request-tracker.js';
import {
  describeIdentity,
  errorContextOf,
  resolveEndpoint,
  type ErrorContext,
} from '../transport-helpers.js';
import {
  MAX_TWIN_MESSAGE_BYTES,
  malformedVersionError,
  readDesiredNotification,
  readDeviceTwin,
} from '../twin-response.js';
import { explainMalformedTwinTopic } from './malformed-topic.js';
import { MqttPacketSizeGuard } from './packet-size-guard.js';
import { translateConnectionError, translateTwinResponse } from './translate-error.js';

/** Options of the MQTT transport, passed to `mqtt(options)`. */
export interface MqttTransportOptions {
  /** MQTT over WebSocket (`wss://host:443/$iothub/websocket`) instead of TCP+TLS on 8883. Default `false`. */
  webSocket?: boolean;
  /**
   * Port to connect to. Default: the port in `GatewayHostName`/`HostName` when one is given,
   * else 8883 (TCP) or 443 (WebSocket).
   */
  port?: number;
  /** WebSocket path. Default `/$iothub/websocket` (docs/internals/wire-contract.md#endpoints). */
  webSocketPath?: string;
  /** Sent as `DeviceClientType` in the username; identifies the app to the hub. */
  clientType?: string;
}

/** The user agent sent when the app names none. */
export const DEFAULT_CLIENT_TYPE = 'twinkit-device/0.1.0';

interface TwinResponse {
  status: number;
  version: number | undefined;
  body: string;
}

const decoder = new TextDecoder();

/**
 * The MQTT implementation of {@link DeviceTransport}.
 *
 * @internal
 */
export class MqttTransport implements DeviceTransport {
  readonly #options: MqttTransportOptions;
  readonly #handlers: TransportHandlers;
  readonly #context: TransportContext;
  readonly #openConnection: OpenMqttConnection;
  readonly #tracker = new RequestTracker<TwinResponse>();
  readonly #retired = new WeakSet<MqttConnection>();
  readonly #log = createLogger('twin:device:mqtt');
  #client: MqttConnection | undefined;
  #params: ConnectParams | undefined;
  #desired = false;

  /**
   * @param options - the transport options
   * @param handlers - where connection events go
   * @param context - the client's settings
   * @param openConnection - opens the MQTT connection; the platform's by default (tests run the
   *   web build's session from Node through it)
   */
  constructor(
    options: MqttTransportOptions,
    handlers: TransportHandlers,
    context: TransportContext,
    openConnection: OpenMqttConnection = openMqttConnection,
  ) {
    this.#options = options;
    this.#handlers = handlers;
    this.#context = context;
    this.#openConnection = openConnection;
  }

  async connect(params: ConnectParams, options: TransportRequestOptions = {}): Promise<void> {
    if (this.#client !== undefined) await this.disconnect();
    this.#params = params;
    this.#desired = false;
    this.#client = await this.#open(params, options);
  }

  async disconnect(options: OperationOptions = {}): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    this.#retired.add(client);
    this.#tracker.failAll(new TransportError('The client disconnected before the hub answered.'));
    await this.#end(client, options.abortSignal);
  }

  async getTwin(options: TransportRequestOptions = {}): Promise<DeviceTwin> {
    const operation = 'Twin read';
    const response = await this.#request(operation, twinGetTopic, '', options);
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
      (rid) => reportedPatchTopic(rid),
      JSON.stringify(patch),
      options,
    );
    this.#throwIfFailed(response, operation);
    if (response.version === undefined) {
      throw malformedVersionError(
        `the response topic of an accepted ${operation}`,
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
    const client = this.#requireClient(enabled ? 'Desired subscription' : 'Desired unsubscription');
    const timeoutInMs = options.timeoutInMs ?? this.#context.operationTimeoutInMs;
    await withDeadline(
      enabled ? 'subscribe' : 'unsubscribe',
      timeoutInMs,
      options.abortSignal,
      () =>
        enabled
          ? subscribe(client, DESIRED_PATCH_TOPIC_FILTER)
          : unsubscribe(client, DESIRED_PATCH_TOPIC_FILTER),
    );
    this.#desired = enabled;
  }

  async updateCredentials(
    params: ConnectParams,
    options: TransportRequestOptions = {},
  ): Promise<void> {
    const old = this.#requireClient('Credential update');
    const timeoutInMs = options.timeoutInMs ?? this.#context.operationTimeoutInMs;
    // Let answers already on their way arrive before the old connection goes.
    await this.#tracker.whenIdle(timeoutInMs);
    this.#client = undefined;
    this.#retired.add(old);
    this.#tracker.failAll(
      new TransportError('The connection was replaced to present a renewed token.'),
    );
    await this.#end(old, options.abortSignal);
    this.#params = params;
    this.#log.info(`reconnecting ${describeIdentity(params)} with a renewed token (clean=false)`);
    const client = await this.#open(params, options);
    if (this.#desired) {
      try {
        await withDeadline('subscribe', timeoutInMs, options.abortSignal, () =>
          subscribe(client, DESIRED_PATCH_TOPIC_FILTER),
        );
      } catch (error) {
        this.#retired.add(client);
        client.end(true);
        throw translateConnectionError(error, this.#errorContext('Desired subscription'));
      }
    }
    this.#client = client;
  }

  async #open(params: ConnectParams, options: TransportRequestOptions): Promise<MqttConnection> {
    const timeoutInMs = options.timeoutInMs ?? this.#context.operationTimeoutInMs;
    const { url, target } = this.#endpoint(params);
    const context = { ...this.#errorContext('Connect'), target };
    this.#log.info(`connecting ${describeIdentity(params)} to ${url}`);
    const client = await this.#openConnection({
      url,
      clientId: mqttClientId(params.deviceId, params.moduleId),
      username: mqttUsername({
        hostName: params.hostName,
        deviceId: params.deviceId,
        ...(params.moduleId === undefined ? {} : { moduleId: params.moduleId }),
        clientType: this.#options.clientType ?? DEFAULT_CLIENT_TYPE,
        ...(params.modelId === undefined ? {} : { modelId: params.modelId }),
      }),
      ...(params.sasToken === undefined ? {} : { password: params.sasToken }),
      keepAliveInSeconds: params.keepAliveInSeconds,
      connectTimeoutInMs: timeoutInMs,
      maxPacketBytes: MAX_TWIN_MESSAGE_BYTES,
      ...(params.ca === undefined ? {} : { ca: params.ca }),
      ...(params.clientCertificate === undefined
        ? {}
        : { clientCertificate: params.clientCertificate }),
    });
    let lastError: unknown;
    client.on('error', (error) => {
      lastError = error;
    });
    this.#guardPacketSize(client);
    client.on('message', (topic, payload) => {
      this.#onMessage(client, topic, payload);
    });
    try {
      await withDeadline('connect', timeoutInMs, options.abortSignal, () => waitForConnack(client));
      await withDeadline('subscribe', timeoutInMs, options.abortSignal, () =>
        subscribe(client, TWIN_RESPONSE_TOPIC_FILTER),
      );
    } catch (error) {
      this.#retired.add(client);
      client.end(true);
      if (options.abortSignal?.aborted === true && error === options.abortSignal.reason)
        throw error;
      if (error instanceof OperationTimeoutError) throw error;
      throw translateConnectionError(error, context);
    }
    client.on('close', () => {
      this.#onClose(client, lastError);
    });
    this.#log.info(`connected ${describeIdentity(params)}`);
    return client;
  }

  /**
   * Closes the connection as soon as the broker announces a packet larger than any twin message
   * (mqtt.js would buffer it whole first); waiting requests fail with the reason.
   */
  #guardPacketSize(client: MqttConnection): void {
    const guard = new MqttPacketSizeGuard(MAX_TWIN_MESSAGE_BYTES);
    client.stream.on('data', (chunk: Uint8Array) => {
      const size = guard.feed(chunk);
      if (size === undefined) return;
      const error = new UnexpectedResponseError(
        `The hub sent an MQTT packet of ${Number.isFinite(size) ? `${String(size)} bytes` : 'a malformed size'}, ` +
          `more than any twin message (${String(MAX_TWIN_MESSAGE_BYTES)} bytes); the connection was closed.`,
        undefined,
        `MQTT packets of at most ${String(MAX_TWIN_MESSAGE_BYTES)} bytes`,
      );
      this.#log.warning(error.message);
      if (this.#client === client) this.#tracker.failAll(error);
      client.emit('error', error);
      client.end(true);
    });
  }

  #onClose(client: MqttConnection, lastError: unknown): void {
    if (this.#retired.has(client) || client !== this.#client) return;
    this.#client = undefined;
    this.#retired.add(client);
    const error = translateConnectionError(lastError, this.#errorContext('Connection'));
    this.#log.info(`connection lost: ${error.message}`);
    this.#tracker.failAll(
      error instanceof TransportError ? error : new TransportError(error.message, { cause: error }),
    );
    this.#handlers.disconnected(error);
  }

  #onMessage(client: MqttConnection, topic: string, payload: Uint8Array): void {
    if (this.#retired.has(client)) return;
    const parsed = parseTwinTopic(topic);
    if (parsed === undefined) {
      this.#onMalformedTopic(topic);
      return;
    }
    const body = decoder.decode(payload);
    if (parsed.kind === 'response') {
      this.#log.verbose(`response ${String(parsed.status)} for $rid=${parsed.rid}`);
      this.#tracker.resolve(parsed.rid, { status: parsed.status, version: parsed.version, body });
      return;
    }
    if (parsed.kind !== 'desired-patch') return;
    let notification: ReturnType<typeof readDesiredNotification>;
    try {
      notification = readDesiredNotification(body);
    } catch (error) {
      this.#rejectNotification(error as UnexpectedResponseError);
      return;
    }
    this.#log.verbose(`desired patch $version=${String(parsed.version)}`);
    this.#handlers.desiredPatch(notification.patch, parsed.version);
  }

  #onMalformedTopic(topic: string): void {
    const malformed = explainMalformedTwinTopic(topic);
    if (malformed === undefined) return;
    if (malformed.kind === 'response') {
      this.#log.warning(malformed.error.message);
      this.#tracker.fail(malformed.rid, malformed.error);
      return;
    }
    this.#rejectNotification(malformed.error);
  }

  /** A desired notification the protocol does not allow: dropped, and reported to the client. */
  #rejectNotification(error: UnexpectedResponseError): void {
    this.#log.warning(error.message);
    this.#handlers.protocolViolation?.(error);
  }

  async #request(
    operation: string,
    topicFor: (rid: string) => string,
    payload: string,
    options: TransportRequestOptions,
  ): Promise<TwinResponse> {
    const client = this.#requireClient(operation);
    const { rid, response } = this.#tracker.start(operation, {
      timeoutInMs: options.timeoutInMs ?? this.#context.operationTimeoutInMs,
      abortSignal: options.abortSignal,
    });
    client.publish(topicFor(rid), payload, { qos: 0 }, (error) => {
      if (error)
        this.#tracker.fail(rid, translateConnectionError(error, this.#errorContext(operation)));
    });
    return response;
  }

  #throwIfFailed(response: TwinResponse, operation: string): void {
    const error = translateTwinResponse(
      response.status,
      response.body,
      this.#errorContext(operation),
    );
    if (error !== undefined) throw error;
  }

  #requireClient(operation: string): MqttConnection {
    const client = this.#client;
    if (client === undefined)
      throw new TransportError(`${operation} failed: the transport is not connected.`);
    return client;
  }

  #errorContext(operation: string): ErrorContext {
    return errorContextOf(operation, this.#params);
  }

  #endpoint(params: ConnectParams): { url: string; target: ConnectTarget } {
    const webSocket = this.#options.webSocket === true;
    const { target } = resolveEndpoint(params, this.#options.port, webSocket ? 443 : 8883);
    const url = webSocket
      ? `wss://${target.address}${this.#options.webSocketPath ?? IOTHUB_WEBSOCKET_PATH}`
      : `mqtts://${target.address}`;
    return { url, target };
  }

  async #end(client: MqttConnection, signal: AbortSignal | undefined): Promise<void> {
    const ended = new Promise<void>((resolve) => {
      client.end(false, {}, () => {
        resolve();
      });
    });
    try {
      await withDeadline('disconnect', this.#context.operationTimeoutInMs, signal, () => ended);
    } catch {
      client.end(true);
    }
  }
}

function waitForConnack(client: MqttConnection): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onConnect = (): void => {
      cleanup();
      resolve();
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onClose = (): void => {
      cleanup();
      reject(new TransportError('The connection closed before the hub accepted it.'));
    };
    const cleanup = (): void => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
    };
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}

function subscribe(client: MqttConnection, filter: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    client.subscribe(filter, { qos: 0 }, (error, granted) => {
      if (error) {
        reject(error);
        return;
      }
      if (granted?.some((grant) => grant.qos === 128) === true) {
        reject(
          new TransportError(`The hub refused the subscription to ${filter}.`, {
            retryable: false,
          }),
        );
        return;
      }
      resolve();
    });
  });
}

function unsubscribe(client: MqttConnection, filter: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    client.unsubscribe(filter, (error?: Error) => {
      if (error) reject(error);
      else resolve();
    });
  });
}
