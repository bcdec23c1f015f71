/**
 * The hub's durable state: SQLite (libsql) in WAL mode, written by group commit.
 *
 * Every write is queued and the queue is flushed in ONE transaction on the next turn of the
 * event loop, so a burst of concurrent requests costs one fsync instead of one each. A batch
 * either commits as a whole, and then each writer's `publish` step runs (the core makes the
 * change visible to readers there) before any writer is resolved, or fails as a whole, and then
 * every writer is rejected with a {@link HubStorageError} naming the cause and nothing is
 * published. `synchronous=FULL` makes an acknowledged write survive `kill -9` and power loss.
 *
 * The data directory is locked (one hub per directory; the OS drops the lock when the process
 * dies), the WAL is checkpointed periodically and on close, and a
 * commit marker beside the database detects a store that lost data behind the hub's back
 * (see data-dir.ts).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'libsql';
import {
  CommitMarker,
  DATABASE_FILE_NAME,
  DataDirLock,
  assertWritableDataDir,
  lostDataError,
} from './data-dir.js';
import { describeOpenError, openWalDatabase } from './open-database.js';
import {
  COMMIT_KEY,
  SCHEMA,
  SEQUENCE_KEY,
  applyOperation,
  prepareWriteStatements,
  readCommitNumber,
  type StorageOperation,
  type StoredRow,
  type WriteStatements,
} from './sqlite-schema.js';
import { HubStorageError, commitFailure } from './storage-error.js';

export { DATABASE_FILE_NAME } from './data-dir.js';
export type { StorageOperation, StoredRow } from './sqlite-schema.js';

interface PendingWrite {
  operations: readonly StorageOperation[];
  publish: (() => void) | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Options of {@link HubStorage}. */
export interface HubStorageOptions {
  /** Directory for `hub.db`; omitted → an in-memory database. */
  dataDir?: string | undefined;
  /** How often to checkpoint the WAL into `hub.db` while writes happen; default 30 s. */
  checkpointIntervalInMs?: number | undefined;
  /** Called after every batch, committed or failed, once its writers were published or rejected. */
  onBatchSettled?: (() => void) | undefined;
}

/**
 * SQLite-backed storage with group commit.
 *
 * @internal
 */
export class HubStorage {
  /** The database file, or `:memory:`. */
  readonly file: string;
  readonly #lock: DataDirLock | undefined;
  readonly #db: Database.Database;
  readonly #marker: CommitMarker | undefined;
  readonly #onBatchSettled: (() => void) | undefined;
  readonly #checkpointTimer: NodeJS.Timeout | undefined;
  #statements!: WriteStatements;
  #queue: PendingWrite[] = [];
  #flushScheduled = false;
  #closed = false;
  #idle: Promise<void> = Promise.resolve();
  #flushes = 0;
  #commit = 0;
  #sequence = 0;
  #uncheckpointed = false;
  #faults: { error: Error; times: number } | undefined;

  /**
   * Opens (or creates) the database and takes the data directory's lock.
   *
   * @param options - data directory, checkpoint interval, batch hook
   * @throws {@link HubStorageError} when the directory is not writable, held by another hub,
   *   lost data since the last run, or holds a corrupt database
   */
  constructor(options: HubStorageOptions = {}) {
    const { dataDir } = options;
    this.#onBatchSettled = options.onBatchSettled;
    if (dataDir === undefined) {
      this.file = ':memory:';
      this.#db = new Database(':memory:');
      this.#db.exec(SCHEMA);
      this.#statements = prepareWriteStatements(this.#db);
      return;
    }
    assertWritableDataDir(dataDir);
    this.file = join(dataDir, DATABASE_FILE_NAME);
    const lock = DataDirLock.acquire(dataDir);
    const marker = new CommitMarker(dataDir);
    let recorded: number | undefined;
    try {
      recorded = marker.read();
      // SQLite would take a missing or empty hub.db for a new database; a marker says there
      // was data, so refuse instead.
      if (recorded !== undefined && recorded > 0 && fileSize(this.file) === 0)
        throw lostDataError(dataDir, recorded, 0);
      this.#db = openWalDatabase(this.file);
    } catch (error) {
      lock.release();
      throw error;
    }
    try {
      const found = readCommitNumber(this.#db);
      if (recorded !== undefined && found < recorded) throw lostDataError(dataDir, recorded, found);
      this.#db.exec(SCHEMA);
      this.#statements = prepareWriteStatements(this.#db);
      this.#commit = found;
      this.#sequence = Number(this.getMeta(SEQUENCE_KEY) ?? 0);
      marker.write(found);
    } catch (error) {
      marker.close();
      this.#db.close();
      lock.release();
      throw describeOpenError(error, this.file);
    }
    this.#lock = lock;
    this.#marker = marker;
    const interval = options.checkpointIntervalInMs ?? 30_000;
    this.#checkpointTimer = setInterval(() => {
      if (this.#uncheckpointed) this.#checkpoint('TRUNCATE');
    }, interval);
    this.#checkpointTimer.unref();
  }

  /** How many transactions were committed so far (lets tests see that writes were grouped). */
  get flushCount(): number {
    return this.#flushes;
  }

  /** The number of the last commit (kept in the database and in the commit marker). */
  get commitNumber(): number {
    return this.#commit;
  }

  /**
   * Reads every row of a table, in insertion order.
   *
   * @param table - `identities` or `twins`
   * @returns the rows
   * @throws {@link HubStorageError} `corrupt` naming the file when SQLite cannot read the table
   */
  loadAll(table: 'identities' | 'twins'): StoredRow[] {
    let rows: { device_id: string; module_id: string; body: string }[];
    try {
      rows = this.#db
        .prepare(`SELECT device_id, module_id, body FROM ${table} ORDER BY rowid`)
        .all() as typeof rows;
    } catch (error) {
      throw describeOpenError(error, this.file);
    }
    return rows.map((row) => ({
      deviceId: row.device_id,
      moduleId: row.module_id,
      body: row.body,
    }));
  }

  /**
   * Reads every row of a table as parsed JSON documents, in insertion order.
   *
   * @param table - `identities` or `twins`
   * @returns the rows with their documents
   * @throws {@link HubStorageError} `corrupt` naming the table, device and module id, and file of
   *   a row that is not a JSON object
   */
  loadDocuments(
    table: 'identities' | 'twins',
  ): { deviceId: string; moduleId: string; document: object }[] {
    return this.loadAll(table).map((row) => {
      let value: unknown;
      try {
        value = JSON.parse(row.body);
      } catch (error) {
        value = error;
      }
      if (typeof value !== 'object' || value === null || value instanceof Error) {
        const reason = value instanceof Error ? value.message : 'not a JSON object';
        const module = row.moduleId === '' ? '' : `, module '${row.moduleId}'`;
        throw new HubStorageError(
          'corrupt',
          this.file,
          `The ${table} row of device '${row.deviceId}'${module} in ${this.file} is corrupt (${reason}). Restore the file from a backup, or delete that identity's rows to start without it.`,
          { cause: value },
        );
      }
      return { deviceId: row.deviceId, moduleId: row.moduleId, document: value };
    });
  }

  /**
   * Reads one metadata value.
   *
   * @param key - the key
   * @returns the value, or `undefined`
   */
  getMeta(key: string): string | undefined {
    const rows = this.#db.prepare('SELECT value FROM meta WHERE key = ?').all(key) as {
      value: string;
    }[];
    return rows[0]?.value;
  }

  /**
   * The next number of the hub-wide sequence (identity etags). The sequence only grows: the
   * current value is saved inside every commit, and a number handed to a write whose commit
   * failed is not handed out again.
   *
   * @returns a number never returned before by this data directory
   */
  nextSequence(): number {
    this.#sequence += 1;
    return this.#sequence;
  }

  /**
   * Raises the sequence to at least a value (numbers found in loaded rows, a clock floor).
   *
   * @param value - the least value the sequence must have
   */
  raiseSequence(value: number): void {
    this.#sequence = Math.max(this.#sequence, value);
  }

  /**
   * Makes the next commits fail, as a full disk would (a fault seam for tests).
   *
   * @param error - the error SQLite would have thrown
   * @param times - how many commits fail; default 1
   * @internal
   */
  failNextCommits(error: Error, times = 1): void {
    this.#faults = { error, times };
  }

  /**
   * Queues operations for the next group commit.
   *
   * @param operations - applied in order, inside one transaction with every other queued write
   * @param publish - runs right after the transaction committed, before any writer is resolved
   *   (in queue order); never runs when it failed
   * @returns resolves after the transaction holding them committed
   * @throws {@link HubStorageError} `commit-failed` when the transaction failed (nothing of the
   *   batch was written or published)
   */
  write(operations: readonly StorageOperation[], publish?: () => void): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('The hub storage is closed.'));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ operations, publish, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        // setImmediate (not a microtask) so requests that arrive in the same I/O phase join the batch.
        const flushed = new Promise<void>((done) => {
          setImmediate(() => {
            this.#flush();
            done();
          });
        });
        this.#idle = flushed;
      }
    });
  }

  /** Flushes pending writes, checkpoints the WAL into the database, then closes it. Never throws. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#idle;
    this.#closed = true;
    clearInterval(this.#checkpointTimer);
    // TRUNCATE leaves hub.db complete on its own and an empty WAL after a clean stop.
    if (this.#lock !== undefined) this.#checkpoint('TRUNCATE');
    try {
      this.#db.close();
    } catch {
      // Closing releases the lock even when it reports an error; there is nothing left to save.
    }
    this.#marker?.close();
    this.#lock?.release();
  }

  #checkpoint(mode: 'TRUNCATE'): void {
    try {
      this.#db.pragma(`wal_checkpoint(${mode})`);
      this.#uncheckpointed = false;
    } catch {
      // The WAL keeps every committed change; a checkpoint that fails (disk full) is retried later.
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    try {
      this.#commitBatch(batch);
    } catch (error) {
      const failure = error instanceof HubStorageError ? error : commitFailure(error, this.file);
      for (const pending of batch) pending.reject(failure);
      this.#onBatchSettled?.();
      return;
    }
    this.#flushes += 1;
    this.#uncheckpointed = true;
    try {
      this.#marker?.write(this.#commit);
    } catch {
      // A marker behind the database is harmless (see data-dir.ts); the commit itself is durable.
    }
    for (const pending of batch) {
      try {
        pending.publish?.();
      } catch (error) {
        // A publish step that throws is a bug; its writer hears of it, the others still publish.
        pending.reject(error);
      }
    }
    this.#onBatchSettled?.();
    for (const pending of batch) pending.resolve();
  }

  #commitBatch(batch: readonly PendingWrite[]): void {
    const operations = batch.flatMap((pending) => pending.operations);
    // A row written several times in one batch only needs its last value.
    const lastPut = new Map<string, StorageOperation>();
    for (const operation of operations)
      if (operation.kind === 'put') lastPut.set(putKey(operation), operation);
    const commit = this.#commit + 1;
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      for (const operation of operations) {
        if (operation.kind === 'put' && lastPut.get(putKey(operation)) !== operation) continue;
        applyOperation(this.#statements, operation);
      }
      this.#statements.setMeta.run(COMMIT_KEY, String(commit));
      this.#statements.setMeta.run(SEQUENCE_KEY, String(this.#sequence));
      const fault = this.#faults;
      if (fault !== undefined) {
        fault.times -= 1;
        if (fault.times <= 0) this.#faults = undefined;
        throw fault.error;
      }
      this.#db.exec('COMMIT');
    } catch (error) {
      // SQLite rolls back by itself after some failures (a full disk at COMMIT); a second
      // ROLLBACK would then hide the real cause behind "no transaction is active".
      if (this.#db.inTransaction) {
        try {
          this.#db.exec('ROLLBACK');
        } catch {
          // The original error is the one to report.
        }
      }
      throw error;
    }
    this.#commit = commit;
  }
}

function putKey(operation: { table: string; deviceId: string; moduleId: string }): string {
  return `${operation.table}\u0000${operation.deviceId}\u0000${operation.moduleId}`;
}

function fileSize(file: string): number {
  return statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}
