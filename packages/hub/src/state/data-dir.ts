/**
 * The files a hub keeps beside its database, and the checks it makes on them at start:
 *
 * - `hub.lock.db`: holds the lock. The hub keeps an exclusive SQLite lock (an OS file lock) on
 *   it while it runs; the OS releases it when the process ends in any way, so a lock left by a
 *   `kill -9` can never block a restart, and two hubs can never both hold it. (It is a file of
 *   its own because libsql keeps a database connection, and its locks, alive until its prepared
 *   statements are garbage-collected, so `hub.db`'s own connection cannot release a lock on time.)
 * - `hub.lock`: who holds the data directory (pid, host, start time), for the refusal message;
 *   the next holder rewrites it, so a stale record from a dead process is simply replaced.
 * - `hub.db.commit`: the number of the last commit the hub saw succeed. The database records the
 *   same number inside each commit, so at start a database that holds less than the marker lost
 *   data behind the hub's back (its WAL deleted or cut short, the file emptied or replaced).
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'libsql';
import { HubStorageError, sqliteCode } from './storage-error.js';

/** The file name of the database inside a data directory. */
export const DATABASE_FILE_NAME = 'hub.db';
/** The holder record of a data directory. */
export const LOCK_FILE_NAME = 'hub.lock';
/** The file the data directory's OS lock is held on. */
export const LOCK_DATABASE_FILE_NAME = 'hub.lock.db';
/** The commit marker kept beside the database. */
export const COMMIT_MARKER_FILE_NAME = 'hub.db.commit';

/** Who holds a data directory, as written to `hub.lock`. */
export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
}

/**
 * Creates the data directory if needed and proves the hub can write in it (a read-only mount or
 * a directory owned by another user is reported here, at start, instead of at the first write).
 *
 * @param dataDir - the data directory
 * @throws {@link HubStorageError} `not-writable` naming the directory
 */
export function assertWritableDataDir(dataDir: string): void {
  const probe = join(dataDir, `.write-probe-${String(process.pid)}`);
  try {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new HubStorageError(
      'not-writable',
      dataDir,
      `The data directory ${dataDir} is not writable (${code}). Give the hub's user write access ` +
        'to it, or choose another directory with --data (or --in-memory).',
      { cause: error },
    );
  }
}

/**
 * Reads the holder record of a data directory.
 *
 * @param dataDir - the data directory
 * @returns the holder, or `undefined` when there is no readable record
 */
export function readLockHolder(dataDir: string): LockHolder | undefined {
  try {
    const value = JSON.parse(readFileSync(join(dataDir, LOCK_FILE_NAME), 'utf8')) as LockHolder;
    return typeof value.pid === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

function writeLockHolder(dataDir: string): LockHolder {
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
  };
  writeFileSync(join(dataDir, LOCK_FILE_NAME), `${JSON.stringify(holder)}\n`);
  return holder;
}

/** The lock of a data directory, held from {@link DataDirLock.acquire} to {@link DataDirLock.release}. */
export class DataDirLock {
  readonly #dataDir: string;
  readonly #db: Database.Database;

  private constructor(dataDir: string, db: Database.Database) {
    this.#dataDir = dataDir;
    this.#db = db;
  }

  /**
   * Takes the lock of a data directory and records this process as its holder.
   *
   * @param dataDir - a writable data directory
   * @returns the held lock
   * @throws {@link HubStorageError} `locked` naming the holder when another process has it
   */
  static acquire(dataDir: string): DataDirLock {
    const file = join(dataDir, LOCK_DATABASE_FILE_NAME);
    // exec only, never prepare: a prepared statement would keep the connection (and the lock)
    // alive after close() until it is garbage-collected. timeout 0: refuse at once.
    const db = new Database(file, { timeout: 0 });
    try {
      db.exec('PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;');
    } catch (error) {
      db.close();
      const code = sqliteCode(error);
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw lockedError(dataDir, error);
      throw new HubStorageError(
        'not-writable',
        file,
        `Cannot lock ${file} (${code ?? 'error'}: ${(error as Error).message}). Give the hub's user write access to ${dataDir}.`,
        { cause: error },
      );
    }
    writeLockHolder(dataDir);
    return new DataDirLock(dataDir, db);
  }

  /** Removes the holder record and releases the lock. Never throws. */
  release(): void {
    try {
      if (readLockHolder(this.#dataDir)?.pid === process.pid)
        rmSync(join(this.#dataDir, LOCK_FILE_NAME), { force: true });
    } catch {
      // A read-only or vanished directory: the record is only informative.
    }
    try {
      this.#db.close();
    } catch {
      // The OS drops the lock with the file handle in any case.
    }
  }
}

/**
 * The refusal when another process holds the data directory.
 *
 * @param dataDir - the data directory
 * @param cause - the SQLITE_BUSY error
 */
function lockedError(dataDir: string, cause: unknown): HubStorageError {
  const holder = readLockHolder(dataDir);
  const who =
    holder === undefined
      ? 'another process (it left no hub.lock record)'
      : `another hub: pid ${String(holder.pid)} on ${holder.host}, started ${holder.startedAt}`;
  return new HubStorageError(
    'locked',
    join(dataDir, LOCK_DATABASE_FILE_NAME),
    `The data directory ${dataDir} is in use by ${who}. One hub per data directory: stop that ` +
      'hub, or start this one with another --data directory (or --in-memory).',
    { cause },
  );
}

/** Fixed width, so rewriting in place never leaves a longer old value's tail behind. */
const MARKER_WIDTH = 20;

/** The commit marker of a data directory: read at start, rewritten after every commit. */
export class CommitMarker {
  readonly file: string;
  #fd: number | undefined;

  /** @param dataDir - the data directory */
  constructor(dataDir: string) {
    this.file = join(dataDir, COMMIT_MARKER_FILE_NAME);
  }

  /**
   * The recorded commit number.
   *
   * @returns the number, or `undefined` when there is no marker yet (a new or older store)
   * @throws {@link HubStorageError} `corrupt` when the marker cannot be read
   */
  read(): number | undefined {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new HubStorageError(
        'corrupt',
        this.file,
        `Cannot read ${this.file}: ${(error as Error).message}.`,
        { cause: error },
      );
    }
    const value = Number(text.trim());
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new HubStorageError(
        'corrupt',
        this.file,
        `${this.file} does not hold a commit number. If hub.db is intact, delete ${this.file} and start again.`,
      );
    }
    return value;
  }

  /**
   * Records a commit number. Not fsynced: the marker only has to survive a process crash (the
   * page cache does), and after a power loss a marker behind the database is harmless, while one
   * ahead of it is impossible since the database commit is fsynced first.
   *
   * @param commit - the commit number the database now holds
   */
  write(commit: number): void {
    this.#fd ??= openSync(this.file, 'w');
    writeSync(this.#fd, `${String(commit).padStart(MARKER_WIDTH, '0')}\n`, 0);
  }

  /** Closes the marker file. */
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/**
 * The refusal when the database holds less than the marker recorded.
 *
 * @param dataDir - the data directory
 * @param recorded - the marker's commit number
 * @param found - the database's commit number (0 when it is empty or missing)
 */
export function lostDataError(dataDir: string, recorded: number, found: number): HubStorageError {
  const database = join(dataDir, DATABASE_FILE_NAME);
  return new HubStorageError(
    'lost-data',
    database,
    `Refusing to start: ${database} holds commit ${String(found)}, but this data directory had ` +
      `reached commit ${String(recorded)} (recorded in ${COMMIT_MARKER_FILE_NAME}). Its ` +
      `write-ahead log (${DATABASE_FILE_NAME}-wal) was deleted or cut short, or ${DATABASE_FILE_NAME} ` +
      'was emptied or replaced, so acknowledged writes are missing. Restore the directory from a ' +
      `backup; or, to accept the loss and start from what ${DATABASE_FILE_NAME} holds, delete ` +
      `${join(dataDir, COMMIT_MARKER_FILE_NAME)}.`,
  );
}
