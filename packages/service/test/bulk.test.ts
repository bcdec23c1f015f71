import { describe, expect, it } from 'vitest';
import {
  DeviceNotFoundError,
  MAX_BULK_ITEMS,
  PreconditionFailedError,
  TwinValidationError,
  type BulkTwinUpdate,
} from '@twinkit/service';
import { recordingFetch, registryFor, startHub } from './helpers.js';

describe('Registry', () => {
  describe('updateTwins', () => {
    it('chunks 250 updates into requests of at most 100 and applies all of them', async () => {
      await using hub = await startHub();
      const ids = Array.from({ length: 250 }, (_, i) => `b-${i}`);
      for (const id of ids) await hub.createDevice(id);
      const { fetch, seen } = recordingFetch(hub);
      const registry = registryFor(hub, { fetch });
      const result = await registry.updateTwins(
        ids.map((deviceId, i) => ({ deviceId, properties: { desired: { slot: i } } })),
      );
      expect(result.isSuccessful).toBe(true);
      expect(result.results).toHaveLength(250);
      const posts = seen.filter((r) => r.method === 'POST' && r.url.pathname === '/devices');
      expect(posts.map((r) => (JSON.parse(r.body) as unknown[]).length)).toEqual([
        MAX_BULK_ITEMS,
        MAX_BULK_ITEMS,
        50,
      ]);
      expect(JSON.parse(posts[0]?.body ?? '[]')[0]).toEqual({
        id: 'b-0',
        importMode: 'updateTwin',
        properties: { desired: { slot: 0 } },
      });
      expect((await registry.getTwin('b-249')).properties.desired.slot).toBe(249);
    });

    it('reports per-item failures for stale etags and missing devices and applies the rest', async () => {
      await using hub = await startHub();
      await hub.createDevice('ok');
      await hub.createDevice('stale');
      const registry = registryFor(hub);
      const okTwin = await registry.getTwin('ok');
      const staleTwin = await registry.getTwin('stale');
      await registry.updateTwin('stale', { tags: { moved: true } });
      const result = await registry.updateTwins(
        [
          { deviceId: 'ok', etag: okTwin.etag, tags: { v: 1 } },
          { deviceId: 'stale', etag: staleTwin.etag, tags: { v: 1 } },
          { deviceId: 'missing', etag: 'AAAAAAAAAAE=', tags: { v: 1 } },
        ],
        { onlyIfUnchanged: true },
      );
      expect(result.isSuccessful).toBe(false);
      expect(result.results.map((r) => [r.deviceId, r.succeeded])).toEqual([
        ['ok', true],
        ['stale', false],
        ['missing', false],
      ]);
      expect(result.results[1]?.error).toBeInstanceOf(PreconditionFailedError);
      expect(result.results[2]?.error).toBeInstanceOf(DeviceNotFoundError);
      expect((await registry.getTwin('ok')).tags).toEqual({ v: 1 });
      expect((await registry.getTwin('stale')).tags).toEqual({ moved: true });
    });

    it('updates module twins in bulk', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      await hub.createModule('dev-1', 'mod-1');
      const registry = registryFor(hub);
      const result = await registry.updateTwins([
        { deviceId: 'dev-1', moduleId: 'mod-1', tags: { m: true } },
      ]);
      expect(result.results[0]).toMatchObject({
        deviceId: 'dev-1',
        moduleId: 'mod-1',
        succeeded: true,
      });
      expect((await registry.getModuleTwin('dev-1', 'mod-1')).tags).toEqual({ m: true });
    });

    it('sends nothing when any item is invalid, repeated or lacks an etag under onlyIfUnchanged', async () => {
      await using hub = await startHub();
      const { fetch, seen } = recordingFetch(hub);
      const registry = registryFor(hub, { fetch });
      const valid: BulkTwinUpdate[] = Array.from({ length: 150 }, (_, i) => ({
        deviceId: `v-${i}`,
        tags: { i },
      }));
      await expect(
        registry.updateTwins([...valid, { deviceId: 'x', tags: { 'no space': 1 } }]),
      ).rejects.toBeInstanceOf(TwinValidationError);
      await expect(
        registry.updateTwins([
          { deviceId: 'x', tags: { a: 1 } },
          { deviceId: 'x', tags: { b: 1 } },
        ]),
      ).rejects.toThrow(/repeats device 'x'/);
      await expect(
        registry.updateTwins([{ deviceId: 'x', tags: { a: 1 } }], { onlyIfUnchanged: true }),
      ).rejects.toThrow(/needs an etag/);
      expect(seen).toHaveLength(0);
    });

    it('marks every item of a chunk the hub rejects as a whole with that error', async () => {
      await using hub = await startHub();
      await hub.createDevice('a');
      const registry = registryFor(hub, { retryOptions: { maxRetries: 0 } });
      hub.faults.failNext({ operation: 'bulk', statusCode: 403, code: 'IotHubQuotaExceeded' });
      const result = await registry.updateTwins([{ deviceId: 'a', tags: { t: 1 } }]);
      expect(result.isSuccessful).toBe(false);
      expect(result.results[0]?.error).toMatchObject({
        statusCode: 403,
        code: 'IotHubQuotaExceeded',
      });
    });
  });
});
