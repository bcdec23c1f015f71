/**
 * The reported-properties outbox: every `updateReportedProperties` call goes through it, so
 * patches reach the hub in call order with at most one in flight (MicrosoftDocs/azure-docs#88848:
 * unordered sends can apply out of order).
 *
 * - Coalescing: a new patch merges into the last queued (not yet sent) entry when the two
 *   compose into one equivalent merge patch that stays within the reported size limit;
 *   otherwise it becomes a new entry. Callers whose patches were merged share one result.
 * - Offline: with the outbox enabled (default), patches made while disconnected wait and are
 *   sent after the next (re)connect; a send cut off by a dropped connection is sent again
 *   (merge patches are idempotent). With `outbox: false`, calls fail fast with
 *   `TransportError` while disconnected, and queued calls fail when the connection drops.
 * - Bound: at most `maxPatches` calls and `maxBytes` of patch JSON wait at once (defaults 1000
 *   and 256 KiB); a call beyond the bound rejects with a `TransportError` whose message says the
 *   outbox is full, and nothing already queued is touched.
 *
 * @internal
 */
import { validateSection } from '@twinkit/twin-model';
import type { JsonObject } from '@twinkit/twin-model';
import { TransportError, isTransportError } from '@twinkit/twin-model/errors';
import type { Logger } from '@twinkit/twin-model/internal';
import type { UpdateReportedResult } from '../transport/transport.js';
import { composeMergePatches } from './compose-patch.js';

/** Offline outbox settings of a {@link DeviceClient}. */
export interface OutboxOptions {
  /** How many `updateReportedProperties` calls may wait at once. Default 1000. */
  maxPatches?: number;
  /** How many bytes of patch JSON (UTF-8) may wait at once. Default 262 144 (256 KiB). */
  maxBytes?: number;
}

/** Default outbox bound. */
export const DEFAULT_OUTBOX_OPTIONS = Object.freeze({ maxPatches: 1000, maxBytes: 256 * 1024 });

interface Waiter {
  resolve: (result: UpdateReportedResult) => void;
  reject: (error: unknown) => void;
  detach: () => void;
}

interface Entry {
  patch: JsonObject;
  bytes: number;
  waiters: Set<Waiter>;
  calls: number;
  inFlight: boolean;
}

/** Collaborators of a {@link ReportedOutbox}. */
export interface ReportedOutboxOptions {
  /** `false` turns offline queuing off (fail fast). */
  enabled: boolean;
  maxPatches: number;
  maxBytes: number;
  /** Sends one patch (with the client's deadline). */
  send: (patch: JsonObject) => Promise<UpdateReportedResult>;
  logger: Logger;
}

const encoder = new TextEncoder();

/**
 * Ordered, coalescing, bounded queue of reported patches.
 *
 * @internal
 */
export class ReportedOutbox {
  readonly #options: ReportedOutboxOptions;
  #entries: Entry[] = [];
  #connected = false;
  #pumping = false;
  #calls = 0;
  #bytes = 0;

  constructor(options: ReportedOutboxOptions) {
    if (!(options.maxPatches >= 1)) throw new RangeError('outbox.maxPatches must be >= 1');
    if (!(options.maxBytes >= 1)) throw new RangeError('outbox.maxBytes must be >= 1');
    this.#options = options;
  }

  /** How many calls are waiting (queued or in flight). */
  get pendingCalls(): number {
    return this.#calls;
  }

  /**
   * Queues a validated patch.
   *
   * @param patch - the reported merge patch
   * @param abortSignal - stops waiting; a patch not yet merged with others is withdrawn
   * @returns the new reported `$version` once the patch (or the merged patch containing it) is accepted
   */
  enqueue(patch: JsonObject, abortSignal?: AbortSignal): Promise<UpdateReportedResult> {
    if (abortSignal?.aborted === true) return Promise.reject(abortSignal.reason as Error);
    if (!this.#connected && !this.#options.enabled) {
      return Promise.reject(
        new TransportError(
          'The device is not connected and the offline outbox is off (outbox: false); the reported patch was not sent.',
        ),
      );
    }
    const bytes = encoder.encode(JSON.stringify(patch)).byteLength;
    if (
      this.#calls + 1 > this.#options.maxPatches ||
      this.#bytes + bytes > this.#options.maxBytes
    ) {
      return Promise.reject(
        new TransportError(
          `The offline outbox is full (${String(this.#calls)} patches, ${String(this.#bytes)} bytes; ` +
            `limits ${String(this.#options.maxPatches)} patches, ${String(this.#options.maxBytes)} bytes). ` +
            'The patch was not queued; retry once the device is connected.',
        ),
      );
    }
    return new Promise<UpdateReportedResult>((resolve, reject) => {
      const entry = this.#place(patch, bytes);
      const onAbort = (): void => {
        this.#withdraw(entry, waiter);
        reject(abortSignal?.reason as Error);
      };
      const waiter: Waiter = {
        resolve,
        reject,
        detach: () => abortSignal?.removeEventListener('abort', onAbort),
      };
      entry.waiters.add(waiter);
      abortSignal?.addEventListener('abort', onAbort, { once: true });
      this.#pump();
    });
  }

  /** The connection is up: start sending. */
  connected(): void {
    this.#connected = true;
    this.#pump();
  }

  /**
   * The connection is down. With the outbox off, everything waiting fails with `error`.
   *
   * @param error - why the connection went down
   */
  disconnected(error: unknown): void {
    this.#connected = false;
    if (!this.#options.enabled) this.failAll(error);
  }

  /**
   * Rejects every waiting call (client closed) and empties the queue.
   *
   * @param error - the rejection reason
   */
  failAll(error: unknown): void {
    const entries = this.#entries;
    this.#entries = [];
    this.#calls = 0;
    this.#bytes = 0;
    for (const entry of entries) this.#settle(entry, undefined, error);
  }

  #place(patch: JsonObject, bytes: number): Entry {
    this.#calls += 1;
    this.#bytes += bytes;
    const last = this.#entries.at(-1);
    if (last !== undefined && !last.inFlight) {
      const merged = composeMergePatches(last.patch, patch);
      if (merged !== undefined && validateSection(merged, 'reported').valid) {
        last.patch = merged;
        last.bytes += bytes;
        last.calls += 1;
        return last;
      }
    }
    const entry: Entry = { patch, bytes, waiters: new Set(), calls: 1, inFlight: false };
    this.#entries.push(entry);
    return entry;
  }

  #withdraw(entry: Entry, waiter: Waiter): void {
    entry.waiters.delete(waiter);
    // Only an entry that is exactly this caller's patch can be taken back; a merged one is sent.
    if (!entry.inFlight && entry.calls === 1 && this.#entries.includes(entry)) {
      this.#entries = this.#entries.filter((candidate) => candidate !== entry);
      this.#calls -= 1;
      this.#bytes -= entry.bytes;
    }
  }

  #pump(): void {
    if (this.#pumping || !this.#connected) return;
    this.#pumping = true;
    void this.#drain().finally(() => {
      this.#pumping = false;
      if (this.#connected && this.#entries.some((entry) => !entry.inFlight)) this.#pump();
    });
  }

  async #drain(): Promise<void> {
    while (this.#connected) {
      const entry = this.#entries[0];
      if (entry === undefined) return;
      entry.inFlight = true;
      try {
        const result = await this.#options.send(entry.patch);
        this.#remove(entry);
        this.#settle(entry, result, undefined);
      } catch (error) {
        if (isTransportError(error) && this.#options.enabled && !this.#isConnected()) {
          // The connection dropped mid-send; the hub may or may not have applied it, and a merge
          // patch is idempotent, so it is sent again after the reconnect.
          entry.inFlight = false;
          this.#options.logger.info(
            'reported patch interrupted by a disconnect; it stays in the outbox',
          );
          return;
        }
        this.#remove(entry);
        this.#settle(entry, undefined, error);
      }
    }
  }

  /** Reads the flag afresh (TypeScript would otherwise keep a narrowing across awaits). */
  #isConnected(): boolean {
    return this.#connected;
  }

  #remove(entry: Entry): void {
    if (this.#entries[0] === entry) this.#entries.shift();
    else this.#entries = this.#entries.filter((candidate) => candidate !== entry);
    this.#calls -= entry.calls;
    this.#bytes -= entry.bytes;
  }

  #settle(entry: Entry, result: UpdateReportedResult | undefined, error: unknown): void {
    for (const waiter of entry.waiters) {
      waiter.detach();
      if (result !== undefined) waiter.resolve(result);
      else waiter.reject(error);
    }
    entry.waiters.clear();
  }
}
