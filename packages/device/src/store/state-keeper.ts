/**
 * Keeps a client's durable state in its {@link DeviceStateStore}: loads it once before the
 * client uses any part that depends on it, hands each part its share, and saves the whole state
 * whenever a part changed. Saves run one at a time; requests that arrive during a save share the
 * next one, so a burst of changes costs at most two writes. Closing stops the saves before the
 * client empties its parts, so a closed client's queue stays on the store for the next process.
 *
 * @internal
 */
import { TransportError } from '@twinkit/twin-model/errors';
import type { Logger } from '@twinkit/twin-model/internal';
import {
  checkDeviceState,
  DEVICE_STATE_FORMAT,
  type DeviceStateStore,
  type PersistedDeviceState,
  type PersistedIdentity,
} from './device-state.js';

/** One part's contribution to a save, and what it learns about the outcome. */
export interface StateSnapshot {
  state: Omit<PersistedDeviceState, 'format' | 'identity'>;
  /** The snapshot is on the store. */
  saved(): void;
  /** The save failed; the store still holds the previous state. */
  failed(error: unknown): void;
}

/** Collaborators of a {@link StateKeeper}. */
export interface StateKeeperOptions {
  store: DeviceStateStore;
  identity: PersistedIdentity;
  /** Hands the loaded state (or `undefined` for a new store) to the parts. */
  restore: (state: PersistedDeviceState | undefined) => void;
  /** Collects the current state from the parts. */
  snapshot: () => StateSnapshot;
  logger: Logger;
}

interface PendingSave {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function pendingSave(): PendingSave {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  // A background save nobody awaits must not become an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/**
 * The durable state of one client.
 *
 * @internal
 */
export class StateKeeper {
  readonly #options: StateKeeperOptions;
  /** idle: not loaded (before the first use, or after close); open: loaded and saving. */
  #phase: 'idle' | 'loading' | 'open' | 'closing' = 'idle';
  #loading: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #saving: Promise<void> | undefined;
  #next: PendingSave | undefined;
  /** The state as it was when close() began, for the save that was still waiting then. */
  #closingSnapshot: StateSnapshot | undefined;

  constructor(options: StateKeeperOptions) {
    this.#options = options;
  }

  /** Where the state lives. */
  get location(): string {
    return this.#options.store.location;
  }

  /**
   * Loads the state and restores the parts, once per use of the store (again after
   * {@link StateKeeper.close}); concurrent calls share the outcome. A failed load (corrupt,
   * foreign or locked store) is tried again by the next call.
   *
   * @returns settles when the parts hold the stored state
   */
  ready(): Promise<void> {
    if (this.#phase === 'open') return Promise.resolve();
    this.#loading ??= (async () => {
      await this.#closing;
      this.#phase = 'loading';
      await this.#load();
      this.#leaveLoading('open');
    })().finally(() => {
      this.#loading = undefined;
      this.#leaveLoading('idle');
    });
    return this.#loading;
  }

  /**
   * Saves the current state after the save in progress, if any.
   *
   * @returns settles when a save that collected the state after this call is on the store
   * @throws {@link TransportError} when the store is not in use (the client was closed)
   */
  save(): Promise<void> {
    if (this.#phase !== 'open') {
      return Promise.reject(
        new TransportError('The client was closed; the device state was not saved.', {
          retryable: false,
        }),
      );
    }
    this.#next ??= pendingSave();
    const waiting = this.#next.promise;
    this.#saving ??= this.#drain();
    return waiting;
  }

  /**
   * Stops saving, then releases the store. Idempotent. A save in progress completes, and a save
   * still waiting behind it is made with the state as it is when close() is called (a desired
   * change handed to handlers just before, say), so a clean close loses nothing. The parts may
   * drop their state afterwards: what the store holds is what the next load finds.
   *
   * @returns settles when the store is released
   */
  close(): Promise<void> {
    if (this.#phase === 'idle' || this.#phase === 'closing')
      return this.#closing ?? Promise.resolve();
    // Taken now, while the parts still hold everything: they are emptied once close() returns.
    if (this.#next !== undefined) this.#closingSnapshot = this.#options.snapshot();
    this.#phase = 'closing';
    this.#closing = (async () => {
      await this.#loading?.catch(() => {});
      await this.#saving;
      await this.#options.store.close();
    })().finally(() => {
      this.#phase = 'idle';
      this.#closing = undefined;
    });
    return this.#closing;
  }

  /** Ends the loading phase, unless close() started meanwhile (then it ends in idle). */
  #leaveLoading(next: 'open' | 'idle'): void {
    if (this.#phase === 'loading') this.#phase = next;
  }

  async #load(): Promise<void> {
    const { store, identity } = this.#options;
    let state: PersistedDeviceState | undefined;
    try {
      const loaded = await store.load();
      state = loaded === undefined ? undefined : checkDeviceState(loaded, store.location, identity);
    } catch (error) {
      // Release what load() took (a lock), so the next attempt reports the real problem again.
      await store.close().catch(() => {});
      throw error;
    }
    if (state !== undefined) {
      this.#options.logger.info(
        `restored device state from ${store.location}: ${String(state.outbox.length)} reported patches queued, ` +
          `desired $version ${String(state.desired?.version ?? 'unknown')}`,
      );
    }
    this.#options.restore(state);
  }

  async #drain(): Promise<void> {
    try {
      while (this.#next !== undefined) {
        const waiting = this.#next;
        this.#next = undefined;
        const snapshot = this.#phase === 'open' ? this.#options.snapshot() : this.#closingSnapshot;
        this.#closingSnapshot = undefined;
        if (snapshot === undefined) {
          // Closing: the parts are being emptied, and that must not reach the store.
          waiting.reject(
            new TransportError('The client was closed; the device state was not saved.', {
              retryable: false,
            }),
          );
          continue;
        }
        try {
          await this.#options.store.save({
            format: DEVICE_STATE_FORMAT,
            identity: this.#options.identity,
            ...snapshot.state,
          });
        } catch (error) {
          snapshot.failed(error);
          waiting.reject(error);
          continue;
        }
        snapshot.saved();
        waiting.resolve();
      }
    } finally {
      this.#saving = undefined;
    }
  }
}
