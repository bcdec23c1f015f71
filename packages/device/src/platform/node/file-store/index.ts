/**
 * A file-backed {@link DeviceStateStore} for Node: `createFileStore(path)` keeps a device's
 * outbox of reported patches, its last desired state and its writable-property answers in one
 * file, written atomically and locked against a second process.
 *
 * @example
 * ```ts
 * import { DeviceClient } from '@twinkit/device';
 * import { createFileStore } from '@twinkit/device/file-store';
 *
 * const device = DeviceClient.fromConnectionString(cs, {
 *   store: createFileStore('/var/lib/my-device/twin-state.json'),
 * });
 * ```
 *
 * @module @twinkit/device/file-store
 */
import type { DeviceStateStore } from '../../../store/device-state.js';
import { createFileStoreOn } from './file-store.js';
import { nodeFileSystem } from './file-system.js';

export {
  DEVICE_STATE_FORMAT,
  type DeviceStateStore,
  type PersistedDesired,
  type PersistedDeviceState,
  type PersistedIdentity,
  type PersistedReportedPatch,
} from '../../../store/device-state.js';

/**
 * A state store in one file (plus `<path>.lock` while a client uses it). Saves are atomic: a
 * new file is written and flushed next to the old one, then renamed over it, so a crash or a
 * full disk leaves the previous state intact.
 *
 * @param path - the state file; its directory must exist and be writable
 * @returns the store, for `DeviceClientOptions.store`
 * @throws {@link StoreCorruptError} from `load()` when the file is torn, edited or not a state file
 * @throws {@link StoreLockedError} from `load()` when a live process holds the lock (a dead one's lock is taken over)
 * @example
 * ```ts
 * const store = createFileStore('./device-state.json');
 * ```
 */
export function createFileStore(path: string): DeviceStateStore {
  if (typeof path !== 'string' || path === '')
    throw new TypeError('createFileStore needs a file path');
  return createFileStoreOn(path, nodeFileSystem);
}
