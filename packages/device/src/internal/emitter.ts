/**
 * A tiny typed event emitter whose `on()` returns an unsubscribe function (docs/internals/architecture.md#client-conventions);
 * no `node:events`, so it runs in every runtime.
 *
 * @internal
 */

/** Removes a handler or subscription. Calling it more than once is harmless. */
export type Unsubscribe = () => void;

/**
 * Typed emitter over an event map `{ eventName: payload }`. A throwing handler never stops the
 * others; its error goes to `onHandlerError`.
 */
export class Emitter<Events extends object> {
  readonly #handlers = new Map<keyof Events, Set<(value: never) => void>>();
  readonly #onHandlerError: (error: unknown, event: keyof Events) => void;

  constructor(onHandlerError: (error: unknown, event: keyof Events) => void) {
    this.#onHandlerError = onHandlerError;
  }

  on<K extends keyof Events>(event: K, handler: (value: Events[K]) => void): Unsubscribe {
    let set = this.#handlers.get(event);
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(event, set);
    }
    // Wrap so the same function registered twice gets two independent registrations.
    const entry = (value: never): void => {
      handler(value);
    };
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  emit<K extends keyof Events>(event: K, value: Events[K]): void {
    const set = this.#handlers.get(event);
    if (set === undefined) return;
    for (const handler of [...set]) {
      try {
        (handler as (value: Events[K]) => void)(value);
      } catch (error) {
        this.#onHandlerError(error, event);
      }
    }
  }

  listenerCount(event: keyof Events): number {
    return this.#handlers.get(event)?.size ?? 0;
  }
}
