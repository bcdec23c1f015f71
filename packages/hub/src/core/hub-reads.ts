/**
 * The hub core's read path: lookups over the committed entries (what every reader sees), and
 * the writer's view that counts writes queued for the next commit.
 */
import {
  toDeviceTwin,
  toServiceTwin,
  type DeviceTwin,
  type JsonObject,
  type StoredTwin,
} from '@twinkit/twin-model';
import type { EntryStore, HubEntry } from '../state/entry-store.js';
import type { IdentityRecord } from '../state/identity.js';
import { identityFields } from './identity-fields.js';
import { deviceNotFound, moduleNotFound } from './identity-failures.js';

/**
 * Lookups of the hub's identities and twins; {@link HubCore} adds the writes.
 *
 * @internal
 */
export class HubReads {
  /**
   * @param hostName - the hub host name (named in 404 messages)
   * @param entries - the in-memory entries
   */
  constructor(
    readonly hostName: string,
    protected readonly entries: EntryStore,
  ) {}

  /** Number of device identities. */
  get deviceCount(): number {
    return this.entries.deviceCount;
  }

  /** Number of module identities. */
  get moduleCount(): number {
    return this.entries.moduleCount;
  }

  /**
   * The entry of a device or module, if it exists.
   *
   * @param deviceId - device id
   * @param moduleId - module id, for a module
   */
  getEntry(deviceId: string, moduleId?: string): HubEntry | undefined {
    return this.entries.get(deviceId, moduleId);
  }

  /**
   * Whether an identity exists for a writer: counting writes queued for the next commit (bulk
   * requests decide between create and update with it).
   *
   * @param deviceId - device id
   * @param moduleId - module id, for a module
   */
  identityExists(deviceId: string, moduleId?: string): boolean {
    return this.entries.latest(deviceId, moduleId) !== undefined;
  }

  /**
   * The entry of a device or module, or the 404 IoT Hub answers (DeviceNotFound / ModuleNotFound).
   *
   * @param deviceId - device id
   * @param moduleId - module id, for a module
   * @throws a 404 HubError
   */
  requireEntry(deviceId: string, moduleId?: string): HubEntry {
    const device = this.entries.get(deviceId);
    if (device === undefined) throw deviceNotFound(deviceId, this.hostName);
    if (moduleId === undefined) return device;
    const module = this.entries.get(deviceId, moduleId);
    if (module === undefined) throw moduleNotFound(deviceId, moduleId);
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
    return this.entries.devices();
  }

  /** Every module entry, grouped by device in creation order. */
  moduleEntries(): IterableIterator<HubEntry> {
    return this.entries.modules();
  }

  /**
   * The modules of one device.
   *
   * @param deviceId - the device
   * @throws a 404 HubError when the device does not exist
   */
  modulesOf(deviceId: string): HubEntry[] {
    this.requireEntry(deviceId);
    return this.entries.modulesOf(deviceId);
  }

  protected requireLatest(
    deviceId: string,
    moduleId?: string,
  ): { identity: IdentityRecord; twin: StoredTwin } {
    const device = this.entries.latest(deviceId);
    if (device === undefined) throw deviceNotFound(deviceId, this.hostName);
    if (moduleId === undefined) return device;
    const module = this.entries.latest(deviceId, moduleId);
    if (module === undefined) throw moduleNotFound(deviceId, moduleId);
    return module;
  }
}
