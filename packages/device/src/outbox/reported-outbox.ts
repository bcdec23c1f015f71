/**
 * The reported-properties outbox: every `updateReportedProperties` call goes through it, so
 * patches take effect on the hub in call order (MicrosoftDocs/azure-docs#88848: unordered sends
 * can apply out of order).
 *
 * - Window: up to `maxPatchesInFlight` patches (default 1) are sent without waiting for the
 *   answers before them, because the hub answers one connection's twin requests in order. That
 *   order is checked, not trusted: every answer carries the new reported `$version`, and a patch
 *   sent behind others that comes back with a lower version than one sent before it was applied
 *   out of order. The outbox then sends it again (merge patches are idempotent, so the later
 *   patch wins as in call order), each following patch likewise, and keeps one patch in flight
 *   from then on. Callers are answered in call order.
 * - Coalescing: calls made in the same turn are queued before anything is sent, and beyond the
 *   window a new patch merges into the last queued (not yet sent) entry
 *   when the two compose into one equivalent merge patch that stays within the reported size
 *   limit; otherwise it becomes a new entry. Callers whose patches were merged share one result.
 * - Offline: with the outbox enabled (default), patches made while disconnected wait and are
 *   sent after the next (re)connect; a send cut off by a dropped connection is sent again.
 *   With `outbox: false`, calls fail fast with `TransportError` while disconnected, and queued
 *   calls fail when the connection drops.
 * - Durable (with a `DeviceStateStore`): an entry is sent only after a save that holds it
 *   completed, and a call merges only into an entry that is not saved yet, so the store always
 *   holds whole entries in send order, each as it is sent. A failed save fails every call
 *   not saved yet (the app learns its patch is not queued). Answered entries leave the store
 *   with the next save; a crash before that sends them again after the restart, in order, which
 *   a merge patch survives (at least once on the wire, the same end state).
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
import type { PersistedReportedPatch } from '../store/device-state.js';
import type { StateSnapshot } from '../store/state-keeper.js';
import type { UpdateReportedResult } from '../transport/transport.js';
import { composeMergePatches } from './compose-patch.js';

/** Offline outbox settings of a {@link DeviceClient}. */
export interface OutboxOptions {
  /** How many `updateReportedProperties` calls may wait at once. Default 1000. */
  maxPatches?: number;
  /** How many bytes of patch JSON (UTF-8) may wait at once. Default 262 144 (256 KiB). */
  maxBytes?: number;
  /**
   * How many patches may be sent before the first of them is answered. Default 1: one patch at
   * a time, everything behind it merged into the next, which spends the fewest twin writes of
   * the hub's quota and acknowledges a burst of calls as fast as any window does. A larger window
   * helps a device that keeps many calls in flight over a slow link; the order the patches take
   * effect in is then checked against the `$version` of each answer and repaired when a hub
   * applied them out of order.
   */
  maxPatchesInFlight?: number;
}

/** Default outbox bound and window. */
export const DEFAULT_OUTBOX_OPTIONS = Object.freeze({
  maxPatches: 1000,
  maxBytes: 256 * 1024,
  maxPatchesInFlight: 1,
});

interface Waiter {
  resolve: (result: UpdateReportedResult) => void;
  reject: (error: unknown) => void;
  detach: () => void;
}

type Answer = { ok: true; result: UpdateReportedResult } | { ok: false; error: unknown };

interface Entry {
  /** Stable across restarts; entries are sent in this order. */
  sequence: number;
  patch: JsonObject;
  /** Bumped by every merge, so a save of an older content does not count for it. */
  revision: number;
  /** On the store (always true without one). */
  saved: boolean;
  bytes: number;
  waiters: Set<Waiter>;
  calls: number;
  /** queued: waits to be sent; sent: awaiting the hub; answered: waits for the entries before it. */
  state: 'queued' | 'sent' | 'answered';
  /** Sent while an earlier entry was still unsettled, so its version must be checked. */
  overtook: boolean;
  answer?: Answer;
}

/** Collaborators of a {@link ReportedOutbox}. */
export interface ReportedOutboxOptions {
  /** `false` turns offline queuing off (fail fast). */
  enabled: boolean;
  maxPatches: number;
  maxBytes: number;
  maxPatchesInFlight: number;
  /** Sends one patch (with the client's deadline). */
  send: (patch: JsonObject) => Promise<UpdateReportedResult>;
  /**
   * With a state store: saves the state (it collects {@link ReportedOutbox.snapshot}); entries
   * wait for it before they are sent.
   */
  persist?: (() => Promise<void>) | undefined;
  /** A restored entry (nobody awaits it) was refused by the hub, or a background save failed. */
  reportError: (error: unknown) => void;
  logger: Logger;
}

const encoder = new TextEncoder();

/**
 * Ordered, windowed, coalescing, bounded queue of reported patches.
 *
 * @internal
 */
export class ReportedOutbox {
  readonly #options: ReportedOutboxOptions;
  /** Unsettled entries in call order: sent and answered ones first, then queued ones. */
  #entries: Entry[] = [];
  #connected = false;
  #window: number;
  #inFlight = 0;
  /** The reported `$version` of the last entry settled, the yardstick of the order check. */
  #lastVersion: number | undefined;
  #calls = 0;
  #bytes = 0;
  #nextSequence = 1;
  #pumpScheduled = false;

  constructor(options: ReportedOutboxOptions) {
    if (!(options.maxPatches >= 1)) throw new RangeError('outbox.maxPatches must be >= 1');
    if (!(options.maxBytes >= 1)) throw new RangeError('outbox.maxBytes must be >= 1');
    if (!(Number.isInteger(options.maxPatchesInFlight) && options.maxPatchesInFlight >= 1)) {
      throw new RangeError('outbox.maxPatchesInFlight must be an integer >= 1');
    }
    this.#options = options;
    this.#window = options.maxPatchesInFlight;
  }

  /** How many calls are waiting (queued or in flight). */
  get pendingCalls(): number {
    return this.#calls;
  }

  /**
   * Puts back the entries a state store kept, ahead of anything queued later; they are sent
   * first, in their order, and nobody awaits them.
   *
   * @param entries - the stored entries, in sequence order
   */
  restore(entries: readonly PersistedReportedPatch[]): void {
    const restored = entries.map((stored): Entry => ({
      sequence: stored.sequence,
      patch: stored.patch,
      bytes: encoder.encode(JSON.stringify(stored.patch)).byteLength,
      revision: 0,
      saved: true,
      waiters: new Set(),
      calls: 1,
      state: 'queued',
      overtook: false,
    }));
    this.#entries = [...restored, ...this.#entries];
    this.#calls = this.#entries.reduce((sum, entry) => sum + entry.calls, 0);
    this.#bytes = this.#entries.reduce((sum, entry) => sum + entry.bytes, 0);
    const last = restored.at(-1);
    if (last !== undefined) this.#nextSequence = Math.max(this.#nextSequence, last.sequence + 1);
    this.#pump();
  }

  /**
   * The entries to save, and what a save of them means.
   *
   * @returns the outbox part of a state snapshot
   */
  snapshot(): Pick<StateSnapshot, 'saved' | 'failed'> & { entries: PersistedReportedPatch[] } {
    const revisions = new Map(this.#entries.map((entry) => [entry, entry.revision]));
    return {
      entries: this.#entries.map((entry) => ({ sequence: entry.sequence, patch: entry.patch })),
      saved: () => {
        for (const [entry, revision] of revisions) {
          if (entry.revision === revision) entry.saved = true;
        }
        this.#pump();
      },
      failed: (error) => {
        this.#failUnsaved(error);
      },
    };
  }

  /**
   * Queues a validated patch.
   *
   * @param patch - the reported merge patch
   * @param abortSignal - stops waiting; a patch not yet sent nor merged with others is withdrawn
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
      if (this.#options.persist === undefined) this.#pumpSoon();
      else
        this.#options.persist().catch((error: unknown) => {
          this.#failUnsaved(error);
        });
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
    for (const entry of entries) this.#settle(entry, { ok: false, error });
  }

  #place(patch: JsonObject, bytes: number): Entry {
    this.#calls += 1;
    this.#bytes += bytes;
    const durable = this.#options.persist !== undefined;
    const last = this.#entries.at(-1);
    if (last?.state === 'queued' && !(durable && last.saved)) {
      const merged = composeMergePatches(last.patch, patch);
      if (merged !== undefined && validateSection(merged, 'reported').valid) {
        last.patch = merged;
        last.bytes += bytes;
        last.calls += 1;
        last.revision += 1;
        return last;
      }
    }
    const entry: Entry = {
      sequence: this.#nextSequence++,
      patch,
      revision: 0,
      saved: !durable,
      bytes,
      waiters: new Set(),
      calls: 1,
      state: 'queued',
      overtook: false,
    };
    this.#entries.push(entry);
    return entry;
  }

  #withdraw(entry: Entry, waiter: Waiter): void {
    entry.waiters.delete(waiter);
    // Only an entry that is exactly this caller's patch can be taken back; a merged one is sent.
    if (entry.state === 'queued' && entry.calls === 1 && this.#entries.includes(entry)) {
      this.#entries = this.#entries.filter((candidate) => candidate !== entry);
      this.#calls -= 1;
      this.#bytes -= entry.bytes;
      if (entry.saved) this.#persistInBackground();
    }
  }

  /** A save failed: every call not saved yet fails with its error, and is not sent. */
  #failUnsaved(error: unknown): void {
    const unsaved = this.#entries.filter((entry) => entry.state === 'queued' && !entry.saved);
    if (unsaved.length === 0) return;
    this.#entries = this.#entries.filter((entry) => !unsaved.includes(entry));
    for (const entry of unsaved) {
      this.#calls -= entry.calls;
      this.#bytes -= entry.bytes;
      this.#settle(entry, { ok: false, error });
    }
  }

  #persistInBackground(): void {
    this.#options.persist?.().catch((error: unknown) => {
      // A closing client does not save any more; anything else (a full disk) the app must hear of.
      if (isTransportError(error)) this.#options.logger.verbose(error.message);
      else this.#options.reportError(error);
    });
  }

  /**
   * Pumps once the calls made in the same turn have been queued: a burst of calls (a
   * `Promise.all` of updates, a loop) then goes out as one merged patch instead of the first call
   * alone and the rest merged behind it, which costs a second round trip.
   */
  #pumpSoon(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    // A resolved promise, not queueMicrotask: Node wraps each queueMicrotask callback in an
    // AsyncResource, which costs more than the send it schedules.
    void Promise.resolve().then(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Sends queued entries, in call order, while the window has room. */
  #pump(): void {
    while (this.#connected && this.#inFlight < this.#window) {
      const index = this.#entries.findIndex((entry) => entry.state === 'queued');
      const entry = this.#entries[index];
      if (entry?.saved !== true) return; // none queued, or the next one waits for its save
      entry.state = 'sent';
      entry.overtook = index > 0;
      this.#inFlight += 1;
      this.#options.send(entry.patch).then(
        (result) => {
          this.#answered(entry, { ok: true, result });
        },
        (error: unknown) => {
          this.#answered(entry, { ok: false, error });
        },
      );
    }
  }

  #answered(entry: Entry, answer: Answer): void {
    this.#inFlight -= 1;
    if (!this.#entries.includes(entry)) return; // failed by close() meanwhile
    if (!answer.ok && isTransportError(answer.error) && this.#options.enabled && !this.#connected) {
      // The connection dropped mid-send; the hub may or may not have applied it. It is sent
      // again after the reconnect, and the order check repairs a later patch it overtakes.
      entry.state = 'queued';
      this.#options.logger.info(
        'reported patch interrupted by a disconnect; it stays in the outbox',
      );
      return;
    }
    entry.state = 'answered';
    entry.answer = answer;
    this.#settleInOrder();
    this.#pump();
  }

  /** Settles answered entries from the front, so callers learn results in call order. */
  #settleInOrder(): void {
    for (;;) {
      const entry = this.#entries[0];
      if (entry?.state !== 'answered' || entry.answer === undefined) return;
      const answer = entry.answer;
      if (answer.ok && entry.overtook && this.#appliedOutOfOrder(answer.result.version)) {
        // An earlier patch landed after this one and may have overwritten its keys: send it
        // again, behind everything already sent, and stop overlapping sends on this client.
        this.#options.logger.warning(
          `reported patch $version=${String(answer.result.version)} was applied before an earlier one ` +
            `($version=${String(this.#lastVersion)}); sending it again and one patch at a time from now on`,
        );
        this.#window = 1;
        entry.state = 'queued';
        delete entry.answer;
        return;
      }
      this.#entries.shift();
      this.#calls -= entry.calls;
      this.#bytes -= entry.bytes;
      if (answer.ok) this.#lastVersion = answer.result.version;
      if (entry.waiters.size === 0 && !answer.ok) {
        // A patch restored from the store: nobody awaits it, so the app hears of it here.
        this.#options.reportError(answer.error);
      }
      this.#settle(entry, answer);
      this.#persistInBackground();
    }
  }

  #appliedOutOfOrder(version: number): boolean {
    if (!Number.isFinite(version)) return true; // unverifiable: treat as unordered
    return this.#lastVersion !== undefined && version < this.#lastVersion;
  }

  #settle(entry: Entry, answer: Answer): void {
    for (const waiter of entry.waiters) {
      waiter.detach();
      if (answer.ok) waiter.resolve(answer.result);
      else waiter.reject(answer.error);
    }
    entry.waiters.clear();
  }
}
