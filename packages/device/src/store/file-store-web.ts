/**
 * What `@twinkit/device/file-store` resolves to outside Node (the `default` export condition):
 * there is no file system, so `createFileStore()` throws, while isomorphic apps still type-check
 * against the same signature (docs/internals/architecture.md#runtime-seams).
 *
 * @module @twinkit/device/file-store (web dialect)
 */
import { UnsupportedRuntimeError } from '@twinkit/twin-model/errors';
import type { DeviceStateStore } from './device-state.js';

export {
  DEVICE_STATE_FORMAT,
  type DeviceStateStore,
  type PersistedDesired,
  type PersistedDeviceState,
  type PersistedIdentity,
  type PersistedReportedPatch,
} from './device-state.js';

/**
 * The file store needs Node; in browsers use `createIndexedDbStore` from
 * `@twinkit/device/indexeddb-store`.
 *
 * @param _path - ignored
 * @returns never
 * @throws {@link UnsupportedRuntimeError} always
 */
export function createFileStore(_path: string): DeviceStateStore {
  throw new UnsupportedRuntimeError(
    'The file store needs Node.js (node:fs). In browsers use createIndexedDbStore from @twinkit/device/indexeddb-store.',
  );
}
