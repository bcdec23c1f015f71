import { describe, expect, it } from 'vitest';
import { BadRequestError, Registry } from '@twinkit/service';
import { recordingFetch, registryFor, startHub } from './helpers.js';
import type { Hub } from '@twinkit/hub';

/** Creates `count` devices tagged with their index and a group, through the bulk endpoint. */
async function seedFleet(hub: Hub, count: number): Promise<void> {
  const registry = registryFor(hub);
  for (let i = 0; i < count; i++) await hub.createDevice(`d-${String(i).padStart(5, '0')}`);
  const result = await registry.updateTwins(
    Array.from({ length: count }, (_, i) => ({
      deviceId: `d-${String(i).padStart(5, '0')}`,
      tags: { index: i, parity: i % 2 === 0 ? 'even' : 'odd' },
    })),
  );
  expect(result.isSuccessful).toBe(true);
}

describe('Registry', () => {
  describe('queryTwins', () => {
    it(
      'pages through 2,500 twins 100 at a time and resumes from a saved token in a new registry',
      { timeout: 60_000 },
      async () => {
        await using hub = await startHub();
        await seedFleet(hub, 2_500);
        const { fetch, seen } = recordingFetch(hub);
        const registry = registryFor(hub, { fetch });
        const firstIds: string[] = [];
        let saved: string | undefined;
        let pages = 0;
        for await (const page of registry
          .queryTwins('SELECT * FROM devices')
          .byPage({ maxPageSize: 100 })) {
          pages++;
          expect(page.items.length).toBe(100);
          firstIds.push(...page.items.map((twin) => twin.deviceId));
          if (pages === 7) {
            saved = page.continuationToken;
            break;
          }
        }
        expect(seen.every((r) => r.headers.get('x-ms-max-item-count') === '100')).toBe(true);
        expect(saved).toBeTypeOf('string');

        // A different registry (as after a restart) continues where the first stopped.
        const resumed = registryFor(hub);
        const restIds: string[] = [];
        let restPages = 0;
        for await (const page of resumed
          .queryTwins('SELECT * FROM devices')
          .byPage({ continuationToken: saved!, maxPageSize: 100 })) {
          restPages++;
          restIds.push(...page.items.map((twin) => twin.deviceId));
        }
        expect(restPages).toBe(18);
        const all = [...firstIds, ...restIds];
        expect(all).toHaveLength(2_500);
        expect(new Set(all).size).toBe(2_500);
      },
    );

    it('iterates twins one by one with for await, across pages', async () => {
      await using hub = await startHub();
      await seedFleet(hub, 25);
      const { fetch, seen } = recordingFetch(hub);
      const ids: string[] = [];
      const pages = registryFor(hub, { fetch })
        .queryTwins("SELECT * FROM devices WHERE tags.parity = 'even'")
        .byPage({ maxPageSize: 5 });
      for await (const page of pages) {
        for (const twin of page.items) {
          expect(twin.tags?.parity).toBe('even');
          ids.push(twin.deviceId);
        }
      }
      expect(ids).toHaveLength(13);
      expect(seen).toHaveLength(3);
      expect(seen[1]?.headers.get('x-ms-continuation')).toBeTruthy();
      expect(JSON.parse(seen[1]?.body ?? '')).toEqual({
        query: "SELECT * FROM devices WHERE tags.parity = 'even'",
      });
    });

    it("rejects with the hub's BadRequestError when the query is invalid", async () => {
      await using hub = await startHub();
      const iterator = registryFor(hub).queryTwins('SELEKT * FROM devices');
      const error = await iterator.next().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error).toMatchObject({ statusCode: 400 });
      expect((error as Error).message).toMatch(/query/i);
    });

    it('rejects bad arguments synchronously with TypeError and RangeError', async () => {
      await using hub = await startHub();
      const registry = registryFor(hub);
      expect(() => registry.queryTwins('')).toThrow(TypeError);
      expect(() => registry.queryTwins('SELECT * FROM devices').byPage({ maxPageSize: 0 })).toThrow(
        RangeError,
      );
      expect(() =>
        registry.queryTwins('SELECT * FROM devices').byPage({ maxPageSize: 1.5 }),
      ).toThrow(RangeError);
      expect(() => registry.createQuery('SELECT * FROM devices', { pageSize: 0 })).toThrow(
        RangeError,
      );
      expect(() =>
        registry.createQuery('SELECT * FROM devices', 5 as unknown as { pageSize: number }),
      ).toThrow(/createQuery\(sql, \{ pageSize: 50 \}\)/);
    });
  });

  describe('createQuery', () => {
    it('reads twins page by page with nextAsTwin and reports hasMoreResults', async () => {
      await using hub = await startHub();
      await seedFleet(hub, 5);
      const query = registryFor(hub).createQuery('SELECT * FROM devices', { pageSize: 2 });
      const sizes: number[] = [];
      while (query.hasMoreResults) sizes.push((await query.nextAsTwin()).length);
      expect(sizes).toEqual([2, 2, 1]);
      expect(query.itemType).toBe('Twin');
      expect(await query.next()).toEqual([]);
    });

    it('returns aggregates and projections through next()', async () => {
      await using hub = await startHub();
      await seedFleet(hub, 6);
      const registry = registryFor(hub);
      const count = registry.createQuery(
        "SELECT COUNT() AS total FROM devices WHERE tags.parity = 'odd'",
      );
      expect(await count.next()).toEqual([{ total: 3 }]);
      expect(count.hasMoreResults).toBe(false);
      const projection = registry.createQuery(
        'SELECT deviceId, tags.index FROM devices WHERE tags.index < 2',
      );
      const rows = await projection.next<{ deviceId: string; index: number }>();
      expect(rows.map((row) => row.deviceId).sort()).toEqual(['d-00000', 'd-00001']);
    });

    it('refuses nextAsTwin on a projection without consuming the page', async () => {
      await using hub = await startHub();
      await seedFleet(hub, 3);
      const query = registryFor(hub).createQuery('SELECT COUNT() AS n FROM devices');
      await expect(query.nextAsTwin()).rejects.toThrow(/use next\(\)|read them with next\(\)/);
      expect(query.hasMoreResults).toBe(true);
      expect(await query.next()).toEqual([{ n: 3 }]);
    });

    it('resumes from a continuation token in a new registry', async () => {
      await using hub = await startHub();
      await seedFleet(hub, 4);
      const first = registryFor(hub).createQuery('SELECT * FROM devices', { pageSize: 3 });
      const page1 = await first.nextAsTwin();
      const token = first.continuationToken;
      expect(token).toBeTypeOf('string');
      const second = Registry.fromConnectionString(hub.serviceConnectionString, {
        fetch: hub.fetch,
      }).createQuery('SELECT * FROM devices', { pageSize: 3, continuationToken: token! });
      const page2 = await second.nextAsTwin();
      expect([...page1, ...page2].map((t) => t.deviceId).sort()).toEqual([
        'd-00000',
        'd-00001',
        'd-00002',
        'd-00003',
      ]);
      expect(second.hasMoreResults).toBe(false);
    });
  });
});
