/**
 * Keeps the transport's desired-property subscription in line with whether anyone listens, and
 * keeps the desired section in sync across connections (the azure-iot twin semantics: the first
 * subscriber turns the subscription on, the last one to leave turns it off).
 *
 * - Each connect attempt restores the subscription before it counts as connected
 *   ({@link DesiredSubscription.prepare}); once connected, a re-read of the twin
 *   ({@link DesiredSync.resync}) delivers what changed while the device was away.
 * - Subscribing and unsubscribing while connected happens one change at a time; a failure the
 *   hub answered is reported as an `error` event and retried with backoff, as is a failed resync.
 *
 * @internal
 */
import { backoffDelay, type ResolvedRetryOptions } from '@twinkit/twin-model/internal';
import type { DesiredSync } from './desired-sync.js';
import type { DeviceTwin, JsonObject } from '@twinkit/twin-model';

/** Collaborators of a {@link DesiredSubscription}. */
export interface DesiredSubscriptionOptions {
  /** Turns the subscription on or off on a connection that is still being set up. */
  setDuringConnect: (enabled: boolean, signal: AbortSignal) => Promise<void>;
  /** Reads the twin on a connection that is still being set up. */
  readTwinDuringConnect: (signal: AbortSignal) => Promise<DeviceTwin>;
  /** Turns the subscription on or off on the established connection (with the client's deadline). */
  set: (enabled: boolean) => Promise<void>;
  /** Whether the connection is usable right now. */
  isConnected: () => boolean;
  sync: DesiredSync;
  retry: ResolvedRetryOptions;
  /** Reports a background failure as an `error` event. */
  reportError: (error: unknown) => void;
}

/**
 * The desired subscription of one DeviceClient.
 *
 * @internal
 */
export class DesiredSubscription {
  readonly #options: DesiredSubscriptionOptions;
  /** Whether anyone listens (`onDesired` or `watchDesired`). */
  #wanted = false;
  /** Whether the current connection is subscribed. */
  #onTransport = false;
  /** Changes run one after another on this chain. */
  #chain: Promise<void> = Promise.resolve();
  #changeQueued = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryAttempt = 0;

  constructor(options: DesiredSubscriptionOptions) {
    this.#options = options;
  }

  /**
   * The number of subscribers changed between zero and more.
   *
   * @param wanted - whether anyone listens now
   */
  setWanted(wanted: boolean): void {
    if (wanted === this.#wanted) return;
    this.#wanted = wanted;
    if (!wanted) {
      this.#options.sync.clearBuffer();
      this.#clearRetry();
    }
    this.#queueChange();
  }

  /**
   * Takes a desired patch from the transport; ignored while nobody listens.
   *
   * @param patch - the patch without `$version`
   * @param version - its `$version`
   */
  onPatch(patch: JsonObject, version: number): void {
    if (this.#wanted) this.#options.sync.onPatch(patch, version);
  }

  /**
   * The transport dropped a desired notification the protocol does not allow (a malformed
   * `$version` or body): report it, and re-read the twin in case it carried a real change.
   *
   * @param error - what was wrong with it
   */
  notificationDropped(error: unknown): void {
    this.#options.reportError(error);
    if (this.#wanted && this.#onTransport && this.#options.isConnected()) this.#startResync();
  }

  /**
   * Part of every connect attempt: learn the desired baseline if it is still unknown, then (a new
   * connection starts unsubscribed) subscribe when someone listens.
   *
   * The baseline is read before `open()` resolves even when nobody listens yet: a handler
   * registered later must receive every write made after it was registered, and a baseline
   * first read after that registration would silently absorb a write that raced the
   * subscription. Read here, such a write is newer than the baseline, so the resync that follows
   * the subscription delivers it.
   *
   * @param signal - the attempt's signal
   */
  async prepare(signal: AbortSignal): Promise<void> {
    this.#onTransport = false;
    if (this.#options.sync.version === undefined) await this.#readBaseline(signal);
    if (!this.#wanted) return;
    await this.#options.setDuringConnect(true, signal);
    this.#onTransport = true;
  }

  async #readBaseline(signal: AbortSignal): Promise<void> {
    let twin: DeviceTwin;
    try {
      twin = await this.#options.readTwinDuringConnect(signal);
    } catch (error) {
      if (signal.aborted) throw error;
      // A read the hub answered badly must not keep the device offline: without a baseline the
      // first resync sets it, as before. A lost connection fails the next step of the attempt.
      this.#options.reportError(error);
      return;
    }
    this.#options.sync.observe(twin);
  }

  /** The connection is usable: resync, or catch up with a change made while connecting. */
  up(): void {
    if (this.#wanted && this.#onTransport) this.#startResync();
    else if (this.#wanted !== this.#onTransport) this.#queueChange();
  }

  /** A renewed token was presented: notifications sent during the swap may be lost, so re-read. */
  renewed(): void {
    if (this.#wanted && this.#onTransport) this.#startResync();
  }

  /** The connection went away. */
  down(): void {
    this.#onTransport = false;
    this.#clearRetry();
  }

  /** The session ended. */
  ended(): void {
    this.down();
    this.#options.sync.clearBuffer();
  }

  /**
   * A re-read of the twin failed. While connected it is reported and retried with backoff; a
   * dropped connection ends in a reconnect, which resyncs anyway.
   *
   * @param error - the failure
   */
  resyncFailed(error: unknown): void {
    if (!this.#options.isConnected() || !this.#wanted) return;
    this.#options.reportError(error);
    this.#scheduleRetry(() => {
      this.#startResync();
    });
  }

  #startResync(): void {
    this.#clearRetry();
    this.#options.sync.resync().then(
      () => {
        this.#retryAttempt = 0;
      },
      (error: unknown) => {
        this.resyncFailed(error);
      },
    );
  }

  /** Queues one pass that brings the transport in line; passes never overlap. */
  #queueChange(): void {
    if (this.#changeQueued) return;
    this.#changeQueued = true;
    this.#chain = this.#chain.then(async () => {
      this.#changeQueued = false;
      await this.#applyChanges();
    });
  }

  async #applyChanges(): Promise<void> {
    while (this.#options.isConnected() && this.#wanted !== this.#onTransport) {
      const wanted = this.#wanted;
      try {
        await this.#options.set(wanted);
      } catch (error) {
        if (!this.#options.isConnected()) return;
        // Still connected, so the failure was the hub's answer; report it and try again later.
        this.#options.reportError(error);
        this.#scheduleRetry(() => {
          this.#queueChange();
        });
        return;
      }
      this.#onTransport = wanted;
      if (wanted) this.#startResync();
    }
  }

  #scheduleRetry(action: () => void): void {
    this.#clearRetry();
    const { retryDelayInMs, maxRetryDelayInMs } = this.#options.retry;
    const retryInMs = backoffDelay(this.#retryAttempt + 1, retryDelayInMs, maxRetryDelayInMs);
    this.#retryAttempt += 1;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#options.isConnected()) action();
    }, retryInMs);
  }

  #clearRetry(): void {
    if (this.#retryTimer === undefined) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }
}
