/**
 * The desired-version gate and resync engine (docs/internals/twin-semantics.md#desired-notifications, docs/internals/wire-contract.md#reconnect): never lose a
 * desired change, never deliver one twice.
 *
 * - A patch with `$version == last + 1` is applied and delivered; duplicates and stale versions
 *   are dropped (twin-model `checkDesiredVersion`).
 * - A version gap triggers a re-read of the twin; what changed since the last known desired
 *   section is delivered as ONE synthetic change (twin-model `diff`, removed keys as `null`).
 * - Patches that arrive while a re-read is in flight are buffered and replayed through the gate
 *   afterwards, so nothing that raced the GET is lost.
 *
 * @internal
 */
import { applyPatch, checkDesiredVersion, diff } from '@twinkit/twin-model';
import type { DeviceTwin, JsonObject } from '@twinkit/twin-model';
import type { Logger } from '@twinkit/twin-model/internal';
import type { RoutedChange } from './desired-router.js';

/** How many patches may wait for an in-flight re-read before they are dropped for another re-read. */
export const MAX_BUFFERED_PATCHES = 1000;

interface BufferedPatch {
  patch: JsonObject;
  version: number;
}

/** Collaborators of a {@link DesiredSync}. */
export interface DesiredSyncOptions {
  /** Reads the twin (with the client's deadline). */
  readTwin: () => Promise<DeviceTwin>;
  /** Receives each change to deliver. */
  deliver: (change: RoutedChange) => void;
  /** A re-read started by a gap or an early patch failed; the client decides when to retry. */
  onResyncError: (error: unknown) => void;
  /** The known desired section or its version changed (a state store saves it). */
  onChanged?: (() => void) | undefined;
  /** A twin read was older than the stored baseline: the twin was created again. */
  onTwinRecreated?: (() => void) | undefined;
  logger: Logger;
}

/**
 * Tracks the last known desired section and its version.
 *
 * @internal
 */
export class DesiredSync {
  readonly #options: DesiredSyncOptions;
  #document: JsonObject | undefined;
  #version: number | undefined;
  #buffer: BufferedPatch[] = [];
  #running: Promise<void> | undefined;
  #again = false;
  #stale = false;
  /** The baseline came from a state store and no twin read has confirmed it yet. */
  #seeded = false;

  constructor(options: DesiredSyncOptions) {
    this.#options = options;
  }

  /** The last desired `$version` known, or `undefined` before the first twin read. */
  get version(): number | undefined {
    return this.#version;
  }

  /** The last known desired section (without `$version`), or `undefined` before the first read. */
  get document(): JsonObject | undefined {
    return this.#document;
  }

  /**
   * Starts from a desired section a state store kept: the next twin read delivers what changed
   * since then as one change, instead of silently taking the twin as the baseline.
   *
   * @param version - its `$version`
   * @param document - the section without `$version`
   */
  seed(version: number, document: JsonObject): void {
    this.#version = version;
    this.#document = document;
    this.#seeded = true;
  }

  /** Whether a re-read is in flight. */
  get resyncing(): boolean {
    return this.#running !== undefined;
  }

  /**
   * Takes a desired patch from the transport.
   *
   * @param patch - the patch without `$version`
   * @param version - its `$version`
   */
  onPatch(patch: JsonObject, version: number): void {
    if (this.#running !== undefined || this.#version === undefined || this.#stale) {
      this.#bufferPatch(patch, version);
      if (this.#running === undefined) this.#startInBackground();
      return;
    }
    if (this.#gate(patch, version) === 'gap') {
      this.#options.logger.info(
        `desired version gap (have ${String(this.#version)}, got ${String(version)}); re-reading the twin`,
      );
      this.#bufferPatch(patch, version);
      this.#startInBackground();
    }
  }

  /**
   * Adopts a twin that was read (by a resync or by the app's `getTwin()`): the first one sets
   * the baseline silently; a newer one delivers the difference as one change.
   *
   * @param twin - the device view of the twin
   */
  observe(twin: DeviceTwin): void {
    const { $version: version, ...content } = twin.desired;
    if (this.#version === undefined || this.#document === undefined) {
      this.#document = content;
      this.#version = version;
      this.#options.onChanged?.();
      return;
    }
    const seeded = this.#seeded;
    this.#seeded = false;
    if (version <= this.#version) {
      // Desired versions only grow, so an older twin than the stored one is a new twin (the
      // device was deleted and created again, or an emulator restarted without its data): it
      // is the truth now, and what differs from the stored section is delivered once.
      if (!seeded || version === this.#version) return;
      this.#options.logger.warning(
        `the twin's desired $version ${String(version)} is older than the stored ${String(this.#version)}: ` +
          'the twin was created again; taking it as the baseline',
      );
      this.#options.onTwinRecreated?.();
    }
    const before = this.#document;
    const change = diff(before, content);
    this.#document = content;
    this.#version = version;
    if (Object.keys(change).length > 0) {
      this.#options.deliver({ patch: change, version, reason: 'resync', before, after: content });
    }
    this.#options.onChanged?.();
  }

  /**
   * Re-reads the twin, delivers what changed, then replays buffered patches. Concurrent calls
   * share one run (and ask it to read once more, so nothing that happened meanwhile is missed).
   *
   * @returns settles when the section is in sync; rejects when the read failed (the buffer is kept)
   */
  resync(): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    const run = this.#run().finally(() => {
      this.#running = undefined;
    });
    this.#running = run;
    return run;
  }

  /** Drops buffered patches (the transport subscription was turned off); the baseline is kept. */
  clearBuffer(): void {
    this.#buffer = [];
  }

  async #run(): Promise<void> {
    do {
      this.#again = false;
      let twin: DeviceTwin;
      try {
        twin = await this.#options.readTwin();
      } catch (error) {
        // Keep the buffer; the next reconnect or patch starts another re-read.
        this.#stale = true;
        throw error;
      }
      this.#stale = false;
      this.observe(twin);
      const pending = this.#buffer.sort((a, b) => a.version - b.version);
      this.#buffer = [];
      for (let index = 0; index < pending.length; index += 1) {
        const item = pending[index];
        if (item === undefined) continue;
        if (this.#gate(item.patch, item.version) === 'gap') {
          this.#buffer.push(...pending.slice(index));
          this.#again = true;
          break;
        }
      }
    } while (this.#again);
  }

  #startInBackground(): void {
    this.resync().catch((error: unknown) => {
      this.#options.logger.warning(`desired resync failed: ${(error as Error).message}`);
      this.#options.onResyncError(error);
    });
  }

  #bufferPatch(patch: JsonObject, version: number): void {
    if (this.#buffer.length >= MAX_BUFFERED_PATCHES) {
      // A later re-read covers everything dropped here, so nothing is lost.
      this.#buffer = [];
      this.#again = true;
    }
    this.#buffer.push({ patch, version });
  }

  #gate(patch: JsonObject, version: number): 'ok' | 'gap' {
    const verdict = checkDesiredVersion(this.#version, version);
    switch (verdict) {
      case 'apply': {
        const before = this.#document ?? {};
        const after = applyPatch(before, patch);
        this.#document = after;
        this.#version = version;
        this.#options.deliver({ patch, version, reason: 'patch', before, after });
        this.#options.onChanged?.();
        return 'ok';
      }
      case 'duplicate':
      case 'stale':
        this.#options.logger.verbose(
          `dropped ${verdict} desired patch $version=${String(version)}`,
        );
        return 'ok';
      case 'gap':
        return 'gap';
    }
  }
}
