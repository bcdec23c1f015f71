/**
 * The file operations the file store uses, as one small object: the real `node:fs/promises`
 * in production, and a wrapper that fails on purpose in the tests of disk-full and crash paths.
 *
 * @internal
 */
import * as fs from 'node:fs/promises';

/** The file operations of the file store. */
export interface FileSystem {
  readFile(path: string): Promise<Buffer>;
  /** Creates `path` (failing with `EEXIST` when it exists), writes `data`, flushes it to disk. */
  writeNewFile(path: string, data: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  link(existing: string, target: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** The names in a directory. */
  readdir(path: string): Promise<string[]>;
  /** Flushes a directory's entries (a rename) to disk, where the platform can. */
  syncDirectory(path: string): Promise<void>;
}

/** `node:fs/promises`, with every write flushed before it counts. */
export const nodeFileSystem: FileSystem = {
  readFile: (path) => fs.readFile(path),
  async writeNewFile(path, data) {
    const handle = await fs.open(path, 'wx', 0o600);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  rename: (from, to) => fs.rename(from, to),
  link: (existing, target) => fs.link(existing, target),
  unlink: (path) => fs.unlink(path),
  readdir: (path) => fs.readdir(path),
  async syncDirectory(path) {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(path, 'r');
    } catch {
      return; // Windows cannot open a directory; its renames are durable without it.
    }
    try {
      await handle.sync();
    } catch {
      // Some file systems refuse fsync on a directory (EINVAL, EISDIR); nothing more to do.
    } finally {
      await handle.close();
    }
  },
};

/**
 * Whether `error` is a Node system error with the given code.
 *
 * @param error - what was thrown
 * @param code - e.g. `ENOENT`
 * @returns whether it matches
 */
export function hasCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
