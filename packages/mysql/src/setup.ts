import { createHash } from 'node:crypto';
import { OncePerClient } from '@sessions/core';
import { type Runner, withConnection } from './engine/connection.js';
import { SCHEMA_VERSION, schemaStatements } from './engine/ddl.js';
import type { Tables } from './engine/identifiers.js';
import { isMissingTable } from './errors.js';
import type { MySQLClient } from './options.js';

/**
 * Tables written by a newer release. A plain error on purpose: whichever public method ran the
 * setup (`setup()`, or any operation doing it lazily) reports it as its own `SessionStorageError`.
 */
export class NewerSchemaError extends Error {
  override name = 'NewerSchemaError';
}

/**
 * The tables do not exist and this store may not create them (`createIfMissing: false`). Reads
 * treat it as an empty history; a write reports it as its own `SessionStorageError`.
 */
export class TablesMissingError extends Error {
  override name = 'TablesMissingError';
  constructor(t: Tables, cause?: unknown) {
    super(
      `the tables ${t.prefix}* do not exist: run store.setup() first (this store has createIfMissing: false, so it never creates them)`,
      { cause },
    );
  }
}

const newerSchema = (t: Tables, version: number) =>
  new NewerSchemaError(
    `The tables ${t.prefix}* are at schema version ${version}, newer than this package understands (${SCHEMA_VERSION}); upgrade @sessions/mysql`,
  );

/** The namespace's lock name: server-wide, so the database is part of it; at most 64 characters. */
function lockName(database: string, t: Tables): string {
  return `sessions-mysql:${createHash('sha256').update(`${database}\u0000${t.prefix}`).digest('hex').slice(0, 40)}`;
}

async function currentVersion(run: Runner, t: Tables): Promise<number | undefined> {
  try {
    const [row] = await run.rows<{ version: number }>(`SELECT version AS version FROM ${t.version} WHERE id = 1`, []);
    return row === undefined ? undefined : Number(row.version);
  } catch (error) {
    if (isMissingTable(error)) return undefined;
    throw error;
  }
}

/**
 * Creates the tables of one namespace, idempotently, under `GET_LOCK` on the namespace (on one
 * connection: the lock belongs to it), so that processes setting up at once queue and the first
 * one creates. Where `GET_LOCK` is refused (Vitess outside a reserved connection), the DDL runs
 * without it: every statement is `IF NOT EXISTS` and the version write is an idempotent upsert.
 */
async function createTables(pool: MySQLClient, t: Tables, timeoutMs: number): Promise<void> {
  await withConnection(pool, timeoutMs, async (run) => {
    const [db] = await run.rows<{ db: string | null }>('SELECT DATABASE() AS db', []);
    if (!db?.db) {
      throw new Error(
        'No database selected: name one in the URL path (mysql://user@host/database) or the pool options',
      );
    }
    const name = lockName(db.db, t);
    let locked = false;
    try {
      const [row] = await run.rows<{ got: number | null }>('SELECT GET_LOCK(?, ?) AS got', [
        name,
        String(Math.max(1, Math.ceil(timeoutMs / 1000))),
      ]);
      if (Number(row?.got) !== 1) throw new Error(`setup could not take the lock ${name} within ${timeoutMs} ms`);
      locked = true;
    } catch (error) {
      if ((error as { errno?: unknown }).errno === undefined) throw error;
      // A server error from GET_LOCK itself (not supported here): go on without the lock.
    }
    try {
      const current = await currentVersion(run, t);
      if (current !== undefined && current > SCHEMA_VERSION) throw newerSchema(t, current);
      if (current === SCHEMA_VERSION) return;
      for (const statement of schemaStatements(t)) await run.command(statement);
      await run.write(
        `INSERT INTO ${t.version} (id, version, updated_at) VALUES (1, ?, 0)
ON DUPLICATE KEY UPDATE version = GREATEST(version, ?)`,
        [SCHEMA_VERSION, SCHEMA_VERSION],
      );
    } finally {
      if (locked) await run.rows('SELECT RELEASE_LOCK(?) AS released', [name]);
    }
  });
}

/**
 * `createIfMissing: false`: reads the schema version and creates nothing. Missing tables throw
 * {@link TablesMissingError}; a newer schema throws {@link NewerSchemaError}.
 */
async function checkTables(pool: MySQLClient, t: Tables, timeoutMs: number): Promise<void> {
  const version = await withConnection(pool, timeoutMs, (run) => currentVersion(run, t));
  if (version === undefined) throw new TablesMissingError(t);
  if (version > SCHEMA_VERSION) throw newerSchema(t, version);
}

/** One setup per pool and namespace, shared by every store and session using them. */
const setups = new OncePerClient();
/** One read-only check per pool and namespace (`createIfMissing: false`); a failed one is retried. */
const checks = new OncePerClient();

/** Before an operation: the lazy setup, once per pool and namespace; with `create: false` only the check. */
export function ensureSchema(pool: MySQLClient, t: Tables, timeoutMs: number, create = true): Promise<void> {
  if (!create) return checks.run(pool, t.prefix, () => checkTables(pool, t, timeoutMs));
  return setups.run(pool, t.prefix, () => createTables(pool, t, timeoutMs));
}

/** `store.setup()`: runs now, even if done before, and is remembered as done when it succeeds. */
export function setup(pool: MySQLClient, t: Tables, timeoutMs: number): Promise<void> {
  return setups.run(pool, t.prefix, () => createTables(pool, t, timeoutMs), true);
}
