/**
 * Atomic writes: readers see a change only after its commit succeeded. Commits are made to fail
 * through the storage's fault seam (as a full disk would); the CLI test does it for real with
 * `prlimit --fsize`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSasToken } from '@twinkit/twin-model/protocol';
import { createHub, type Hub } from '../src/index.js';
import { authenticateCredential } from '../src/device-session/credentials.js';
import { hubInternals } from '../src/hub.js';
import { call } from './helpers.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'twinkit-hub-atomic-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** What SQLite throws when the disk is full at COMMIT. */
function diskFull(): Error {
  return Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
}

function failNextCommits(hub: Hub, times = 1): void {
  hubInternals(hub).core.storage.failNextCommits(diskFull(), times);
}

async function query(hub: Hub, text: string) {
  return (await call(hub, 'POST', '/devices/query', { body: { query: text } })).body as Record<
    string,
    unknown
  >[];
}

describe('atomic writes', () => {
  it('answers a failed twin PATCH with 503 naming the cause, and serves nothing of it', async () => {
    const dataDir = tempDir();
    const hub = await createHub({ dataDir });
    await hub.createDevice('dev1');
    const before = (await call(hub, 'GET', '/twins/dev1')).body;
    const deviceViewBefore = hubInternals(hub).core.getDeviceTwin('dev1');
    const desired: unknown[] = [];
    hubInternals(hub).core.onDesiredChanged((event) => desired.push(event));

    failNextCommits(hub);
    const failed = await call(hub, 'PATCH', '/twins/dev1', {
      body: { tags: { lost: true }, properties: { desired: { lost: 1 } } },
    });
    expect(failed.status).toBe(503);
    expect(failed.headers.get('iothub-errorcode')).toBe('ServiceUnavailable');
    expect(failed.body.Message).toContain('the disk is full');
    expect(failed.body.Message).toContain(join(dataDir, 'hub.db'));
    expect(failed.body.Message).not.toContain('no transaction is active');

    // REST GET, queries and the device's view all show the twin as it was.
    expect((await call(hub, 'GET', '/twins/dev1')).body).toEqual(before);
    expect(await query(hub, 'SELECT * FROM devices WHERE tags.lost = true')).toEqual([]);
    expect(hubInternals(hub).core.getDeviceTwin('dev1')).toEqual(deviceViewBefore);
    expect(desired).toEqual([]);

    // The next write gets the version the failed one would have had: it was never issued.
    const next = await call(hub, 'PATCH', '/twins/dev1', {
      body: { tags: { kept: true } },
      headers: { 'if-match': `"${String(before.etag)}"` },
    });
    expect(next.status).toBe(200);
    expect(next.body.version).toBe(Number(before.version) + 1);
    expect(next.body.tags).toEqual({ kept: true });
    await hub.close();

    // After a restart the failed change is still absent (an unrelated write did not carry it).
    await using restarted = await createHub({ dataDir });
    const after = (await call(restarted, 'GET', '/twins/dev1')).body;
    expect(after.tags).toEqual({ kept: true });
    expect(after.properties.desired.lost).toBeUndefined();
    expect(after.etag).toBe(next.body.etag);
  });

  it('leaves no phantom device after a failed create', async () => {
    await using hub = await createHub();
    failNextCommits(hub);
    const failed = await call(hub, 'PUT', '/devices/ghost', { body: { deviceId: 'ghost' } });
    expect(failed.status).toBe(503);
    expect((await call(hub, 'GET', '/devices/ghost')).status).toBe(404);
    expect((await call(hub, 'GET', '/twins/ghost')).status).toBe(404);
    expect(hub.faults).toBeDefined();
    const core = hubInternals(hub).core;
    const token = await createSasToken({
      resourceUri: 'localhost/devices/ghost',
      key: Buffer.alloc(32, 1).toString('base64'),
      expiresOnInSeconds: Math.floor(Date.now() / 1000) + 60,
    });
    expect(
      await authenticateCredential(
        core,
        { sasToken: token, claimed: { deviceId: 'ghost' } },
        Date.now(),
      ),
    ).toMatchObject({
      ok: false,
      reason: 'unknown-identity',
    });
    // The id is free: a retry creates it.
    expect((await call(hub, 'PUT', '/devices/ghost', { body: { deviceId: 'ghost' } })).status).toBe(
      200,
    );
  });

  it('keeps a device visible after a failed delete, also across a restart', async () => {
    const dataDir = tempDir();
    const hub = await createHub({ dataDir });
    await hub.createDevice('dev1');
    await hub.createModule('dev1', 'm1');
    const deleted: unknown[] = [];
    hubInternals(hub).core.onIdentityChanged((event) => deleted.push(event));
    failNextCommits(hub);
    const failed = await call(hub, 'DELETE', '/devices/dev1', { headers: { 'if-match': '*' } });
    expect(failed.status).toBe(503);
    expect((await call(hub, 'GET', '/devices/dev1')).status).toBe(200);
    expect((await call(hub, 'GET', '/twins/dev1/modules/m1')).status).toBe(200);
    expect((await call(hub, 'GET', '/health')).body).toMatchObject({ devices: 1, modules: 1 });
    expect(deleted).toEqual([]);
    await hub.close();
    await using restarted = await createHub({ dataDir });
    expect((await call(restarted, 'GET', '/devices/dev1')).status).toBe(200);
  });

  it('fails every writer of a failed batch and keeps none of it', async () => {
    await using hub = await createHub();
    const core = hubInternals(hub).core;
    for (let i = 0; i < 5; i += 1) await hub.createDevice(`dev${String(i)}`);
    const before = [0, 1, 2, 3, 4].map((i) =>
      core.serviceDocument(core.requireEntry(`dev${String(i)}`)),
    );
    const status = (promise: Promise<unknown>) =>
      promise.then(
        () => 200,
        (error: unknown) => (error as { statusCode?: number }).statusCode,
      );
    failNextCommits(hub);
    // Queued in one turn of the event loop: one group commit.
    const results = await Promise.all([
      ...[0, 1, 2, 3, 4].map((i) =>
        status(
          core.writeTwin({ deviceId: `dev${String(i)}` }, 'update', { tags: { batch: i } }, {})
            .committed,
        ),
      ),
      // A second write of one twin in the same batch builds on the first (staged) one.
      status(
        core.writeTwin({ deviceId: 'dev0' }, 'update', { tags: { second: true } }, {}).committed,
      ),
      status(core.createIdentity({ deviceId: 'new1' }, { keysOmitted: true }).committed),
      status(
        core.writeTwin({ deviceId: 'new1' }, 'update', { tags: { fresh: true } }, {}).committed,
      ),
      status(core.updateReported('dev1', undefined, { r: 1 })),
      status(core.deleteIdentity({ deviceId: 'dev4' }, undefined)),
    ]);
    expect(results).toEqual(Array.from({ length: 10 }, () => 503));
    for (const [i, twin] of before.entries())
      expect((await call(hub, 'GET', `/twins/dev${String(i)}`)).body).toEqual(twin);
    expect((await call(hub, 'GET', '/devices/new1')).status).toBe(404);
    expect(core.identityExists('new1')).toBe(false);

    // The next batch starts from the committed state: versions continue from there.
    const retried = await Promise.all([
      core.writeTwin({ deviceId: 'dev0' }, 'update', { tags: { batch: 0 } }, {}).committed,
      core.writeTwin({ deviceId: 'dev0' }, 'update', { tags: { second: true } }, {}).committed,
    ]);
    expect(retried.map((entry) => entry.twin.version)).toEqual([
      Number(before[0]?.version) + 1,
      Number(before[0]?.version) + 2,
    ]);
  });

  it('answers each writer of a committed batch with its own result', async () => {
    await using hub = await createHub();
    await hub.createDevice('dev1');
    const [first, second] = await Promise.all([
      call(hub, 'PATCH', '/twins/dev1', { body: { tags: { a: 1 } } }),
      call(hub, 'PATCH', '/twins/dev1', { body: { tags: { b: 2 } } }),
    ]);
    // Two requests in flight at once have no order of their own (each is authenticated
    // asynchronously first): whichever was staged first is answered with its own change only,
    // the other with both, one version later.
    const [earlier, later] = [first, second].sort(
      (x, y) => Number(x.body.version) - Number(y.body.version),
    );
    expect(Number(later?.body.version)).toBe(Number(earlier?.body.version) + 1);
    expect([{ a: 1 }, { b: 2 }]).toContainEqual(earlier?.body.tags);
    expect(later?.body.tags).toEqual({ a: 1, b: 2 });
    expect(first.headers.get('etag')).not.toBe(second.headers.get('etag'));
  });

  it('fails a bulk request whose commit failed as a whole', async () => {
    await using hub = await createHub();
    failNextCommits(hub);
    const response = await call(hub, 'POST', '/devices', {
      body: [
        { id: 'b1', importMode: 'create' },
        { id: 'b2', importMode: 'create', tags: { x: 1 } },
      ],
    });
    expect(response.status).toBe(503);
    expect((await call(hub, 'GET', '/devices')).body).toEqual([]);
  });

  it('rejects a device reported PATCH whose commit failed with a 503 and keeps the old version', async () => {
    await using hub = await createHub();
    await hub.createDevice('dev1');
    const core = hubInternals(hub).core;
    failNextCommits(hub);
    await expect(core.updateReported('dev1', undefined, { r: 1 })).rejects.toMatchObject({
      statusCode: 503,
    });
    expect(core.getDeviceTwin('dev1').reported).toEqual({ $version: 1 });
    await expect(core.updateReported('dev1', undefined, { r: 2 })).resolves.toEqual({ version: 2 });
  });
});
