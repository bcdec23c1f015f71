/**
 * The hub's identities and twins in memory, in two layers:
 *
 * - the committed layer, which every reader sees (REST GET, queries, device GETs, sessions): it
 *   only ever changes in a `publish` step that storage runs after the commit holding the change
 *   succeeded;
 * - the staged layer, which writers see: changes queued for the next group commit. Writers build
 *   on it (a second PATCH in the same batch gets the next version, a create after a queued
 *   create is a conflict), and it is dropped as a whole when the batch settles, since a batch
 *   commits or fails as a whole.
 *
 * So a failed commit leaves nothing behind that a reader could see, and no version or ETag of a
 * failed change is ever served.
 */
import type { JsonObject, StoredTwin } from '@twinkit/twin-model';
import type { IdentityRecord } from './identity.js';

/** A twin and identity pair as the core keeps them. */
export interface HubEntry {
  identity: IdentityRecord;
  twin: StoredTwin;
  /** Service-view JSON, built lazily and dropped on every change (queries scan these). */
  document?: JsonObject | undefined;
}

interface DeviceEntry extends HubEntry {
  modules: Map<string, HubEntry>;
}

/** A staged identity: its latest identity and twin; `fresh` when it was (re)created in this batch. */
interface StagedEntry {
  identity: IdentityRecord;
  twin: StoredTwin;
  fresh: boolean;
}

const SEPARATOR = '\u0000';
const keyOf = (deviceId: string, moduleId: string | undefined) =>
  deviceId + SEPARATOR + (moduleId ?? '');

/**
 * Committed and staged identities and twins.
 *
 * @internal
 */
export class EntryStore {
  readonly #devices = new Map<string, DeviceEntry>();
  /** `null` marks an identity deleted by a queued write. */
  readonly #staged = new Map<string, StagedEntry | null>();
  #moduleCount = 0;

  /** Committed device identities. */
  get deviceCount(): number {
    return this.#devices.size;
  }

  /** Committed module identities. */
  get moduleCount(): number {
    return this.#moduleCount;
  }

  /**
   * The committed entry of a device or module (what readers see).
   *
   * @param deviceId - device id
   * @param moduleId - module id, for a module
   */
  get(deviceId: string, moduleId?: string): HubEntry | undefined {
    const device = this.#devices.get(deviceId);
    return moduleId === undefined ? device : device?.modules.get(moduleId);
  }

  /** Committed devices, in creation order. */
  devices(): IterableIterator<HubEntry> {
    return this.#devices.values();
  }

  /** Committed modules, grouped by device in creation order. */
  *modules(): IterableIterator<HubEntry> {
    for (const device of this.#devices.values()) yield* device.modules.values();
  }

  /**
   * The committed modules of a device.
   *
   * @param deviceId - the device
   */
  modulesOf(deviceId: string): HubEntry[] {
    return [...(this.#devices.get(deviceId)?.modules.values() ?? [])];
  }

  /**
   * What a writer builds on: the staged state when a queued write changed the identity, else the
   * committed one.
   *
   * @param deviceId - device id
   * @param moduleId - module id, for a module
   * @returns identity and twin, or `undefined` when missing (or deleted by a queued write)
   */
  latest(
    deviceId: string,
    moduleId?: string,
  ): { identity: IdentityRecord; twin: StoredTwin } | undefined {
    const device = this.#staged.get(keyOf(deviceId, undefined));
    if (device === null) return undefined;
    if (moduleId === undefined) return device ?? this.#devices.get(deviceId);
    const key = keyOf(deviceId, moduleId);
    if (this.#staged.has(key)) return this.#staged.get(key) ?? undefined;
    // A device recreated in this batch has none of the old device's modules.
    if (device?.fresh === true) return undefined;
    return this.#devices.get(deviceId)?.modules.get(moduleId);
  }

  /**
   * Stages a new identity (device or module) and its twin.
   *
   * @param identity - the new identity
   * @param twin - its new twin
   */
  stageCreate(identity: IdentityRecord, twin: StoredTwin): void {
    this.#staged.set(keyOf(identity.deviceId, identity.moduleId), { identity, twin, fresh: true });
  }

  /**
   * Stages a change of an existing identity or twin.
   *
   * @param identity - the identity after the change
   * @param twin - the twin after the change
   */
  stageChange(identity: IdentityRecord, twin: StoredTwin): void {
    const key = keyOf(identity.deviceId, identity.moduleId);
    const fresh = this.#staged.get(key)?.fresh ?? false;
    this.#staged.set(key, { identity, twin, fresh });
  }

  /**
   * Stages a deletion (of a device with its modules, or of a module).
   *
   * @param deviceId - device id
   * @param moduleId - module id, for a module
   */
  stageDelete(deviceId: string, moduleId?: string): void {
    if (moduleId === undefined) {
      const prefix = deviceId + SEPARATOR;
      for (const key of this.#staged.keys())
        if (key.startsWith(prefix)) this.#staged.set(key, null);
    }
    this.#staged.set(keyOf(deviceId, moduleId), null);
  }

  /** Drops every staged change (the batch they belonged to has settled). */
  discardStaged(): void {
    this.#staged.clear();
  }

  // ------------------------------------------------------------ publish (committed changes only)

  /**
   * Publishes a created device or module.
   *
   * @param identity - its identity
   * @param twin - its twin
   * @returns the committed entry
   */
  publishCreate(identity: IdentityRecord, twin: StoredTwin): HubEntry {
    if (identity.moduleId === undefined) {
      const device: DeviceEntry = { identity, twin, modules: new Map() };
      this.#devices.set(identity.deviceId, device);
      return device;
    }
    const entry: HubEntry = { identity, twin };
    const device = this.#devices.get(identity.deviceId);
    // The device's own create was published earlier in the same batch, or committed before.
    if (device !== undefined) {
      if (!device.modules.has(identity.moduleId)) this.#moduleCount += 1;
      device.modules.set(identity.moduleId, entry);
    }
    return entry;
  }

  /**
   * Publishes a changed identity, keeping the connection fields (in memory only, updated by
   * sessions while the change was queued) that readers last saw.
   *
   * @param identity - the identity after the change
   * @returns a snapshot of the entry as this change left it
   */
  publishIdentity(identity: IdentityRecord): HubEntry | undefined {
    const entry = this.get(identity.deviceId, identity.moduleId);
    if (entry === undefined) return undefined;
    const next: IdentityRecord = { ...identity };
    next.connectionState = entry.identity.connectionState;
    next.connectionStateUpdatedTime = entry.identity.connectionStateUpdatedTime;
    next.lastActivityTime = entry.identity.lastActivityTime;
    next.modelId = entry.identity.modelId;
    entry.identity = next;
    entry.document = undefined;
    return { identity: next, twin: entry.twin };
  }

  /**
   * Publishes a changed twin.
   *
   * @param twin - the twin after the change
   * @returns a snapshot of the entry as this change left it
   */
  publishTwin(twin: StoredTwin): HubEntry | undefined {
    const entry = this.get(twin.deviceId, twin.moduleId);
    if (entry === undefined) return undefined;
    entry.twin = twin;
    entry.document = undefined;
    return { identity: entry.identity, twin };
  }

  /**
   * Publishes a deletion.
   *
   * @param deviceId - device id
   * @param moduleId - module id, for a module
   */
  publishDelete(deviceId: string, moduleId?: string): void {
    const device = this.#devices.get(deviceId);
    if (device === undefined) return;
    if (moduleId === undefined) {
      this.#moduleCount -= device.modules.size;
      this.#devices.delete(deviceId);
    } else if (device.modules.delete(moduleId)) {
      this.#moduleCount -= 1;
    }
  }
}
