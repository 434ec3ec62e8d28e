import type { Tables } from './identifiers.js';

/**
 * The layout version this package writes and understands. 2 added the catalog: counts,
 * metadata, millisecond timestamps and the listing index on the sessions table.
 */
export const SCHEMA_VERSION = 2;

/**
 * The DDL of {@link SCHEMA_VERSION}, idempotent (`IF NOT EXISTS`), in order. It also upgrades
 * version-1 tables in place: the `ALTER TABLE`s are no-ops on tables created by this version.
 */
export function schemaStatements(t: Tables): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${t.sessions} (
  session_id text PRIMARY KEY,
  start_seq  bigint NOT NULL DEFAULT 0,
  next_seq   bigint NOT NULL DEFAULT 0,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  expires_at timestamptz,
  item_count bigint DEFAULT 0,
  metadata   text,
  metadata_scalars jsonb,
  metadata_version integer NOT NULL DEFAULT 0
)`,
    `CREATE INDEX IF NOT EXISTS ${t.sessionsExpiresIndex} ON ${t.sessions} (expires_at) WHERE expires_at IS NOT NULL`,
    // Version 1 → 2. Rows of version 1 keep item_count NULL ("not counted yet"): they are counted
    // when read and stored by their next write, so the upgrade never scans the items table.
    `ALTER TABLE ${t.sessions}
  ADD COLUMN IF NOT EXISTS item_count bigint,
  ADD COLUMN IF NOT EXISTS metadata text,
  ADD COLUMN IF NOT EXISTS metadata_scalars jsonb,
  ADD COLUMN IF NOT EXISTS metadata_version integer NOT NULL DEFAULT 0`,
    // Separate from ADD COLUMN, so that existing rows stay NULL and only new ones start at 0.
    // Millisecond timestamps: the listing cursor holds milliseconds, so the order it pages by
    // must be exact at that precision (a version-1 table is rewritten once, rounding to ms).
    `ALTER TABLE ${t.sessions}
  ALTER COLUMN item_count SET DEFAULT 0,
  ALTER COLUMN created_at TYPE timestamptz(3),
  ALTER COLUMN updated_at TYPE timestamptz(3)`,
    // The listing order: newest first, then session id in byte order ("C"), whatever the
    // database's collation; a page is one range scan of it.
    `CREATE INDEX IF NOT EXISTS ${t.sessionsRecentIndex} ON ${t.sessions} (updated_at DESC, session_id COLLATE "C")`,
    `CREATE TABLE IF NOT EXISTS ${t.items} (
  session_id text NOT NULL,
  seq        bigint NOT NULL,
  item       text NOT NULL,
  PRIMARY KEY (session_id, seq)
)`,
    `CREATE TABLE IF NOT EXISTS ${t.operations} (
  session_id   text NOT NULL,
  operation_id text NOT NULL,
  fingerprint  text NOT NULL,
  epoch        bigint NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (session_id, operation_id)
)`,
    `CREATE INDEX IF NOT EXISTS ${t.operationsCreatedIndex} ON ${t.operations} (created_at)`,
    `CREATE TABLE IF NOT EXISTS ${t.version} (
  id         integer PRIMARY KEY CHECK (id = 1),
  version    integer NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
)`,
  ];
}

/**
 * What `setup()` creates, as one script for teams that manage schema themselves
 * (`PostgresSessionStore.schemaSql()`; the README prints it for the default namespace).
 */
export function schemaScript(t: Tables): string {
  const statements = [
    `CREATE SCHEMA IF NOT EXISTS ${t.qschema}`,
    ...schemaStatements(t),
    `INSERT INTO ${t.version} (id, version) VALUES (1, ${SCHEMA_VERSION}) ON CONFLICT (id) DO UPDATE SET version = excluded.version, updated_at = now()`,
  ];
  return `${statements.join(';\n\n')};\n`;
}
