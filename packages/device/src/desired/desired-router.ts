/**
 * Path-prefix subscriptions for desired changes: one router behind both `onDesired` handlers and
 * `watchDesired` iterators (docs/internals/architecture.md#client-conventions). A change reaches a subscription when its patch
 * touches the subscribed path (twin-model `patchTouchesPath`).
 */
import { getAtPath, parsePath, patchTouchesPath } from '@twinkit/twin-model';
import type { JsonObject, JsonValue } from '@twinkit/twin-model';
import type { Unsubscribe } from '../internal/emitter.js';

/** Why a change was delivered. */
export type DesiredChangeReason =
  /** A desired patch from the hub, in version order. */
  | 'patch'
  /** A re-read of the twin (after a reconnect, a version gap or a twin read) found changes. */
  | 'resync'
  /** A `watchDesired` queue overflowed and folded several changes into one (see `watchDesired`). */
  | 'coalesced';

/** Known values of {@link DesiredChangeReason}, for use at runtime. */
export const KnownDesiredChangeReason = Object.freeze({
  Patch: 'patch',
  Resync: 'resync',
  Coalesced: 'coalesced',
} as const);

/**
 * One desired-property change, as handlers and iterators receive it.
 *
 * @typeParam TValue - the type of the value at the subscribed path
 */
export interface DesiredChange<TValue = JsonValue> {
  /** The subscribed path (`''` for the whole desired section). */
  path: string;
  /** The value at `path` after the change; `null` when the change removed it. */
  value: TValue | null;
  /** The desired `$version` this change brings the device to. */
  version: number;
  /** The merge patch of the whole desired section (no `$version`); removed keys are `null`. */
  patch: JsonObject;
  /** Whether this came from a patch, a resync or coalescing. */
  reason: DesiredChangeReason;
}

type Prev = [never, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

/**
 * The dotted paths of a desired-properties type, e.g. `'climate' | 'climate.fanOn'`; `string`
 * for untyped twins. Depth is limited to the twin's own limit of 10 levels.
 */
export type DesiredPath<T, Depth extends number = 10> = [Depth] extends [never]
  ? never
  : T extends readonly unknown[]
    ? never
    : T extends object
      ? {
          [K in keyof T & string]:
            | K
            | (NonNullable<T[K]> extends readonly unknown[]
                ? never
                : NonNullable<T[K]> extends object
                  ? `${K}.${DesiredPath<NonNullable<T[K]>, Prev[Depth]>}`
                  : never);
        }[keyof T & string]
      : never;

/** The type of the value at a dotted path of `T`; `JsonValue` when it cannot be known. */
export type DesiredValueAt<T, P extends string> = P extends ''
  ? T
  : P extends `${infer Head}.${infer Rest}`
    ? Head extends keyof T
      ? DesiredValueAt<NonNullable<T[Head]>, Rest>
      : JsonValue
    : P extends keyof T
      ? NonNullable<T[P]>
      : JsonValue;

/** What the router fans out: the change plus the documents around it (for coalescing). */
export interface RoutedChange {
  patch: JsonObject;
  version: number;
  reason: DesiredChangeReason;
  /** The desired section (without `$version`) before the change. */
  before: JsonObject;
  /** The desired section (without `$version`) after the change. */
  after: JsonObject;
}

/** A subscriber's view: the public change plus the routed documents. */
export type RouterSink = (change: DesiredChange, routed: RoutedChange) => void;

interface Subscription {
  path: string;
  segments: readonly string[];
  sink: RouterSink;
}

/**
 * Keeps path subscriptions and fans changes out to them.
 *
 * @internal
 */
export class DesiredRouter {
  readonly #subscriptions = new Set<Subscription>();
  readonly #onCountChange: (count: number) => void;

  /**
   * @param onCountChange - told whenever the number of subscriptions changes, so the client can
   *   lazily enable (first subscriber) or disable (last one gone) the transport subscription
   */
  constructor(onCountChange: (count: number) => void) {
    this.#onCountChange = onCountChange;
  }

  /** How many subscriptions exist. */
  get size(): number {
    return this.#subscriptions.size;
  }

  /**
   * Adds a subscription.
   *
   * @param path - dotted path, `''` for everything
   * @param sink - receives matching changes
   * @returns removes the subscription (idempotent)
   * @throws {@link TypeError} when the path is malformed
   */
  subscribe(path: string, sink: RouterSink): Unsubscribe {
    if (typeof path !== 'string') throw new TypeError('A desired path must be a string');
    const subscription: Subscription = { path, segments: parsePath(path), sink };
    this.#subscriptions.add(subscription);
    this.#onCountChange(this.#subscriptions.size);
    return () => {
      if (this.#subscriptions.delete(subscription)) this.#onCountChange(this.#subscriptions.size);
    };
  }

  /**
   * Delivers a change to every subscription whose path it touches.
   *
   * @param routed - the change with its surrounding documents
   */
  dispatch(routed: RoutedChange): void {
    for (const subscription of [...this.#subscriptions]) {
      const touches =
        subscription.segments.length === 0
          ? Object.keys(routed.patch).length > 0
          : patchTouchesPath(routed.patch, subscription.segments);
      if (!touches) continue;
      const value =
        subscription.segments.length === 0
          ? routed.after
          : getAtPath(routed.after, subscription.segments);
      subscription.sink(
        {
          path: subscription.path,
          value: value ?? null,
          version: routed.version,
          patch: routed.patch,
          reason: routed.reason,
        },
        routed,
      );
    }
  }
}
