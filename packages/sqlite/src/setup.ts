import type { Client } from '@libsql/client';
import { OncePerClient } from '@sessions/core';
import { type Deadline, deadlineIn, retryBusy } from './engine/busy-retry.js';
import { migrationStatements, SCHEMA_VERSION, type SchemaNames, schemaStatements } from './engine/schema.js';

/** Clients whose database the library should switch to WAL (file clients a store opened itself). */
const walClients = new WeakSet<Client>();

export function enableWalFor(client: Client): void {
  walClients.add(client);
}

/**
 * `createIfMissing: false` and the tables (or the database file) do not exist. Reads treat this
 * as empty; writes and `setup()` fail with it, mapped to `SessionStorageError` by errors.ts.
 */
export class SchemaMissing extends Error {
  constructor(names: SchemaNames, what = `the ${names.prefix}* tables do not exist`) {
    super(
      `${what} and createIfMissing is false, so nothing is created: run setup() from a store with ` +
        'createIfMissing: true (the default) first',
    );
    this.name = 'SchemaMissing';
  }
}

const ready = new OncePerClient();
const found = new OncePerClient();

/**
 * Makes sure the schema of `names` is there before `client` is used, once per client and prefix
 * in this process: `store.setup()` and every first operation share one promise (a failed attempt
 * is forgotten, so the next call tries again). With `create` (a store's `createIfMissing`, true by
 * default) the tables are created if missing; without, they are only looked for, and
 * {@link SchemaMissing} is thrown when they are not there (nothing is created, not even the WAL
 * mode). Errors leave unmapped; the caller's mapping names the public operation (`setup`, or the
 * session operation that needed the tables). Lock waits end after `timeoutMs`.
 */
export function ensureSchema(client: Client, names: SchemaNames, create: boolean, timeoutMs: number): Promise<void> {
  return create
    ? ready.run(client, names.prefix, () => createSchema(client, names, timeoutMs))
    : found.run(client, names.prefix, () => findSchema(client, names, timeoutMs));
}

async function createSchema(client: Client, names: SchemaNames, timeoutMs: number): Promise<void> {
  const deadline = deadlineIn(timeoutMs);
  if (walClients.has(client)) {
    // Outside any transaction (SQLite cannot change the journal mode inside one). The mode is
    // stored in the file, so this is a no-op once any process has done it. `executeMultiple`
    // finalises the statement even when it fails, unlike `execute` (see engine/busy-retry.ts).
    await retryBusy(client, () => client.executeMultiple('PRAGMA journal_mode = WAL'), deadline);
  }
  const results = await retryBusy(client, () => client.batch(schemaStatements(names, Date.now()), 'write'), deadline);
  const version = checkVersion(names, results.at(-1)?.rows[0]?.version);
  if (version < SCHEMA_VERSION) await migrate(client, names, deadline);
}

/**
 * Upgrades tables written by the previous release (version 1) to the catalog layout, in one write
 * batch. Several processes may try at once: SQLite serialises the batches, the first one applies,
 * the others fail on the columns it added and roll back; each then reads the version again.
 */
async function migrate(client: Client, names: SchemaNames, deadline: Deadline): Promise<void> {
  try {
    await retryBusy(client, () => client.batch(migrationStatements(names, Date.now()), 'write'), deadline);
  } catch (error) {
    const now = await retryBusy(
      client,
      () => client.execute(`SELECT version FROM ${names.schema} WHERE id = 1`),
      deadline,
    );
    if (Number(now.rows[0]?.version) < SCHEMA_VERSION) throw error;
  }
}

/** `createIfMissing: false`: reads what is there, creates nothing. */
async function findSchema(client: Client, names: SchemaNames, timeoutMs: number): Promise<void> {
  const deadline = deadlineIn(timeoutMs);
  const unquote = (quoted: string) => quoted.slice(1, -1);
  const tables = [names.schema, names.sessions, names.items, names.operations].map(unquote);
  const listed = await retryBusy(
    client,
    () =>
      client.execute({
        sql: `SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN (?, ?, ?, ?)`,
        args: tables,
      }),
    deadline,
  );
  // The schema batch creates all four in one transaction: fewer means setup() never ran here.
  if (Number(listed.rows[0]?.n) !== tables.length) throw new SchemaMissing(names);
  const version = await retryBusy(
    client,
    () => client.execute(`SELECT version FROM ${names.schema} WHERE id = 1`),
    deadline,
  );
  if (checkVersion(names, version.rows[0]?.version) < SCHEMA_VERSION) {
    // Upgrading is a change of layout, which createIfMissing: false promises not to make.
    throw new Error(
      `the ${names.prefix}* tables have schema version ${Number(version.rows[0]?.version)}, from an earlier ` +
        `@sessions/sqlite; run setup() once from a store with createIfMissing: true to upgrade them to version ${SCHEMA_VERSION}`,
    );
  }
}

/** The stored version, refused when a newer release wrote it. */
function checkVersion(names: SchemaNames, stored: unknown): number {
  const version = Number(stored);
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `the ${names.prefix}* tables have schema version ${version}, written by a newer @sessions/sqlite; ` +
        `this release understands up to version ${SCHEMA_VERSION}. Upgrade the package.`,
    );
  }
  return version;
}
