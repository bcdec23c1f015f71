import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Device, Twin } from '@twinkit/service';
import { recordingFetch, registryFor, startHub } from './helpers.js';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe('queries typed by what they return', () => {
  it('refuses a projection or aggregate in queryTwins at once, naming query()', async () => {
    await using hub = await startHub();
    const registry = registryFor(hub);
    for (const sql of [
      'SELECT deviceId FROM devices',
      'SELECT COUNT() AS n FROM devices',
      'SELECT * FROM devices.jobs',
    ])
      expect(() => registry.queryTwins(sql)).toThrow(/use registry\.query<Row>\(sql\)/);
    expect(() => registry.queryTwins('select top 3 * from devices.modules')).not.toThrow();
  });

  it('yields projection and aggregate rows typed by query<TRow>, page by page', async () => {
    await using hub = await startHub();
    for (const id of ['a', 'b', 'c']) await hub.createDevice(id);
    const registry = registryFor(hub);
    const rows: { deviceId: string }[] = [];
    const pages = registry.query<{ deviceId: string }>('SELECT deviceId FROM devices').byPage({
      maxPageSize: 2,
    });
    let count = 0;
    for await (const page of pages) {
      count++;
      rows.push(...page.items);
    }
    expect(count).toBe(2);
    expect(rows.map((row) => row.deviceId).sort()).toEqual(['a', 'b', 'c']);
    const [total] = await collect(
      registry.query<{ n: number }>('SELECT COUNT() AS n FROM devices'),
    );
    expect(total).toEqual({ n: 3 });
    expectTypeOf(
      registry.query<{ n: number }>('SELECT COUNT() AS n FROM devices').next(),
    ).resolves.toEqualTypeOf<IteratorResult<{ n: number }>>();
    expectTypeOf(registry.queryTwins('SELECT * FROM devices').next()).resolves.toEqualTypeOf<
      IteratorResult<Twin>
    >();
  });
});

describe('listDevices', () => {
  it('pages through the devices query with continuation tokens, as IoT Hub pages a fleet', async () => {
    await using hub = await startHub();
    for (let i = 0; i < 5; i++) await hub.createDevice(`dev-${i}`);
    const { fetch, seen } = recordingFetch(hub);
    const registry = registryFor(hub, { fetch });
    const pages: Device[][] = [];
    let resumeFrom: string | undefined;
    for await (const page of registry.listDevices().byPage({ maxPageSize: 2 })) {
      pages.push(page.items);
      resumeFrom ??= page.continuationToken;
    }
    expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
    expect(seen.every((request) => request.url.pathname === '/devices/query')).toBe(true);
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ query: 'SELECT * FROM devices' });
    const device = pages[0]?.[0];
    const read = await registry.getDevice(device?.deviceId ?? '');
    expect(device).toMatchObject({ deviceId: read.deviceId, etag: read.etag, status: 'enabled' });
    expect(device?.authentication.type).toBe('sas');
    expect(device?.authentication.symmetricKey).toBeUndefined();
    const rest: string[] = [];
    for await (const page of registry.listDevices().byPage({ continuationToken: resumeFrom! }))
      rest.push(...page.items.map((d) => d.deviceId));
    expect(rest).toHaveLength(3);
  });

  it('lists modules with their keys in one page and refuses a continuation token', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    await hub.createModule('dev-1', 'm1');
    const registry = registryFor(hub);
    const modules = await collect(registry.listModules('dev-1'));
    expect(modules.map((m) => m.moduleId)).toEqual(['m1']);
    expect(modules[0]?.authentication.symmetricKey?.primaryKey).toBeTruthy();
    await expect(
      registry.listModules('dev-1').byPage({ continuationToken: 'x' }).next(),
    ).rejects.toThrow(/one page/);
  });
});
