import { describe, expect, it } from 'vitest';
import {
  DeviceNotFoundError,
  PreconditionFailedError,
  TwinValidationError,
  isPreconditionFailedError,
} from '@twinkit/service';
import { recordingFetch, registryFor, startHub } from './helpers.js';

interface Desired {
  rate?: number;
  mode?: string;
  climate?: { target?: number; fan?: boolean | null };
  counter?: number;
}
interface Tags {
  site?: string;
  floor?: number;
}

describe('Registry', () => {
  describe('getTwin', () => {
    it('returns the device twin with etag, version and sections', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const twin = await registryFor(hub).getTwin('dev-1');
      expect(twin.deviceId).toBe('dev-1');
      expect(twin.etag).toMatch(/^[A-Za-z0-9+/=]+$/);
      expect(typeof twin.version).toBe('number');
      expect(twin.properties.desired.$version).toBe(1);
      expect(twin.properties.reported.$version).toBe(1);
    });

    it('rejects with DeviceNotFoundError naming the device when it does not exist', async () => {
      await using hub = await startHub();
      const error = await registryFor(hub)
        .getTwin('ghost')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeviceNotFoundError);
      expect(error).toMatchObject({ statusCode: 404, code: 'DeviceNotFound', deviceId: 'ghost' });
      expect((error as Error).message).toContain("'ghost'");
    });

    it('percent-encodes ids so characters such as + and # reach the hub intact', async () => {
      await using hub = await startHub();
      await hub.createDevice('a+b=c');
      const twin = await registryFor(hub).getTwin('a+b=c');
      expect(twin.deviceId).toBe('a+b=c');
    });
  });

  describe('getModuleTwin', () => {
    it('returns the module twin and ModuleNotFoundError for a missing module', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      await hub.createModule('dev-1', 'mod-1');
      const registry = registryFor(hub);
      const twin = await registry.getModuleTwin('dev-1', 'mod-1');
      expect(twin).toMatchObject({ deviceId: 'dev-1', moduleId: 'mod-1' });
      await expect(registry.getModuleTwin('dev-1', 'nope')).rejects.toMatchObject({
        name: 'ModuleNotFoundError',
        code: 'ModuleNotFound',
      });
    });
  });

  describe('updateTwin', () => {
    it('merges tags and desired properties and returns the new twin', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const registry = registryFor(hub);
      await registry.updateTwin<Desired, object, Tags>('dev-1', {
        tags: { site: 'lyon', floor: 2 },
        properties: { desired: { rate: 5, climate: { target: 21, fan: true } } },
      });
      const twin = await registry.updateTwin<Desired, object, Tags>('dev-1', {
        tags: { floor: 3 },
        properties: { desired: { climate: { fan: null } } },
      });
      expect(twin.tags).toEqual({ site: 'lyon', floor: 3 });
      expect(twin.properties.desired).toMatchObject({ rate: 5, climate: { target: 21 } });
      expect(twin.properties.desired.climate).not.toHaveProperty('fan');
      expect(twin.properties.desired.$version).toBe(3);
    });

    it('sends If-Match with the twin etag under onlyIfUnchanged and succeeds when it is current', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const { fetch, seen } = recordingFetch(hub);
      const registry = registryFor(hub, { fetch });
      const twin = await registry.getTwin<Desired>('dev-1');
      const updated = await registry.updateTwin(
        twin,
        { properties: { desired: { rate: 1 } } },
        { onlyIfUnchanged: true },
      );
      expect(seen.at(-1)?.headers.get('if-match')).toBe(`"${twin.etag}"`);
      expect(updated.etag).not.toBe(twin.etag);
    });

    it('sends no If-Match by default, so an old twin object still updates unconditionally', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const { fetch, seen } = recordingFetch(hub);
      const registry = registryFor(hub, { fetch });
      const old = await registry.getTwin('dev-1');
      await registry.updateTwin('dev-1', { tags: { a: 1 } });
      await registry.updateTwin(old, { tags: { b: 2 } });
      expect(seen.at(-1)?.headers.has('if-match')).toBe(false);
      expect((await registry.getTwin('dev-1')).tags).toEqual({ a: 1, b: 2 });
    });

    it('rejects with PreconditionFailedError and changes nothing when the etag is stale', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const registry = registryFor(hub);
      const stale = await registry.getTwin('dev-1');
      await registry.updateTwin('dev-1', { tags: { owner: 'first' } });
      const error = await registry
        .updateTwin(stale, { tags: { owner: 'second' } }, { onlyIfUnchanged: true })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PreconditionFailedError);
      expect(error).toMatchObject({
        statusCode: 412,
        code: 'PreconditionFailed',
        deviceId: 'dev-1',
        retryable: false,
      });
      expect((error as Error).message).toMatch(/Re-read the twin/);
      expect((await registry.getTwin('dev-1')).tags).toEqual({ owner: 'first' });
    });

    it('uses the etag option as If-Match', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const registry = registryFor(hub);
      const { etag } = await registry.getTwin('dev-1');
      await registry.updateTwin('dev-1', { tags: { x: 1 } }, { etag });
      await expect(
        registry.updateTwin('dev-1', { tags: { x: 2 } }, { etag }),
      ).rejects.toBeInstanceOf(PreconditionFailedError);
    });

    it('lets exactly one of two writers holding the same etag win', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const registry = registryFor(hub);
      const twin = await registry.getTwin('dev-1');
      const outcomes = await Promise.allSettled([
        registry.updateTwin(
          twin,
          { properties: { desired: { mode: 'a' } } },
          { onlyIfUnchanged: true },
        ),
        registry.updateTwin(
          twin,
          { properties: { desired: { mode: 'b' } } },
          { onlyIfUnchanged: true },
        ),
      ]);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o) => o.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(isPreconditionFailedError(lost[0]!.reason)).toBe(true);
      const winner = won[0]!.value;
      expect((await registry.getTwin('dev-1')).properties.desired.mode).toBe(
        winner.properties.desired.mode,
      );
    });

    it('updates a module twin when given a module twin object', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      await hub.createModule('dev-1', 'mod-1');
      const registry = registryFor(hub);
      const moduleTwin = await registry.getModuleTwin('dev-1', 'mod-1');
      const updated = await registry.updateTwin(
        moduleTwin,
        { properties: { desired: { m: 1 } } },
        { onlyIfUnchanged: true },
      );
      expect(updated).toMatchObject({ moduleId: 'mod-1', properties: { desired: { m: 1 } } });
      expect((await registry.getTwin('dev-1')).properties.desired).not.toHaveProperty('m');
    });

    it('rejects an invalid patch with TwinValidationError before sending anything', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const { fetch, seen } = recordingFetch(hub);
      const registry = registryFor(hub, { fetch });
      const error = await registry
        .updateTwin('dev-1', {
          tags: { 'bad.key': 1 },
          properties: { desired: { $oops: 2, deep: { 'a b': 3 } } },
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TwinValidationError);
      const paths = (error as TwinValidationError).issues.map((issue) => issue.path);
      expect(paths).toEqual(
        expect.arrayContaining([
          'tags.bad.key',
          'properties.desired.$oops',
          'properties.desired.deep.a b',
        ]),
      );
      expect((error as Error).message).toContain("device 'dev-1'");
      expect(seen).toHaveLength(0);
    });

    it('rejects a patch that changes nothing, and a non-object, with TypeError', async () => {
      await using hub = await startHub();
      const registry = registryFor(hub);
      await expect(registry.updateTwin('dev-1', {})).rejects.toThrow(TypeError);
      await expect(registry.updateTwin('dev-1', 'tags' as never)).rejects.toThrow(TypeError);
      await expect(registry.updateTwin('', { tags: { a: 1 } })).rejects.toThrow(TypeError);
    });

    it('rejects onlyIfUnchanged without an etag with TypeError', async () => {
      await using hub = await startHub();
      await expect(
        registryFor(hub).updateTwin('dev-1', { tags: { a: 1 } }, { onlyIfUnchanged: true }),
      ).rejects.toThrow(/onlyIfUnchanged needs the twin's etag/);
    });

    it('accepts a whole twin read earlier as the patch, ignoring $metadata and $version', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const registry = registryFor(hub);
      const twin = await registry.updateTwin<Desired>('dev-1', {
        properties: { desired: { rate: 1 } },
      });
      twin.properties.desired.rate = 2;
      const updated = await registry.updateTwin(twin, twin, { onlyIfUnchanged: true });
      expect(updated.properties.desired.rate).toBe(2);
    });
  });

  describe('updateModuleTwin', () => {
    it('merges into the module twin with If-Match from the etag option', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      await hub.createModule('dev-1', 'mod-1');
      const registry = registryFor(hub);
      const { etag } = await registry.getModuleTwin('dev-1', 'mod-1');
      const twin = await registry.updateModuleTwin(
        'dev-1',
        'mod-1',
        { tags: { role: 'edge' } },
        { etag },
      );
      expect(twin.tags).toEqual({ role: 'edge' });
      await expect(
        registry.updateModuleTwin('dev-1', 'mod-1', { tags: { role: 'x' } }, { etag }),
      ).rejects.toBeInstanceOf(PreconditionFailedError);
    });
  });

  describe('replaceTwin', () => {
    it('replaces tags and desired wholesale and leaves reported alone', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const registry = registryFor(hub);
      await registry.updateTwin('dev-1', {
        tags: { a: 1, b: 2 },
        properties: { desired: { x: 1, y: 2 } },
      });
      const twin = await registry.getTwin('dev-1');
      const replaced = await registry.replaceTwin(
        twin,
        { tags: { c: 3 }, properties: { desired: { z: 3 } } },
        { onlyIfUnchanged: true },
      );
      expect(replaced.tags).toEqual({ c: 3 });
      expect(replaced.properties.desired).toMatchObject({ z: 3 });
      expect(replaced.properties.desired).not.toHaveProperty('x');
      expect(replaced.properties.reported.$version).toBe(twin.properties.reported.$version);
    });

    it('sends an omitted section as {} so it is cleared explicitly', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const { fetch, seen } = recordingFetch(hub);
      const registry = registryFor(hub, { fetch });
      await registry.updateTwin('dev-1', { tags: { a: 1 }, properties: { desired: { x: 1 } } });
      const replaced = await registry.replaceTwin('dev-1', { properties: { desired: { y: 1 } } });
      expect(JSON.parse(seen.at(-1)?.body ?? '')).toEqual({
        tags: {},
        properties: { desired: { y: 1 } },
      });
      expect(replaced.tags ?? {}).toEqual({});
    });

    it('rejects null values in a replacement before sending (nulls are for patches)', async () => {
      await using hub = await startHub();
      const { fetch, seen } = recordingFetch(hub);
      const error = await registryFor(hub, { fetch })
        .replaceTwin('dev-1', { tags: { a: null } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TwinValidationError);
      expect(seen).toHaveLength(0);
    });

    it('rejects with PreconditionFailedError when the etag is stale', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const registry = registryFor(hub);
      const twin = await registry.getTwin('dev-1');
      await registry.updateTwin('dev-1', { tags: { a: 1 } });
      await expect(
        registry.replaceTwin(twin, { tags: {} }, { onlyIfUnchanged: true }),
      ).rejects.toBeInstanceOf(PreconditionFailedError);
    });
  });

  describe('replaceModuleTwin', () => {
    it('replaces the module twin sections', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      await hub.createModule('dev-1', 'mod-1');
      const registry = registryFor(hub);
      await registry.updateModuleTwin('dev-1', 'mod-1', { tags: { a: 1 } });
      const twin = await registry.replaceModuleTwin('dev-1', 'mod-1', {
        tags: { b: 2 },
        properties: { desired: {} },
      });
      expect(twin.tags).toEqual({ b: 2 });
    });
  });

  describe('updateTwinWithRetry', () => {
    it('applies every one of many concurrent read-modify-write increments exactly once', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const registry = registryFor(hub);
      const writers = 8;
      await Promise.all(
        Array.from({ length: writers }, () =>
          registry.updateTwinWithRetry<Desired>(
            'dev-1',
            (twin) => ({
              properties: { desired: { counter: (twin.properties.desired.counter ?? 0) + 1 } },
            }),
            { maxAttempts: writers + 2 },
          ),
        ),
      );
      expect((await registry.getTwin<Desired>('dev-1')).properties.desired.counter).toBe(writers);
    });

    it('writes nothing when compute returns undefined', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const { fetch, seen } = recordingFetch(hub);
      const registry = registryFor(hub, { fetch });
      const twin = await registry.updateTwinWithRetry('dev-1', () => undefined);
      expect(twin.deviceId).toBe('dev-1');
      expect(seen.map((r) => r.method)).toEqual(['GET']);
    });

    it('gives up with PreconditionFailedError after maxAttempts lost races', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const registry = registryFor(hub);
      let rounds = 0;
      const error = await registry
        .updateTwinWithRetry(
          'dev-1',
          async () => {
            rounds++;
            // Another writer sneaks in between our read and our write, every time.
            await registry.updateTwin('dev-1', { tags: { sneaky: rounds } });
            return { tags: { mine: rounds } };
          },
          { maxAttempts: 3 },
        )
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PreconditionFailedError);
      expect(rounds).toBe(3);
      expect((await registry.getTwin('dev-1')).tags).not.toHaveProperty('mine');
    });
  });
});
