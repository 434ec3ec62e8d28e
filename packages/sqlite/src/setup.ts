import type { Client } from '@libsql/client';
import { OncePerClient } from '@sessions/core';
import { retryBusy } from './engine/busy-retry.js';
import { SCHEMA_VERSION, type SchemaNames, schemaStatements } from './engine/schema.js';

/** Clients whose database the library should switch to WAL (file clients a store opened itself). */
const walClients = new WeakSet<Client>();

export function enableWalFor(client: Client): void {
  walClients.add(client);
}

const ready = new OncePerClient();

/**
 * Creates (or checks) the schema of `names` on `client`, once per client and prefix in this
 * process: `store.setup()` and every first operation share one promise (a failed attempt is
 * forgotten, so the next call tries again). Errors leave unmapped; the caller's mapping names
 * the public operation (`setup`, or the session operation that needed the tables).
 */
export function ensureSchema(client: Client, names: SchemaNames): Promise<void> {
  return ready.run(client, names.prefix, () => createSchema(client, names));
}

async function createSchema(client: Client, names: SchemaNames): Promise<void> {
  if (walClients.has(client)) {
    // Outside any transaction (SQLite cannot change the journal mode inside one). The mode is
    // stored in the file, so this is a no-op once any process has done it. `executeMultiple`
    // finalises the statement even when it fails, unlike `execute` (see engine/busy-retry.ts).
    await retryBusy(client, () => client.executeMultiple('PRAGMA journal_mode = WAL'));
  }
  const results = await retryBusy(client, () => client.batch(schemaStatements(names, Date.now()), 'write'));
  const version = Number(results.at(-1)?.rows[0]?.version);
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `the ${names.prefix}* tables have schema version ${version}, written by a newer @sessions/sqlite; ` +
        `this release understands up to version ${SCHEMA_VERSION}. Upgrade the package.`,
    );
  }
  // Version 1 is the first layout: there is nothing to migrate from yet. A later release adds
  // its steps here, keyed on `version`, inside one write batch.
}
