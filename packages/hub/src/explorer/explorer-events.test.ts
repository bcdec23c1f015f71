import { describe, expect, it } from 'vitest';
import { ChangeFeed } from '../core/hub-changes.js';
import { ExplorerStreams } from './explorer-events.js';
import { TwinTimeline } from './twin-timeline.js';

const decoder = new TextDecoder();

/** Reads a stream's text until it ends. */
async function readAll(response: Response): Promise<string> {
  let text = '';
  const reader = response.body?.getReader();
  if (reader === undefined) return text;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += decoder.decode(value);
  }
}

function streams(limits: ConstructorParameters<typeof ExplorerStreams>[2] = {}) {
  const feed = new ChangeFeed();
  const timeline = new TwinTimeline(feed);
  return { feed, streams: new ExplorerStreams(feed, timeline, limits) };
}

describe('ExplorerStreams', () => {
  it('sends twin entries and registry changes as events, and ends every stream on close', async () => {
    const { feed, streams: live } = streams();
    const response = live.open();
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    feed.emit({ kind: 'identity', deviceId: 'd', change: 'created' });
    feed.emit({
      kind: 'twin',
      deviceId: 'd',
      source: 'device',
      operation: 'reported',
      patch: { t: 1 },
      version: 3,
      desiredVersion: 1,
      reportedVersion: 2,
    });
    feed.emit({ kind: 'connection', deviceId: 'd', moduleId: 'm', state: 'Connected' });
    live.close();
    expect(live.openCount).toBe(0);
    const text = await readAll(response);
    const events = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((match) => [
      match[1],
      JSON.parse(match[2] ?? 'null') as unknown,
    ]);
    expect(events.map(([name]) => name)).toEqual(['hello', 'registry', 'twin', 'registry']);
    expect(events[1]?.[1]).toEqual({ deviceId: 'd', change: 'created' });
    expect(events[2]?.[1]).toMatchObject({ deviceId: 'd', entry: { who: 'device', version: 3 } });
    expect(events[3]?.[1]).toEqual({
      deviceId: 'd',
      moduleId: 'm',
      change: 'connection',
      state: 'Connected',
    });
    // Nothing is sent to a closed stream.
    feed.emit({ kind: 'identity', deviceId: 'e', change: 'created' });
  });

  it('refuses a stream past the cap with 503', () => {
    const { streams: live } = streams({ maxStreams: 2 });
    live.open();
    live.open();
    const third = live.open();
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('5');
    live.close();
    expect(live.open().status).toBe(200);
    live.close();
  });

  it('closes a stream whose reader falls behind the buffer cap', async () => {
    const { feed, streams: live } = streams({ maxBufferedBytes: 512 });
    const response = live.open();
    for (let i = 0; i < 50; i += 1)
      feed.emit({ kind: 'identity', deviceId: `device-${String(i)}`, change: 'created' });
    expect(live.openCount).toBe(0);
    const text = await readAll(response);
    expect(text.length).toBeLessThan(1024);
  });
});
