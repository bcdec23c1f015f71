/**
 * A {@link DeviceStateStore} in one file, for Node.
 *
 * File layout: a header line `{"format":"twinkit.device-state-file/1","sha256":"…"}`, then the
 * state as JSON. The checksum covers the state's bytes, so a torn or edited file is a
 * {@link StoreCorruptError} naming the file, never a silent reset.
 *
 * Each save writes a new temporary file next to it, flushes it (fsync), renames it over the old
 * one and flushes the directory: a crash or a full disk at any moment leaves either the previous
 * state or the new one, and a failed write removes its temporary file. A temporary file a crash
 * left behind is removed by the next load (which holds the lock, so no writer is alive). The file
 * is created with mode 0600.
 *
 * @internal
 */
import { createHash, randomUUID } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import type { DeviceStateStore, PersistedDeviceState } from '../../../store/device-state.js';
import { StoreCorruptError } from '../../../store/store-errors.js';
import { acquireFileLock, type FileLock } from './file-lock.js';
import { hasCode, type FileSystem } from './file-system.js';

/** The format marker in a state file's header line. */
const STATE_FILE_FORMAT = 'twinkit.device-state-file/1';

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Reads a state file's text.
 *
 * @param path - the file, for messages
 * @param text - its content
 * @returns the state's JSON value (shape not yet checked)
 * @throws {@link StoreCorruptError} when the header, the checksum or the JSON is wrong
 */
function parseStateFile(path: string, text: string): unknown {
  const newline = text.indexOf('\n');
  if (newline < 0)
    throw new StoreCorruptError(path, 'it has no header line (a torn or foreign file)');
  let header: unknown;
  try {
    header = JSON.parse(text.slice(0, newline));
  } catch (error) {
    throw new StoreCorruptError(path, 'its header line is not JSON', { cause: error });
  }
  const { format, sha256: checksum } = (header ?? {}) as { format?: unknown; sha256?: unknown };
  if (format !== STATE_FILE_FORMAT) {
    throw new StoreCorruptError(
      path,
      `its format marker is ${format === undefined ? 'missing' : JSON.stringify(format)}, expected '${STATE_FILE_FORMAT}'`,
    );
  }
  const body = text.slice(newline + 1).replace(/\n$/, '');
  if (checksum !== sha256(body))
    throw new StoreCorruptError(path, 'its checksum does not match its content');
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    throw new StoreCorruptError(path, 'its state is not JSON', { cause: error });
  }
}

/**
 * The text of a state file.
 *
 * @param state - the state
 * @returns header line, state JSON, final newline
 */
export function formatStateFile(state: PersistedDeviceState): string {
  const body = JSON.stringify(state);
  return `${JSON.stringify({ format: STATE_FILE_FORMAT, sha256: sha256(body) })}\n${body}\n`;
}

/** Removes the temporary files of saves a crash interrupted. */
async function removeLeftovers(fs: FileSystem, directory: string, prefix: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(directory);
  } catch {
    return; // the load that follows reports an unreadable directory
  }
  for (const name of names) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) {
      await fs.unlink(join(directory, name)).catch(() => {});
    }
  }
}

/**
 * A file store over the given file operations (the tests pass ones that fail on purpose).
 *
 * @param path - the state file
 * @param fs - the file operations
 * @returns the store
 */
export function createFileStoreOn(path: string, fs: FileSystem): DeviceStateStore {
  const file = resolve(path);
  const directory = dirname(file);
  const temporaryPrefix = `.${basename(file)}.`;
  let lock: FileLock | undefined;
  return {
    location: file,
    async load() {
      lock ??= await acquireFileLock(fs, file);
      await removeLeftovers(fs, directory, temporaryPrefix);
      let text: string;
      try {
        text = (await fs.readFile(file)).toString('utf8');
      } catch (error) {
        if (hasCode(error, 'ENOENT')) return undefined;
        throw error;
      }
      return parseStateFile(file, text) as PersistedDeviceState;
    },
    async save(state) {
      // Only the holder of the lock writes; load() takes it.
      if (lock === undefined)
        throw new Error(`The device state store ${file} is not loaded; call load() first`);
      const temporary = join(directory, `${temporaryPrefix}${randomUUID()}.tmp`);
      try {
        await fs.writeNewFile(temporary, formatStateFile(state));
        await fs.rename(temporary, file);
      } catch (error) {
        await fs.unlink(temporary).catch(() => {});
        throw new Error(
          `Saving the device state to ${file} failed (${(error as Error).message}); the file keeps the previous state.`,
          { cause: error },
        );
      }
      await fs.syncDirectory(directory);
    },
    async close() {
      const held = lock;
      lock = undefined;
      await held?.release();
    },
  };
}
