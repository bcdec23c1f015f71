/**
 * `HubStorageError`: the hub's data directory cannot be used (locked by another hub, lost data,
 * corrupt, not writable) or a commit failed. Every message names the file and says what to do.
 */
import { statfsSync } from 'node:fs';

/** Why the storage failed. */
export type HubStorageFailure =
  /** Another process holds the data directory. */
  | 'locked'
  /** The database holds less than the hub committed before (WAL lost, file emptied or replaced). */
  | 'lost-data'
  /** A file or row cannot be read. */
  | 'corrupt'
  /** The data directory or a file in it cannot be written. */
  | 'not-writable'
  /** A commit failed (disk full, file size limit, I/O error); nothing of it was kept. */
  | 'commit-failed';

/**
 * The hub's storage cannot be used, or a write could not be made durable. `createHub()` throws it
 * when it refuses a data directory; a failed commit rejects the writes of its batch with it (the
 * REST API answers 503 with its message).
 */
export class HubStorageError extends Error {
  /** Always `'HubStorageError'` (guards compare it across copies of the package). */
  override readonly name = 'HubStorageError';
  /** What went wrong. */
  readonly failure: HubStorageFailure;
  /** The file or directory concerned. */
  readonly path: string;

  /**
   * @param failure - what went wrong
   * @param path - the file or directory concerned
   * @param message - the full message: what happened, to which file, what to do
   * @param options - the underlying error
   */
  constructor(
    failure: HubStorageFailure,
    path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.failure = failure;
    this.path = path;
  }
}

/**
 * Whether a value is a {@link HubStorageError} (by class, or by name across bundle copies).
 *
 * @param error - anything
 */
export function isHubStorageError(error: unknown): error is HubStorageError {
  return (
    error instanceof HubStorageError ||
    (error instanceof Error && error.name === 'HubStorageError' && 'failure' in error)
  );
}

interface SqliteLikeError {
  code?: unknown;
  message?: unknown;
}

/**
 * The SQLite result code of an error (`SQLITE_FULL`, `SQLITE_IOERR_WRITE`, …), if it has one.
 *
 * @param error - what libsql threw
 */
export function sqliteCode(error: unknown): string | undefined {
  const code = (error as SqliteLikeError | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/**
 * Describes why a commit failed in words an operator can act on. SQLite reports a full disk as
 * `SQLITE_FULL`, and a write refused by the OS (EFBIG past a file size limit, EIO, ENOSPC on some
 * paths) as `SQLITE_IOERR_*`; the free space of the device tells the two apart.
 *
 * @param error - what libsql threw
 * @param file - the database file
 * @returns the commit-failed error to reject the batch's writers with
 */
export function commitFailure(error: unknown, file: string): HubStorageError {
  const code = sqliteCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  let cause: string;
  if (code === 'SQLITE_FULL') cause = 'the disk is full';
  else if (code?.startsWith('SQLITE_IOERR') === true)
    cause = `a disk write failed (${freeSpaceHint(file)})`;
  else if (code === 'SQLITE_READONLY') cause = 'the database file is read-only';
  else cause = 'the database refused the write';
  return new HubStorageError(
    'commit-failed',
    file,
    `The hub could not save the change: ${cause} (${code ?? 'error'}: ${detail}) in ${file}. ` +
      'Nothing of it was applied. Free disk space or fix the file system, then retry.',
    { cause: error },
  );
}

function freeSpaceHint(file: string): string {
  try {
    const stats = statfsSync(file.replace(/[^/\\]+$/, '') || '.');
    const free = stats.bavail * stats.bsize;
    if (free < 1024 * 1024) return `only ${String(free)} bytes are free on its device`;
    return 'the disk has room, so a file size limit (ulimit -f) or an I/O error is likely';
  } catch {
    return 'the free space of its device is unknown';
  }
}
