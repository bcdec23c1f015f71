import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEVICE_STATE_FORMAT, type PersistedDeviceState } from '../../../store/device-state.js';
import { StoreCorruptError, StoreLockedError } from '../../../store/store-errors.js';
import { createFileStoreOn, formatStateFile } from './file-store.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';
import { createFileStore } from './index.js';

const directories: string[] = [];

async function statePath(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'twinkit-file-store-'));
  directories.push(directory);
  return join(directory, 'state.json');
}

afterEach(async () => {
  for (const directory of directories.splice(0))
    await rm(directory, { recursive: true, force: true });
});

function state(sequence: number): PersistedDeviceState {
  return {
    format: DEVICE_STATE_FORMAT,
    identity: { hostName: 'hub.example', deviceId: 'dev-1' },
    outbox: [{ sequence, patch: { seq: sequence } }],
    desired: { version: 3, document: { interval: 5 } },
    acknowledged: { targetTemperature: 3 },
  };
}

/** A process that lives until it is killed, for a lock held by another live process. */
function startIdleProcess(): { pid: number; exited: Promise<void>; kill: () => void } {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  return { pid: child.pid ?? -1, exited, kill: () => child.kill('SIGKILL') };
}

describe('createFileStore', () => {
  it('loads nothing from a new file, then loads what it saved', async () => {
    const path = await statePath();
    const store = createFileStore(path);
    await expect(store.save(state(1))).rejects.toThrow(/is not loaded; call load\(\) first/);
    expect(await store.load()).toBeUndefined();
    await store.save(state(1));
    await store.save(state(2));
    expect(await store.load()).toEqual(state(2));
    await store.close();
    const text = await readFile(path, 'utf8');
    expect(text.split('\n')[0]).toMatch(
      /^\{"format":"twinkit\.device-state-file\/1","sha256":"[0-9a-f]{64}"\}$/,
    );
    // Only the state file is left: no temporary files, and the lock went with close().
    expect(await readdir(join(path, '..'))).toEqual(['state.json']);
  });

  it('refuses a second client on the same file with StoreLockedError until the first closes', async () => {
    const path = await statePath();
    const first = createFileStore(path);
    await first.load();
    const second = createFileStore(path);
    const error = await second.load().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(error).toMatchObject({ location: path, holderPid: process.pid });
    await first.close();
    await expect(second.load()).resolves.toBeUndefined();
    await second.close();
  });

  it('refuses a lock held by another live process, and takes it over once that process died', async () => {
    const path = await statePath();
    const holder = startIdleProcess();
    try {
      await writeFile(
        `${path}.lock`,
        JSON.stringify({ pid: holder.pid, host: hostname(), token: 'other' }),
      );
      const store = createFileStore(path);
      const error = await store.load().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StoreLockedError);
      expect((error as StoreLockedError).holderPid).toBe(holder.pid);
      expect((error as Error).message).toContain(`process ${String(holder.pid)}`);
      holder.kill();
      await holder.exited;
      await expect(store.load()).resolves.toBeUndefined();
      expect(JSON.parse(await readFile(`${path}.lock`, 'utf8'))).toMatchObject({
        pid: process.pid,
      });
      await store.close();
    } finally {
      holder.kill();
    }
  });

  it("takes over a lock naming this process's own pid that it does not hold (a restarted container)", async () => {
    const path = await statePath();
    await writeFile(
      `${path}.lock`,
      JSON.stringify({ pid: process.pid, host: hostname(), token: 'before-restart' }),
    );
    const store = createFileStore(path);
    await expect(store.load()).resolves.toBeUndefined();
    await store.close();
  });

  it('never takes over a lock from another host', async () => {
    const path = await statePath();
    await writeFile(
      `${path}.lock`,
      JSON.stringify({ pid: 1, host: `not-${hostname()}`, token: 'x' }),
    );
    await expect(createFileStore(path).load()).rejects.toThrow(/on host not-/);
  });

  describe('a corrupt file is a StoreCorruptError naming it, and stays as it was', () => {
    const cases: [string, (valid: string) => string, RegExp][] = [
      ['bad JSON', () => '{"format":\n{not json', /header line is not JSON/],
      ['no header line', () => '', /no header line/],
      [
        'a foreign format marker',
        (valid) => valid.replace('device-state-file/1', 'other/9'),
        /format marker is "twinkit\.other\/9"/,
      ],
      [
        'a checksum mismatch',
        (valid) => valid.replace('"seq":1', '"seq":7'),
        /checksum does not match/,
      ],
      ['a torn write', (valid) => valid.slice(0, valid.length - 20), /checksum does not match/],
    ];
    for (const [name, corrupt, message] of cases) {
      it(`with ${name}`, async () => {
        const path = await statePath();
        const content = corrupt(formatStateFile(state(1)));
        await writeFile(path, content);
        const store = createFileStore(path);
        const error = await store.load().catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(StoreCorruptError);
        expect(error).toMatchObject({ location: path });
        expect((error as Error).message).toMatch(message);
        expect((error as Error).message).toContain(path);
        expect(await readFile(path, 'utf8')).toBe(content);
        await store.close();
      });
    }
  });

  describe('a failed write keeps the previous state', () => {
    it('when the disk fills up halfway through writing the new file', async () => {
      const path = await statePath();
      const diskFull: FileSystem = {
        ...nodeFileSystem,
        async writeNewFile(file, data) {
          // The lock is written as usual; the state file's new copy hits the full disk.
          if (file.includes('.lock.')) return nodeFileSystem.writeNewFile(file, data);
          await nodeFileSystem.writeNewFile(file, data.slice(0, data.length / 2));
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
            code: 'ENOSPC',
          });
        },
      };
      const good = createFileStore(path);
      await good.load();
      await good.save(state(1));
      await good.close();
      const full = createFileStoreOn(path, diskFull);
      await full.load();
      const error = await full.save(state(2)).catch((caught: unknown) => caught);
      expect((error as Error).message).toContain(path);
      expect((error as Error).message).toContain('ENOSPC');
      expect((error as Error).cause).toMatchObject({ code: 'ENOSPC' });
      await full.close();
      const after = createFileStore(path);
      expect(await after.load()).toEqual(state(1));
      await after.close();
      expect(await readdir(join(path, '..'))).toEqual(['state.json']);
    });

    it('when the process dies before the new file replaced the old one', async () => {
      const path = await statePath();
      const store = createFileStore(path);
      await store.load();
      await store.save(state(1));
      await store.close();
      // What a crash between writing and renaming leaves: a complete temporary file.
      await writeFile(join(path, '..', '.state.json.crashed.tmp'), formatStateFile(state(2)));
      const restarted = createFileStore(path);
      expect(await restarted.load()).toEqual(state(1));
      await restarted.close();
      // The load holds the lock, so no writer is alive: it removed the leftover.
      expect(await readdir(join(path, '..'))).toEqual(['state.json']);
    });
  });
});
