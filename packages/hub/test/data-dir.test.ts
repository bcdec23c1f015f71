/**
 * Honest storage: WAL checkpoints, data lost behind the hub's back, corrupt rows, one hub per
 * data directory. Crashes are simulated by copying the files of a hub that is still running
 * (what `kill -9` leaves behind); the CLI test kills a real hub.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'libsql';
import { afterEach, describe, expect, it } from 'vitest';
import { createHub, isHubStorageError, type HubStorageError } from '../src/index.js';
import { hubInternals } from '../src/hub.js';
import { HubStorage } from '../src/state/storage.js';
import { call } from './helpers.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'twinkit-hub-datadir-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function refusal(dataDir: string): Promise<HubStorageError> {
  try {
    const hub = await createHub({ dataDir });
    await hub.close();
  } catch (error) {
    if (isHubStorageError(error)) return error;
    throw error;
  }
  throw new Error(`createHub accepted ${dataDir}`);
}

/** Copies a running hub's files, as a crash would leave them (the WAL not checkpointed). */
function copyStore(from: string, files: string[]): string {
  const to = tempDir();
  for (const file of files) copyFileSync(join(from, file), join(to, file));
  return to;
}

describe('data directory', () => {
  it('checkpoints the WAL on a clean stop, so hub.db alone holds everything', async () => {
    const dataDir = tempDir();
    const hub = await createHub({ dataDir });
    for (let i = 0; i < 10; i += 1) await hub.createDevice(`dev${String(i)}`);
    expect(statSync(join(dataDir, 'hub.db-wal')).size).toBeGreaterThan(0);
    await hub.close();
    expect(statSync(join(dataDir, 'hub.db-wal'), { throwIfNoEntry: false })?.size ?? 0).toBe(0);
    const copy = copyStore(dataDir, ['hub.db']);
    await using reopened = await createHub({ dataDir: copy });
    expect((await call(reopened, 'GET', '/devices')).body).toHaveLength(10);
  });

  it('checkpoints the WAL periodically while it runs', async () => {
    const dataDir = tempDir();
    const storage = new HubStorage({ dataDir, checkpointIntervalInMs: 20 });
    await storage.write([
      { kind: 'put', table: 'identities', deviceId: 'd', moduleId: '', body: '{}' },
    ]);
    expect(statSync(join(dataDir, 'hub.db-wal')).size).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(statSync(join(dataDir, 'hub.db-wal')).size).toBe(0);
    await storage.close();
  });

  it('refuses a store whose WAL was lost, or cut in half, naming the files', async () => {
    const dataDir = tempDir();
    await using running = await createHub({ dataDir });
    for (let i = 0; i < 60; i += 1) await running.createDevice(`dev${String(i)}`);

    const withoutWal = copyStore(dataDir, ['hub.db', 'hub.db.commit']);
    const lost = await refusal(withoutWal);
    expect(lost.failure).toBe('lost-data');
    expect(lost.message).toContain(join(withoutWal, 'hub.db'));
    expect(lost.message).toContain('hub.db-wal');
    expect(lost.message).toContain(`delete ${join(withoutWal, 'hub.db.commit')}`);

    const halfWal = copyStore(dataDir, ['hub.db', 'hub.db-wal', 'hub.db.commit']);
    truncateSync(
      join(halfWal, 'hub.db-wal'),
      Math.floor(statSync(join(halfWal, 'hub.db-wal')).size / 2),
    );
    expect((await refusal(halfWal)).failure).toBe('lost-data');

    // The whole set starts, with every device.
    const whole = copyStore(dataDir, ['hub.db', 'hub.db-wal', 'hub.db.commit']);
    await using recovered = await createHub({ dataDir: whole });
    expect((await call(recovered, 'GET', '/devices')).body).toHaveLength(60);

    // Deleting the marker accepts the loss, as the message says.
    rmSync(join(withoutWal, 'hub.db.commit'));
    await using accepted = await createHub({ dataDir: withoutWal });
    expect((await call(accepted, 'GET', '/devices')).body.length).toBeLessThan(60);
  });

  it('refuses a store whose hub.db was emptied or deleted', async () => {
    const dataDir = tempDir();
    const hub = await createHub({ dataDir });
    await hub.createDevice('dev1');
    await hub.close();
    truncateSync(join(dataDir, 'hub.db'), 0);
    expect((await refusal(dataDir)).failure).toBe('lost-data');
    rmSync(join(dataDir, 'hub.db'));
    const missing = await refusal(dataDir);
    expect(missing.failure).toBe('lost-data');
    expect(() => statSync(join(dataDir, 'hub.db'))).toThrow();
  });

  it('names the table, key and file of a corrupt row', async () => {
    const dataDir = tempDir();
    const hub = await createHub({ dataDir });
    await hub.createDevice('dev1');
    await hub.close();
    const db = new Database(join(dataDir, 'hub.db'));
    db.exec("UPDATE twins SET body = '{not json' WHERE device_id = 'dev1'");
    db.close();
    const error = await refusal(dataDir);
    expect(error.failure).toBe('corrupt');
    expect(error.message).toContain('twins');
    expect(error.message).toContain("device 'dev1'");
    expect(error.message).toContain(join(dataDir, 'hub.db'));
  });

  it('names the file of a database that is not one', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'hub.db'), 'this is not a database, just some text'.repeat(200));
    const error = await refusal(dataDir);
    expect(error.failure).toBe('corrupt');
    expect(error.message).toContain(join(dataDir, 'hub.db'));
  });

  it('lets one hub hold a data directory and names the holder to the second', async () => {
    const dataDir = tempDir();
    const first = await createHub({ dataDir });
    const second = await refusal(dataDir);
    expect(second.failure).toBe('locked');
    expect(second.message).toContain(`pid ${String(process.pid)} on ${hostname()}`);
    expect(second.message).toContain(dataDir);
    // The refused hub changed nothing: the first still writes and reads.
    await first.createDevice('dev1');
    await first.close();
    await using third = await createHub({ dataDir });
    expect((await call(third, 'GET', '/devices/dev1')).status).toBe(200);
  });

  it('takes over the record of a holder that died', async () => {
    const dataDir = tempDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(dead.stdout.toString());
    writeFileSync(
      join(dataDir, 'hub.lock'),
      JSON.stringify({ pid: deadPid, host: hostname(), startedAt: new Date(0).toISOString() }),
    );
    await using hub = await createHub({ dataDir });
    expect(JSON.parse(readFileSync(join(dataDir, 'hub.lock'), 'utf8')).pid).toBe(process.pid);
    await hub.close();
    expect(() => statSync(join(dataDir, 'hub.lock'))).toThrow();
  });

  it('reuses no identity etag number across restarts, even one a failed commit used', async () => {
    const dataDir = tempDir();
    const hub = await createHub({ dataDir });
    const storage = hubInternals(hub).core.storage;
    await hub.createDevice('dev1');
    storage.failNextCommits(new Error('I/O error'));
    const used = storage.nextSequence();
    await expect(hub.createDevice('dev2')).rejects.toMatchObject({ statusCode: 503 });
    await hub.createDevice('dev3');
    await hub.close();
    await using restarted = await createHub({ dataDir });
    expect(hubInternals(restarted).core.storage.nextSequence()).toBeGreaterThan(used + 2);
  });
});
