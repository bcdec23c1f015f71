import { describe, expect, it } from 'vitest';
import { ChangeFeed, type TwinChange } from '../core/hub-changes.js';
import { TwinTimeline } from './twin-timeline.js';

const change = (
  deviceId: string,
  version: number,
  patch: unknown = { v: version },
  moduleId?: string,
): TwinChange => ({
  kind: 'twin',
  deviceId,
  moduleId,
  source: 'service',
  operation: 'update',
  patch,
  version,
  desiredVersion: version,
  reportedVersion: 1,
});

describe('TwinTimeline', () => {
  it('keeps the last entries of each twin, oldest first', () => {
    const feed = new ChangeFeed();
    const timeline = new TwinTimeline(feed, { perTwin: 3 });
    for (let version = 1; version <= 5; version += 1) feed.emit(change('a', version));
    feed.emit(change('a', 9, {}, 'm'));
    expect(timeline.entries('a').map((entry) => entry.version)).toEqual([3, 4, 5]);
    expect(timeline.entries('a', 'm').map((entry) => entry.version)).toEqual([9]);
    expect(timeline.size).toBe(4);
  });

  it('caps the total, taking from the twins changed longest ago', () => {
    const feed = new ChangeFeed();
    const timeline = new TwinTimeline(feed, { perTwin: 10, total: 4 });
    feed.emit(change('old', 1));
    feed.emit(change('old', 2));
    feed.emit(change('new', 1));
    feed.emit(change('new', 2));
    feed.emit(change('new', 3));
    expect(timeline.entries('old').map((entry) => entry.version)).toEqual([2]);
    expect(timeline.entries('new').map((entry) => entry.version)).toEqual([1, 2, 3]);
    expect(timeline.size).toBe(4);
  });

  it('records a patch over the cap as truncated, and forgets deleted identities', () => {
    const feed = new ChangeFeed();
    const timeline = new TwinTimeline(feed, { patchCharacters: 10 });
    feed.emit(change('d', 1, { long: 'x'.repeat(20) }));
    feed.emit(change('d', 2, {}, 'm'));
    expect(timeline.entries('d')[0]?.patch).toEqual({ $truncated: 31 });
    feed.emit({ kind: 'identity', deviceId: 'd', change: 'deleted' });
    expect(timeline.entries('d')).toEqual([]);
    expect(timeline.entries('d', 'm')).toEqual([]);
    expect(timeline.size).toBe(0);
  });

  it('tells subscribers about each entry and stops when closed', () => {
    const feed = new ChangeFeed();
    const timeline = new TwinTimeline(feed);
    const seen: string[] = [];
    timeline.subscribe((twin, entry) => seen.push(`${twin.deviceId}@${String(entry.version)}`));
    feed.emit(change('s', 4));
    timeline.close();
    feed.emit(change('s', 5));
    expect(seen).toEqual(['s@4']);
    expect(timeline.entries('s')).toHaveLength(1);
  });
});
