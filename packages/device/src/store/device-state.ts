/**
 * What a {@link DeviceStateStore} keeps for one device, and the check every loaded state passes
 * before the client trusts it: the format marker, the identity it belongs to, and the shape of
 * each part. A state that fails the check is a {@link StoreCorruptError} or a
 * {@link StoreForeignError}, never a reason to start over empty.
 */
import type { JsonObject } from '@twinkit/twin-model';
import { StoreCorruptError, StoreForeignError } from './store-errors.js';

/** The format marker of {@link PersistedDeviceState}; a store holding another one is refused. */
export const DEVICE_STATE_FORMAT = 'twinkit.device-state/1';

/** Whose state it is: the hub host (without port), the device and the module. */
export interface PersistedIdentity {
  /** The hub host, e.g. `my-hub.azure-devices.net` (a `:port` is not part of it). */
  hostName: string;
  /** The device id. */
  deviceId: string;
  /** The module id, for a module's state. */
  moduleId?: string;
}

/** A reported patch waiting in the outbox, with the sequence number it keeps across restarts. */
export interface PersistedReportedPatch {
  /** Increases with every new outbox entry; entries are sent in this order. */
  sequence: number;
  /** The merge patch (several coalesced calls may share one entry). */
  patch: JsonObject;
}

/** The desired section the app was last given, and its `$version`. */
export interface PersistedDesired {
  /** The desired `$version` of `document`. */
  version: number;
  /** The desired section without `$version`. */
  document: JsonObject;
}

/** Everything a {@link DeviceStateStore} keeps for one device or module. */
export interface PersistedDeviceState {
  /** {@link DEVICE_STATE_FORMAT}; a state with another marker is a {@link StoreCorruptError}. */
  format: typeof DEVICE_STATE_FORMAT;
  /** Whose state it is; another client's identity is a {@link StoreForeignError}. */
  identity: PersistedIdentity;
  /** Reported patches not yet acknowledged by the hub, in send order. */
  outbox: PersistedReportedPatch[];
  /** The last desired state handed to the app; absent before the first twin read. */
  desired?: PersistedDesired;
  /** Per writable property path (`name` or `component.name`), the last desired `$version` answered. */
  acknowledged: Record<string, number>;
}

/**
 * Where a device keeps its state across restarts: the outbox of reported patches, the last
 * desired state handed to the app, and the last answered writable-property versions. Use
 * `createFileStore` from `@twinkit/device/file-store` on Node, `createIndexedDbStore` from
 * `@twinkit/device/indexeddb-store` in browsers, or implement it for your own storage.
 *
 * A store is used by one client at a time: the client calls `load` once (in `open()` or on the
 * first `updateReportedProperties`, whichever comes first), then `save` one call at a time, and
 * `close` when the client closes.
 */
export interface DeviceStateStore {
  /** Where the state lives, for messages: a file path or a database name. */
  readonly location: string;
  /**
   * Reads the state, and takes the store for this client (a store that can be shared, such as a
   * file, refuses a second user).
   *
   * @returns the last saved state, or `undefined` for a store that was never saved
   * @throws {@link StoreCorruptError} when the stored bytes cannot be read as a state
   * @throws {@link StoreLockedError} when another process or client uses the store
   */
  load(): Promise<PersistedDeviceState | undefined>;
  /**
   * Replaces the stored state, atomically: after a crash at any moment the store holds either
   * the previous state or this one.
   *
   * @param state - the whole state
   */
  save(state: PersistedDeviceState): Promise<void>;
  /** Releases the store (a lock, a database connection). Idempotent. */
  close(): Promise<void>;
}

/**
 * Formats an identity as `host/deviceId[/moduleId]`, the way messages name it.
 *
 * @param identity - the identity
 * @returns its display form
 */
function formatStoredIdentity(identity: PersistedIdentity): string {
  const module = identity.moduleId === undefined ? '' : `/${identity.moduleId}`;
  return `${identity.hostName}/${identity.deviceId}${module}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function shapeProblem(value: Record<string, unknown>): string | undefined {
  const identity = value.identity;
  if (
    !isObject(identity) ||
    typeof identity.hostName !== 'string' ||
    typeof identity.deviceId !== 'string' ||
    !(identity.moduleId === undefined || typeof identity.moduleId === 'string')
  )
    return 'its identity is missing or malformed';
  if (!Array.isArray(value.outbox)) return 'its outbox is not a list';
  let previous = -1;
  for (const entry of value.outbox as unknown[]) {
    if (!isObject(entry) || !isVersion(entry.sequence) || !isObject(entry.patch))
      return 'an outbox entry is malformed';
    if (entry.sequence <= previous) return 'its outbox entries are out of order';
    previous = entry.sequence;
  }
  const desired = value.desired;
  if (
    desired !== undefined &&
    (!isObject(desired) || !isVersion(desired.version) || !isObject(desired.document))
  )
    return 'its desired state is malformed';
  if (!isObject(value.acknowledged) || !Object.values(value.acknowledged).every(isVersion))
    return 'its acknowledged versions are malformed';
  return undefined;
}

/**
 * Checks a loaded state: the format marker, the shape and the identity.
 *
 * @param value - what the store returned
 * @param location - the store's location, for messages
 * @param identity - the client's identity
 * @returns the state, typed
 * @throws {@link StoreCorruptError} when the marker or the shape is wrong
 * @throws {@link StoreForeignError} when the state belongs to another identity
 */
export function checkDeviceState(
  value: unknown,
  location: string,
  identity: PersistedIdentity,
): PersistedDeviceState {
  if (!isObject(value)) throw new StoreCorruptError(location, 'it does not hold an object');
  if (value.format !== DEVICE_STATE_FORMAT) {
    throw new StoreCorruptError(
      location,
      `its format marker is ${value.format === undefined ? 'missing' : JSON.stringify(value.format)}, expected '${DEVICE_STATE_FORMAT}'`,
    );
  }
  const problem = shapeProblem(value);
  if (problem !== undefined) throw new StoreCorruptError(location, problem);
  const state = value as unknown as PersistedDeviceState;
  const stored = state.identity;
  if (
    stored.hostName !== identity.hostName ||
    stored.deviceId !== identity.deviceId ||
    stored.moduleId !== identity.moduleId
  ) {
    throw new StoreForeignError(
      location,
      formatStoredIdentity(stored),
      formatStoredIdentity(identity),
    );
  }
  return state;
}
