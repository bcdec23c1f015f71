/**
 * Opening the hub database file in WAL mode, and the errors a store that cannot be opened
 * is reported with (corrupt, not writable), each saying what to do about it.
 */
import Database from 'libsql';
import { HubStorageError, sqliteCode } from './storage-error.js';

/**
 * Opens a database file for durable writes.
 *
 * @param file - the database file
 * @throws {@link HubStorageError} when the file cannot be opened
 */
export function openWalDatabase(file: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    // FULL: the WAL is fsynced at every COMMIT, so a write acknowledged after COMMIT is durable
    // even if the process or the machine dies right after.
    db.pragma('synchronous = FULL');
    return db;
  } catch (error) {
    db?.close();
    throw describeOpenError(error, file);
  }
}

/**
 * The {@link HubStorageError} for a failure to open or read a database file.
 *
 * @param error - what SQLite threw
 * @param file - the database file
 */
export function describeOpenError(error: unknown, file: string): unknown {
  if (error instanceof HubStorageError) return error;
  const code = sqliteCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    return new HubStorageError(
      'corrupt',
      file,
      `${file} is not a readable hub database (${code}: ${detail}). Restore it from a backup, or move the data directory aside to start empty.`,
      { cause: error },
    );
  }
  if (code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM') {
    return new HubStorageError(
      'not-writable',
      file,
      `Cannot open ${file} for writing (${code}: ${detail}). Give the hub's user write access to the file and its directory.`,
      { cause: error },
    );
  }
  return new HubStorageError('corrupt', file, `Cannot open ${file}: ${detail}`, {
    cause: error,
  });
}
