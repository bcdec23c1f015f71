/**
 * The CLI hub's storage under real failures: commits refused by the OS (`prlimit --fsize`), a
 * second hub on the same data directory, a hub killed with `kill -9`, a lost WAL, and a data
 * directory the hub cannot write.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ANY_PORTS,
  exited,
  killChildren,
  portOf,
  run,
  runToEnd,
  type Ready,
} from './cli-process.js';
import { serviceToken } from './helpers.js';
import { httpsCall } from './https-client.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'twinkit-hub-cli-storage-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  killChildren();
  for (const dir of dirs.splice(0)) {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** REST calls against a CLI hub. */
async function restOf(ready: Ready) {
  const ca = readFileSync(ready.caFile, 'utf8');
  const authorization = await serviceToken({
    serviceConnectionString: ready.serviceConnectionString,
  });
  const base = `https://127.0.0.1:${portOf(ready.endpoints.https)}`;
  return (method: string, path: string, body?: unknown) =>
    httpsCall(`${base}${path}?api-version=2021-04-12`, {
      method,
      ca,
      headers: { authorization, 'content-type': 'application/json; charset=utf-8' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
}

describe('CLI hub storage', () => {
  it(
    'answers commits the OS refuses (prlimit --fsize) with 503 and serves none of them',
    { timeout: 90_000 },
    async () => {
      const dataDir = tempDir();
      const limited = run(['start', '--data', dataDir, ...ANY_PORTS, '--json'], {
        prefix: ['prlimit', '--fsize=400000', '--'],
      });
      const rest = await restOf(await limited.ready);
      expect((await rest('PUT', '/devices/dev1', {})).status).toBe(200);
      let acknowledged: { i: number; etag: string; version: number } | undefined;
      let refused: { status: number; text: string } | undefined;
      for (let i = 0; i < 400 && refused === undefined; i += 1) {
        const response = await rest('PATCH', '/twins/dev1', {
          tags: { i, pad: 'x'.repeat(3000) },
        });
        if (response.status === 200) {
          acknowledged = { i, etag: response.json().etag, version: response.json().version };
        } else refused = { status: response.status, text: response.text };
      }
      expect(acknowledged).toBeDefined();
      expect(refused?.status).toBe(503);
      expect(refused?.text).toContain('could not save the change');
      expect(refused?.text).toContain(join(dataDir, 'hub.db'));
      expect(refused?.text).not.toContain('no transaction is active');

      const twin = await rest('GET', '/twins/dev1');
      expect(twin.json().tags.i).toBe(acknowledged?.i);
      expect(twin.json().etag).toBe(acknowledged?.etag);
      const found = await rest('POST', '/devices/query', {
        query: `SELECT * FROM devices WHERE tags.i = ${String((acknowledged?.i ?? 0) + 1)}`,
      });
      expect(found.json()).toEqual([]);
      limited.child.kill('SIGTERM');
      expect(await exited(limited.child)).toBe(0);
      expect(limited.stderr()).toBe('');

      // Restarted without the limit: the acknowledged write is there, the refused one is not,
      // and the next write gets a version no reader ever saw for other content.
      const restarted = run(['start', '--data', dataDir, ...ANY_PORTS, '--json']);
      const again = await restOf(await restarted.ready);
      const after = await again('GET', '/twins/dev1');
      expect(after.json().tags.i).toBe(acknowledged?.i);
      expect(after.json().etag).toBe(acknowledged?.etag);
      const next = await again('PATCH', '/twins/dev1', { tags: { i: -1 } });
      expect(next.json().version).toBe((acknowledged?.version ?? 0) + 1);
    },
  );

  it(
    'refuses a second hub on a data directory, takes over after kill -9, and refuses a lost WAL',
    { timeout: 90_000 },
    async () => {
      const dataDir = tempDir();
      const first = run(['start', '--data', dataDir, ...ANY_PORTS, '--json']);
      await first.ready;
      const second = await runToEnd(['start', '--data', dataDir, ...ANY_PORTS, '--json']);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`in use by another hub: pid ${String(first.child.pid)}`);
      expect(second.stderr).not.toMatch(/\n\s+at /);

      first.child.kill('SIGKILL');
      await exited(first.child);
      const third = run(['start', '--data', dataDir, ...ANY_PORTS, '--json']);
      const rest = await restOf(await third.ready);
      for (let i = 0; i < 5; i += 1)
        expect((await rest('PUT', `/devices/dev${String(i)}`, {})).status).toBe(200);
      third.child.kill('SIGKILL');
      await exited(third.child);

      rmSync(join(dataDir, 'hub.db-wal'));
      const lost = await runToEnd(['start', '--data', dataDir, ...ANY_PORTS, '--json']);
      expect(lost.code).toBe(1);
      expect(lost.stderr).toContain(join(dataDir, 'hub.db'));
      expect(lost.stderr).toContain('hub.db-wal');
      expect(lost.stderr).toMatch(/^twinkit-hub: [^\n]+\n$/);
    },
  );

  it('reports a data directory it cannot write at start', { timeout: 60_000 }, async () => {
    const dataDir = tempDir();
    const asRoot = process.getuid?.() === 0;
    // Root writes anywhere, so root runs the hub as nobody, when nobody can read the sources of
    // this checkout; otherwise the directory loses its write permission.
    const asNobody = { uid: 65534, gid: 65534 };
    const nobodyCanRun = asRoot && (await runToEnd(['--version'], asNobody)).code === 0;
    let unwritable = dataDir;
    if (nobodyCanRun) chmodSync(dataDir, 0o755);
    else if (!asRoot) chmodSync(dataDir, 0o555);
    else {
      // Root, in a checkout nobody cannot read: a path below a regular file cannot be created
      // by anyone, which the hub must report the same way.
      writeFileSync(join(dataDir, 'file'), '');
      unwritable = join(dataDir, 'file', 'data');
    }
    const result = await runToEnd(
      ['start', '--data', unwritable, ...ANY_PORTS, '--json'],
      nobodyCanRun ? asNobody : {},
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`The data directory ${unwritable} is not writable`);
    expect(result.stderr).toMatch(/^twinkit-hub: [^\n]+\n$/);
  });
});
