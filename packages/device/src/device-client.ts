/**
 * The DeviceClient: a device's (or module's) twin over a swappable transport, with the policy
 * the transports deliberately lack (house-style 4.5, 4.7): reconnect forever with backoff and
 * jitter, SAS renewal, desired-property resync after every (re)connect and on version gaps,
 * deadlines and cancellation on every operation, and an ordered offline outbox.
 */
import { validateSection } from '@twinkit/twin-model';
import type { DeviceTwin, JsonObject, MergePatch } from '@twinkit/twin-model';
import {
  OperationTimeoutError,
  TransportError,
  TwinValidationError,
  isRetryableError,
  isUnauthorizedError,
  type HubError,
} from '@twinkit/twin-model/errors';
import {
  parseDeviceConnectionString,
  parseSasToken,
  splitHostPort,
} from '@twinkit/twin-model/protocol';
import type { DeviceCredential, DeviceIdentity } from './auth/credential.js';
import { SasKeyCredential } from './auth/sas-key-credential.js';
import { SasTokenCredential, type SasTokenProvider } from './auth/sas-token-credential.js';
import { X509Credential } from './auth/x509-credential.js';
import type {
  ConnectionChangeReason,
  ConnectionStateChange,
  ConnectionStatus,
  DeviceClientEvents,
} from './connection-state.js';
import { DEFAULT_MAX_QUEUED_CHANGES, DesiredQueue } from './desired/desired-queue.js';
import {
  DesiredRouter,
  type DesiredChange,
  type DesiredPath,
  type DesiredValueAt,
} from './desired/desired-router.js';
import { DesiredSync } from './desired/desired-sync.js';
import {
  abortable,
  anySignal,
  backoffDelay,
  createLogger,
  delay,
  resolveRetryOptions,
  withDeadline,
  type ResolvedRetryOptions,
} from '@twinkit/twin-model/internal';
import { Emitter, type Unsubscribe } from './internal/emitter.js';
import {
  DEFAULT_RETRY_OPTIONS,
  type CloseOptions,
  type DeviceClientOptions,
  type FromSasTokenOptions,
  type GetTwinOptions,
  type OpenOptions,
  type UpdateReportedPropertiesOptions,
  type WatchDesiredOptions,
} from './options.js';
import { DEFAULT_OUTBOX_OPTIONS, ReportedOutbox } from './outbox/reported-outbox.js';
import { mqtt } from './transport/mqtt/index.js';
import type {
  ConnectParams,
  DeviceTransport,
  UpdateReportedResult,
} from './transport/transport.js';

/** Default deadline of every operation. */
export const DEFAULT_OPERATION_TIMEOUT_IN_MS = 30_000;
/** Default MQTT keep-alive. */
export const DEFAULT_KEEP_ALIVE_IN_SECONDS = 180;
/** Default SAS token lifetime. */
export const DEFAULT_TOKEN_VALIDITY_IN_SECONDS = 3600;
/** Default renewal margin before a token expires. */
export const DEFAULT_TOKEN_RENEWAL_MARGIN_IN_SECONDS = 900;

/** A desired-change handler. */
export type DesiredHandler<TValue> = (change: DesiredChange<TValue>) => void | Promise<void>;

/** One open..close lifetime; closing aborts its signal so every wait in it ends. */
interface Session {
  readonly controller: AbortController;
  closed: boolean;
  /** The connect loop currently running (open or reconnect), for close() to wait on. */
  loop?: Promise<void>;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!(resolved > 0) || !Number.isFinite(resolved)) {
    throw new RangeError(`${name} must be a positive, finite number (got ${String(value)})`);
  }
  return resolved;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * A device or module connection to IoT Hub's twin.
 *
 * @typeParam TDesired - the shape of the desired properties (drives typed `onDesired` paths)
 * @typeParam TReported - the shape of the reported properties
 * @example
 * ```ts
 * await using device = DeviceClient.fromConnectionString(cs, { transport: mqtt() });
 * await device.open();
 * const off = device.onDesired('telemetry.interval', (change) => apply(change.value));
 * const twin = await device.getTwin();
 * await device.updateReportedProperties({ firmware: '1.2.0' });
 * ```
 */
export class DeviceClient<
  TDesired extends object = JsonObject,
  TReported extends object = JsonObject,
> implements AsyncDisposable {
  readonly #credential: DeviceCredential;
  readonly #transport: DeviceTransport;
  readonly #operationTimeoutInMs: number;
  readonly #keepAliveInSeconds: number;
  readonly #renewalMarginInSeconds: number;
  readonly #retry: ResolvedRetryOptions;
  readonly #ca: string | undefined;
  readonly #modelId: string | undefined;
  readonly #log = createLogger('twin:device:client');
  readonly #events: Emitter<DeviceClientEvents>;
  readonly #router: DesiredRouter;
  readonly #sync: DesiredSync;
  readonly #outbox: ReportedOutbox;
  readonly #watchers = new Set<DesiredQueue>();

  #status: ConnectionStatus = 'disconnected';
  #statusWaiters: (() => void)[] = [];
  #session: Session | undefined;
  #opening: Promise<void> | undefined;
  #renewing: Promise<void> | undefined;
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  #resyncTimer: ReturnType<typeof setTimeout> | undefined;
  #resyncAttempt = 0;
  #desiredWanted = false;
  #desiredOnTransport = false;
  #reconciling = false;
  #reconcileAgain = false;
  /** The transport dropped after connect() resolved but before the client counted it as connected. */
  #droppedWhileConnecting: Error | undefined;

  /**
   * Builds a client; does no I/O (call {@link DeviceClient.open}).
   *
   * @param credential - the identity and how it authenticates
   * @param options - transport, deadlines, retry, renewal and outbox settings
   * @throws {@link RangeError} when an option is out of range
   * @throws {@link TypeError} when the identity's host names are malformed
   */
  constructor(credential: DeviceCredential, options: DeviceClientOptions = {}) {
    splitHostPort(credential.identity.hostName);
    if (credential.identity.gatewayHostName !== undefined)
      splitHostPort(credential.identity.gatewayHostName);
    this.#credential = credential;
    this.#operationTimeoutInMs = positive(
      'operationTimeoutInMs',
      options.operationTimeoutInMs,
      DEFAULT_OPERATION_TIMEOUT_IN_MS,
    );
    this.#keepAliveInSeconds = positive(
      'keepAliveInSeconds',
      options.keepAliveInSeconds,
      DEFAULT_KEEP_ALIVE_IN_SECONDS,
    );
    const margin = options.tokenRenewalMarginInSeconds ?? DEFAULT_TOKEN_RENEWAL_MARGIN_IN_SECONDS;
    if (!(margin >= 0) || !Number.isFinite(margin)) {
      throw new RangeError('tokenRenewalMarginInSeconds must be a finite number >= 0');
    }
    this.#renewalMarginInSeconds = margin;
    this.#retry = resolveRetryOptions(options.retryOptions, DEFAULT_RETRY_OPTIONS);
    this.#ca = options.ca;
    this.#modelId = options.modelId;
    this.#events = new Emitter<DeviceClientEvents>((error, event) => {
      this.#log.error(`a '${event}' handler threw: ${toError(error).message}`);
    });
    this.#router = new DesiredRouter((count) => {
      this.#onSubscriberCount(count);
    });
    this.#sync = new DesiredSync({
      readTwin: () => this.#readTwinForSync(),
      deliver: (routed) => {
        this.#router.dispatch(routed);
      },
      onResyncError: (error) => {
        this.#onResyncFailed(error);
      },
      logger: this.#log,
    });
    const outbox =
      options.outbox === false ? undefined : { ...DEFAULT_OUTBOX_OPTIONS, ...options.outbox };
    this.#outbox = new ReportedOutbox({
      enabled: outbox !== undefined,
      maxPatches: outbox?.maxPatches ?? DEFAULT_OUTBOX_OPTIONS.maxPatches,
      maxBytes: outbox?.maxBytes ?? DEFAULT_OUTBOX_OPTIONS.maxBytes,
      send: (patch) => this.#sendReported(patch),
      logger: this.#log,
    });
    const factory = options.transport ?? mqtt();
    this.#transport = factory(
      {
        desiredPatch: (patch, version) => {
          if (this.#desiredWanted) this.#sync.onPatch(patch, version);
        },
        disconnected: (error) => {
          this.#onTransportDisconnected(error);
        },
      },
      { operationTimeoutInMs: this.#operationTimeoutInMs },
    );
  }

  /**
   * Builds a client from a device or module connection string: `SharedAccessKey` (tokens are
   * signed and renewed automatically), `SharedAccessSignature` (a fixed token) or `x509=true`
   * (with `options.clientCertificate`). `ModuleId=` makes it a module client;
   * `GatewayHostName=host[:port]` connects there while authenticating as `HostName`.
   *
   * @param connectionString - e.g. `HostName=hub.example;DeviceId=dev-1;SharedAccessKey=…`
   * @param options - client options
   * @returns a client that is not yet open
   * @throws {@link TypeError} when the connection string is malformed (the message never repeats the key)
   * @example
   * ```ts
   * const device = DeviceClient.fromConnectionString(process.env.DEVICE_CS!, { transport: mqtt({ webSocket: true }) });
   * ```
   */
  static fromConnectionString<
    TDesired extends object = JsonObject,
    TReported extends object = JsonObject,
  >(
    connectionString: string,
    options: DeviceClientOptions = {},
  ): DeviceClient<TDesired, TReported> {
    const parts = parseDeviceConnectionString(connectionString);
    const identity: DeviceIdentity = {
      hostName: parts.hostName,
      deviceId: parts.deviceId,
      ...(parts.moduleId === undefined ? {} : { moduleId: parts.moduleId }),
      ...(parts.gatewayHostName === undefined ? {} : { gatewayHostName: parts.gatewayHostName }),
    };
    let credential: DeviceCredential;
    if (parts.sharedAccessKey !== undefined) {
      credential = new SasKeyCredential(identity, parts.sharedAccessKey, {
        tokenValidityInSeconds: options.tokenValidityInSeconds ?? DEFAULT_TOKEN_VALIDITY_IN_SECONDS,
        ...(parts.sharedAccessKeyName === undefined
          ? {}
          : { sharedAccessKeyName: parts.sharedAccessKeyName }),
      });
    } else if (parts.sharedAccessSignature !== undefined) {
      credential = new SasTokenCredential(identity, parts.sharedAccessSignature);
    } else {
      if (options.clientCertificate === undefined) {
        throw new TypeError(
          'An x509=true connection string needs options.clientCertificate ({ certificate, key })',
        );
      }
      credential = new X509Credential(identity, options.clientCertificate);
    }
    return new DeviceClient<TDesired, TReported>(credential, options);
  }

  /**
   * Builds a client from a SAS token; the hub, device and module come from the token's `sr`
   * (`host/devices/id[/modules/mid]`). The token cannot be renewed: when it expires the hub
   * refuses reconnects and the client stops with reason `credential-rejected`. Prefer
   * {@link DeviceClient.fromTokenProvider} for long-running devices.
   *
   * @param sasToken - `SharedAccessSignature sr=…&sig=…&se=…`
   * @param options - client options, plus `gatewayHostName` to connect elsewhere
   * @returns a client that is not yet open
   * @throws {@link TypeError} when the token is malformed or its `sr` names no device
   */
  static fromSasToken<TDesired extends object = JsonObject, TReported extends object = JsonObject>(
    sasToken: string,
    options: FromSasTokenOptions = {},
  ): DeviceClient<TDesired, TReported> {
    const { resourceUri } = parseSasToken(sasToken);
    const match = /^([^/]+)\/devices\/([^/]+)(?:\/modules\/([^/]+))?\/?$/.exec(resourceUri);
    if (match === null) {
      throw new TypeError(
        'The SAS token does not name a device: its sr must be <host>/devices/<id>[/modules/<mid>]',
      );
    }
    const [, hostName = '', deviceId = '', moduleId] = match;
    const identity: DeviceIdentity = {
      hostName,
      deviceId,
      ...(moduleId === undefined ? {} : { moduleId }),
      ...(options.gatewayHostName === undefined
        ? {}
        : { gatewayHostName: options.gatewayHostName }),
    };
    return new DeviceClient<TDesired, TReported>(
      new SasTokenCredential(identity, sasToken),
      options,
    );
  }

  /**
   * Builds a client whose SAS tokens come from a callback, called before the first connection
   * and again `tokenRenewalMarginInSeconds` before each token expires.
   *
   * @param identity - hub host, device, optional module and gateway
   * @param provider - returns a fresh token for the given resource
   * @param options - client options
   * @returns a client that is not yet open
   * @example
   * ```ts
   * const device = DeviceClient.fromTokenProvider(
   *   { hostName: 'hub.example', deviceId: 'dev-1' },
   *   async ({ resourceUri }) => (await fetch(`/token?sr=${resourceUri}`)).text(),
   * );
   * ```
   */
  static fromTokenProvider<
    TDesired extends object = JsonObject,
    TReported extends object = JsonObject,
  >(
    identity: DeviceIdentity,
    provider: SasTokenProvider,
    options: DeviceClientOptions = {},
  ): DeviceClient<TDesired, TReported> {
    if (typeof provider !== 'function')
      throw new TypeError('provider must be a function that returns a SAS token');
    return new DeviceClient<TDesired, TReported>(
      new SasTokenCredential(identity, provider),
      options,
    );
  }

  /** The current connection state. */
  get connectionState(): ConnectionStatus {
    return this.#status;
  }

  /** Whether the client is connected right now. */
  get isConnected(): boolean {
    return this.#status === 'connected';
  }

  /** The identity this client connects as. */
  get identity(): Readonly<DeviceIdentity> {
    return this.#credential.identity;
  }

  /**
   * Listens to lifecycle events.
   *
   * @param event - `connectionStateChange` (typed reasons, see `KnownConnectionChangeReason`) or `error`
   * @param handler - called for each event
   * @returns removes the handler
   * @example
   * ```ts
   * device.on('connectionStateChange', ({ state, reason }) => console.log(state, reason));
   * ```
   */
  on<K extends keyof DeviceClientEvents>(
    event: K,
    handler: (value: DeviceClientEvents[K]) => void,
  ): Unsubscribe {
    return this.#events.on(event, handler);
  }

  /**
   * Connects. Retryable failures (network, timeouts, 5xx) are retried with backoff until the
   * deadline; a rejected credential or a disabled device fails at once. Idempotent: calling it
   * while open or opening returns the same outcome.
   *
   * @param options - cancellation
   * @throws {@link UnauthorizedError} when the hub rejects the credential (code `DeviceDisabled` for a disabled device)
   * @throws {@link OperationTimeoutError} when no connection succeeded within `operationTimeoutInMs` (`cause`: the last failure)
   * @throws {@link TransportError} when `close()` was called meanwhile
   */
  async open(options: OpenOptions = {}): Promise<void> {
    if (this.#opening !== undefined) return abortable(this.#opening, options.abortSignal);
    if (this.#session !== undefined) return;
    const session: Session = { controller: new AbortController(), closed: false };
    this.#session = session;
    this.#setStatus('connecting', 'open-requested');
    let lastError: unknown;
    const opening = withDeadline(
      'open',
      this.#operationTimeoutInMs,
      anySignal([options.abortSignal, session.controller.signal]),
      (signal) => {
        const loop = this.#connectLoop(session, 'open', signal, (error) => {
          lastError = error;
        });
        session.loop = loop;
        return loop;
      },
    ).then(
      () => {
        this.#onConnected(session, 'connected');
      },
      (error: unknown) => {
        if (error instanceof OperationTimeoutError && lastError !== undefined)
          error.cause = lastError;
        if (this.#session === session) {
          this.#endSession(session);
          this.#setStatus(
            'disconnected',
            this.#reasonForFailure(error, 'open-failed'),
            toError(error),
          );
        }
        throw error;
      },
    );
    this.#opening = opening;
    try {
      await opening;
    } finally {
      if (this.#opening === opening) this.#opening = undefined;
    }
  }

  /**
   * Disconnects and stops reconnecting. Idempotent and safe while `open()` is running (that
   * call then rejects with `TransportError`). Reported patches still waiting in the outbox are
   * rejected with `TransportError`; `watchDesired` iterators finish.
   *
   * @param options - cancellation of the graceful disconnect
   */
  async close(options: CloseOptions = {}): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    this.#endSession(session);
    this.#outbox.failAll(
      new TransportError('The client was closed before the reported patch was sent.', {
        retryable: false,
      }),
    );
    for (const watcher of [...this.#watchers]) watcher.end();
    await session.loop?.catch(() => undefined);
    await this.#renewing?.catch(() => undefined);
    try {
      await this.#transport.disconnect(options);
    } catch (error) {
      this.#log.warning(`disconnect failed: ${toError(error).message}`);
    }
    if (this.#status !== 'disconnected') this.#setStatus('disconnected', 'close-requested');
  }

  /** Calls {@link DeviceClient.close}, so `await using device = …` closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Reads the twin: desired and reported properties with their `$version`s. While the client
   * reconnects it waits (within the deadline) for the connection to come back.
   *
   * @param options - cancellation
   * @returns the device view of the twin (no tags, no `$metadata`)
   * @throws {@link OperationTimeoutError} when no answer came within `operationTimeoutInMs`
   * @throws {@link TransportError} when the client is not open or the connection dropped
   * @throws {@link ThrottledError} or {@link ServiceUnavailableError} when the hub says so
   * @example
   * ```ts
   * const { desired, reported } = await device.getTwin();
   * console.log(desired.$version, reported.$version);
   * ```
   */
  async getTwin(options: GetTwinOptions = {}): Promise<DeviceTwin<TDesired, TReported>> {
    const twin = await withDeadline(
      'getTwin',
      this.#operationTimeoutInMs,
      options.abortSignal,
      async (signal) => {
        await this.#whenConnected('Twin read', signal);
        return this.#transport.getTwin({
          abortSignal: signal,
          timeoutInMs: this.#operationTimeoutInMs,
        });
      },
    );
    // A twin the app read is a twin the client knows: later desired changes are reported
    // relative to it, so no change between this read and the next patch can be missed.
    this.#sync.observe(twin);
    return twin as unknown as DeviceTwin<TDesired, TReported>;
  }

  /**
   * Sends a reported-properties merge patch (`null` deletes a key) after validating it with
   * twin-model. Patches are sent in call order, one at a time; calls made while a send is in
   * flight or while disconnected are coalesced in the outbox and sent after it (see
   * `DeviceClientOptions.outbox`). The deadline applies from the moment the patch is sent.
   *
   * @param patch - the change to the reported section
   * @param options - cancellation: stops waiting and withdraws the patch if it was not yet merged with another
   * @returns the new reported `$version`
   * @throws {@link TwinValidationError} when the patch breaks a twin rule; nothing is sent
   * @throws {@link TransportError} when disconnected with `outbox: false`, when the outbox is full, or on close
   * @throws {@link BadRequestError}, {@link PreconditionFailedError}, {@link ThrottledError} … when the hub rejects it
   * @example
   * ```ts
   * const { version } = await device.updateReportedProperties({ firmware: { version: '1.2.0' } });
   * ```
   */
  async updateReportedProperties(
    patch: MergePatch<TReported>,
    options: UpdateReportedPropertiesOptions = {},
  ): Promise<UpdateReportedResult> {
    const result = validateSection(patch, 'reported', { mode: 'patch' });
    if (!result.valid) throw new TwinValidationError(result.issues, 'Reported properties update');
    return this.#outbox.enqueue(patch as unknown as JsonObject, options.abortSignal);
  }

  /**
   * Subscribes to desired-property changes: every change (no path), one grouping
   * (`'climate'`) or one property (`'climate.hvac.fanOn'`). Changes arrive in version order,
   * never twice; what changed while the device was offline (or across a version gap) arrives as
   * one change with `reason: 'resync'`. The first subscriber turns the transport's desired
   * subscription on; the last one to leave turns it off. Call `getTwin()` for the current state:
   * handlers receive every change after the first twin read.
   *
   * @param handler - receives `{ path, value, version, patch, reason }`; a throw or rejection is reported as an `error` event
   * @returns removes the subscription
   * @throws {@link TypeError} when the path is malformed
   * @example
   * ```ts
   * const off = device.onDesired('climate.hvac.fanOn', ({ value, version }) => setFan(value === true));
   * ```
   */
  onDesired(handler: DesiredHandler<TDesired>): Unsubscribe;
  /**
   * Calls `handler` for every desired change at or under `path`: a grouping (`'climate'`) or one
   * property (`'climate.hvac.fanOn'`), typed from `TDesired`.
   *
   * @param path - dotted path of the grouping or property
   * @param handler - receives `{ path, value, version, patch, reason }`
   * @returns removes the subscription
   * @throws {@link TypeError} when the path is malformed
   */
  onDesired<P extends DesiredPath<TDesired>>(
    path: P,
    handler: DesiredHandler<DesiredValueAt<TDesired, P>>,
  ): Unsubscribe;
  onDesired(
    pathOrHandler: string | DesiredHandler<never>,
    maybeHandler?: DesiredHandler<never>,
  ): Unsubscribe {
    const path = typeof pathOrHandler === 'string' ? pathOrHandler : '';
    const handler = typeof pathOrHandler === 'function' ? pathOrHandler : maybeHandler;
    if (typeof handler !== 'function') throw new TypeError('onDesired needs a handler function');
    const call = handler as unknown as (change: DesiredChange) => void | Promise<void>;
    return this.#router.subscribe(path, (change) => {
      try {
        const result = call(change);
        if (result instanceof Promise) {
          result.catch((error: unknown) => {
            this.#reportError(error);
          });
        }
      } catch (error) {
        this.#reportError(error);
      }
    });
  }

  /**
   * Desired changes as an async iterator, for scoped consumption with `for await`. It finishes
   * when the client closes or `return()` is called, and rejects with `abortSignal.reason` when
   * the signal aborts.
   *
   * Queue policy: at most `maxQueuedChanges` (default 100) changes wait for a slow consumer.
   * On overflow they are COALESCED into one change (`reason: 'coalesced'`) carrying the newest
   * `version` and `value` and a `patch` that combines all of them, so the consumer always ends
   * at the current state and memory stays bounded.
   *
   * @param path - dotted path, or omit for every change
   * @param options - cancellation and queue bound
   * @returns an async iterator of changes
   * @throws {@link RangeError} when `maxQueuedChanges` is below 1
   * @example
   * ```ts
   * for await (const change of device.watchDesired('settings', { abortSignal })) apply(change.value);
   * ```
   */
  watchDesired<P extends DesiredPath<TDesired>>(
    path?: P,
    options: WatchDesiredOptions = {},
  ): AsyncIterableIterator<DesiredChange<DesiredValueAt<TDesired, P>>> {
    const signal = options.abortSignal;
    let unsubscribe: Unsubscribe = () => undefined;
    const onAbort = (): void => {
      queue.end({ error: signal?.reason });
    };
    const queue = new DesiredQueue(options.maxQueuedChanges ?? DEFAULT_MAX_QUEUED_CHANGES, () => {
      unsubscribe();
      this.#watchers.delete(queue);
      signal?.removeEventListener('abort', onAbort);
    });
    if (signal?.aborted === true) {
      queue.end({ error: signal.reason });
    } else {
      unsubscribe = this.#router.subscribe(path ?? '', (change, routed) => {
        queue.push(change, routed);
      });
      this.#watchers.add(queue);
      signal?.addEventListener('abort', onAbort, { once: true });
    }
    return queue as unknown as AsyncIterableIterator<DesiredChange<DesiredValueAt<TDesired, P>>>;
  }

  // ---------------------------------------------------------------- connection lifecycle

  async #connectLoop(
    session: Session,
    mode: 'open' | 'reconnect',
    signal: AbortSignal,
    onFailure: (error: unknown) => void = () => undefined,
  ): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.#connectOnce(session, signal);
        return;
      } catch (error) {
        if (signal.aborted || session.closed) throw error;
        onFailure(error);
        if (!isRetryableError(error)) throw error;
        if (mode === 'reconnect' && attempt + 1 > this.#retry.maxRetries) throw error;
        // Retries are numbered from 1 in the shared backoff: this is retry number attempt + 1.
        const retryInMs = backoffDelay(
          attempt + 1,
          this.#retry.retryDelayInMs,
          this.#retry.maxRetryDelayInMs,
        );
        this.#log.info(
          `connect attempt ${String(attempt + 1)} failed (${toError(error).message}); retrying in ${String(retryInMs)} ms`,
        );
        this.#emitState({
          state: this.#status,
          previousState: this.#status,
          reason: 'retry-scheduled',
          error: toError(error),
          attempt: attempt + 1,
          retryInMs,
        });
        await delay(retryInMs, signal);
      }
    }
  }

  async #connectOnce(session: Session, signal: AbortSignal): Promise<void> {
    this.#droppedWhileConnecting = undefined;
    const auth = await this.#credential.getAuth({ abortSignal: signal });
    const params = this.#connectParams(auth);
    await this.#transport.connect(params, {
      abortSignal: signal,
      timeoutInMs: this.#operationTimeoutInMs,
    });
    this.#desiredOnTransport = false;
    try {
      if (session.closed || signal.aborted) throw signal.reason;
      if (this.#desiredWanted) {
        await this.#transport.setDesiredSubscription(true, {
          abortSignal: signal,
          timeoutInMs: this.#operationTimeoutInMs,
        });
        this.#desiredOnTransport = true;
      }
    } catch (error) {
      await this.#transport.disconnect().catch(() => undefined);
      throw error;
    }
    this.#scheduleRenewal(session, auth.expiresOnInSeconds);
  }

  #onConnected(session: Session, reason: 'connected' | 'reconnected'): void {
    if (this.#session !== session) return;
    this.#setStatus('connected', reason);
    const dropped = this.#droppedWhileConnecting;
    if (dropped !== undefined) {
      this.#droppedWhileConnecting = undefined;
      this.#handleConnectionLost(session, dropped, 'connection-lost');
      return;
    }
    this.#outbox.connected();
    if (this.#desiredWanted && this.#desiredOnTransport) this.#startResync();
    else if (this.#desiredWanted !== this.#desiredOnTransport) void this.#reconcileDesired();
  }

  #onTransportDisconnected(error: TransportError | HubError | undefined): void {
    const session = this.#session;
    if (session === undefined) return;
    const lost = error ?? new TransportError('The connection to the hub was lost.');
    if (this.#status !== 'connected') {
      // A connect attempt is finishing; #onConnected turns this into a reconnect.
      this.#droppedWhileConnecting = lost;
      return;
    }
    this.#handleConnectionLost(session, lost, 'connection-lost');
  }

  #handleConnectionLost(
    session: Session,
    error: Error,
    reason: 'connection-lost' | 'token-renewal-failed',
  ): void {
    this.#clearTimer('renew');
    this.#clearTimer('resync');
    this.#desiredOnTransport = false;
    this.#outbox.disconnected(error);
    this.#setStatus('reconnecting', reason, error);
    const loop = this.#connectLoop(session, 'reconnect', session.controller.signal);
    session.loop = loop;
    loop.then(
      () => {
        this.#onConnected(session, 'reconnected');
      },
      (failure: unknown) => {
        if (session.closed || this.#session !== session) return;
        this.#endSession(session);
        const failureError = toError(failure);
        this.#outbox.failAll(failureError);
        this.#setStatus(
          'disconnected',
          this.#reasonForFailure(failure, 'retries-exhausted'),
          failureError,
        );
        this.#reportError(failureError);
      },
    );
  }

  #endSession(session: Session): void {
    session.closed = true;
    if (this.#session === session) this.#session = undefined;
    session.controller.abort(new TransportError('The client was closed.', { retryable: false }));
    this.#clearTimer('renew');
    this.#clearTimer('resync');
    this.#desiredOnTransport = false;
    this.#sync.clearBuffer();
  }

  #reasonForFailure(error: unknown, fallback: ConnectionChangeReason): ConnectionChangeReason {
    if (isUnauthorizedError(error)) {
      return (error as HubError).code === 'DeviceDisabled'
        ? 'device-disabled'
        : 'credential-rejected';
    }
    return fallback;
  }

  #connectParams(auth: Awaited<ReturnType<DeviceCredential['getAuth']>>): ConnectParams {
    const identity = this.#credential.identity;
    const hub = splitHostPort(identity.hostName);
    const endpoint =
      identity.gatewayHostName === undefined ? hub : splitHostPort(identity.gatewayHostName);
    return {
      hostName: hub.host,
      endpointHost: endpoint.host,
      ...(endpoint.port === undefined ? {} : { endpointPort: endpoint.port }),
      deviceId: identity.deviceId,
      ...(identity.moduleId === undefined ? {} : { moduleId: identity.moduleId }),
      ...(auth.sasToken === undefined ? {} : { sasToken: auth.sasToken }),
      ...(auth.clientCertificate === undefined
        ? {}
        : { clientCertificate: auth.clientCertificate }),
      ...(this.#ca === undefined ? {} : { ca: this.#ca }),
      keepAliveInSeconds: this.#keepAliveInSeconds,
      ...(this.#modelId === undefined ? {} : { modelId: this.#modelId }),
    };
  }

  // ---------------------------------------------------------------- token renewal

  #scheduleRenewal(session: Session, expiresOnInSeconds: number | undefined): void {
    this.#clearTimer('renew');
    if (!this.#credential.renewable || expiresOnInSeconds === undefined) return;
    const remainingInMs = expiresOnInSeconds * 1000 - Date.now();
    const byMargin = remainingInMs - this.#renewalMarginInSeconds * 1000;
    const renewInMs = Math.max(0, byMargin < remainingInMs / 2 ? remainingInMs / 2 : byMargin);
    this.#renewTimer = setTimeout(() => {
      this.#renewTimer = undefined;
      this.#renew(session);
    }, renewInMs);
  }

  #renew(session: Session): void {
    if (this.#session !== session || this.#status !== 'connected' || this.#renewing !== undefined)
      return;
    const renewing = (async () => {
      const signal = session.controller.signal;
      try {
        const auth = await this.#credential.getAuth({ abortSignal: signal });
        await this.#transport.updateCredentials(this.#connectParams(auth), {
          abortSignal: signal,
          timeoutInMs: this.#operationTimeoutInMs,
        });
        this.#log.info('SAS token renewed; subscriptions kept');
        this.#scheduleRenewal(session, auth.expiresOnInSeconds);
        // Patches published during the swap of connections could be lost; a re-read closes that gap.
        if (this.#desiredWanted && this.#desiredOnTransport) this.#startResync();
      } catch (error) {
        if (session.closed) return;
        this.#log.warning(`token renewal failed: ${toError(error).message}`);
        await this.#transport.disconnect().catch(() => undefined);
        this.#handleConnectionLost(session, toError(error), 'token-renewal-failed');
      }
    })();
    this.#renewing = renewing;
    void renewing.finally(() => {
      if (this.#renewing === renewing) this.#renewing = undefined;
    });
  }

  // ---------------------------------------------------------------- operations

  async #whenConnected(operation: string, signal: AbortSignal): Promise<void> {
    for (;;) {
      if (this.#renewing !== undefined) {
        await abortable(
          this.#renewing.catch(() => undefined),
          signal,
        );
        continue;
      }
      if (this.#status === 'connected') return;
      if (this.#status === 'disconnected') {
        throw new TransportError(
          `${operation} failed: the client is not open. Call open() first.`,
          {
            retryable: false,
          },
        );
      }
      await abortable(
        new Promise<void>((resolve) => {
          this.#statusWaiters.push(resolve);
        }),
        signal,
      );
    }
  }

  #sendReported(patch: JsonObject): Promise<UpdateReportedResult> {
    return withDeadline(
      'updateReportedProperties',
      this.#operationTimeoutInMs,
      this.#session?.controller.signal,
      async (signal) => {
        await this.#whenConnected('Reported properties update', signal);
        return this.#transport.patchReported(patch, {
          abortSignal: signal,
          timeoutInMs: this.#operationTimeoutInMs,
        });
      },
    );
  }

  #readTwinForSync(): Promise<DeviceTwin> {
    return withDeadline(
      'getTwin',
      this.#operationTimeoutInMs,
      this.#session?.controller.signal,
      async (signal) => {
        await this.#whenConnected('Twin read', signal);
        return this.#transport.getTwin({
          abortSignal: signal,
          timeoutInMs: this.#operationTimeoutInMs,
        });
      },
    );
  }

  // ---------------------------------------------------------------- desired subscription

  #onSubscriberCount(count: number): void {
    const wanted = count > 0;
    if (wanted === this.#desiredWanted) return;
    this.#desiredWanted = wanted;
    if (!wanted) {
      this.#sync.clearBuffer();
      this.#clearTimer('resync');
    }
    void this.#reconcileDesired();
  }

  /** Brings the transport subscription in line with whether anyone listens; one run at a time. */
  async #reconcileDesired(): Promise<void> {
    if (this.#reconciling) {
      this.#reconcileAgain = true;
      return;
    }
    this.#reconciling = true;
    try {
      do {
        this.#reconcileAgain = false;
        const session = this.#session;
        if (session === undefined || this.#status !== 'connected') return;
        const wanted = this.#desiredWanted;
        if (wanted === this.#desiredOnTransport) continue;
        try {
          await this.#whenConnected('Desired subscription', session.controller.signal);
          await this.#transport.setDesiredSubscription(wanted, {
            timeoutInMs: this.#operationTimeoutInMs,
          });
          this.#desiredOnTransport = wanted;
          if (wanted) this.#startResync();
        } catch (error) {
          if (session.closed || this.#currentStatus() !== 'connected') return;
          // Still connected, so the failure was the hub's answer; report it and try again later.
          this.#reportError(error);
          this.#scheduleResyncRetry(() => void this.#reconcileDesired());
          return;
        }
      } while (this.#needsReconcile());
    } finally {
      this.#reconciling = false;
    }
  }

  #startResync(): void {
    this.#clearTimer('resync');
    this.#sync.resync().then(
      () => {
        this.#resyncAttempt = 0;
      },
      (error: unknown) => {
        this.#onResyncFailed(error);
      },
    );
  }

  #onResyncFailed(error: unknown): void {
    // A dropped connection ends in a reconnect, which resyncs anyway.
    if (this.#status !== 'connected' || !this.#desiredWanted) return;
    this.#reportError(error);
    this.#scheduleResyncRetry(() => {
      this.#startResync();
    });
  }

  #scheduleResyncRetry(action: () => void): void {
    this.#clearTimer('resync');
    const retryInMs = backoffDelay(
      this.#resyncAttempt + 1,
      this.#retry.retryDelayInMs,
      this.#retry.maxRetryDelayInMs,
    );
    this.#resyncAttempt += 1;
    this.#resyncTimer = setTimeout(() => {
      this.#resyncTimer = undefined;
      if (this.#status === 'connected') action();
    }, retryInMs);
  }

  // ---------------------------------------------------------------- plumbing

  /** Whether another reconcile pass is due (read afresh after awaits). */
  #needsReconcile(): boolean {
    return this.#reconcileAgain || this.#desiredWanted !== this.#desiredOnTransport;
  }

  /** Reads the status afresh (TypeScript would otherwise keep a narrowing across awaits). */
  #currentStatus(): ConnectionStatus {
    return this.#status;
  }

  #setStatus(state: ConnectionStatus, reason: ConnectionChangeReason, error?: Error): void {
    const previousState = this.#status;
    this.#status = state;
    this.#log.info(`connection ${previousState} → ${state} (${reason})`);
    const waiters = this.#statusWaiters;
    this.#statusWaiters = [];
    for (const resolve of waiters) resolve();
    this.#emitState({ state, previousState, reason, ...(error === undefined ? {} : { error }) });
  }

  #emitState(change: ConnectionStateChange): void {
    this.#events.emit('connectionStateChange', change);
  }

  #reportError(error: unknown): void {
    const value = toError(error);
    this.#log.warning(value.message);
    this.#events.emit('error', value);
  }

  #clearTimer(which: 'renew' | 'resync'): void {
    if (which === 'renew' && this.#renewTimer !== undefined) {
      clearTimeout(this.#renewTimer);
      this.#renewTimer = undefined;
    }
    if (which === 'resync' && this.#resyncTimer !== undefined) {
      clearTimeout(this.#resyncTimer);
      this.#resyncTimer = undefined;
    }
  }
}
