/**
 * The explorer's live stream (server-sent events): every twin change with its timeline entry as
 * it is recorded, identity and connection changes at once, and activity (a busy fleet's steady
 * noise) at most once a second. The page re-reads what an event names, so an event only needs
 * to say what changed.
 *
 * Bounded: at most `maxStreams` open streams, and a stream whose reader falls more than
 * `maxBufferedBytes` behind is closed (the browser's EventSource reconnects and the page reloads
 * its view), so a stalled tab cannot make the hub buffer without limit.
 */
import { HEADER } from '@twinkit/twin-model/protocol';
import type { ChangeFeed, ChangedIdentity } from '../core/hub-changes.js';
import type { TwinTimeline } from './twin-timeline.js';

/** Limits of the live streams. */
export interface ExplorerStreamLimits {
  /** Open streams at once; default 16. */
  maxStreams: number;
  /** Bytes a stream may hold for a slow reader before it is closed; default 1 MiB. */
  maxBufferedBytes: number;
  /** Interval of the keep-alive comment, so idle proxies keep the stream; default 15 s. */
  keepAliveInMs: number;
  /** How often coalesced activity is sent; default 1 s. */
  activityIntervalInMs: number;
}

const DEFAULT_LIMITS: ExplorerStreamLimits = {
  maxStreams: 16,
  maxBufferedBytes: 1024 * 1024,
  keepAliveInMs: 15_000,
  activityIntervalInMs: 1_000,
};

const encoder = new TextEncoder();

/** The open live streams of one explorer. @internal */
export class ExplorerStreams {
  readonly #feed: ChangeFeed;
  readonly #timeline: TwinTimeline;
  readonly #limits: ExplorerStreamLimits;
  readonly #closers = new Set<() => void>();

  /**
   * @param feed - the hub's change feed
   * @param timeline - the hub's timeline (twin events carry its entries)
   * @param limits - stream caps
   */
  constructor(
    feed: ChangeFeed,
    timeline: TwinTimeline,
    limits: Partial<ExplorerStreamLimits> = {},
  ) {
    this.#feed = feed;
    this.#timeline = timeline;
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Streams open now. */
  get openCount(): number {
    return this.#closers.size;
  }

  /**
   * Opens a stream, or answers 503 when `maxStreams` are open.
   *
   * @returns a `text/event-stream` response
   */
  open(): Response {
    if (this.#closers.size >= this.#limits.maxStreams) {
      return new Response(
        `The explorer has ${String(this.#limits.maxStreams)} live views open already; close a tab and reload.`,
        {
          status: 503,
          headers: { [HEADER.contentType]: 'text/plain; charset=utf-8', [HEADER.retryAfter]: '5' },
        },
      );
    }
    const limits = this.#limits;
    const closers = this.#closers;
    const feed = this.#feed;
    const timeline = this.#timeline;
    let close = (): void => undefined;
    const body = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          let closed = false;
          const activity = new Map<string, ChangedIdentity>();
          let activityTimer: ReturnType<typeof setTimeout> | undefined;
          const send = (text: string) => {
            if (closed) return;
            if ((controller.desiredSize ?? 0) <= 0) {
              close();
              return;
            }
            controller.enqueue(encoder.encode(text));
          };
          const event = (name: string, data: unknown) => {
            send(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
          };
          const flushActivity = () => {
            activityTimer = undefined;
            event('activity', { identities: [...activity.values()] });
            activity.clear();
          };
          const stopTimeline = timeline.subscribe((twin, entry) => {
            event('twin', { ...twin, entry });
          });
          const stopFeed = feed.subscribe((change) => {
            const ids: ChangedIdentity = { deviceId: change.deviceId };
            if (change.moduleId !== undefined) ids.moduleId = change.moduleId;
            switch (change.kind) {
              case 'twin':
                return; // sent with its timeline entry
              case 'identity':
                event('registry', { ...ids, change: change.change });
                return;
              case 'connection':
                event('registry', { ...ids, change: 'connection', state: change.state });
                return;
              case 'activity':
                activity.set(`${ids.deviceId}\u0000${ids.moduleId ?? ''}`, ids);
                activityTimer ??= setTimeout(flushActivity, limits.activityIntervalInMs);
                return;
            }
          });
          const keepAlive = setInterval(() => {
            send(': keep-alive\n\n');
          }, limits.keepAliveInMs);
          close = () => {
            if (closed) return;
            closed = true;
            stopTimeline();
            stopFeed();
            clearInterval(keepAlive);
            if (activityTimer !== undefined) clearTimeout(activityTimer);
            closers.delete(close);
            try {
              controller.close();
            } catch {
              // Already cancelled by the reader.
            }
          };
          closers.add(close);
          // `retry` tells EventSource how soon to reconnect after the hub restarts or drops it.
          send('retry: 1000\n\n');
          event('hello', { at: new Date().toISOString() });
        },
        cancel() {
          close();
        },
      },
      { highWaterMark: this.#limits.maxBufferedBytes, size: (chunk) => chunk.byteLength },
    );
    return new Response(body, {
      status: 200,
      headers: {
        [HEADER.contentType]: 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      },
    });
  }

  /** Ends every open stream (the server is closing). */
  close(): void {
    for (const close of [...this.#closers]) close();
  }
}
