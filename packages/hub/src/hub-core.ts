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
 */
import {
  createStoredTwin,
  formatTimestamp,
  replaceTwin,
  toDeviceTwin,
  toServiceTwin,
  updateReported,
  updateTwin,
  type DeviceTwin,
  type JsonObject,
  type StoredTwin,
  type TwinIdentityFields,
  type TwinWriteOptions,
} from '@twinkit/twin-model';
import { resourceCovers } from '@twinkit/twin-model/protocol';
import type { SharedAccessPolicy } from './auth/policies.js';
import type { ProtocolEndpoint } from './device-endpoint/protocol-endpoint.js';
import type { FaultInjector } from './faults/fault-injector.js';
import { ChangeFeed, type HubChange } from './hub-changes.js';
import { hubFailure } from './rest/hub-failure.js';
import {
  createIdentityRecord,
  formatIdentityEtag,
  updateIdentityRecord,
  type IdentityRecord,
  type IdentityRequest,
} from './state/identity.js';
import { EntryStore, type HubEntry } from './state/entry-store.js';
import { isHubStorageError } from './state/storage-error.js';
import { HubStorage, type StorageOperation } from './state/storage.js';

export type { HubEntry } from './state/entry-store.js';

/** A desired-properties change, emitted after it was committed. */
export interface DesiredChangeEvent {
  deviceId: string;
  moduleId?: string;
  /** The body to push to the device: the patch (nulls kept) or the full desired after a replace, plus `$version`. */
  notification: JsonObject;
  /** The new `properties.desired.$version`. */
  version: number;
}

/** An identity was deleted, disabled or had its credentials changed: live sessions should be dropped. */
export interface IdentityChangeEvent {
  deviceId: string;
  moduleId?: string;
  change: 'deleted' | 'disabled' | 'credentialsChanged';
}

/** Ids of a device or module. */
export interface IdentityIds {
  deviceId: string;
  moduleId?: string | undefined;
}

/** Options the core is built with. */
export interface HubCoreOptions {
  hostName: string;
  dataDir?: string | undefined;
  policies: readonly SharedAccessPolicy[];
  faults: FaultInjector;
  ifMatchMode: 'strict' | 'ignore-unquoted';
  /** How often to checkpoint the WAL while writes happen; default 30 s. */
  checkpointIntervalInMs?: number | undefined;
}

/** Result of a write: resolves once it is durable and visible (and its events were emitted). */
export interface WriteOutcome {
  /**
   * The identity and twin as this write left them, once committed.
   *
   * @throws a 503 ServiceUnavailable HubError naming the cause when the commit failed
   */
  committed: Promise<HubEntry>;
}

// Device endpoints (and their authentication) live in device-endpoint/ and device-session/.
export type { ProtocolEndpoint };

const MODULE_KEY_SEPARATOR = '\u0000';

/**
 * The hub's state and rules engine, shared by every endpoint.
 *
 * @internal
 */
export class HubCore {
  readonly hostName: string;
  readonly policies: readonly SharedAccessPolicy[];
  readonly faults: FaultInjector;
  readonly ifMatchMode: 'strict' | 'ignore-unquoted';
  readonly endpoints: ProtocolEndpoint[] = [];
  /** Every committed change, for watchers such as the explorer (hub-changes.ts). */
  readonly changes = new ChangeFeed();
  readonly #storage: HubStorage;
  readonly #entries = new EntryStore();
  readonly #desiredListeners = new Set<(event: DesiredChangeEvent) => void>();
  readonly #identityListeners = new Set<(event: IdentityChangeEvent) => void>();
  #revision = 0;

  /**
   * Opens storage and loads every identity and twin into memory.
   *
   * @param options - host name, data directory, policies, faults
   * @throws {@link HubStorageError} when the data directory cannot be used or holds a corrupt row
   */
  constructor(options: HubCoreOptions) {
    this.hostName = options.hostName;
    this.policies = options.policies;
    this.faults = options.faults;
    this.ifMatchMode = options.ifMatchMode;
    const entries = this.#entries;
    this.#storage = new HubStorage({
      dataDir: options.dataDir,
      checkpointIntervalInMs: options.checkpointIntervalInMs,
      // A batch commits or fails as a whole: either way none of its staged changes is pending.
      onBatchSettled: () => {
        entries.discardStaged();
      },
    });
    try {
      this.#load();
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

  /** Number of device identities. */
  get deviceCount(): number {
    return this.#entries.deviceCount;
  }

  /** Number of module identities. */
  get moduleCount(): number {
    return this.#entries.moduleCount;
  }

  #load(): void {
    const twins = new Map<string, StoredTwin>();
    for (const row of this.#storage.loadDocuments('twins'))
      twins.set(row.deviceId + MODULE_KEY_SEPARATOR + row.moduleId, row.document as StoredTwin);
    const now = new Date();
    const pendingModules: { identity: IdentityRecord; twin: StoredTwin }[] = [];
    let highestEtag = 0;
    for (const row of this.#storage.loadDocuments('identities')) {
      const identity = row.document as IdentityRecord;
      // Connections do not survive a restart.
      identity.connectionState = 'Disconnected';
      highestEtag = Math.max(highestEtag, identity.etagNumber);
      const ids =
        row.moduleId === ''
          ? { deviceId: row.deviceId }
          : { deviceId: row.deviceId, moduleId: row.moduleId };
      const twin =
        twins.get(row.deviceId + MODULE_KEY_SEPARATOR + row.moduleId) ?? createStoredTwin(ids, now);
      if (row.moduleId === '') this.#entries.publishCreate(identity, twin);
      else pendingModules.push({ identity, twin });
    }
    for (const module of pendingModules) this.#entries.publishCreate(module.identity, module.twin);
    // The sequence is saved with every commit; the highest loaded etag and Unix seconds are
    // floors for stores written before it was, so identity etags never repeat.
    this.#storage.raiseSequence(Math.max(highestEtag, Math.floor(Date.now() / 1000)));
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

  #requireLatest(
    deviceId: string,
    moduleId?: string,
  ): { identity: IdentityRecord; twin: StoredTwin } {
    const device = this.#entries.latest(deviceId);
    if (device === undefined) throw this.#deviceNotFound(deviceId);
    if (moduleId === undefined) return device;
    const module = this.#entries.latest(deviceId, moduleId);
    if (module === undefined) throw this.#moduleNotFound(deviceId, moduleId);
    return module;
  }

  #deviceNotFound(deviceId: string) {
    return hubFailure(
      404,
      'DeviceNotFound',
      `Device ${deviceId} not found on IotHub ${this.hostName}.`,
      { deviceId },
    );
  }

  #moduleNotFound(deviceId: string, moduleId: string) {
    return hubFailure(
      404,
      'ModuleNotFound',
      `Module ${moduleId} not found on device ${deviceId}.`,
      {
        deviceId,
        moduleId,
      },
    );
  }

  // ---------------------------------------------------------------- lookups

  /**
   * The entry of a device or module, if it exists.
   *
   * @param deviceId - device id
   * @param moduleId - module id, for a module
   */
  getEntry(deviceId: string, moduleId?: string): HubEntry | undefined {
    return this.#entries.get(deviceId, moduleId);
  }

  /**
   * Whether an identity exists for a writer: counting writes queued for the next commit (bulk
   * requests decide between create and update with it).
   *
   * @param deviceId - device id
   * @param moduleId - module id, for a module
   */
  identityExists(deviceId: string, moduleId?: string): boolean {
    return this.#entries.latest(deviceId, moduleId) !== undefined;
  }

  /**
   * The entry of a device or module, or the 404 IoT Hub answers (DeviceNotFound / ModuleNotFound).
   *
   * @param deviceId - device id
   * @param moduleId - module id, for a module
   * @throws a 404 HubError
   */
  requireEntry(deviceId: string, moduleId?: string): HubEntry {
    const device = this.#entries.get(deviceId);
    if (device === undefined) throw this.#deviceNotFound(deviceId);
    if (moduleId === undefined) return device;
    const module = this.#entries.get(deviceId, moduleId);
    if (module === undefined) throw this.#moduleNotFound(deviceId, moduleId);
    return module;
  }

  /**
   * The stored twin of a device or module.
   *
   * @param deviceId - device id
   * @param moduleId - module id, for a module twin
   */
  getTwin(deviceId: string, moduleId?: string): StoredTwin | undefined {
    return this.getEntry(deviceId, moduleId)?.twin;
  }

  /**
   * The device view of a twin (what a device's GET returns).
   *
   * @param deviceId - device id
   * @param moduleId - module id
   * @throws a 404 HubError when the identity does not exist
   */
  getDeviceTwin(deviceId: string, moduleId?: string): DeviceTwin {
    return toDeviceTwin(this.requireEntry(deviceId, moduleId).twin);
  }

  /**
   * The service-view JSON of an entry (cached until the entry changes).
   *
   * @param entry - the entry
   */
  serviceDocument(entry: HubEntry): JsonObject {
    entry.document ??= toServiceTwin(
      entry.twin,
      identityFields(entry.identity),
    ) as unknown as JsonObject;
    return entry.document;
  }

  /** Every device entry, in creation order. */
  deviceEntries(): IterableIterator<HubEntry> {
    return this.#entries.devices();
  }

  /** Every module entry, grouped by device in creation order. */
  moduleEntries(): IterableIterator<HubEntry> {
    return this.#entries.modules();
  }

  /**
   * The modules of one device.
   *
   * @param deviceId - the device
   * @throws a 404 HubError when the device does not exist
   */
  modulesOf(deviceId: string): HubEntry[] {
    this.requireEntry(deviceId);
    return this.#entries.modulesOf(deviceId);
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
    if (moduleId === undefined) {
      if (this.#entries.latest(deviceId) !== undefined) {
        throw hubFailure(
          409,
          'DeviceAlreadyExists',
          `A device with ID '${deviceId}' is already registered.`,
          { deviceId },
        );
      }
    } else {
      this.#requireLatest(deviceId);
      if (this.#entries.latest(deviceId, moduleId) !== undefined) {
        throw hubFailure(
          409,
          'ModuleAlreadyExistsOnDevice',
          `A module with ID '${moduleId}' is already registered on device '${deviceId}'.`,
          { deviceId, moduleId },
        );
      }
    }
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
    this.#entries.stageCreate(identity, twin);
    const committed = this.#commit([putIdentity(identity), putTwin(twin)], () =>
      this.#entries.publishCreate(identity, twin),
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
    const current = this.#requireLatest(ids.deviceId, ids.moduleId);
    this.#checkIdentityEtag(current.identity, ifMatch);
    const before = current.identity;
    const identity = updateIdentityRecord(before, request, this.#nextEtagNumber(), new Date());
    this.#entries.stageChange(identity, current.twin);
    const committed = this.#commit([putIdentity(identity)], () =>
      this.#entries.publishIdentity(identity),
    ).then((entry) => entry ?? { identity, twin: current.twin });
    this.#announce(committed, { kind: 'identity', ...ids, change: 'updated' });
    const disabled = before.status === 'enabled' && identity.status === 'disabled';
    const credentialsChanged =
      JSON.stringify(before.authentication) !== JSON.stringify(identity.authentication);
    if (disabled || credentialsChanged) {
      const change: IdentityChangeEvent = {
        deviceId: ids.deviceId,
        change: disabled ? 'disabled' : 'credentialsChanged',
      };
      if (ids.moduleId !== undefined) change.moduleId = ids.moduleId;
      void committed.then(
        () => {
          this.#emitIdentityChange(change);
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
    const current = this.#requireLatest(ids.deviceId, ids.moduleId);
    this.#checkIdentityEtag(current.identity, ifMatch);
    const operations: StorageOperation[] =
      ids.moduleId === undefined
        ? [{ kind: 'deleteDevice', deviceId: ids.deviceId }]
        : [
            { kind: 'delete', table: 'identities', deviceId: ids.deviceId, moduleId: ids.moduleId },
            { kind: 'delete', table: 'twins', deviceId: ids.deviceId, moduleId: ids.moduleId },
          ];
    this.#entries.stageDelete(ids.deviceId, ids.moduleId);
    const change: IdentityChangeEvent = { deviceId: ids.deviceId, change: 'deleted' };
    if (ids.moduleId !== undefined) change.moduleId = ids.moduleId;
    return this.#commit(operations, () => {
      this.#entries.publishDelete(ids.deviceId, ids.moduleId);
    }).then(() => {
      this.#emitIdentityChange(change);
      this.changes.emit({ kind: 'identity', ...ids, change: 'deleted' });
    });
  }

  #checkIdentityEtag(identity: IdentityRecord, ifMatch: string | undefined): void {
    if (ifMatch === undefined) return;
    const value = unquote(ifMatch.trim());
    if (value === '*' || value === '') return;
    const quoted = /^(W\/)?".*"$/.test(ifMatch.trim());
    if (!quoted && this.ifMatchMode === 'ignore-unquoted') return;
    if (value !== formatIdentityEtag(identity.etagNumber)) {
      throw hubFailure(
        412,
        'PreconditionFailed',
        `Precondition failed: the etag does not match the current etag of ${identity.moduleId === undefined ? 'device' : 'module'} '${identity.moduleId ?? identity.deviceId}'.`,
        { deviceId: identity.deviceId, moduleId: identity.moduleId },
      );
    }
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
    const current = this.#requireLatest(ids.deviceId, ids.moduleId);
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
    this.#entries.stageChange(current.identity, twin);
    const notification = result.desiredNotification;
    const committed = this.#commit([putTwin(twin)], () => this.#entries.publishTwin(twin)).then(
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
          this.#emitDesired(event);
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
    const current = this.#requireLatest(deviceId, moduleId);
    const result = updateReported(current.twin, patch, { now: new Date(), baseVersion });
    this.#entries.stageChange(current.identity, result.twin);
    await this.#commit([putTwin(result.twin)], () => this.#entries.publishTwin(result.twin));
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
    this.#desiredListeners.add(listener);
    return () => {
      this.#desiredListeners.delete(listener);
    };
  }

  /**
   * Subscribes to identity deletions, disables and credential changes (to drop sessions).
   *
   * @param listener - called after the change is durable
   * @returns unsubscribe
   */
  onIdentityChanged(listener: (event: IdentityChangeEvent) => void): () => void {
    this.#identityListeners.add(listener);
    return () => {
      this.#identityListeners.delete(listener);
    };
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

  #emitDesired(event: DesiredChangeEvent): void {
    for (const listener of this.#desiredListeners) {
      try {
        listener(event);
      } catch {
        // A failing endpoint must not fail the REST call that already committed.
      }
    }
  }

  #emitIdentityChange(event: IdentityChangeEvent): void {
    for (const listener of this.#identityListeners) {
      try {
        listener(event);
      } catch {
        // Same as above.
      }
    }
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
    this.#desiredListeners.clear();
    this.#identityListeners.clear();
    this.changes.clear();
    await this.#storage.close();
  }
}

/**
 * The error a writer gets when its commit failed: a 503 that names the cause (disk full, file
 * size limit, I/O error) and the file, so the caller knows to retry later and what to fix.
 *
 * @param error - what storage rejected with
 */
function commitRefused(error: unknown): unknown {
  if (!isHubStorageError(error)) return error;
  return Object.assign(hubFailure(503, 'ServiceUnavailable', error.message), { cause: error });
}

function putIdentity(identity: IdentityRecord): StorageOperation {
  return {
    kind: 'put',
    table: 'identities',
    deviceId: identity.deviceId,
    moduleId: identity.moduleId ?? '',
    body: JSON.stringify(identity),
  };
}

function putTwin(twin: StoredTwin): StorageOperation {
  return {
    kind: 'put',
    table: 'twins',
    deviceId: twin.deviceId,
    moduleId: twin.moduleId ?? '',
    body: JSON.stringify(twin),
  };
}

function unquote(value: string): string {
  let text = value.startsWith('W/') ? value.slice(2) : value;
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
  return text;
}

/**
 * The identity fields of a twin's service view, from the identity record.
 *
 * @param identity - the identity
 */
export function identityFields(identity: IdentityRecord): TwinIdentityFields {
  const fields: TwinIdentityFields = {
    deviceEtag: formatIdentityEtag(identity.etagNumber),
    status: identity.status,
    statusUpdateTime: identity.statusUpdatedTime,
    connectionState: identity.connectionState,
    lastActivityTime: identity.lastActivityTime,
    cloudToDeviceMessageCount: identity.cloudToDeviceMessageCount,
    authenticationType: identity.authentication.type,
    x509Thumbprint: { ...identity.authentication.x509Thumbprint },
    modelId: identity.modelId,
  };
  if (identity.statusReason !== null) fields.statusReason = identity.statusReason;
  if (identity.moduleId === undefined) {
    fields.capabilities = { ...identity.capabilities };
    if (identity.deviceScope !== undefined) fields.deviceScope = identity.deviceScope;
    if (identity.parentScopes !== undefined) fields.parentScopes = [...identity.parentScopes];
  }
  return fields;
}

/**
 * Whether a token's decoded `sr` covers a resource of this hub. The `sr` host may carry a port
 * (clients given `HostName=localhost:8443` sign `localhost:8443/…`), which is ignored; the rest
 * is twin-model's segment-prefix rule (protocol.md §3.3).
 *
 * @param audience - the token's decoded `sr`
 * @param hostName - the hub host name
 * @param resource - `<hostName>/<path>` being accessed
 */
export function scopeCovers(audience: string, hostName: string, resource: string): boolean {
  const slash = audience.indexOf('/');
  const host = slash === -1 ? audience : audience.slice(0, slash);
  const rest = slash === -1 ? '' : audience.slice(slash);
  const bareHost = host.replace(/:\d+$/, '');
  if (bareHost.toLowerCase() !== hostName.toLowerCase()) return false;
  return resourceCovers(`${hostName}${rest}`, resource);
}
