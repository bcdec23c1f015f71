import { describe, expect, it } from 'vitest';
import { parseServiceConnectionString } from '@twinkit/twin-model/protocol';
import {
  BadRequestError,
  PreconditionFailedError,
  Registry,
  TwinValidationError,
} from '@twinkit/service';
import {
  assertValidTwinUpdate,
  createTwinClient,
  createTwinClientFromConnectionString,
  getTwin,
  query,
  queryTwins,
  replaceTwin,
  updateTwin,
  updateTwins,
  updateTwinWithRetry,
  type TwinClient,
} from '@twinkit/service/twins';
import { startHub } from './helpers.js';

describe('@twinkit/service/twins', () => {
  it('reads, updates with an ETag, replaces and queries twins through a client from a connection string', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    await hub.createDevice('dev-2');
    const client = createTwinClientFromConnectionString(hub.serviceConnectionString, {
      fetch: hub.fetch,
    });
    const twin = await getTwin(client, 'dev-1');
    const updated = await updateTwin(
      client,
      twin,
      { tags: { site: 'lyon' }, properties: { desired: { rate: 5 } } },
      { onlyIfUnchanged: true },
    );
    expect(updated.properties.desired.rate).toBe(5);
    await expect(
      updateTwin(client, twin, { tags: { site: 'paris' } }, { onlyIfUnchanged: true }),
    ).rejects.toBeInstanceOf(PreconditionFailedError);
    const replaced = await replaceTwin(client, 'dev-2', { tags: { site: 'lyon' } });
    expect(replaced.tags).toEqual({ site: 'lyon' });
    const seen: string[] = [];
    for await (const t of queryTwins(client, "SELECT * FROM devices WHERE tags.site = 'lyon'")) {
      seen.push(t.deviceId);
    }
    expect(seen.sort()).toEqual(['dev-1', 'dev-2']);
    const rows: { n: number }[] = [];
    for await (const row of query<{ n: number }>(client, 'SELECT COUNT() AS n FROM devices'))
      rows.push(row);
    expect(rows).toEqual([{ n: 2 }]);
  });

  it('runs bulk updates and read-modify-write through a client made from host and credential', async () => {
    await using hub = await startHub();
    await hub.createDevice('a');
    await hub.createDevice('b');
    const parts = parseServiceConnectionString(hub.serviceConnectionString);
    const client = createTwinClient(
      parts.hostName,
      { name: parts.sharedAccessKeyName, key: parts.sharedAccessKey },
      { fetch: hub.fetch },
    );
    expect(client.hostName).toBe(parts.hostName);
    const result = await updateTwins(client, [
      { deviceId: 'a', properties: { desired: { n: 1 } } },
      { deviceId: 'b', properties: { desired: { n: 1 } } },
    ]);
    expect(result.isSuccessful).toBe(true);
    const after = await updateTwinWithRetry(client, 'a', (current) => ({
      properties: { desired: { n: Number(current.properties.desired.n) + 1 } },
    }));
    expect(after.properties.desired.n).toBe(2);
  });

  it('takes a Registry as its client, so both share one pipeline', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const registry = Registry.fromConnectionString(hub.serviceConnectionString, {
      fetch: hub.fetch,
    });
    await updateTwin(registry, 'dev-1', { tags: { via: 'function' } });
    expect((await registry.getTwin('dev-1')).tags).toEqual({ via: 'function' });
  });

  it('leaves twin rules to the hub, unless the caller checks first as a Registry does', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const client = createTwinClientFromConnectionString(hub.serviceConnectionString, {
      fetch: hub.fetch,
    });
    const registry = Registry.fromConnectionString(hub.serviceConnectionString, {
      fetch: hub.fetch,
    });
    const bad = { properties: { desired: { 'no.dots': 1 } } };
    const fromHub = await updateTwin(client, 'dev-1', bad).catch((error: unknown) => error);
    expect(fromHub).toBeInstanceOf(BadRequestError);
    expect((fromHub as BadRequestError).message).toContain(
      'Property or Tag name has invalid characters',
    );
    expect(() => {
      assertValidTwinUpdate(bad);
    }).toThrow(TwinValidationError);
    await expect(registry.updateTwin('dev-1', bad)).rejects.toBeInstanceOf(TwinValidationError);
    await expect(updateTwin(registry, 'dev-1', bad)).rejects.toBeInstanceOf(TwinValidationError);
    expect((await getTwin(client, 'dev-1')).properties.desired).not.toHaveProperty('no.dots');
  });

  it('refuses at once a client it did not make', () => {
    const forged: TwinClient = { hostName: 'myhub.azure-devices.net' };
    expect(() => getTwin(forged, 'dev-1')).toThrow(TypeError);
    expect(() => queryTwins(forged, 'SELECT * FROM devices')).toThrow(
      /createTwinClient or createTwinClientFromConnectionString/,
    );
  });
});
