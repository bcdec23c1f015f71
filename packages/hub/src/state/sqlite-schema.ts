/**
 * The hub database's tables and the statements that write them: `identities` and `twins` (one
 * JSON body per device or module; `module_id` is `''` for a device) and `meta` (the commit
 * number and the etag sequence, written inside every commit).
 */
import type Database from 'libsql';

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
  | { kind: 'deleteDevice'; deviceId: string };

/** The tables, created when missing. */
export const SCHEMA = `
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

/** Meta keys written inside every commit. */
export const COMMIT_KEY = 'commit';
export const SEQUENCE_KEY = 'sequence';

/** The prepared write statements. */
export interface WriteStatements {
  put: Record<'identities' | 'twins', Database.Statement>;
  delete: Record<'identities' | 'twins', Database.Statement>;
  deleteDevice: Database.Statement[];
  setMeta: Database.Statement;
}

/**
 * Prepares the write statements (after {@link SCHEMA} ran).
 *
 * @param db - the open database
 */
export function prepareWriteStatements(db: Database.Database): WriteStatements {
  const upsert = (table: string) =>
    db.prepare(
      `INSERT INTO ${table} (device_id, module_id, body) VALUES (?, ?, ?)
         ON CONFLICT (device_id, module_id) DO UPDATE SET body = excluded.body`,
    );
  return {
    put: { identities: upsert('identities'), twins: upsert('twins') },
    delete: {
      identities: db.prepare('DELETE FROM identities WHERE device_id = ? AND module_id = ?'),
      twins: db.prepare('DELETE FROM twins WHERE device_id = ? AND module_id = ?'),
    },
    deleteDevice: [
      db.prepare('DELETE FROM identities WHERE device_id = ?'),
      db.prepare('DELETE FROM twins WHERE device_id = ?'),
    ],
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
  };
}

/**
 * Runs one queued change (inside the batch's transaction).
 *
 * @param statements - the prepared statements
 * @param operation - the change
 */
export function applyOperation(statements: WriteStatements, operation: StorageOperation): void {
  switch (operation.kind) {
    case 'put':
      statements.put[operation.table].run(operation.deviceId, operation.moduleId, operation.body);
      return;
    case 'delete':
      statements.delete[operation.table].run(operation.deviceId, operation.moduleId);
      return;
    case 'deleteDevice':
      for (const statement of statements.deleteDevice) statement.run(operation.deviceId);
      return;
  }
}

/**
 * The commit number saved in the database: 0 for a new database (no `meta` table yet).
 *
 * @param db - the open database
 */
export function readCommitNumber(db: Database.Database): number {
  const table = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
    .all();
  if (table.length === 0) return 0;
  const rows = db.prepare('SELECT value FROM meta WHERE key = ?').all(COMMIT_KEY) as {
    value: string;
  }[];
  return Number(rows[0]?.value ?? 0);
}
