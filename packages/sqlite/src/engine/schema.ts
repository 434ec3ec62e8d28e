import type { InStatement } from '@libsql/client';
import { validateName } from '@sessions/core';

/**
 * The version of the layout below. Later releases migrate from the number stored in the database:
 * 1 was the first release; 2 adds the catalog columns and index ({@link migrationStatements}).
 */
export const SCHEMA_VERSION = 2;

/** Default `tablePrefix`: `agents_sessions`, `agents_items`, `agents_operations`, `agents_schema`. */
export const DEFAULT_TABLE_PREFIX = 'agents_';

/** Quoted identifiers of one namespace (validated by `validateName`, then double-quoted). */
export interface SchemaNames {
  prefix: string;
  sessions: string;
  items: string;
  operations: string;
  schema: string;
  expiresIndex: string;
  listingIndex: string;
  cascadeTrigger: string;
}

export function schemaNames(tablePrefix: unknown = DEFAULT_TABLE_PREFIX): SchemaNames {
  const prefix = validateName(tablePrefix, 'tablePrefix');
  const q = (suffix: string) => `"${prefix}${suffix}"`;
  return {
    prefix,
    sessions: q('sessions'),
    items: q('items'),
    operations: q('operations'),
    schema: q('schema'),
    expiresIndex: q('sessions_expires_at'),
    listingIndex: q('sessions_listing'),
    cascadeTrigger: q('sessions_cascade'),
  };
}

/**
 * The whole layout, idempotent (`IF NOT EXISTS` everywhere) so that any number of processes
 * may run it at once: it runs as one `BEGIN IMMEDIATE` batch, which SQLite serialises. The last
 * statement reads the stored version back.
 */
export function schemaStatements(n: SchemaNames, now: number): InStatement[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${n.schema} (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      version INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`,
    {
      sql: `INSERT INTO ${n.schema} (id, version, updated_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING`,
      args: [SCHEMA_VERSION, now],
    },
    // item_count moves in the same statement as the items' rows; metadata is the canonical JSON
    // text (NULL before the first metadata write), metadata_version its compare-and-set counter.
    `CREATE TABLE IF NOT EXISTS ${n.sessions} (
      session_id TEXT NOT NULL PRIMARY KEY,
      next_seq INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      expires_at INTEGER,
      item_count INTEGER NOT NULL DEFAULT 0,
      metadata TEXT,
      metadata_version INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS ${n.expiresIndex} ON ${n.sessions} (expires_at) WHERE expires_at IS NOT NULL`,
    // Listing order exactly (newest first, then id in byte order): a page is one range scan with
    // no sort. expires_at rides along so that skipping expired sessions needs no table lookup.
    // Only columns version 1 already had, so this is created on an old database too.
    `CREATE INDEX IF NOT EXISTS ${n.listingIndex} ON ${n.sessions} (updated_at DESC, session_id, expires_at)`,
    `CREATE TABLE IF NOT EXISTS ${n.items} (
      session_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      item TEXT NOT NULL,
      PRIMARY KEY (session_id, seq)
    )`,
    `CREATE TABLE IF NOT EXISTS ${n.operations} (
      session_id TEXT NOT NULL,
      operation_id TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      nonce TEXT NOT NULL,
      PRIMARY KEY (session_id, operation_id)
    ) WITHOUT ROWID`,
    // Deleting a session row (deleteSession, expiry) removes its items and operation ids in the
    // same statement, hence in the same transaction.
    `CREATE TRIGGER IF NOT EXISTS ${n.cascadeTrigger} AFTER DELETE ON ${n.sessions} FOR EACH ROW BEGIN
      DELETE FROM ${n.items} WHERE session_id = OLD.session_id;
      DELETE FROM ${n.operations} WHERE session_id = OLD.session_id;
    END`,
    `SELECT version FROM ${n.schema} WHERE id = 1`,
  ];
}

/**
 * Version 1 → 2, as one write batch: the catalog columns, and the count of every existing session
 * computed once from its rows (one pass over the items' primary key). `ALTER TABLE … ADD COLUMN`
 * is not idempotent, so a second process running this after the first fails with "duplicate
 * column" and rolls back; setup.ts then reads the version again. The version moves last.
 */
export function migrationStatements(n: SchemaNames, now: number): InStatement[] {
  return [
    `ALTER TABLE ${n.sessions} ADD COLUMN item_count INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE ${n.sessions} ADD COLUMN metadata TEXT`,
    `ALTER TABLE ${n.sessions} ADD COLUMN metadata_version INTEGER NOT NULL DEFAULT 0`,
    `UPDATE ${n.sessions} SET item_count = (SELECT count(*) FROM ${n.items} AS i WHERE i.session_id = ${n.sessions}.session_id)`,
    { sql: `UPDATE ${n.schema} SET version = 2, updated_at = ? WHERE id = 1 AND version = 1`, args: [now] },
    `SELECT version FROM ${n.schema} WHERE id = 1`,
  ];
}
