/**
 * Loading the stored identities and twins into the entry store when the hub starts.
 */
import { createStoredTwin, type StoredTwin } from '@twinkit/twin-model';
import type { EntryStore } from '../state/entry-store.js';
import type { IdentityRecord } from '../state/identity.js';
import type { HubStorage } from '../state/storage.js';

const MODULE_KEY_SEPARATOR = '\u0000';

/**
 * Publishes every stored identity with its twin (a missing twin row gets a new twin), devices
 * before modules, and raises the storage's sequence above every loaded etag.
 *
 * @param storage - the opened storage
 * @param entries - the empty entry store
 * @throws {@link HubStorageError} when a row is corrupt
 */
export function loadEntries(storage: HubStorage, entries: EntryStore): void {
  const twins = new Map<string, StoredTwin>();
  for (const row of storage.loadDocuments('twins'))
    twins.set(row.deviceId + MODULE_KEY_SEPARATOR + row.moduleId, row.document as StoredTwin);
  const now = new Date();
  const pendingModules: { identity: IdentityRecord; twin: StoredTwin }[] = [];
  let highestEtag = 0;
  for (const row of storage.loadDocuments('identities')) {
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
    if (row.moduleId === '') entries.publishCreate(identity, twin);
    else pendingModules.push({ identity, twin });
  }
  for (const module of pendingModules) entries.publishCreate(module.identity, module.twin);
  // The sequence is saved with every commit; the highest loaded etag and Unix seconds are
  // floors for stores written before it was, so identity etags never repeat.
  storage.raiseSequence(Math.max(highestEtag, Math.floor(Date.now() / 1000)));
}
