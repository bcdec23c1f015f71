/**
 * The hub's durable state: SQLite (libsql) in WAL mode, written by group commit.
 *
 * Every write is queued and the queue is flushed in ONE transaction on the next turn of the
 * event loop, so a burst of concurrent requests costs one fsync instead of one each; callers are
 * resolved only after COMMIT returned, so an acknowledged write survives `kill -9`
 * (`synchronous=FULL`). Reads never touch SQLite after start: the hub keeps its working set in
 * memory (see hub-core.ts) and loads it from here once.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'libsql';

/** One row of the `identities` or `twins` table; `moduleId` is `''` for a device. */
export interface StoredRow {
  deviceId: string;
  moduleId: string;
  body: string;
}

/** A queued change. `put` upserts, `delete` removes one row, `deleteDevice` removes a device and its modules. */
export type StorageOperation =
  | { kind: 'put'; table: 'identities' | 'twins'; deviceId: string; moduleId: string; body: string }
  | { kind: 'delete'; table: 'identities' | 'twins'; deviceId: string; moduleId: string }
  | { kind: 'deleteDevice'; deviceId: string }
  | { kind: 'setMeta'; key: string; value: string };

interface PendingWrite {
  operations: readonly StorageOperation[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** The file name of the database inside a data directory. */
export const DATABASE_FILE_NAME = 'hub.db';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS identities (
  device_id TEXT NOT NULL,
  module_id TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (device_id, module_id)
);
CREATE TABLE IF NOT EXISTS twins (
  device_id TEXT NOT NULL,
  module_id TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (device_id, module_id)
);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

/**
 * SQLite-backed storage with group commit.
 *
 * @internal
 */
export class HubStorage {
  readonly #db: Database.Database;
  readonly #statements: {
    put: Record<'identities' | 'twins', Database.Statement>;
    delete: Record<'identities' | 'twins', Database.Statement>;
    deleteDevice: Database.Statement[];
    setMeta: Database.Statement;
  };
  #queue: PendingWrite[] = [];
  #flushScheduled = false;
  #closed = false;
  #idle: Promise<void> = Promise.resolve();
  #flushes = 0;

  /**
   * Opens (or creates) the database.
   *
   * @param dataDir - directory for `hub.db`; omitted → an in-memory database (tests)
   */
  constructor(dataDir?: string) {
    let location = ':memory:';
    if (dataDir !== undefined) {
      mkdirSync(dataDir, { recursive: true });
      location = join(dataDir, DATABASE_FILE_NAME);
    }
    this.#db = new Database(location);
    if (dataDir !== undefined) {
      this.#db.pragma('journal_mode = WAL');
      // FULL: the WAL is fsynced at every COMMIT, so a write acknowledged after COMMIT is durable
      // even if the process or the machine dies right after.
      this.#db.pragma('synchronous = FULL');
    }
    this.#db.exec(SCHEMA);
    const upsert = (table: string) =>
      this.#db.prepare(
        `INSERT INTO ${table} (device_id, module_id, body) VALUES (?, ?, ?)
         ON CONFLICT (device_id, module_id) DO UPDATE SET body = excluded.body`,
      );
    this.#statements = {
      put: { identities: upsert('identities'), twins: upsert('twins') },
      delete: {
        identities: this.#db.prepare(
          'DELETE FROM identities WHERE device_id = ? AND module_id = ?',
        ),
        twins: this.#db.prepare('DELETE FROM twins WHERE device_id = ? AND module_id = ?'),
      },
      deleteDevice: [
        this.#db.prepare('DELETE FROM identities WHERE device_id = ?'),
        this.#db.prepare('DELETE FROM twins WHERE device_id = ?'),
      ],
      setMeta: this.#db.prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
    };
  }

  /** How many transactions were committed so far (lets tests see that writes were grouped). */
  get flushCount(): number {
    return this.#flushes;
  }

  /**
   * Reads every row of a table, in insertion order.
   *
   * @param table - `identities` or `twins`
   * @returns the rows
   */
  loadAll(table: 'identities' | 'twins'): StoredRow[] {
    const rows = this.#db
      .prepare(`SELECT device_id, module_id, body FROM ${table} ORDER BY rowid`)
      .all() as { device_id: string; module_id: string; body: string }[];
    return rows.map((row) => ({
      deviceId: row.device_id,
      moduleId: row.module_id,
      body: row.body,
    }));
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
   * Queues operations for the next group commit.
   *
   * @param operations - applied in order, inside one transaction with every other queued write
   * @returns resolves after the transaction holding them committed
   * @throws the SQLite error when the transaction failed (nothing of that batch was written)
   */
  write(operations: readonly StorageOperation[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('The hub storage is closed.'));
    if (operations.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ operations, resolve, reject });
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

  /** Flushes pending writes now, then closes the database. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#idle;
    this.#closed = true;
    this.#db.close();
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    try {
      const operations = batch.flatMap((pending) => pending.operations);
      // A row written several times in one batch only needs its last value.
      const lastPut = new Map<string, StorageOperation>();
      for (const operation of operations)
        if (operation.kind === 'put') lastPut.set(putKey(operation), operation);
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        for (const operation of operations) {
          if (operation.kind === 'put' && lastPut.get(putKey(operation)) !== operation) continue;
          this.#apply(operation);
        }
        this.#db.exec('COMMIT');
      } catch (error) {
        this.#db.exec('ROLLBACK');
        throw error;
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    this.#flushes += 1;
    for (const pending of batch) pending.resolve();
  }

  #apply(operation: StorageOperation): void {
    switch (operation.kind) {
      case 'put':
        this.#statements.put[operation.table].run(
          operation.deviceId,
          operation.moduleId,
          operation.body,
        );
        return;
      case 'delete':
        this.#statements.delete[operation.table].run(operation.deviceId, operation.moduleId);
        return;
      case 'deleteDevice':
        for (const statement of this.#statements.deleteDevice) statement.run(operation.deviceId);
        return;
      case 'setMeta':
        this.#statements.setMeta.run(operation.key, operation.value);
        return;
    }
  }
}

function putKey(operation: { table: string; deviceId: string; moduleId: string }): string {
  return `${operation.table}\u0000${operation.deviceId}\u0000${operation.moduleId}`;
}
