/**
 * The per-twin timeline the explorer shows: the last changes of each twin (who wrote, the patch,
 * the versions), kept in memory by the hub from its change feed. Bounded twice: a ring of
 * `perTwin` entries per twin, and `total` entries over all twins (the twins changed longest ago
 * lose their oldest entries first), with each patch's text capped, so a busy fleet cannot grow
 * it without limit. It does not survive a restart; the twins themselves do.
 */
import type { ChangeFeed, HubChange, TwinChange } from '../core/hub-changes.js';

/** One change of a twin, as the timeline keeps it. */
export interface TimelineEntry {
  /** Increases by one per entry over the whole hub, so a client can tell what it has seen. */
  sequence: number;
  /** Server time of the change, ISO 8601. */
  at: string;
  /** Who wrote: the service (tags, desired) or the device (reported). */
  who: 'service' | 'device';
  operation: TwinChange['operation'];
  /** The patch as sent, or `{ "$truncated": <characters> }` when its JSON was over the cap. */
  patch: unknown;
  version: number;
  desiredVersion: number;
  reportedVersion: number;
}

/** Which twin an entry belongs to. */
export interface TimelineTwin {
  deviceId: string;
  moduleId?: string;
}

/** Limits of a {@link TwinTimeline}. */
export interface TwinTimelineLimits {
  /** Entries kept per twin; default 50. */
  perTwin: number;
  /** Entries kept over all twins; default 20 000. */
  total: number;
  /** Characters of a patch's JSON kept; a longer patch is recorded as truncated. Default 8 192. */
  patchCharacters: number;
}

const DEFAULT_LIMITS: TwinTimelineLimits = { perTwin: 50, total: 20_000, patchCharacters: 8_192 };

/** The key of a twin: device id, and module id after a NUL (neither id may contain one). */
export function twinKey(deviceId: string, moduleId?: string): string {
  return moduleId === undefined ? deviceId : `${deviceId}\u0000${moduleId}`;
}

/**
 * The timelines of every twin of a hub, fed by its change feed.
 *
 * @internal
 */
export class TwinTimeline {
  readonly limits: TwinTimelineLimits;
  // Map order is "changed longest ago first": a twin is moved to the end on every change.
  readonly #rings = new Map<string, TimelineEntry[]>();
  #count = 0;
  #sequence = 0;
  readonly #feed: ChangeFeed;
  #unsubscribe: (() => void) | undefined;
  readonly #listeners = new Set<(twin: TimelineTwin, entry: TimelineEntry) => void>();

  /**
   * @param feed - the hub's change feed
   * @param limits - per-twin, total and patch-size caps
   */
  constructor(feed: ChangeFeed, limits: Partial<TwinTimelineLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.#feed = feed;
    this.setRecording(true);
  }

  /** Whether changes are being recorded. */
  get recording(): boolean {
    return this.#unsubscribe !== undefined;
  }

  /**
   * Starts or stops recording. A hub served without its explorer stops, so it keeps no
   * entries nobody can read (and spends no time on them); stopping forgets what was kept.
   *
   * @param on - record from now on, or stop and forget
   */
  setRecording(on: boolean): void {
    if (on && this.#unsubscribe === undefined) {
      this.#unsubscribe = this.#feed.subscribe((change) => {
        this.#observe(change);
      });
    } else if (!on && this.#unsubscribe !== undefined) {
      this.#unsubscribe();
      this.#unsubscribe = undefined;
      this.#rings.clear();
      this.#count = 0;
    }
  }

  /**
   * The entries of one twin, oldest first.
   *
   * @param deviceId - the device
   * @param moduleId - the module, for a module twin
   */
  entries(deviceId: string, moduleId?: string): TimelineEntry[] {
    return [...(this.#rings.get(twinKey(deviceId, moduleId)) ?? [])];
  }

  /**
   * Subscribes to new entries (the explorer's live stream sends each one as it is recorded).
   *
   * @param listener - called once per entry
   * @returns unsubscribe
   */
  subscribe(listener: (twin: TimelineTwin, entry: TimelineEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Entries kept over all twins. */
  get size(): number {
    return this.#count;
  }

  /**
   * Records a twin change; forgets a deleted identity's twin (a device takes its modules along).
   *
   * @param change - from the feed
   */
  #observe(change: HubChange): void {
    if (change.kind === 'identity' && change.change === 'deleted') {
      this.#forget(change.deviceId, change.moduleId);
      return;
    }
    if (change.kind !== 'twin') return;
    this.record(change);
  }

  /**
   * Records one twin change.
   *
   * @param change - the change
   * @returns the entry as kept
   */
  record(change: TwinChange): TimelineEntry {
    this.#sequence += 1;
    const entry: TimelineEntry = {
      sequence: this.#sequence,
      at: new Date().toISOString(),
      who: change.source,
      operation: change.operation,
      patch: this.#cap(change.patch),
      version: change.version,
      desiredVersion: change.desiredVersion,
      reportedVersion: change.reportedVersion,
    };
    const key = twinKey(change.deviceId, change.moduleId);
    const ring = this.#rings.get(key) ?? [];
    this.#rings.delete(key);
    this.#rings.set(key, ring);
    ring.push(entry);
    this.#count += 1;
    if (ring.length > this.limits.perTwin) {
      ring.shift();
      this.#count -= 1;
    }
    this.#trim();
    const twin: TimelineTwin = { deviceId: change.deviceId };
    if (change.moduleId !== undefined) twin.moduleId = change.moduleId;
    for (const listener of this.#listeners) {
      try {
        listener(twin, entry);
      } catch {
        // A watcher's failure is its own.
      }
    }
    return entry;
  }

  #cap(patch: unknown): unknown {
    const text = JSON.stringify(patch) as string | undefined;
    if (text === undefined) return null;
    return text.length > this.limits.patchCharacters ? { $truncated: text.length } : patch;
  }

  #trim(): void {
    for (const [key, ring] of this.#rings) {
      if (this.#count <= this.limits.total) return;
      const drop = Math.min(ring.length, this.#count - this.limits.total);
      ring.splice(0, drop);
      this.#count -= drop;
      if (ring.length === 0) this.#rings.delete(key);
    }
  }

  #forget(deviceId: string, moduleId: string | undefined): void {
    for (const [key, ring] of this.#rings) {
      const matches =
        moduleId === undefined
          ? key === deviceId || key.startsWith(`${deviceId}\u0000`)
          : key === twinKey(deviceId, moduleId);
      if (!matches) continue;
      this.#count -= ring.length;
      this.#rings.delete(key);
    }
  }

  /** Stops recording. */
  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#listeners.clear();
  }
}
