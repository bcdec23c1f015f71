/**
 * The events the hub core announces after a write committed: desired-property changes (pushed
 * to subscribed devices) and identity changes (which drop live sessions). Listeners run after
 * the write is durable; one that throws cannot fail the REST call that already committed.
 */
import type { JsonObject } from '@twinkit/twin-model';
import type { IdentityRecord } from '../state/identity.js';

/** A desired-properties change, emitted after it was committed. */
export interface DesiredChangeEvent {
  deviceId: string;
  moduleId?: string;
  /** The body to push to the device: the patch (nulls kept) or the full desired after a replace, plus `$version`. */
  notification: JsonObject;
  /** The new `properties.desired.$version`. */
  version: number;
}

/** An identity was deleted, disabled or had its credentials changed: live sessions should be dropped. */
export interface IdentityChangeEvent {
  deviceId: string;
  moduleId?: string;
  change: 'deleted' | 'disabled' | 'credentialsChanged';
}

/** The listeners of both kinds of event. */
export class HubEvents {
  readonly #desired = new Set<(event: DesiredChangeEvent) => void>();
  readonly #identity = new Set<(event: IdentityChangeEvent) => void>();

  /**
   * Subscribes to committed desired-property changes.
   *
   * @param listener - called once per change, in commit order
   * @returns unsubscribe
   */
  onDesired(listener: (event: DesiredChangeEvent) => void): () => void {
    this.#desired.add(listener);
    return () => {
      this.#desired.delete(listener);
    };
  }

  /**
   * Subscribes to identity deletions, disables and credential changes.
   *
   * @param listener - called after the change is durable
   * @returns unsubscribe
   */
  onIdentity(listener: (event: IdentityChangeEvent) => void): () => void {
    this.#identity.add(listener);
    return () => {
      this.#identity.delete(listener);
    };
  }

  /**
   * Tells every desired listener about a committed change.
   *
   * @param event - the change
   */
  emitDesired(event: DesiredChangeEvent): void {
    notifyAll(this.#desired, event);
  }

  /**
   * Tells every identity listener about a committed change.
   *
   * @param event - the change
   */
  emitIdentity(event: IdentityChangeEvent): void {
    notifyAll(this.#identity, event);
  }

  /** Drops every listener (the hub is closing). */
  clear(): void {
    this.#desired.clear();
    this.#identity.clear();
  }
}

/**
 * Calls every listener with an event that already committed; a listener that throws is skipped,
 * because a failing endpoint or watcher must not fail the write that caused the event.
 *
 * @param listeners - who to tell
 * @param event - the committed event
 */
export function notifyAll<T>(listeners: ReadonlySet<(event: T) => void>, event: T): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch {
      // See above: the write already committed.
    }
  }
}

/**
 * The identity event for a device or module.
 *
 * @param ids - the device, and the module for a module
 * @param change - what happened
 */
export function identityEvent(
  ids: { deviceId: string; moduleId?: string | undefined },
  change: IdentityChangeEvent['change'],
): IdentityChangeEvent {
  const event: IdentityChangeEvent = { deviceId: ids.deviceId, change };
  if (ids.moduleId !== undefined) event.moduleId = ids.moduleId;
  return event;
}

/**
 * What an identity update means for live sessions: a disable or a credential change drops
 * them; any other update leaves them alone.
 *
 * @param before - the identity before the update
 * @param after - the identity after it
 * @returns the event to announce once the update committed, or undefined
 */
export function identityChangeOf(
  before: IdentityRecord,
  after: IdentityRecord,
): IdentityChangeEvent | undefined {
  const disabled = before.status === 'enabled' && after.status === 'disabled';
  const credentialsChanged =
    JSON.stringify(before.authentication) !== JSON.stringify(after.authentication);
  if (!disabled && !credentialsChanged) return undefined;
  return identityEvent(
    { deviceId: after.deviceId, moduleId: after.moduleId },
    disabled ? 'disabled' : 'credentialsChanged',
  );
}
