import { OncePerClient } from '@sessions/core';
import { SCHEMA_VERSION, schemaStatements } from './engine/ddl.js';
import type { Tables } from './engine/identifiers.js';
import { transactionBoundsSql } from './engine/timeouts.js';
import { transaction } from './engine/transaction.js';
import { isMissingRelation } from './errors.js';
import type { PostgresClient } from './options.js';

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
      `the tables ${t.schema}.${t.prefix}* do not exist: run store.setup() first (this store has createIfMissing: false, so it never creates them)`,
      { cause },
    );
  }
}

/**
 * Tables of an older release and a store that may not upgrade them (`createIfMissing: false`):
 * an error, not an empty history, so that a read-only tool never mistakes old data for none.
 */
export class OlderSchemaError extends Error {
  override name = 'OlderSchemaError';
  constructor(t: Tables, version: number) {
    super(
      `the tables ${t.schema}.${t.prefix}* are at schema version ${version}, older than this package's (${SCHEMA_VERSION}): run store.setup() once to upgrade them (this store has createIfMissing: false, so it never changes them)`,
    );
  }
}

function newerSchema(t: Tables, version: number): NewerSchemaError {
  return new NewerSchemaError(
    `The tables ${t.schema}.${t.prefix}* are at schema version ${version}, newer than this package understands (${SCHEMA_VERSION}); upgrade @sessions/postgres`,
  );
}

/**
 * Creates or upgrades the tables of one namespace, idempotently, in ONE transaction that first
 * takes a transaction-scoped advisory lock on the namespace: several processes setting up at once
 * queue on the lock, and the first one creates the tables. The lock is released at commit or
 * rollback, so it works behind transaction-mode poolers too.
 */
async function createTables(client: PostgresClient, t: Tables, timeoutMs: number): Promise<void> {
  await transaction(client, async (tx) => {
    await tx.unsafe(transactionBoundsSql(timeoutMs));
    // Quiet the "already exists, skipping" notices of IF NOT EXISTS, even on a caller's client.
    await tx.unsafe('SET LOCAL client_min_messages = warning');
    await tx.unsafe(
      `SELECT pg_advisory_xact_lock(hashtext('@sessions/postgres'), hashtext($1::text)) AS locked`,
      [`${t.schema}.${t.prefix}`],
      { prepare: false },
    );
    const [table] = await tx.unsafe<{ present: boolean }[]>(
      'SELECT to_regclass($1::text) IS NOT NULL AS present',
      [t.version],
      { prepare: false },
    );
    let current: number | null = null;
    if (table?.present) {
      const [row] = await tx.unsafe<{ version: number }[]>(`SELECT version FROM ${t.version} WHERE id = 1`);
      current = row?.version ?? null;
    }
    if (current !== null && current > SCHEMA_VERSION) throw newerSchema(t, current);
    if (current === SCHEMA_VERSION) return;
    // Only create the schema when it is missing: CREATE SCHEMA needs a privilege on the
    // database that a role owning just its schema may lack, even with IF NOT EXISTS.
    const [schema] = await tx.unsafe<{ present: boolean }[]>(
      'SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1::text) AS present',
      [t.schema],
    );
    if (!schema?.present) await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${t.qschema}`);
    for (const statement of schemaStatements(t)) await tx.unsafe(statement);
    await tx.unsafe(
      `INSERT INTO ${t.version} (id, version, updated_at) VALUES (1, $1::int, now())
ON CONFLICT (id) DO UPDATE SET version = excluded.version, updated_at = now()`,
      [SCHEMA_VERSION],
    );
  });
}

/**
 * `createIfMissing: false`: reads the schema version and creates nothing. Missing tables (or
 * schema) throw {@link TablesMissingError}; a newer schema throws {@link NewerSchemaError}.
 */
async function checkTables(client: PostgresClient, t: Tables): Promise<void> {
  let rows: { version: number }[];
  try {
    rows = await client.unsafe<{ version: number }[]>(`SELECT version FROM ${t.version} WHERE id = 1`);
  } catch (error) {
    if (isMissingRelation(error)) throw new TablesMissingError(t, error);
    throw error;
  }
  const version = rows[0]?.version;
  if (version === undefined) throw new TablesMissingError(t);
  if (version < SCHEMA_VERSION) throw new OlderSchemaError(t, version);
  if (version > SCHEMA_VERSION) throw newerSchema(t, version);
}

/** One setup per client and namespace, shared by every store and session using them. */
const setups = new OncePerClient();
/** One read-only check per client and namespace (`createIfMissing: false`); a failed one is retried. */
const checks = new OncePerClient();

/**
 * Before an operation: the lazy setup, once per client and namespace (retried after a failure);
 * with `create: false` only the read-only check, which never creates anything.
 */
export function ensureSchema(client: PostgresClient, t: Tables, timeoutMs: number, create = true): Promise<void> {
  if (!create) return checks.run(client, t.key, () => checkTables(client, t));
  return setups.run(client, t.key, () => createTables(client, t, timeoutMs));
}

/** `store.setup()`: runs now, even if done before, and is remembered as done when it succeeds. */
export function setup(client: PostgresClient, t: Tables, timeoutMs: number): Promise<void> {
  return setups.run(client, t.key, () => createTables(client, t, timeoutMs), true);
}
