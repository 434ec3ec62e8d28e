import type { Client, InStatement, ResultSet } from '@libsql/client';
import {
  BaseSession,
  type EncodedHistoryTransaction,
  type MetadataWrite,
  type SessionError,
  SessionValidationError,
  settleTransaction,
} from '@sessions/core';
import { deadlineIn, retryBusy } from './engine/busy-retry.js';
import { isAbandoned, watchRemote } from './engine/remote.js';
import { type SchemaNames, schemaNames } from './engine/schema.js';
import { metadataWritten, poppedItem, SessionStatements, transactionVerdict } from './engine/statements.js';
import { toSqliteSessionError } from './errors.js';
import { SESSION_OPTION_KEYS, type SqliteSessionOptions } from './options.js';
import { ensureSchema, SchemaMissing } from './setup.js';

/**
 * SQLite's default `SQLITE_MAX_LENGTH`: the largest string a value can hold, in bytes. An
 * item over it is refused before anything is written.
 */
export const SQLITE_MAX_ITEM_BYTES = 1_000_000_000;

/**
 * A conversation history in SQLite / libSQL: one row per item keyed by (session, sequence),
 * one row per session holding the next sequence number, the expiry and the catalog entry (dates,
 * item count, metadata; engine/catalog.ts lists them). Every primitive is a
 * single statement or a single `BEGIN IMMEDIATE` batch (engine/statements.ts): one round trip,
 * atomic, serialised against writers in other processes by SQLite's write lock. Waiting for that
 * lock happens in JavaScript (engine/busy-retry.ts) and ends at the session's `timeoutMs`.
 */
export class SqliteSession extends BaseSession {
  /** SQLite's default maximum string length; core refuses bigger items before any I/O. */
  protected override get maxItemBytes(): number {
    return SQLITE_MAX_ITEM_BYTES;
  }
  readonly #client: () => Client;
  readonly #names: SchemaNames;
  readonly #sql: SessionStatements;

  constructor(options: SqliteSessionOptions) {
    super(options, SESSION_OPTION_KEYS);
    const client = options.client;
    if (typeof client === 'function') this.#client = client;
    else if (isClient(client)) this.#client = () => client;
    else throw new SessionValidationError('client must be a @libsql/client Client (or a function returning one)');
    this.#names = schemaNames(options.tablePrefix);
    this.#sql = new SessionStatements(this.#names, this.sessionId);
  }

  /**
   * Opens the client if needed, makes sure the tables exist (once per client and prefix), then
   * runs `work`, retrying lock conflicts until the deadline. When `createIfMissing` is false and
   * the tables (or the file) are not there, nothing is created: the result is `missing(error)`.
   */
  async #call<T>(work: (client: Client) => Promise<T>, missing: (error: SchemaMissing) => T): Promise<T> {
    const started = Date.now();
    const deadline = deadlineIn(this.timeoutMs);
    let client: Client;
    try {
      client = this.#client();
    } catch (error) {
      if (error instanceof SchemaMissing) return missing(error);
      throw error;
    }
    const call = async (): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          await ensureSchema(client, this.#names, this.createIfMissing, this.timeoutMs);
          break;
        } catch (error) {
          if (error instanceof SchemaMissing) return missing(error);
          // The schema check this call joined belonged to an operation that timed out, and was
          // ended with it (engine/remote.ts): check again, on this call's own time.
          if (!(isAbandoned(client, started, error) && attempt < 3 && Date.now() < deadline.at)) throw error;
        }
      }
      return retryBusy(client, () => work(client), deadline);
    };
    return watchRemote(client, this.timeoutMs, call());
  }

  #execute(statement: InStatement): Promise<ResultSet | undefined> {
    return this.#call(
      (client) => client.execute(statement),
      () => undefined,
    );
  }

  /** A write batch; with nothing to write to (createIfMissing: false) it fails, or gives `ifMissing`. */
  #write(statements: InStatement[], ifMissing?: () => ResultSet[]): Promise<ResultSet[]> {
    return this.#call(
      (client) => client.batch(statements, 'write'),
      (error) => {
        if (ifMissing) return ifMissing();
        throw error;
      },
    );
  }

  #expiresAt(now: number): number | null {
    const ttl = this.ttlMs;
    return ttl === undefined ? null : now + ttl;
  }

  protected async readItems(limit: number | undefined): Promise<string[]> {
    const result = await this.#execute(this.#sql.read(limit, Date.now()));
    if (result === undefined) return [];
    const texts = result.rows.map((row) => row[0] as string);
    return limit === undefined ? texts : texts.reverse();
  }

  protected async appendItems(items: string[]): Promise<void> {
    const now = Date.now();
    await this.#write(this.#sql.append(items, now, this.#expiresAt(now)));
  }

  protected async popLastItem(): Promise<string | undefined> {
    const now = Date.now();
    // Nothing to pop from when the tables do not exist (createIfMissing: false).
    return poppedItem(await this.#write(this.#sql.pop(now, this.#expiresAt(now)), () => []));
  }

  protected async clearItems(): Promise<void> {
    const now = Date.now();
    // A write batch rather than a bare statement: on a connection where libsql left a busy
    // statement in progress (libsql-client-ts#352) an autocommit statement "succeeds" with its
    // commit deferred and is then rolled back, whereas the batch's COMMIT fails (busy) and is retried.
    await this.#write(this.#sql.clear(now, this.#expiresAt(now)));
  }

  protected async readMetadata(): Promise<{ text: string; version: number } | undefined> {
    const row = (await this.#execute(this.#sql.readMetadata(Date.now())))?.rows[0];
    if (row === undefined) return undefined;
    return { text: (row[0] as string | null) ?? '', version: Number(row[1]) };
  }

  /** One write batch: the compare-and-set, the new `updated_at` and the slid TTL together. */
  protected async writeMetadata(update: MetadataWrite): Promise<boolean> {
    const now = Date.now();
    const results = await this.#write(
      this.#sql.writeMetadata(update.expectedVersion, update.text, now, this.#expiresAt(now)),
    );
    return metadataWritten(results);
  }

  /** One write batch decides and applies; the row it reads back gives core's verdict. */
  protected async commitTransaction(tx: EncodedHistoryTransaction): Promise<void> {
    const now = Date.now();
    const nonce = globalThis.crypto.randomUUID();
    const results = await this.#write(this.#sql.transaction(tx, nonce, now, this.#expiresAt(now)));
    settleTransaction(transactionVerdict(results.at(-1)?.rows[0], nonce, tx.fingerprint), tx.operationId);
  }

  protected async replaceAllItems(items: string[]): Promise<void> {
    const now = Date.now();
    await this.#write(this.#sql.replace(items, now, this.#expiresAt(now)));
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    return toSqliteSessionError(operation, error);
  }
}

function isClient(value: unknown): value is Client {
  const candidate = value as Partial<Client> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.execute === 'function' &&
    typeof candidate.batch === 'function'
  );
}
