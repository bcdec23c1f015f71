/**
 * How the core's writes become storage operations, and how a failed commit becomes the answer
 * the writer gets.
 */
import type { StoredTwin } from '@twinkit/twin-model';
import { hubFailure } from '../rest/hub-failure.js';
import type { IdentityRecord } from '../state/identity.js';
import { isHubStorageError } from '../state/storage-error.js';
import type { StorageOperation } from '../state/storage.js';

/**
 * The upsert of an identity row.
 *
 * @param identity - the identity as the write leaves it
 */
export function putIdentity(identity: IdentityRecord): StorageOperation {
  return putRow('identities', identity);
}

/**
 * The upsert of a twin row.
 *
 * @param twin - the twin as the write leaves it
 */
export function putTwin(twin: StoredTwin): StorageOperation {
  return putRow('twins', twin);
}

/** A row keyed by device and module id (`''` for a device), holding the record as JSON. */
function putRow(
  table: 'identities' | 'twins',
  record: { deviceId: string; moduleId?: string | undefined },
): StorageOperation {
  return {
    kind: 'put',
    table,
    deviceId: record.deviceId,
    moduleId: record.moduleId ?? '',
    body: JSON.stringify(record),
  };
}

/**
 * The removal of a device (with its modules and twins) or of one module and its twin.
 *
 * @param deviceId - the device
 * @param moduleId - the module, or undefined for the whole device
 */
export function deleteIdentityRows(
  deviceId: string,
  moduleId: string | undefined,
): StorageOperation[] {
  return moduleId === undefined
    ? [{ kind: 'deleteDevice', deviceId }]
    : [
        { kind: 'delete', table: 'identities', deviceId, moduleId },
        { kind: 'delete', table: 'twins', deviceId, moduleId },
      ];
}

/**
 * The error a writer gets when its commit failed: a 503 that names the cause (disk full, file
 * size limit, I/O error) and the file, so the caller knows to retry later and what to fix.
 *
 * @param error - what storage rejected with
 */
export function commitRefused(error: unknown): unknown {
  if (!isHubStorageError(error)) return error;
  return Object.assign(hubFailure(503, 'ServiceUnavailable', error.message), { cause: error });
}
