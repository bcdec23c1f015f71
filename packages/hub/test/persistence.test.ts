import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHub } from '../src/index.js';
import { hubInternals } from '../src/hub.js';
import { call } from './helpers.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'twinkit-hub-persist-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('persistence', () => {
  it('keeps identities, keys, twins, versions and modules across a restart', async () => {
    const dataDir = tempDir();
    const first = await createHub({ dataDir });
    const device = await first.createDevice('dev1');
    await first.createModule('dev1', 'm1');
    await call(first, 'PATCH', '/twins/dev1', {
      body: { tags: { a: 1 }, properties: { desired: { x: 1 } } },
    });
    await hubInternals(first).core.updateReported('dev1', 'm1', { r: 1 });
    await call(first, 'PUT', '/devices/gone', { body: {} });
    await call(first, 'DELETE', '/devices/gone', { headers: { 'if-match': '*' } });
    const before = (await call(first, 'GET', '/twins/dev1')).body;
    await first.close();

    await using second = await createHub({ dataDir });
    const after = (await call(second, 'GET', '/twins/dev1')).body;
    expect(after).toEqual(before);
    expect(
      (await call(second, 'GET', '/devices/dev1')).body.authentication.symmetricKey.primaryKey,
    ).toBe(device.primaryKey);
    const module = (await call(second, 'GET', '/twins/dev1/modules/m1')).body;
    expect([module.properties.reported.r, module.properties.reported.$version]).toEqual([1, 2]);
    expect((await call(second, 'GET', '/devices/gone')).status).toBe(404);
    const next = await call(second, 'PATCH', '/twins/dev1', {
      body: { tags: { b: 2 } },
      headers: { 'if-match': `"${String(before.etag)}"` },
    });
    expect(next.status).toBe(200);
    expect(next.body.version).toBe(Number(before.version) + 1);
  });

  it('shows every device as Disconnected after a restart', async () => {
    const dataDir = tempDir();
    const first = await createHub({ dataDir });
    await first.createDevice('dev1');
    hubInternals(first).core.setConnectionState('dev1', undefined, 'Connected');
    expect((await call(first, 'GET', '/twins/dev1')).body.connectionState).toBe('Connected');
    await call(first, 'PATCH', '/twins/dev1', { body: { tags: { a: 1 } } });
    await first.close();
    await using second = await createHub({ dataDir });
    expect((await call(second, 'GET', '/twins/dev1')).body.connectionState).toBe('Disconnected');
  });

  it('groups concurrent writes into one transaction and resolves each after commit', async () => {
    const dataDir = tempDir();
    await using hub = await createHub({ dataDir });
    for (let i = 0; i < 20; i += 1) await hub.createDevice(`dev${String(i)}`);
    const storage = hubInternals(hub).core.storage;
    const before = storage.flushCount;
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(hub, 'PATCH', `/twins/dev${String(i)}`, { body: { tags: { i } } }),
      ),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(storage.flushCount - before).toBeLessThan(5);
  });
});
