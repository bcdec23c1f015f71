/**
 * The hub's core: identities and twins in memory (the read path), SQLite behind them (the
 * durable log), desired-change events and connection state. Device credentials are checked by
 * the device-session core (device-session/credentials.ts).
 * Everything here is socket-free; the REST app, and the MQTT and AMQP endpoints added later,
 * call into it. Every IoT Hub twin rule comes from twin-model's twin-document engine.
 *
 * Writes are atomic for readers: a write is staged (entry-store.ts), committed with its group
 * (storage.ts), and only then published to what readers see and announced to listeners. A
 * failed commit is answered with the storage's error and leaves no trace.
 *
 * The read path is core/hub-reads.ts; events, failures, storage operations and loading are
 * the other files of core/.
 */
import {
  createStoredTwin,
  formatTimestamp,
  replaceTwin,
  updateReported,
  updateTwin,
  type TwinWriteOptions,
} from '@twinkit/twin-model';
import type { SharedAccessPolicy } from './auth/policies.js';
import type { HubCoreOptions, IdentityIds, WriteOutcome } from './core/core-types.js';
import { ChangeFeed, type HubChange } from './core/hub-changes.js';
import {
  HubEvents,
  identityChangeOf,
  identityEvent,
  type DesiredChangeEvent,
  type IdentityChangeEvent,
} from './core/hub-events.js';
import { checkIdentityEtag, identityAlreadyExists } from './core/identity-failures.js';
import { HubReads } from './core/hub-reads.js';
import { loadEntries } from './core/load-entries.js';
import {
  commitRefused,
  deleteIdentityRows,
  putIdentity,
  putTwin,
} from './core/write-operations.js';
import type { ProtocolEndpoint } from './device-endpoint/protocol-endpoint.js';
import type { FaultInjector } from './faults/fault-injector.js';
import {
  createIdentityRecord,
  updateIdentityRecord,
  type IdentityRequest,
} from './state/identity.js';
import { EntryStore, type HubEntry } from './state/entry-store.js';
import { HubStorage, type StorageOperation } from './state/storage.js';

export type { HubEntry } from './state/entry-store.js';
export type { DesiredChangeEvent, IdentityChangeEvent } from './core/hub-events.js';
export type { HubCoreOptions, IdentityIds, WriteOutcome } from './core/core-types.js';

// Device endpoints (and their authentication) live in device-endpoint/ and device-session/.
export type { ProtocolEndpoint };

/**
 * The hub's state and rules engine, shared by every endpoint.
 *
 * @internal
 */
export class HubCore extends HubReads {
  readonly policies: readonly SharedAccessPolicy[];
  readonly faults: FaultInjector;
  readonly ifMatchMode: 'strict' | 'ignore-unquoted';
  readonly endpoints: ProtocolEndpoint[] = [];
  /** Every committed change, for watchers such as the explorer (core/hub-changes.ts). */
  readonly changes = new ChangeFeed();
  readonly #storage: HubStorage;
  readonly #events = new HubEvents();
  #revision = 0;

  /**
   * Opens storage and loads every identity and twin into memory.
   *
   * @param options - host name, data directory, policies, faults
   * @throws {@link HubStorageError} when the data directory cannot be used or holds a corrupt row
   */
  constructor(options: HubCoreOptions) {
    super(options.hostName, new EntryStore());
    this.policies = options.policies;
    this.faults = options.faults;
    this.ifMatchMode = options.ifMatchMode;
    const entries = this.entries;
    this.#storage = new HubStorage({
      dataDir: options.dataDir,
      checkpointIntervalInMs: options.checkpointIntervalInMs,
      // A batch commits or fails as a whole: either way none of its staged changes is pending.
      onBatchSettled: () => {
        entries.discardStaged();
      },
    });
    try {
      loadEntries(this.#storage, entries);
    } catch (error) {
      void this.#storage.close();
      throw error;
    }
  }

  /** The storage (for the hub's own bookkeeping and tests). */
  get storage(): HubStorage {
    return this.#storage;
  }

  /** Counts every change to identities or twins; cached query results are valid for one revision. */
  get revision(): number {
    return this.#revision;
  }

  #changed(entry?: HubEntry): void {
    if (entry !== undefined) entry.document = undefined;
    this.#revision += 1;
  }

  #nextEtagNumber(): number {
    return this.#storage.nextSequence();
  }

  /**
   * Queues a write and turns a failed commit into the 503 the hub answers (naming the cause).
   *
   * @param operations - the storage operations
   * @param publish - makes the change visible; runs only after the commit succeeded
   */
  #commit<T>(operations: readonly StorageOperation[], publish: () => T): Promise<T> {
    let published: T | undefined;
    return this.#storage
      .write(operations, () => {
        published = publish();
        this.#changed();
      })
      .then(
        () => published as T,
        (error: unknown) => {
          throw commitRefused(error);
        },
      );
  }

  // ---------------------------------------------------------------- identities

  /**
   * Creates a device or module identity and its twin.
   *
   * @param ids - device id, and module id for a module
   * @param request - validated request fields
   * @returns a promise of the new entry, once it is durable and visible
   * @throws 409 DeviceAlreadyExists / ModuleAlreadyExistsOnDevice, 404 DeviceNotFound for a module of a missing device
   */
  createIdentity(ids: IdentityIds, request: IdentityRequest): WriteOutcome {
    const now = new Date();
    const { deviceId, moduleId } = ids;
    // A module needs its device.
    if (moduleId !== undefined) this.requireLatest(deviceId);
    if (this.entries.latest(deviceId, moduleId) !== undefined)
      throw identityAlreadyExists(deviceId, moduleId);
    const identity = createIdentityRecord(
      moduleId === undefined ? { deviceId } : { deviceId, moduleId },
      request,
      this.#nextEtagNumber(),
      now,
    );
    const twin = createStoredTwin(
      moduleId === undefined ? { deviceId } : { deviceId, moduleId },
      now,
    );
    this.entries.stageCreate(identity, twin);
    const committed = this.#commit([putIdentity(identity), putTwin(twin)], () =>
      this.entries.publishCreate(identity, twin),
    );
    this.#announce(committed, { kind: 'identity', deviceId, moduleId, change: 'created' });
    return { committed };
  }

  /**
   * Updates a device or module identity.
   *
   * @param ids - which identity
   * @param request - validated request fields
   * @param ifMatch - the If-Match header value (`*`, quoted or unquoted identity etag), or undefined
   * @throws 404 when missing, 412 PreconditionFailed when the etag does not match
   */
  updateIdentity(
    ids: IdentityIds,
    request: IdentityRequest,
    ifMatch: string | undefined,
  ): WriteOutcome {
    const current = this.requireLatest(ids.deviceId, ids.moduleId);
    checkIdentityEtag(current.identity, ifMatch, this.ifMatchMode);
    const before = current.identity;
    const identity = updateIdentityRecord(before, request, this.#nextEtagNumber(), new Date());
    this.entries.stageChange(identity, current.twin);
    const committed = this.#commit([putIdentity(identity)], () =>
      this.entries.publishIdentity(identity),
    ).then((entry) => entry ?? { identity, twin: current.twin });
    this.#announce(committed, { kind: 'identity', ...ids, change: 'updated' });
    const change = identityChangeOf(before, identity);
    if (change !== undefined) {
      void committed.then(
        () => {
          this.#events.emitIdentity(change);
        },
        () => undefined,
      );
    }
    return { committed };
  }

  /**
   * Deletes a device (with its modules and twins) or a module.
   *
   * @param ids - which identity
   * @param ifMatch - the If-Match header value, or undefined
   * @returns resolves once the deletion is durable and visible
   * @throws 404 when missing, 412 when the etag does not match
   */
  deleteIdentity(ids: IdentityIds, ifMatch: string | undefined): Promise<void> {
    const current = this.requireLatest(ids.deviceId, ids.moduleId);
    checkIdentityEtag(current.identity, ifMatch, this.ifMatchMode);
    const operations = deleteIdentityRows(ids.deviceId, ids.moduleId);
    this.entries.stageDelete(ids.deviceId, ids.moduleId);
    const change = identityEvent(ids, 'deleted');
    return this.#commit(operations, () => {
      this.entries.publishDelete(ids.deviceId, ids.moduleId);
    }).then(() => {
      this.#events.emitIdentity(change);
      this.changes.emit({ kind: 'identity', ...ids, change: 'deleted' });
    });
  }

  // ---------------------------------------------------------------- twins

  /**
   * Applies a service PATCH (merge) or PUT (replace) to a twin.
   *
   * @param ids - which twin
   * @param kind - `update` (PATCH) or `replace` (PUT)
   * @param body - the parsed request body
   * @param options - If-Match and api-version
   * @returns a promise of the entry as this write left it, once the write is durable, visible,
   *   and the desired-change event (if any) was emitted
   * @throws 404 when missing; 400/412 as twin-model decides
   */
  writeTwin(
    ids: IdentityIds,
    kind: 'update' | 'replace',
    body: unknown,
    options: { ifMatch?: string | undefined; apiVersion?: string | undefined },
  ): WriteOutcome {
    const current = this.requireLatest(ids.deviceId, ids.moduleId);
    const writeOptions: TwinWriteOptions = {
      now: new Date(),
      ifMatch: options.ifMatch,
      ifMatchMode: this.ifMatchMode,
    };
    if (options.apiVersion !== undefined) writeOptions.apiVersion = options.apiVersion;
    const result =
      kind === 'update'
        ? updateTwin(current.twin, body, writeOptions)
        : replaceTwin(current.twin, body, writeOptions);
    const twin = result.twin;
    this.entries.stageChange(current.identity, twin);
    const notification = result.desiredNotification;
    const committed = this.#commit([putTwin(twin)], () => this.entries.publishTwin(twin)).then(
      (entry) => {
        this.changes.emit({
          kind: 'twin',
          ...ids,
          source: 'service',
          operation: kind,
          patch: body,
          version: twin.version,
          desiredVersion: twin.desiredVersion,
          reportedVersion: twin.reportedVersion,
        });
        if (notification !== undefined) {
          const event: DesiredChangeEvent = {
            deviceId: ids.deviceId,
            notification,
            version: twin.desiredVersion,
          };
          if (ids.moduleId !== undefined) event.moduleId = ids.moduleId;
          this.#events.emitDesired(event);
        }
        return entry ?? { identity: current.identity, twin };
      },
    );
    return { committed };
  }

  /**
   * Applies a device's reported-properties patch (MQTT/AMQP), durably.
   *
   * @param deviceId - device id
   * @param moduleId - module id, or undefined for the device twin
   * @param patch - the reported merge patch
   * @param baseVersion - optional `$version` the device based the patch on (412 when stale)
   * @returns the new `properties.reported.$version`, after the write is durable and visible
   * @throws 404 when the identity is missing; 400/412 as twin-model decides; 503 when the commit failed
   */
  async updateReported(
    deviceId: string,
    moduleId: string | undefined,
    patch: unknown,
    baseVersion?: number,
  ): Promise<{ version: number }> {
    const current = this.requireLatest(deviceId, moduleId);
    const result = updateReported(current.twin, patch, { now: new Date(), baseVersion });
    this.entries.stageChange(current.identity, result.twin);
    await this.#commit([putTwin(result.twin)], () => this.entries.publishTwin(result.twin));
    this.changes.emit({
      kind: 'twin',
      deviceId,
      moduleId,
      source: 'device',
      operation: 'reported',
      patch,
      version: result.twin.version,
      desiredVersion: result.twin.desiredVersion,
      reportedVersion: result.version,
    });
    return { version: result.version };
  }

  // ---------------------------------------------------------------- connection state

  /**
   * Records that a device or module connected or disconnected (shown in twins and queries; kept
   * in memory only, since connections do not survive a restart).
   *
   * @param deviceId - device id
   * @param moduleId - module id, or undefined
   * @param state - the new state
   */
  setConnectionState(
    deviceId: string,
    moduleId: string | undefined,
    state: 'Connected' | 'Disconnected',
  ): void {
    const entry = this.getEntry(deviceId, moduleId);
    if (entry === undefined) return;
    const now = formatTimestamp(new Date());
    entry.identity.connectionState = state;
    entry.identity.connectionStateUpdatedTime = now;
    entry.identity.lastActivityTime = now;
    this.#changed(entry);
    this.changes.emit({ kind: 'connection', deviceId, moduleId, state });
  }

  /**
   * Records the IoT Plug and Play model id a device or module announced when it connected
   * (docs/internals/wire-contract.md#model-id): shown as the twin's and identity's `modelId` and
   * matched by queries. Like connection state it is session-announced, so it is kept in memory.
   *
   * @param deviceId - device id
   * @param moduleId - module id, or undefined
   * @param modelId - the announced `dtmi:` model id
   */
  announceModelId(deviceId: string, moduleId: string | undefined, modelId: string): void {
    const entry = this.getEntry(deviceId, moduleId);
    if (entry === undefined || entry.identity.modelId === modelId) return;
    entry.identity.modelId = modelId;
    this.#changed(entry);
  }

  /**
   * Records activity (a message or twin operation) of a device or module.
   *
   * @param deviceId - device id
   * @param moduleId - module id, or undefined
   */
  touchActivity(deviceId: string, moduleId?: string): void {
    const entry = this.getEntry(deviceId, moduleId);
    if (entry === undefined) return;
    entry.identity.lastActivityTime = formatTimestamp(new Date());
    this.#changed(entry);
    this.changes.emit({ kind: 'activity', deviceId, moduleId });
  }

  // ---------------------------------------------------------------- events

  /**
   * Subscribes to committed desired-property changes (to push them to subscribed devices).
   *
   * @param listener - called once per change, in commit order
   * @returns unsubscribe
   */
  onDesiredChanged(listener: (event: DesiredChangeEvent) => void): () => void {
    return this.#events.onDesired(listener);
  }

  /**
   * Subscribes to identity deletions, disables and credential changes (to drop sessions).
   *
   * @param listener - called after the change is durable
   * @returns unsubscribe
   */
  onIdentityChanged(listener: (event: IdentityChangeEvent) => void): () => void {
    return this.#events.onIdentity(listener);
  }

  /** Announces a change once its write committed (a failed commit announces nothing). */
  #announce(committed: Promise<unknown>, change: HubChange): void {
    void committed.then(
      () => {
        this.changes.emit(change);
      },
      () => undefined,
    );
  }

  /**
   * Registers a protocol endpoint that `listen()` starts next to HTTPS.
   *
   * @param endpoint - the endpoint
   */
  registerEndpoint(endpoint: ProtocolEndpoint): void {
    this.endpoints.push(endpoint);
  }

  /** Flushes pending writes and closes storage. */
  async close(): Promise<void> {
    this.#events.clear();
    this.changes.clear();
    await this.#storage.close();
  }
}
