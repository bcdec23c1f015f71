/**
 * A {@link DeviceStateStore} in IndexedDB, for browsers (and any runtime with `indexedDB`):
 * `createIndexedDbStore(name)` keeps the state as one record of the database `name`, written in
 * one transaction per save (with `durability: 'strict'` where the browser supports it), so a
 * closed tab or a crash leaves the previous state or the new one. A second tab using the same
 * store is refused with {@link StoreLockedError} through the Web Locks API, where the browser
 * has it.
 *
 * @example
 * ```ts
 * import { DeviceClient, mqtt } from '@twinkit/device';
 * import { createIndexedDbStore } from '@twinkit/device/indexeddb-store';
 *
 * const device = DeviceClient.fromConnectionString(cs, {
 *   transport: mqtt({ webSocket: true }),
 *   store: createIndexedDbStore('my-device'),
 * });
 * ```
 *
 * @module @twinkit/device/indexeddb-store
 */
import { UnsupportedRuntimeError } from '@twinkit/twin-model/errors';
import type { DeviceStateStore, PersistedDeviceState } from './device-state.js';
import type { IdbDatabase, IdbFactory, IdbRequest, WebLocks } from './indexeddb-types.js';
import { StoreCorruptError, StoreLockedError } from './store-errors.js';

export {
  DEVICE_STATE_FORMAT,
  type DeviceStateStore,
  type PersistedDesired,
  type PersistedDeviceState,
  type PersistedIdentity,
  type PersistedReportedPatch,
} from './device-state.js';

/** The object store and key of the one record, and the record's format marker. */
const OBJECT_STORE = 'device-state';
const KEY = 'state';
const RECORD_FORMAT = 'twinkit.device-state-record/1';

function requestResult<T>(request: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => {
      resolve(request.result);
    };
    request.onerror = () => {
      reject(new Error(request.error?.message ?? 'IndexedDB request failed'));
    };
  });
}

function openDatabase(factory: IdbFactory, name: string): Promise<IdbDatabase> {
  const request = factory.open(name);
  request.onupgradeneeded = () => {
    // A new database (or one without the store at version 1): create the one object store.
    if (!request.result.objectStoreNames.contains(OBJECT_STORE))
      request.result.createObjectStore(OBJECT_STORE);
  };
  request.onblocked = () => {};
  return requestResult(request);
}

/** Holds a Web Lock until `release` is called; resolves `false` when another holder has it. */
function holdLock(
  locks: WebLocks,
  name: string,
): Promise<{ acquired: boolean; release: () => void }> {
  return new Promise((resolve, reject) => {
    locks
      .request(name, { ifAvailable: true }, (lock) => {
        if (lock === null) {
          resolve({ acquired: false, release: () => {} });
          return Promise.resolve();
        }
        return new Promise<void>((release) => {
          resolve({ acquired: true, release });
        });
      })
      .catch(reject);
  });
}

/**
 * A state store in the IndexedDB database `name` (one record). Give each device its own name.
 *
 * @param name - the database name, e.g. the device id
 * @returns the store, for `DeviceClientOptions.store`
 * @throws {@link UnsupportedRuntimeError} from `load()` when the runtime has no `indexedDB`
 * @throws {@link StoreCorruptError} from `load()` when the database is not a state store or its record is not a state
 * @throws {@link StoreLockedError} from `load()` when another tab or client uses the store
 * @example
 * ```ts
 * const store = createIndexedDbStore(`twin-state-${deviceId}`);
 * ```
 */
export function createIndexedDbStore(name: string): DeviceStateStore {
  if (typeof name !== 'string' || name === '')
    throw new TypeError('createIndexedDbStore needs a database name');
  const location = `IndexedDB database '${name}'`;
  let database: IdbDatabase | undefined;
  let releaseLock: (() => void) | undefined;
  const close = (): Promise<void> => {
    database?.close();
    database = undefined;
    releaseLock?.();
    releaseLock = undefined;
    return Promise.resolve();
  };
  return {
    location,
    async load() {
      const globals = globalThis as { indexedDB?: IdbFactory; navigator?: { locks?: WebLocks } };
      const factory = globals.indexedDB;
      if (factory === undefined) {
        throw new UnsupportedRuntimeError(
          'createIndexedDbStore needs IndexedDB (browsers, workers); on Node use createFileStore from @twinkit/device/file-store.',
        );
      }
      const locks = globals.navigator?.locks;
      if (locks !== undefined && releaseLock === undefined) {
        const held = await holdLock(locks, `twinkit-device-state:${name}`);
        if (!held.acquired)
          throw new StoreLockedError(
            location,
            undefined,
            'a Web Lock held by another tab or client',
          );
        releaseLock = held.release;
      }
      database ??= await openDatabase(factory, name);
      if (!database.objectStoreNames.contains(OBJECT_STORE)) {
        throw new StoreCorruptError(
          location,
          `it has no object store '${OBJECT_STORE}' (another app's database?)`,
        );
      }
      const record = await requestResult(
        database.transaction(OBJECT_STORE, 'readonly').objectStore(OBJECT_STORE).get(KEY),
      );
      if (record === undefined) return undefined;
      const { format, state } = (record ?? {}) as { format?: unknown; state?: unknown };
      if (format !== RECORD_FORMAT) {
        throw new StoreCorruptError(
          location,
          `its record's format marker is ${format === undefined ? 'missing' : JSON.stringify(format)}, expected '${RECORD_FORMAT}'`,
        );
      }
      return state as PersistedDeviceState;
    },
    async save(state) {
      if (database === undefined) throw new Error(`${location} is not open; load() it first`);
      const transaction = database.transaction(OBJECT_STORE, 'readwrite', { durability: 'strict' });
      // Structured clone keeps the state as it is now, whatever the client changes next.
      transaction.objectStore(OBJECT_STORE).put({ format: RECORD_FORMAT, state }, KEY);
      await new Promise<void>((resolve, reject) => {
        transaction.oncomplete = () => {
          resolve();
        };
        const fail = () => {
          reject(
            new Error(
              `Saving the device state to ${location} failed (${transaction.error?.message ?? 'aborted'}); it keeps the previous state.`,
            ),
          );
        };
        transaction.onerror = fail;
        transaction.onabort = fail;
      });
    },
    close,
  };
}
