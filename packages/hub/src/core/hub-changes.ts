/**
 * The hub's change feed: one event per committed change to an identity or a twin, and per
 * connection or activity update, in the order they happened. The explorer's live view and its
 * per-twin timeline read it (explorer/); the core only announces.
 */

import { notifyAll } from './hub-events.js';

/** Ids of the device or module a change is about. */
export interface ChangedIdentity {
  deviceId: string;
  moduleId?: string | undefined;
}

/** A committed twin write: by the service (PATCH, PUT, bulk) or by the device (reported). */
export interface TwinChange extends ChangedIdentity {
  kind: 'twin';
  /** Who wrote: `service` for tags and desired, `device` for reported properties. */
  source: 'service' | 'device';
  /** `update` (merge patch), `replace` (PUT) or `reported` (the device's patch). */
  operation: 'update' | 'replace' | 'reported';
  /** The body the writer sent: the merge patch, or the replacement twin. */
  patch: unknown;
  /** The whole twin's `version` after the write. */
  version: number;
  /** `properties.desired.$version` after the write. */
  desiredVersion: number;
  /** `properties.reported.$version` after the write. */
  reportedVersion: number;
}

/** A committed identity creation, update or deletion. */
export interface IdentityChange extends ChangedIdentity {
  kind: 'identity';
  change: 'created' | 'updated' | 'deleted';
}

/** A device or module connected or disconnected. */
export interface ConnectionChange extends ChangedIdentity {
  kind: 'connection';
  state: 'Connected' | 'Disconnected';
}

/** A device or module did something (a message, a twin request): its `lastActivityTime` moved. */
export interface ActivityChange extends ChangedIdentity {
  kind: 'activity';
}

/** Every change the feed announces. */
export type HubChange = TwinChange | IdentityChange | ConnectionChange | ActivityChange;

/**
 * Listeners of {@link HubChange}s. Emitting with no listener costs a set lookup, so the core
 * announces every change whether or not anyone watches.
 *
 * @internal
 */
export class ChangeFeed {
  readonly #listeners = new Set<(change: HubChange) => void>();

  /**
   * Subscribes to changes.
   *
   * @param listener - called synchronously once per change, after it was committed
   * @returns unsubscribe
   */
  subscribe(listener: (change: HubChange) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Announces a change.
   *
   * @param change - what changed
   */
  emit(change: HubChange): void {
    notifyAll(this.#listeners, change);
  }

  /** Drops every listener (the hub is closing). */
  clear(): void {
    this.#listeners.clear();
  }
}
