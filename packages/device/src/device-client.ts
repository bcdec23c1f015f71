/**
 * The DeviceClient: a device's (or module's) twin over a swappable transport. It is a facade:
 * the {@link ConnectionSupervisor} owns the connection (reconnect with backoff and jitter, SAS
 * renewal, deadlines; its rules are the pure state machine in `connection/connection-machine.ts`),
 * the {@link DesiredSubscription} and {@link DesiredSync} keep desired properties in sync across
 * connections and version gaps, and the `ReportedOutbox` sends reported patches in order.
 * They are built and wired to each other in `client-wiring.ts`.
 */
import type { DeviceTwin, JsonObject, MergePatch } from '@twinkit/twin-model';
import { createLogger } from '@twinkit/twin-model/internal';
import type { DeviceCredential, DeviceIdentity } from './auth/credential.js';
import { SasTokenCredential, type SasTokenProvider } from './auth/sas-token-credential.js';
import {
  assertValidHostNames,
  credentialFromConnectionString,
  credentialFromSasToken,
} from './client-settings.js';
import { wireClient, type ClientParts } from './client-wiring.js';
import type { ConnectionSupervisor } from './connection/connection-supervisor.js';
import type { ConnectionStatus, DeviceClientEvents } from './connection-state.js';
import type { DesiredQueue } from './desired/desired-queue.js';
import type {
  DesiredChange,
  DesiredPath,
  DesiredRouter,
  DesiredValueAt,
} from './desired/desired-router.js';
import type { DesiredSync } from './desired/desired-sync.js';
import { subscribeHandler, watchChanges } from './desired/watch-desired.js';
import { Emitter, type Unsubscribe } from './internal/emitter.js';
import type {
  CloseOptions,
  DeviceClientOptions,
  FlushStateOptions,
  FromSasTokenOptions,
  GetTwinOptions,
  OpenOptions,
  UpdateReportedPropertiesOptions,
  WatchDesiredOptions,
} from './options.js';
import {
  WritableProperties,
  type ComponentPropertyName,
  type ComponentPropertyValue,
  type WritablePropertyHandler,
} from './pnp/writable-properties.js';
import type { StateKeeper } from './store/state-keeper.js';
import type { UpdateReportedResult } from './transport/transport.js';

export {
  DEFAULT_KEEP_ALIVE_IN_SECONDS,
  DEFAULT_OPERATION_TIMEOUT_IN_MS,
  DEFAULT_TOKEN_RENEWAL_MARGIN_IN_SECONDS,
  DEFAULT_TOKEN_VALIDITY_IN_SECONDS,
} from './client-settings.js';

/** A desired-change handler. */
export type DesiredHandler<TValue> = (change: DesiredChange<TValue>) => void | Promise<void>;

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
  readonly #log = createLogger('twin:device:client');
  readonly #events: Emitter<DeviceClientEvents>;
  readonly #connection: ConnectionSupervisor;
  readonly #router: DesiredRouter;
  readonly #sync: DesiredSync;
  #writable: WritableProperties | undefined;
  readonly #readTwin: (abortSignal: AbortSignal | undefined) => Promise<DeviceTwin>;
  readonly #keeper: StateKeeper | undefined;
  readonly #acknowledged: Map<string, number>;
  readonly #queueReported: ClientParts['queueReported'];
  readonly #watchers = new Set<DesiredQueue>();

  /**
   * Builds a client; does no I/O (call {@link DeviceClient.open}).
   *
   * @param credential - the identity and how it authenticates
   * @param options - transport, deadlines, retry, renewal and outbox settings
   * @throws {@link RangeError} when an option is out of range
   * @throws {@link TypeError} when the identity's host names are malformed
   */

  constructor(credential: DeviceCredential, options: DeviceClientOptions = {}) {
    assertValidHostNames(credential.identity);
    this.#credential = credential;
    this.#events = new Emitter<DeviceClientEvents>((error, event) => {
      this.#log.error(`a '${event}' handler threw: ${toError(error).message}`);
    });
    const parts = wireClient(credential, options, {
      reportError: (error) => {
        this.#reportError(error);
      },
      emitStateChange: (change) => {
        this.#events.emit('connectionStateChange', change);
      },
      endWatchers: () => {
        for (const watcher of [...this.#watchers]) watcher.end();
      },
      logger: this.#log,
    });
    this.#connection = parts.connection;
    this.#router = parts.router;
    this.#sync = parts.sync;
    this.#keeper = parts.keeper;
    this.#acknowledged = parts.acknowledged;
    this.#queueReported = parts.queueReported;
    this.#readTwin = parts.readTwin;
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
    return new DeviceClient<TDesired, TReported>(
      credentialFromConnectionString(connectionString, options),
      options,
    );
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
    return new DeviceClient<TDesired, TReported>(
      credentialFromSasToken(sasToken, options.gatewayHostName),
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
    return this.#connection.status;
  }

  /** Whether the client is connected right now. */
  get isConnected(): boolean {
    return this.#connection.status === 'connected';
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
   * deadline; a rejected credential, a disabled device, an untrusted TLS certificate and a
   * refused connection on an explicitly given port fail at once. After `open()` succeeded, a
   * lost connection is retried (see `retryOptions`), refused connections and untrusted
   * certificates included, each reported on a `retry-scheduled` event. Idempotent: calling it
   * while open or opening returns the same outcome.
   *
   * @param options - cancellation
   * @throws {@link UnauthorizedError} when the hub rejects the credential (code `DeviceDisabled` for a disabled device)
   * @throws {@link TlsTrustError} at once when the hub's TLS certificate is not trusted (trust its CA with `NODE_EXTRA_CA_CERTS` or the `ca` option)
   * @throws {@link ConnectionRefusedError} at once when nothing listens on a port given in `HostName`, `GatewayHostName` or the transport's `port`
   * @throws {@link OperationTimeoutError} when no connection succeeded within `operationTimeoutInMs` (`cause`: the last failure)
   * @throws {@link TransportError} when `close()` was called meanwhile
   * @throws {@link StoreCorruptError}, {@link StoreForeignError} or {@link StoreLockedError} when `options.store` cannot be used; nothing is sent
   */

  async open(options: OpenOptions = {}): Promise<void> {
    // The stored state comes first: the outbox's order and the desired baseline depend on it.
    await this.#keeper?.ready();
    await this.#connection.open(options.abortSignal);
  }

  /**
   * Disconnects and stops reconnecting. Idempotent and safe while `open()` is running (that
   * call then rejects with `TransportError`). Reported patches still waiting in the outbox are
   * rejected with `TransportError`; `watchDesired` iterators finish. With a state store, those
   * patches stay on the store and the next client with it sends them; the store is released.
   *
   * @param options - cancellation of the graceful disconnect
   */

  async close(options: CloseOptions = {}): Promise<void> {
    // Stop saving before the outbox is emptied, so the store keeps what is still queued.
    const releasing = this.#keeper?.close();
    await this.#connection.close(options.abortSignal);
    await releasing;
  }

  /**
   * Waits until the state store holds everything the client has queued and applied so far: the
   * reported patches passed to `updateReportedProperties`, the desired state handed to handlers
   * and the writable-property answers. A process may stop after it resolves without losing them.
   * Resolves at once without `options.store`.
   *
   * @param options - cancellation of the wait (the save itself completes)
   * @throws {@link StoreCorruptError}, {@link StoreForeignError} or {@link StoreLockedError} when the store cannot be used
   * @throws the store's own error (for example the file system's `ENOSPC`) when the save failed
   * @example
   * ```ts
   * void device.updateReportedProperties({ battery: 12 }); // sent when the hub is reachable
   * await device.flushState(); // safe to power off now
   * ```
   */
  async flushState(options: FlushStateOptions = {}): Promise<void> {
    if (this.#keeper === undefined) return;
    options.abortSignal?.throwIfAborted();
    await this.#keeper.ready();
    await this.#keeper.save();
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
    const twin = await this.#readTwin(options.abortSignal);
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
   * @throws {@link StoreCorruptError}, {@link StoreForeignError} or {@link StoreLockedError} when `options.store` cannot be used, or the store's error when saving the patch failed; nothing is sent
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
    return this.#queueReported(patch as unknown as JsonObject, options.abortSignal);
  }

  /**
   * Subscribes to desired-property changes: every change (no path), one grouping
   * (`'climate'`) or one property (`'climate.hvac.fanOn'`). Changes arrive in version order,
   * never twice; what changed while the device was offline (or across a version gap) arrives as
   * one change with `reason: 'resync'`. The first subscriber turns the transport's desired
   * subscription on; the last one to leave turns it off. Call `getTwin()` for the current state:
   * handlers receive every change after the first twin read, which `open()` makes before it
   * resolves. A handler registered after `open()` therefore still receives a write that races
   * its subscription, and what changed since that read as one `resync` change.
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
    return subscribeHandler(this.#router, path, call, (error) => {
      this.#reportError(error);
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
    const queue = watchChanges(this.#router, this.#watchers, path ?? '', options);
    return queue as unknown as AsyncIterableIterator<DesiredChange<DesiredValueAt<TDesired, P>>>;
  }

  /**
   * Answers an IoT Plug and Play writable property
   * (docs/internals/wire-contract.md#writable-property-acknowledgements): `handler` gets each
   * new desired value and its `$version`; what it returns (or resolves) is reported as
   * `{ value, ac: 200, av, ad? }`. It may call `context.reportInProgress()` first (202, final
   * answer later). A thrown `WritablePropertyValidationError` is reported as 400, any other throw
   * as 500, with `ad` saying why. After `open()` and after every reconnect, each property whose
   * desired `$version` is newer than its last answer is answered, so a change made while the
   * device was offline is applied once.
   *
   * @param name - a root writable property, typed from `TDesired`
   * @param handler - applies the value
   * @returns removes the handler
   * @throws {@link TypeError} when the name is malformed or already has a handler
   * @example
   * ```ts
   * device.onWritableProperty('targetTemperature', async (value) => {
   *   if (value > 40) throw new WritablePropertyValidationError('above 40 °C');
   *   await heater.setTarget(value);
   * });
   * ```
   */
  onWritableProperty<P extends keyof TDesired & string>(
    name: P,
    handler: WritablePropertyHandler<NonNullable<TDesired[P]>>,
  ): Unsubscribe;
  /**
   * Answers a writable property of a component: read from and reported under the component,
   * with the component marker `"__t": "c"`.
   *
   * @param target - `{ component, name }`, typed from `TDesired`
   * @param handler - applies the value
   * @returns removes the handler
   * @throws {@link TypeError} when a name is malformed or the property already has a handler
   */
  onWritableProperty<
    C extends keyof TDesired & string,
    N extends ComponentPropertyName<TDesired, C>,
  >(
    target: { component: C; name: N },
    handler: WritablePropertyHandler<ComponentPropertyValue<TDesired, C, N>>,
  ): Unsubscribe;
  onWritableProperty(
    target: string | { component: string; name: string },
    handler: WritablePropertyHandler<never>,
  ): Unsubscribe {
    this.#writable ??= new WritableProperties({
      onDesired: (path, routed) => this.onDesired(path as never, routed as never),
      getTwin: () => this.getTwin() as Promise<DeviceTwin>,
      updateReportedProperties: (patch, answered) =>
        this.#queueReported(patch, undefined, () => {
          if (answered !== undefined) this.#acknowledged.set(answered.path, answered.version);
        }),
      acknowledgedVersion: (path) => this.#acknowledged.get(path),
      onConnected: (callback) =>
        this.on('connectionStateChange', (change) => {
          if (change.state === 'connected') callback();
        }),
      isConnected: () => this.isConnected,
      reportError: (error) => {
        this.#reportError(error);
      },
    });
    return this.#writable.register(target, handler as never);
  }

  #reportError(error: unknown): void {
    const value = toError(error);
    this.#log.warning(value.message);
    this.#events.emit('error', value);
  }
}
