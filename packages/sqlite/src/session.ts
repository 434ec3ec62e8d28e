import type { Client, InArgs, InStatement, ResultSet } from '@libsql/client';
import {
  BaseSession,
  type BaseSessionOptions,
  DEFAULT_OPERATION_RETENTION_SECONDS,
  type EncodedHistoryTransaction,
  isConnectionError,
  SessionClosedError,
  SessionConflictError,
  SessionConnectionError,
  type SessionError,
  SessionStorageError,
  SessionValidationError,
} from '@sessions/core';
import { retryBusy } from './retry.js';
import { ensureSchema, type SchemaNames, schemaNames } from './schema.js';

/**
 * SQLite's default `SQLITE_MAX_LENGTH`: the largest string a value can hold, in bytes. An
 * item over it is refused before anything is written.
 */
export const SQLITE_MAX_ITEM_BYTES = 1_000_000_000;

/** Rows per multi-row INSERT: 2 bound values each, under the historical limit of 999 variables. */
const INSERT_CHUNK = 400;

/** How many other expired sessions a write removes on the way (bounded, usually none). */
const SWEEP_LIMIT = 2;

export interface SqliteSessionOptions extends BaseSessionOptions {
  /**
   * A `@libsql/client` `Client` (`createClient({ url })`), or a function returning one, called
   * on first use. The session never closes it.
   */
  client: Client | (() => Client);
  /** Prefix of the table names (letters, digits, `_`). Default `agents_`. */
  tablePrefix?: string;
}

/**
 * A conversation history in SQLite / libSQL: one row per item keyed by (session, sequence),
 * one row per session holding the next sequence number and the expiry. Every primitive is a
 * single statement or a single `BEGIN IMMEDIATE` batch: one round trip, atomic, serialised
 * against writers in other processes by SQLite's write lock.
 */
export class SqliteSession extends BaseSession {
  /** SQLite's default maximum string length; core refuses bigger items before any I/O. */
  protected override get maxItemBytes(): number {
    return SQLITE_MAX_ITEM_BYTES;
  }
  readonly #client: () => Client;
  readonly #names: SchemaNames;

  constructor(options: SqliteSessionOptions) {
    super(options);
    const client = options.client;
    if (typeof client === 'function') this.#client = client;
    else if (isClient(client)) this.#client = () => client;
    else throw new SessionValidationError('client must be a @libsql/client Client (or a function returning one)');
    this.#names = schemaNames(options.tablePrefix);
  }

  /** Opens the client if needed and makes sure the tables exist (once per client and prefix). */
  async #ready(): Promise<Client> {
    const client = this.#client();
    await ensureSchema(client, this.#names);
    return client;
  }

  async #execute(sql: string, args: InArgs): Promise<ResultSet> {
    const client = await this.#ready();
    return retryBusy(client, () => client.execute({ sql, args }));
  }

  async #write(statements: InStatement[]): Promise<ResultSet[]> {
    const client = await this.#ready();
    return retryBusy(client, () => client.batch(statements, 'write'));
  }

  #expiresAt(now: number): number | null {
    const ttl = this.ttlMs;
    return ttl === undefined ? null : now + ttl;
  }

  /**
   * First statements of every write: drop this session if it has expired (the trigger takes its
   * items and operation ids along, so a write after expiry starts a fresh history), and sweep
   * at most {@link SWEEP_LIMIT} other expired sessions so that expired data does not linger.
   */
  #purgeExpired(now: number): InStatement[] {
    const { sessions } = this.#names;
    return [
      {
        sql: `DELETE FROM ${sessions} WHERE session_id = ? AND expires_at <= ?`,
        args: [this.sessionId, now],
      },
      {
        sql: `DELETE FROM ${sessions} WHERE session_id IN (SELECT session_id FROM ${sessions} WHERE expires_at <= ? LIMIT ${SWEEP_LIMIT})`,
        args: [now],
      },
    ];
  }

  /**
   * Reserves `count` sequence numbers on the session row (creating it if needed) and slides its
   * expiry. The items inserted next compute their numbers from the reserved range in SQL.
   */
  #reserve(count: number, now: number, guard?: Guard): InStatement {
    const { sessions } = this.#names;
    const values = [this.sessionId, count, now, now, this.#expiresAt(now)];
    const upsert = `ON CONFLICT (session_id) DO UPDATE SET
        next_seq = next_seq + excluded.next_seq,
        updated_at = excluded.updated_at,
        expires_at = excluded.expires_at`;
    if (!guard) {
      return {
        sql: `INSERT INTO ${sessions} (session_id, next_seq, created_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?) ${upsert}`,
        args: values,
      };
    }
    return {
      sql: `INSERT INTO ${sessions} (session_id, next_seq, created_at, updated_at, expires_at)
        SELECT ?, ?, ?, ?, ? WHERE ${guard.sql} ${upsert}`,
      args: [...values, ...guard.args],
    };
  }

  /**
   * Inserts `items` with the sequence numbers reserved by {@link #reserve} just before, in the
   * same transaction: item `k` of `n` gets `next_seq - n + k`. Several statements when the
   * batch is large, all in the one transaction.
   */
  #insert(items: string[], guard?: Guard): InStatement[] {
    const { sessions, items: table } = this.#names;
    const statements: InStatement[] = [];
    for (let start = 0; start < items.length; start += INSERT_CHUNK) {
      const chunk = items.slice(start, start + INSERT_CHUNK);
      const args: (string | number)[] = [items.length];
      for (const [i, text] of chunk.entries()) args.push(start + i, text);
      args.push(this.sessionId, ...(guard?.args ?? []));
      statements.push({
        sql: `INSERT INTO ${table} (session_id, seq, item)
          SELECT s.session_id, s.next_seq - ? + v.column1, v.column2
          FROM ${sessions} AS s, (VALUES ${chunk.map(() => '(?, ?)').join(', ')}) AS v
          WHERE s.session_id = ?${guard ? ` AND ${guard.sql}` : ''}`,
        args,
      });
    }
    return statements;
  }

  protected async readItems(limit: number | undefined): Promise<string[]> {
    const { sessions, items } = this.#names;
    const live = `NOT EXISTS (SELECT 1 FROM ${sessions} WHERE session_id = ? AND expires_at <= ?)`;
    const now = Date.now();
    if (limit === undefined) {
      const result = await this.#execute(`SELECT item FROM ${items} WHERE session_id = ? AND ${live} ORDER BY seq`, [
        this.sessionId,
        this.sessionId,
        now,
      ]);
      return result.rows.map((row) => row[0] as string);
    }
    const result = await this.#execute(
      `SELECT item FROM ${items} WHERE session_id = ? AND ${live} ORDER BY seq DESC LIMIT ?`,
      [this.sessionId, this.sessionId, now, limit],
    );
    return result.rows.map((row) => row[0] as string).reverse();
  }

  protected async appendItems(items: string[]): Promise<void> {
    const now = Date.now();
    await this.#write([...this.#purgeExpired(now), this.#reserve(items.length, now), ...this.#insert(items)]);
  }

  protected async popLastItem(): Promise<string | undefined> {
    const { sessions, items } = this.#names;
    const now = Date.now();
    const results = await this.#write([
      ...this.#purgeExpired(now),
      {
        sql: `DELETE FROM ${items} WHERE session_id = ? AND seq = (SELECT max(seq) FROM ${items} WHERE session_id = ?) RETURNING item`,
        args: [this.sessionId, this.sessionId],
      },
      // A pop is a write: it slides the expiry, but only when it removed something.
      {
        sql: `UPDATE ${sessions} SET updated_at = ?, expires_at = ? WHERE session_id = ? AND changes() > 0`,
        args: [now, this.#expiresAt(now), this.sessionId],
      },
    ]);
    const popped = results.at(-2)?.rows[0];
    return popped === undefined ? undefined : (popped[0] as string);
  }

  protected async clearItems(): Promise<void> {
    // The trigger removes the items and operation ids in the same statement. A write batch, not a
    // bare statement: on a connection where libsql left a busy statement in progress
    // (libsql-client-ts#352) an autocommit statement "succeeds" with its commit deferred and is
    // then rolled back, whereas the batch's COMMIT fails (busy) and is retried.
    await this.#write([{ sql: `DELETE FROM ${this.#names.sessions} WHERE session_id = ?`, args: [this.sessionId] }]);
  }

  /**
   * One write batch, no error raised from SQL. The deciding statement records the operation id
   * with a fresh nonce only if the id is not already recorded and the newest rows equal the
   * expected suffix (compared in SQL, text to text). Every later statement is guarded by
   * "this id carries my nonce", so when the decision was no, nothing else changes. The last
   * statement reads the operation row back, which tells applied / replay / conflict apart.
   */
  protected async commitTransaction(tx: EncodedHistoryTransaction): Promise<void> {
    const { items, operations } = this.#names;
    const now = Date.now();
    const nonce = globalThis.crypto.randomUUID();
    const k = tx.expectedSuffix.length;
    const id = this.sessionId;
    const guard: Guard = {
      sql: `EXISTS (SELECT 1 FROM ${operations} WHERE session_id = ? AND operation_id = ? AND nonce = ?)`,
      args: [id, tx.operationId, nonce],
    };
    const suffixMatches =
      k === 0
        ? { sql: '1', args: [] }
        : {
            sql: `(SELECT count(*) FROM (
                SELECT item, row_number() OVER (ORDER BY seq DESC) AS rn
                FROM (SELECT seq, item FROM ${items} WHERE session_id = ? ORDER BY seq DESC LIMIT ?)
              ) AS cur JOIN json_each(?) AS e ON e.key = ? - cur.rn AND e.value = cur.item) = ?`,
            args: [id, k, JSON.stringify(tx.expectedSuffix), k, k],
          };
    const statements: InStatement[] = [
      ...this.#purgeExpired(now),
      {
        sql: `DELETE FROM ${operations} WHERE session_id = ? AND created_at <= ?`,
        args: [id, now - DEFAULT_OPERATION_RETENTION_SECONDS * 1000],
      },
      {
        sql: `INSERT INTO ${operations} (session_id, operation_id, fingerprint, created_at, nonce)
          SELECT ?, ?, ?, ?, ? WHERE ${suffixMatches.sql}
          ON CONFLICT (session_id, operation_id) DO NOTHING`,
        args: [id, tx.operationId, tx.fingerprint, now, nonce, ...suffixMatches.args],
      },
    ];
    if (k > 0) {
      statements.push({
        sql: `DELETE FROM ${items} WHERE session_id = ? AND seq >= (
            SELECT min(seq) FROM (SELECT seq FROM ${items} WHERE session_id = ? ORDER BY seq DESC LIMIT ?)
          ) AND ${guard.sql}`,
        args: [id, id, k, ...guard.args],
      });
    }
    statements.push(this.#reserve(tx.replacement.length, now, guard), ...this.#insert(tx.replacement, guard), {
      sql: `SELECT fingerprint, nonce FROM ${operations} WHERE session_id = ? AND operation_id = ?`,
      args: [id, tx.operationId],
    });
    const results = await this.#write(statements);
    const recorded = results.at(-1)?.rows[0];
    if (recorded?.nonce === nonce) return;
    if (recorded === undefined) {
      throw new SessionConflictError('suffix_mismatch', 'The history no longer ends with the expected suffix');
    }
    if (recorded.fingerprint === tx.fingerprint) return;
    throw new SessionConflictError(
      'operation_id_reused',
      `operationId ${JSON.stringify(tx.operationId)} was already used for a different transaction`,
    );
  }

  protected async replaceAllItems(items: string[]): Promise<void> {
    const now = Date.now();
    await this.#write([
      ...this.#purgeExpired(now),
      { sql: `DELETE FROM ${this.#names.items} WHERE session_id = ?`, args: [this.sessionId] },
      this.#reserve(items.length, now),
      ...this.#insert(items),
    ]);
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    return toSessionError(operation, error);
  }
}

/** Maps what `@libsql/client` throws onto the core hierarchy. */
export function toSessionError(operation: string, error: unknown): SessionError {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'CLIENT_CLOSED') return new SessionClosedError('The libSQL client is closed');
  if (code === 'HRANA_WEBSOCKET_ERROR' || code === 'HRANA_CLOSED_ERROR' || isConnectionError(error)) {
    return new SessionConnectionError(operation, error);
  }
  if (typeof code === 'string' && code.startsWith('URL_')) {
    return new SessionValidationError(`${operation} failed: ${(error as Error).message}`);
  }
  return new SessionStorageError(operation, error);
}

interface Guard {
  sql: string;
  args: (string | number)[];
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
