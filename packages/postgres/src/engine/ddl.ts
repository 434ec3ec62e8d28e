import type { Tables } from './identifiers.js';

/** The layout version this package writes and understands. */
export const SCHEMA_VERSION = 1;

/** The DDL of {@link SCHEMA_VERSION}, idempotent (`IF NOT EXISTS`), in order. */
export function schemaStatements(t: Tables): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${t.sessions} (
  session_id text PRIMARY KEY,
  start_seq  bigint NOT NULL DEFAULT 0,
  next_seq   bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz
)`,
    `CREATE INDEX IF NOT EXISTS ${t.sessionsExpiresIndex} ON ${t.sessions} (expires_at) WHERE expires_at IS NOT NULL`,
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
