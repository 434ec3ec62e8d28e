import {
  BaseSession,
  type BaseSessionOptions,
  DEFAULT_OPERATION_RETENTION_SECONDS,
  type EncodedHistoryTransaction,
  SessionConflictError,
  type SessionError,
  SessionValidationError,
} from '@sessions/core';
import { type PostgresClient, toSessionError } from './client.js';
import { ensureSchema } from './schema.js';
import { joinItems, type Queries, queriesFor, type Tables, tablesFor } from './sql.js';

/**
 * Largest item, in UTF-8 bytes of its canonical JSON. A `text` value can hold 1 GB, but an item
 * travels in one protocol message (PostgreSQL caps a message at 1 GB), the server holds the
 * batch parameter and its split copy at once, and it comes back as one JavaScript string.
 * 256 MiB keeps every path well inside those limits.
 */
export const MAX_ITEM_BYTES = 256 * 1024 * 1024;

/**
 * Items are sent in chunks of at most this many UTF-16 code units (≤ 48 MiB of UTF-8) per
 * statement; a batch that needs several chunks is written in one transaction.
 */
export const CHUNK_CHARS = 16 * 1024 * 1024;

/** TTLs above this are refused: `now() + ttl` must stay a valid timestamp. */
const MAX_TTL_SECONDS = 100 * 365 * 24 * 60 * 60;

/** Options shared by `PostgresSession` and `PostgresSessionStore`. */
export interface PostgresNamespaceOptions {
  /** PostgreSQL schema of the tables (default `public`). Letters, digits and `_` only. */
  schema?: string;
  /** Prefix of the table names (default `agent_`). Letters, digits and `_` only, ≤ 48 chars. */
  tablePrefix?: string;
  /**
   * `false` runs every statement unprepared (unnamed), as transaction-mode poolers (PgBouncer,
   * Supabase's pooler, Neon's pooled endpoint) require. Default `true`. A client you pass in can
   * also disable preparing itself with `postgres(url, { prepare: false })`, which always wins.
   */
  prepare?: boolean;
}

export interface PostgresSessionOptions extends BaseSessionOptions, PostgresNamespaceOptions {
  /** Your `postgres` client (`const sql = postgres(url)`). The session never ends it. */
  client?: PostgresClient;
  /** Alias of `client`. */
  sql?: PostgresClient;
}

/**
 * An OpenAI Agents SDK session stored in PostgreSQL: one row per item keyed by
 * (session id, per-session sequence number), and one row per session holding the next sequence
 * number, timestamps and expiry. The tables are created on first use (or by `store.migrate()`).
 */
export class PostgresSession extends BaseSession {
  readonly #client: PostgresClient;
  readonly #tables: Tables;
  readonly #queries: Queries;
  readonly #prepare: boolean;

  constructor(options: PostgresSessionOptions) {
    super(options);
    const client = resolveClient(options);
    if (!client) throw new SessionValidationError('PostgresSession needs a `postgres` client as `client` (or `sql`)');
    checkTtl(this.ttlSeconds);
    this.#client = client;
    this.#tables = tablesFor(options.schema, options.tablePrefix);
    this.#queries = queriesFor(this.#tables);
    this.#prepare = resolvePrepare(options.prepare);
  }

  protected async readItems(limit: number | undefined): Promise<string[]> {
    await this.#ready();
    if (limit === undefined) {
      const rows = await this.#query<{ item: string }>(this.#client, this.#queries.readAll, [this.sessionId]);
      return rows.map((row) => row.item);
    }
    const rows = await this.#query<{ item: string }>(this.#client, this.#queries.readNewest, [this.sessionId, limit]);
    const items = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) items[rows.length - 1 - i] = (rows[i] as { item: string }).item;
    return items;
  }

  protected async appendItems(items: string[]): Promise<void> {
    await this.#ready();
    const chunks = chunk(items);
    const ttl = this.#ttl();
    if (chunks.length === 1) {
      await this.#query(this.#client, this.#queries.append, [this.sessionId, joinItems(items), ttl, items.length]);
      return;
    }
    // A batch too big for one statement: one statement per chunk, in one transaction. The first
    // one takes the session row lock and decides expiry, so the chunks' ranges are contiguous;
    // the others only extend that history (`appendMore` never judges expiry again).
    await this.#client.begin((tx) =>
      chunks.map((part, i) =>
        this.#query(tx, i === 0 ? this.#queries.append : this.#queries.appendMore, [
          this.sessionId,
          joinItems(part),
          ttl,
          part.length,
        ]),
      ),
    );
  }

  protected async popLastItem(): Promise<string | undefined> {
    await this.#ready();
    const popped = await this.#client
      .begin(async (sql) => {
        const [, rows] = await Promise.all([
          this.#query(sql, this.#queries.lock, [this.sessionId]),
          this.#query<{ item: string }>(sql, this.#queries.pop, [this.sessionId, this.#ttl()]),
        ]);
        const item = rows[0]?.item;
        // Nothing to pop: roll back, so that the lock never leaves a row behind.
        if (item === undefined) throw new Outcome(undefined);
        return item;
      })
      .catch(unlessOutcome);
    return popped ?? undefined;
  }

  protected async clearItems(): Promise<void> {
    await this.#ready();
    await this.#client.begin((sql) => [
      this.#query(sql, this.#queries.lock, [this.sessionId]),
      this.#query(sql, this.#queries.clear, [this.sessionId]),
    ]);
  }

  protected async commitTransaction(tx: EncodedHistoryTransaction): Promise<void> {
    await this.#ready();
    const total = tx.replacement.length;
    const [first = [], ...rest] = chunk(tx.replacement);
    const verdict = await this.#client
      .begin(async (sql) => {
        const results = await Promise.all([
          this.#query(sql, this.#queries.reserve, [this.sessionId, total, this.#ttl()]),
          this.#query<{ verdict: string }>(sql, this.#queries.transaction, [
            this.sessionId,
            tx.operationId,
            tx.fingerprint,
            joinItems(tx.expectedSuffix),
            total,
            DEFAULT_OPERATION_RETENTION_SECONDS,
            joinItems(first),
            tx.expectedSuffix.length,
          ]),
          ...offsets(first.length, rest).map(([offset, part]) =>
            this.#query(sql, this.#queries.insertChunk, [this.sessionId, total, offset, joinItems(part)]),
          ),
        ]);
        const outcome = (results[1] as { verdict: string }[])[0]?.verdict;
        // Anything but "applied" rolls the whole transaction back: history stays untouched.
        if (outcome !== 'applied') throw new Outcome(outcome);
        return outcome;
      })
      .catch(unlessOutcome);
    if (verdict === 'applied' || verdict === 'replay') return;
    if (verdict === 'operation_id_reused') {
      throw new SessionConflictError(
        'operation_id_reused',
        `operationId ${JSON.stringify(tx.operationId)} was already used for a different transaction`,
      );
    }
    if (verdict === 'suffix_mismatch') {
      throw new SessionConflictError('suffix_mismatch', 'The history no longer ends with the expected suffix');
    }
    throw new Error(`Unexpected transaction verdict ${String(verdict)}`);
  }

  protected async replaceAllItems(items: string[]): Promise<void> {
    await this.#ready();
    const total = items.length;
    const chunks = chunk(items);
    await this.#client.begin((sql) => [
      this.#query(sql, this.#queries.reserve, [this.sessionId, total, this.#ttl()]),
      ...offsets(0, chunks.length > 0 ? chunks : [[]]).map(([offset, part]) =>
        this.#query(sql, this.#queries.replaceChunk, [this.sessionId, total, offset, joinItems(part)]),
      ),
    ]);
  }

  /** Items over {@link MAX_ITEM_BYTES} are refused by the base class before any I/O. */
  protected override get maxItemBytes(): number {
    return MAX_ITEM_BYTES;
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    return toSessionError(operation, error);
  }

  #ready(): Promise<void> {
    return ensureSchema(this.#client, this.#tables);
  }

  #ttl(): number | null {
    return this.ttlSeconds ?? null;
  }

  #query<Row extends object = { ok: number }>(
    sql: Pick<PostgresClient, 'unsafe'>,
    text: string,
    params: (string | number | null)[],
  ): Promise<Row[]> {
    return sql.unsafe<Row[]>(text, params, { prepare: this.#prepare });
  }
}

/** Thrown inside a transaction callback to roll back and report a verdict. */
class Outcome extends Error {
  constructor(readonly verdict: string | undefined) {
    super(`transaction ${String(verdict)}`);
  }
}

/** The verdict of a rolled-back {@link Outcome}; any other error is rethrown. */
function unlessOutcome(error: unknown): string | undefined {
  if (error instanceof Outcome) return error.verdict;
  throw error;
}

export function resolveClient(options: { client?: PostgresClient; sql?: PostgresClient }): PostgresClient | undefined {
  if (options.client !== undefined && options.sql !== undefined && options.client !== options.sql) {
    throw new SessionValidationError('Pass the postgres client as `client` or `sql`, not both');
  }
  const client = options.client ?? options.sql;
  if (client !== undefined && (typeof client !== 'function' || typeof client.unsafe !== 'function')) {
    throw new SessionValidationError('`client` must be a `postgres` client: const sql = postgres(url)');
  }
  return client;
}

export function resolvePrepare(prepare: unknown): boolean {
  if (prepare === undefined) return true;
  if (typeof prepare !== 'boolean') throw new SessionValidationError('prepare must be a boolean');
  return prepare;
}

/** `now() + ttl` must stay a valid timestamp: at most 100 years. */
export function checkTtl(ttlSeconds: number | undefined): void {
  if (ttlSeconds !== undefined && ttlSeconds > MAX_TTL_SECONDS) {
    throw new SessionValidationError(`ttlSeconds must be at most ${MAX_TTL_SECONDS} (100 years)`);
  }
}

/** Splits a batch into consecutive chunks of at most {@link CHUNK_CHARS} (an oversized item alone). */
function chunk(items: readonly string[]): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const item of items) {
    if (current.length > 0 && size + item.length > CHUNK_CHARS) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += item.length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Pairs each chunk with its offset in the batch, the first starting at `start`. */
function offsets(start: number, chunks: readonly string[][]): [number, string[]][] {
  let offset = start;
  return chunks.map((part) => {
    const pair: [number, string[]] = [offset, part];
    offset += part.length;
    return pair;
  });
}
