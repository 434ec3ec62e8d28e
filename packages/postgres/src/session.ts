import {
  BaseSession,
  DEFAULT_OPERATION_RETENTION_SECONDS,
  type EncodedHistoryTransaction,
  type MetadataWrite,
  MissingTables,
  type SessionError,
  SessionValidationError,
  settleTransaction,
  type TransactionVerdict,
} from '@sessions/core';
import { chunk, joinItems, MAX_ITEM_BYTES, offsets } from './engine/batches.js';
import { metadataScalars } from './engine/catalog.js';
import { type Tables, tablesFor } from './engine/identifiers.js';
import { type Queries, queriesFor } from './engine/queries.js';
import { Outcome, unlessOutcome } from './engine/rollback.js';
import { transactionBoundsSql } from './engine/timeouts.js';
import { transaction } from './engine/transaction.js';
import { retryIfNeverSent } from './engine/unsent.js';
import { isMissingRelation, toPostgresSessionError } from './errors.js';
import {
  checkTtl,
  type PostgresClient,
  type PostgresSessionOptions,
  resolveClient,
  resolvePrepare,
  SESSION_OPTION_KEYS,
} from './options.js';
import { ensureSchema, TablesMissingError } from './setup.js';

/**
 * An OpenAI Agents SDK session stored in PostgreSQL: one row per item keyed by
 * (session id, per-session sequence number), and one row per session holding the next sequence
 * number, timestamps and expiry. The tables are created on first use (or by `store.setup()`),
 * unless `createIfMissing` is false: then reads of missing tables are empty and writes fail.
 * Every transaction first bounds itself on the server by `timeoutMs` (see `engine/timeouts.ts`).
 */
export class PostgresSession extends BaseSession {
  readonly #client: PostgresClient;
  readonly #tables: Tables;
  // Without createIfMissing, missing tables read as empty and fail writes naming setup().
  readonly #missingTables = new MissingTables({
    createIfMissing: this.createIfMissing,
    isMissingTable: isMissingRelation,
    explain: (cause) => new TablesMissingError(this.#tables, cause),
    isExplained: (error) => error instanceof TablesMissingError,
  });
  readonly #queries: Queries;
  readonly #prepare: boolean;
  readonly #bounds: string;

  constructor(options: PostgresSessionOptions) {
    super(options, SESSION_OPTION_KEYS);
    const client = resolveClient(options);
    if (!client) throw new SessionValidationError('PostgresSession needs a `postgres` client as `client` (or `sql`)');
    checkTtl(this.ttlSeconds);
    this.#client = client;
    this.#tables = tablesFor(options.schema, options.tablePrefix);
    this.#queries = queriesFor(this.#tables);
    this.#prepare = resolvePrepare(options.prepare);
    this.#bounds = transactionBoundsSql(this.timeoutMs);
  }

  protected readItems(limit: number | undefined): Promise<string[]> {
    return this.#missingTables.read(() => this.#readItems(limit), []);
  }

  async #readItems(limit: number | undefined): Promise<string[]> {
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

  protected appendItems(items: string[]): Promise<void> {
    return this.#missingTables.write(() => this.#appendItems(items));
  }

  async #appendItems(items: string[]): Promise<void> {
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
    await transaction(this.#client, (tx) => [
      this.#bound(tx),
      ...chunks.map((part, i) =>
        this.#query(tx, i === 0 ? this.#queries.append : this.#queries.appendMore, [
          this.sessionId,
          joinItems(part),
          ttl,
          part.length,
        ]),
      ),
    ]);
  }

  protected popLastItem(): Promise<string | undefined> {
    return this.#missingTables.read(() => this.#popLastItem(), undefined);
  }

  async #popLastItem(): Promise<string | undefined> {
    await this.#ready();
    const popped = await transaction(this.#client, async (sql) => {
      const [, , rows] = await Promise.all([
        this.#bound(sql),
        this.#query(sql, this.#queries.lock, [this.sessionId]),
        this.#query<{ item: string }>(sql, this.#queries.pop, [this.sessionId, this.#ttl()]),
      ]);
      const item = rows[0]?.item;
      // Nothing to pop: roll back, so that the lock never leaves a row behind.
      if (item === undefined) throw new Outcome(undefined);
      return item;
    }).catch(unlessOutcome<undefined>);
    return popped ?? undefined;
  }

  protected clearItems(): Promise<void> {
    return this.#missingTables.write(() => this.#clearItems());
  }

  async #clearItems(): Promise<void> {
    await this.#ready();
    await transaction(this.#client, async (sql) => {
      const [, inserted, cleared] = await Promise.all([
        this.#bound(sql),
        this.#query<{ inserted: boolean }>(sql, this.#queries.lock, [this.sessionId]),
        this.#query(sql, this.#queries.clear, [this.sessionId, this.#ttl()]),
      ]);
      // Nothing to clear (no session, or an expired one): roll back, so that the catalog gains
      // no entry and an expired session's updatedAt does not move.
      if (inserted.length > 0 || cleared.length === 0) throw new Outcome(undefined);
    }).catch(unlessOutcome<undefined>);
  }

  protected commitTransaction(tx: EncodedHistoryTransaction): Promise<void> {
    return this.#missingTables.write(() => this.#commitTransaction(tx));
  }

  async #commitTransaction(tx: EncodedHistoryTransaction): Promise<void> {
    await this.#ready();
    const total = tx.replacement.length;
    const [first = [], ...rest] = chunk(tx.replacement);
    const verdict = await transaction(this.#client, async (sql) => {
      const [, ...results] = await Promise.all([
        this.#bound(sql),
        this.#query(sql, this.#queries.reserve, [this.sessionId, total, this.#ttl(), total - tx.expectedSuffix.length]),
        this.#query<{ verdict: TransactionVerdict }>(sql, this.#queries.transaction, [
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
      const outcome = (results[1] as { verdict: TransactionVerdict }[])[0]?.verdict;
      // Anything but "applied" rolls the whole transaction back: history stays untouched.
      if (outcome !== 'applied') throw new Outcome(outcome);
      return outcome;
    }).catch(unlessOutcome<TransactionVerdict | undefined>);
    settleTransaction(verdict as TransactionVerdict, tx.operationId);
  }

  protected replaceAllItems(items: string[]): Promise<void> {
    return this.#missingTables.write(() => this.#replaceAllItems(items));
  }

  async #replaceAllItems(items: string[]): Promise<void> {
    await this.#ready();
    const total = items.length;
    const chunks = chunk(items);
    await transaction(this.#client, (sql) => [
      this.#bound(sql),
      this.#query(sql, this.#queries.reserveAll, [this.sessionId, total, this.#ttl()]),
      ...offsets(0, chunks.length > 0 ? chunks : [[]]).map(([offset, part]) =>
        this.#query(sql, this.#queries.replaceChunk, [this.sessionId, total, offset, joinItems(part)]),
      ),
    ]);
  }

  protected readMetadata(): Promise<{ text: string; version: number } | undefined> {
    return this.#missingTables.read(() => this.#readMetadata(), undefined);
  }

  async #readMetadata(): Promise<{ text: string; version: number } | undefined> {
    await this.#ready();
    const [row] = await this.#query<{ text: string; version: number }>(this.#client, this.#queries.readMetadata, [
      this.sessionId,
    ]);
    return row && { text: row.text, version: Number(row.version) };
  }

  protected async writeMetadata(update: MetadataWrite): Promise<boolean> {
    let stored = false;
    await this.#missingTables.write(async () => {
      stored = await this.#writeMetadata(update);
    });
    return stored;
  }

  /** One statement either way (see `engine/catalog.ts`): the row lock is held only while it runs. */
  async #writeMetadata(update: MetadataWrite): Promise<boolean> {
    await this.#ready();
    const scalars = metadataScalars(Object.entries(update.metadata));
    const rows =
      update.expectedVersion === 0
        ? await this.#query(this.#client, this.#queries.writeFirstMetadata, [
            this.sessionId,
            this.#ttl(),
            update.text,
            scalars,
          ])
        : await this.#query(this.#client, this.#queries.writeNextMetadata, [
            this.sessionId,
            this.#ttl(),
            update.text,
            scalars,
            update.expectedVersion,
          ]);
    return rows.length > 0;
  }

  /** Items over {@link MAX_ITEM_BYTES} are refused by the base class before any I/O. */
  protected override get maxItemBytes(): number {
    return MAX_ITEM_BYTES;
  }

  /** Core's deadline and error mapping around each primitive, which repeats what was never sent. */
  protected override run<T>(operation: string, primitive: () => Promise<T>): Promise<T> {
    return super.run(operation, () => retryIfNeverSent(primitive));
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    return toPostgresSessionError(operation, error);
  }

  #ready(): Promise<void> {
    return ensureSchema(this.#client, this.#tables, this.timeoutMs, this.createIfMissing);
  }

  /** The transaction's server-side bounds (`SET LOCAL`), pipelined before its first statement. */
  #bound(sql: Pick<PostgresClient, 'unsafe'>): Promise<unknown> {
    return this.#query(sql, this.#bounds, []);
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
