/**
 * The bounded queue behind `watchDesired()`.
 *
 * Overflow policy: COALESCE. The queue holds at most `maxQueuedChanges` changes. When a change
 * arrives and the queue is full, every queued change and the new one are folded into ONE change
 * with `reason: 'coalesced'`: its `version` and `value` are the newest, and its `patch` is the
 * twin-model `diff` between the desired section before the oldest folded change and after the
 * newest (removed keys as `null`). A slow consumer therefore sees fewer, larger steps but always
 * ends at the current state; no change is silently lost and memory stays bounded.
 *
 * @internal
 */
import { diff } from '@twinkit/twin-model';
import type { JsonObject } from '@twinkit/twin-model';
import type { DesiredChange, RoutedChange } from './desired-router.js';

/** Default bound of a `watchDesired` queue. */
export const DEFAULT_MAX_QUEUED_CHANGES = 100;

interface Entry {
  change: DesiredChange;
  before: JsonObject;
  after: JsonObject;
}

/**
 * An async iterator fed by the router.
 *
 * @internal
 */
export class DesiredQueue implements AsyncIterableIterator<DesiredChange> {
  readonly #max: number;
  readonly #onEnd: () => void;
  #entries: Entry[] = [];
  #waiter:
    | { resolve: (result: IteratorResult<DesiredChange>) => void; reject: (error: unknown) => void }
    | undefined;
  #done = false;
  #failure: { error: unknown } | undefined;

  /**
   * @param maxQueuedChanges - the bound (at least 1)
   * @param onEnd - called once when the iterator finishes, to unsubscribe
   * @throws {@link RangeError} when the bound is below 1
   */
  constructor(maxQueuedChanges: number, onEnd: () => void) {
    if (!(maxQueuedChanges >= 1) || !Number.isInteger(maxQueuedChanges)) {
      throw new RangeError('maxQueuedChanges must be an integer >= 1');
    }
    this.#max = maxQueuedChanges;
    this.#onEnd = onEnd;
  }

  /** How many changes are waiting. */
  get length(): number {
    return this.#entries.length;
  }

  /**
   * Adds a change (the router's sink).
   *
   * @param change - the public change
   * @param routed - the documents around it
   */
  push(change: DesiredChange, routed: RoutedChange): void {
    if (this.#done) return;
    if (this.#waiter !== undefined) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.resolve({ value: change, done: false });
      return;
    }
    const entry: Entry = { change, before: routed.before, after: routed.after };
    if (this.#entries.length < this.#max) {
      this.#entries.push(entry);
      return;
    }
    const oldest = this.#entries[0] ?? entry;
    this.#entries = [
      {
        change: {
          path: change.path,
          value: change.value,
          version: change.version,
          patch: diff(oldest.before, entry.after),
          reason: 'coalesced',
        },
        before: oldest.before,
        after: entry.after,
      },
    ];
  }

  /**
   * Ends the iterator: with `done` (close) or by rejecting the pending and next `next()` (abort).
   *
   * @param failure - the abort reason, when ending by abort
   */
  end(failure?: { error: unknown }): void {
    if (this.#done) return;
    this.#done = true;
    this.#entries = [];
    this.#onEnd();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter === undefined) {
      // Nobody is waiting: the next `next()` reports the abort, once.
      if (failure !== undefined) this.#failure = failure;
      return;
    }
    if (failure === undefined) waiter.resolve({ value: undefined, done: true });
    else waiter.reject(failure.error);
  }

  next(): Promise<IteratorResult<DesiredChange>> {
    const entry = this.#entries.shift();
    if (entry !== undefined) return Promise.resolve({ value: entry.change, done: false });
    if (this.#failure !== undefined) {
      const { error } = this.#failure;
      this.#failure = undefined;
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the abort reason passes through unchanged (docs/internals/architecture.md#client-conventions)
      return Promise.reject(error);
    }
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<DesiredChange>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<DesiredChange> {
    return this;
  }
}
