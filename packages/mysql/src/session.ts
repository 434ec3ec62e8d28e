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
import { chunks, MAX_ITEM_BYTES } from './engine/batches.js';
import { Outcome, RunAgain, type Runner, transaction, withConnection } from './engine/connection.js';
import { type Tables, tablesFor } from './engine/identifiers.js';
import { type Statements, statementsFor } from './engine/statements.js';
import { isMissingTable, toMySQLSessionError } from './errors.js';
import { checkTtl, type MySQLClient, type MySQLSessionOptions, resolveClient, SESSION_OPTION_KEYS } from './options.js';
import { ensureSchema, TablesMissingError } from './setup.js';

const RETENTION_MS = DEFAULT_OPERATION_RETENTION_SECONDS * 1000;

/** The session row as a writer sees it once locked. */
interface LockedRow {
  start: number | string;
  next: number | string;
  count: number | string;
  expired: number | string;
}

/** Where a rewrite (compaction, transaction) starts: the live history, or a fresh one. */
function historyOf(row: LockedRow) {
  const fresh = Number(row.expired) === 1;
  const next = Number(row.next);
  // An expired history restarts past every old number, so its leftovers are dead at once.
  return fresh
    ? { fresh, start: next + 1, next: next + 1, count: 0 }
    : { fresh, start: Number(row.start), next, count: Number(row.count) };
}

/**
 * An OpenAI Agents SDK session stored in MySQL or MariaDB: one row per item keyed by (session id,
 * per-session sequence number), and one row per session holding the next sequence number, the
 * catalog (count, times, metadata) and the expiry. The tables are created on first use (or by
 * `store.setup()`) unless `createIfMissing` is false: then reads of missing tables are empty and
 * writes fail. Every write locks the session row first, so one session's writers queue on it.
 */
export class MySQLSession extends BaseSession {
  readonly #pool: MySQLClient;
  readonly #tables: Tables;
  // Without createIfMissing, missing tables read as empty and fail writes naming setup().
  readonly #missingTables = new MissingTables({
    createIfMissing: this.createIfMissing,
    isMissingTable: isMissingTable,
    explain: (cause) => new TablesMissingError(this.#tables, cause),
    isExplained: (error) => error instanceof TablesMissingError,
  });
  readonly #sql: Statements;

  constructor(options: MySQLSessionOptions) {
    super(options, SESSION_OPTION_KEYS);
    const pool = resolveClient(options);
    if (!pool) throw new SessionValidationError('MySQLSession needs a mysql2 pool as `client` (or `pool`)');
    checkTtl(this.ttlSeconds);
    this.#pool = pool;
    this.#tables = tablesFor(options.tablePrefix);
    this.#sql = statementsFor(this.#tables);
  }

  protected readItems(limit: number | undefined): Promise<string[]> {
    return this.#missingTables.read(async () => {
      await this.#ready();
      const rows = await withConnection(this.#pool, this.timeoutMs, (run) =>
        limit === undefined
          ? run.rows<{ item: string }>(this.#sql.readAll, [this.sessionId])
          : run.rows<{ item: string }>(this.#sql.readNewest, [this.sessionId, String(limit)]),
      );
      const items = rows.map((row) => row.item);
      return limit === undefined ? items : items.reverse();
    }, []);
  }

  /**
   * One transaction: the reserve upsert (which also says whether a fresh history began), then the
   * batch from one JSON parameter per chunk. Four round trips (START, reserve, insert, COMMIT):
   * with multi-statement mode off, one statement cannot write two tables.
   */
  protected appendItems(items: string[]): Promise<void> {
    return this.#missingTables.write(async () => {
      await this.#ready();
      const n = items.length;
      const ttl = this.#ttl();
      await this.#transaction(false, async (run) => {
        const header = await run.write(this.#sql.reserve, [this.sessionId, n, ttl, n, n, n, ttl]);
        let packed = Number(header.insertId);
        if (!packed) packed = Number((await run.rows<{ id: number }>(this.#sql.lastInsertId, []))[0]?.id);
        const base = Math.floor(packed / 2) - n;
        if (packed % 2 === 1) {
          // The history had expired: its rows are dead already; delete them with this write.
          await run.write(this.#sql.deleteItemsBelow, [this.sessionId, base]);
          await run.write(this.#sql.deleteOperationsBelow, [this.sessionId, base]);
        }
        await this.#insert(run, base, items);
      });
    });
  }

  protected popLastItem(): Promise<string | undefined> {
    return this.#missingTables.read(async () => {
      await this.#ready();
      return this.#transaction(false, async (run) => {
        const [row] = await run.rows<LockedRow>(this.#sql.lock, [this.sessionId]);
        // Nothing to pop: roll back, so that nothing moves.
        if (!row || Number(row.expired) === 1) throw new Outcome(undefined);
        const [newest] = await run.rows<{ seq: number; item: string }>(this.#sql.newest, [this.sessionId, row.start]);
        if (!newest) throw new Outcome(undefined);
        await run.write(this.#sql.deleteItem, [this.sessionId, newest.seq]);
        await run.write(this.#sql.popped, [this.#ttl(), this.sessionId]);
        return newest.item;
      });
    }, undefined);
  }

  /** Keeps the session row (catalog entry, metadata) with no items; clearing nothing changes nothing. */
  protected clearItems(): Promise<void> {
    return this.#missingTables.write(async () => {
      await this.#ready();
      await this.#transaction(true, async (run) => {
        const [row] = await run.rows<LockedRow>(this.#sql.lock, [this.sessionId]);
        if (!row || Number(row.expired) === 1) throw new Outcome(undefined);
        await run.write(this.#sql.deleteItems, [this.sessionId]);
        await run.write(this.#sql.deleteOperations, [this.sessionId]);
        await run.write(this.#sql.cleared, [this.#ttl(), this.sessionId]);
      });
    });
  }

  protected commitTransaction(tx: EncodedHistoryTransaction): Promise<void> {
    return this.#missingTables.write(async () => {
      await this.#ready();
      const verdict = await this.#transaction(true, (run) => this.#decide(run, tx));
      settleTransaction(verdict, tx.operationId);
    });
  }

  /** Decides the verdict with the row locked; applies only `applied` (anything else rolls back). */
  async #decide(run: Runner, tx: EncodedHistoryTransaction): Promise<TransactionVerdict> {
    const history = await this.#lockOrCreate(run);
    const live = !history.fresh;
    if (live) {
      const [known] = await run.rows<{ fingerprint: Buffer | string }>(this.#sql.knownOperation, [
        this.sessionId,
        tx.operationId,
        history.start,
        RETENTION_MS,
      ]);
      if (known) {
        throw new Outcome(String(known.fingerprint) === tx.fingerprint ? 'replayed' : 'operation_id_reused');
      }
    }
    const k = tx.expectedSuffix.length;
    let tailStart: number | undefined;
    if (k > 0) {
      const tail = live
        ? await run.rows<{ seq: number; item: string }>(this.#sql.tail, [this.sessionId, history.start, String(k)])
        : [];
      // Newest first: the expected suffix read backwards.
      if (tail.length !== k || tail.some((entry, i) => entry.item !== tx.expectedSuffix[k - 1 - i])) {
        throw new Outcome('suffix_mismatch');
      }
      tailStart = Number(tail[k - 1]!.seq);
    }
    if (history.fresh) await this.#dropOldHistory(run, history.start);
    if (tailStart !== undefined) await run.write(this.#sql.deleteItemsFrom, [this.sessionId, tailStart]);
    const total = tx.replacement.length;
    await this.#insert(run, history.next, tx.replacement);
    await run.write(this.#sql.recordOperation, [
      this.sessionId,
      tx.operationId,
      tx.fingerprint,
      history.start,
      tx.fingerprint,
      history.start,
    ]);
    await run.write(this.#sql.dropStaleOperations, [this.sessionId, tx.operationId, history.start, RETENTION_MS]);
    await this.#saveRow(run, history, history.next + total, history.count - k + total);
    return 'applied';
  }

  protected replaceAllItems(items: string[]): Promise<void> {
    return this.#missingTables.write(async () => {
      await this.#ready();
      await this.#transaction(true, async (run) => {
        const history = await this.#lockOrCreate(run);
        await run.write(this.#sql.deleteItems, [this.sessionId]);
        if (history.fresh) await run.write(this.#sql.deleteOperationsBelow, [this.sessionId, history.start]);
        await this.#insert(run, history.next, items);
        await this.#saveRow(run, history, history.next + items.length, items.length);
      });
    });
  }

  protected readMetadata(): Promise<{ text: string; version: number } | undefined> {
    return this.#missingTables.read(async () => {
      await this.#ready();
      const [row] = await withConnection(this.#pool, this.timeoutMs, (run) =>
        run.rows<{ text: string; version: number }>(this.#sql.readMetadata, [this.sessionId]),
      );
      return row && { text: row.text, version: Number(row.version) };
    }, undefined);
  }

  /** Compare-and-set in one statement (two when the row appeared meanwhile), each judged under the row lock. */
  protected async writeMetadata(update: MetadataWrite): Promise<boolean> {
    let stored = false;
    await this.#missingTables.write(async () => {
      await this.#ready();
      stored = await withConnection(this.#pool, this.timeoutMs, async (run) => {
        const ttl = this.#ttl();
        if (update.expectedVersion > 0) {
          const header = await run.write(this.#sql.writeNextMetadata, [
            update.text,
            update.expectedVersion + 1,
            ttl,
            this.sessionId,
            update.expectedVersion,
          ]);
          return header.affectedRows === 1;
        }
        try {
          await run.write(this.#sql.insertMetadata, [this.sessionId, ttl, update.text]);
          return true;
        } catch (error) {
          if ((error as { errno?: unknown }).errno !== 1062) throw error;
        }
        const header = await run.write(this.#sql.writeFirstMetadata, [update.text, ttl, this.sessionId]);
        return header.affectedRows === 1;
      });
    });
    return stored;
  }

  /** Items over {@link MAX_ITEM_BYTES} are refused by the base class before any I/O. */
  protected override get maxItemBytes(): number {
    return MAX_ITEM_BYTES;
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    return toMySQLSessionError(operation, error);
  }

  async #insert(run: Runner, base: number, items: readonly string[]): Promise<void> {
    for (const part of chunks(items)) {
      await run.write(this.#sql.insertItems, [this.sessionId, base + part.offset, part.json]);
    }
  }

  async #dropOldHistory(run: Runner, start: number): Promise<void> {
    await run.write(this.#sql.deleteItemsBelow, [this.sessionId, start]);
    await run.write(this.#sql.deleteOperationsBelow, [this.sessionId, start]);
  }

  /**
   * The session row, locked: the existing one, or a new empty one inserted now (rolled back with
   * the transaction when nothing applies). A concurrent creator's insert makes this one wait
   * and then fail on the duplicate key: the transaction runs again and finds that row.
   */
  async #lockOrCreate(run: Runner): Promise<ReturnType<typeof historyOf>> {
    const [row] = await run.rows<LockedRow>(this.#sql.lock, [this.sessionId]);
    if (row) return historyOf(row);
    try {
      await run.write(this.#sql.created, [this.sessionId, 0, 0, this.#ttl(), 0]);
    } catch (error) {
      if ((error as { errno?: unknown }).errno === 1062) throw new RunAgain(error);
      throw error;
    }
    return { fresh: false, start: 0, next: 0, count: 0 };
  }

  /** The locked session row after a rewrite (compaction, applied transaction). */
  async #saveRow(run: Runner, history: ReturnType<typeof historyOf>, next: number, count: number): Promise<void> {
    await run.write(this.#sql.rewritten, [
      history.start,
      next,
      history.fresh ? 1 : 0,
      count,
      this.#ttl(),
      this.sessionId,
    ]);
  }

  #transaction<T>(readCommitted: boolean, body: (run: Runner) => Promise<T>): Promise<T> {
    return transaction(this.#pool, { timeoutMs: this.timeoutMs, readCommitted }, body);
  }

  #ready(): Promise<void> {
    return ensureSchema(this.#pool, this.#tables, this.timeoutMs, this.createIfMissing);
  }

  #ttl(): number | null {
    return this.ttlMs ?? null;
  }
}
