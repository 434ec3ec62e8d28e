import type { Pool, PoolConnection, ResultSetHeader } from 'mysql2/promise';

/** A statement parameter: text, a number, NULL, or raw bytes (an id read back from a VARBINARY column). */
export type Param = string | number | null | Buffer;

/** Runs this package's statements on one connection: prepared, with a client-side timeout. */
export interface Runner {
  rows<Row>(sql: string, params: readonly Param[]): Promise<Row[]>;
  write(sql: string, params: readonly Param[]): Promise<ResultSetHeader>;
  /** A fixed statement without parameters (transaction control), over the text protocol. */
  command(sql: string): Promise<void>;
}

/**
 * Errors after which the connection's state is unknown (a lost socket, a timed-out statement whose
 * answer may still come, a server-side kill): it is destroyed, never handed back to the pool. The
 * server rolls back whatever transaction it had when its socket closes.
 */
export function connectionBroken(error: unknown): boolean {
  const { fatal, code } = (error ?? {}) as { fatal?: unknown; code?: unknown };
  return fatal === true || code === 'PROTOCOL_SEQUENCE_TIMEOUT' || code === 'ER_CONNECTION_KILLED';
}

function runner(connection: PoolConnection, timeoutMs: number): Runner {
  // Result options fixed here, whatever a caller's pool was configured with.
  const options = (sql: string) => ({ sql, timeout: timeoutMs, rowsAsArray: false, nestTables: false as const });
  return {
    async rows<Row>(sql: string, params: readonly Param[]) {
      const [rows] = await connection.execute(options(sql), params as Param[]);
      return rows as Row[];
    },
    async write(sql: string, params: readonly Param[]) {
      const [header] = await connection.execute(options(sql), params as Param[]);
      return header as ResultSetHeader;
    },
    async command(sql: string) {
      await connection.query(options(sql));
    },
  };
}

/** One connection from the pool for `body`: released after, destroyed when it broke. */
export async function withConnection<T>(pool: Pool, timeoutMs: number, body: (run: Runner) => Promise<T>): Promise<T> {
  const connection = await pool.getConnection();
  try {
    const result = await body(runner(connection, timeoutMs));
    connection.release();
    return result;
  } catch (error) {
    if (connectionBroken(error)) connection.destroy();
    else connection.release();
    throw error;
  }
}

/**
 * A decision that must leave nothing behind (nothing to pop, a refused transaction): thrown by a
 * transaction body, rolled back, and returned as the transaction's value.
 */
export class Outcome<T> extends Error {
  constructor(readonly value: T) {
    super('rolled back on purpose');
  }
}

/** Thrown by a body when a concurrent writer created the session row first: the whole transaction runs again. */
export class RunAgain extends Error {
  constructor(cause: unknown) {
    super('a concurrent writer created the session first', { cause });
  }
}

/**
 * 1213 ER_LOCK_DEADLOCK: InnoDB rolled back the whole transaction (a gap-lock cycle under
 * REPEATABLE READ, e.g. two new sessions created side by side); 1020 ER_CHECKREAD: MariaDB's
 * `innodb_snapshot_isolation` refused a stale read. Either way nothing of it was applied and
 * running it again is safe.
 */
function retryable(error: unknown): boolean {
  const { errno } = (error ?? {}) as { errno?: unknown };
  return error instanceof RunAgain || errno === 1213 || errno === 1020;
}

/** How often one operation runs its transaction again after a deadlock (within its deadline). */
export const MAX_ATTEMPTS = 10;

export interface TransactionOptions {
  timeoutMs: number;
  /**
   * Run at READ COMMITTED (`SET TRANSACTION`, for this transaction only): its range deletes then
   * lock rows, not the gaps between them, so that writers of neighbouring sessions never wait on
   * (or deadlock with) each other. Whatever the server's default isolation is.
   */
  readCommitted: boolean;
  /** Counts the attempts that ended in a deadlock (tests prove the retry with it). */
  onRetry?: (error: unknown) => void;
}

/**
 * `body` in one transaction on one connection: committed when it returns, rolled back when it
 * throws (an {@link Outcome} becomes the value). A deadlock, or a concurrent creation of the
 * session row, runs it again from the start, at most {@link MAX_ATTEMPTS} times and within
 * `timeoutMs`, after a short jittered pause.
 */
export async function transaction<T>(
  pool: Pool,
  options: TransactionOptions,
  body: (run: Runner) => Promise<T>,
): Promise<T> {
  const stopAt = performance.now() + options.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await withConnection(pool, options.timeoutMs, async (run) => {
        if (options.readCommitted) await run.command('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
        await run.command('START TRANSACTION');
        try {
          const result = await body(run);
          await run.command('COMMIT');
          return result;
        } catch (error) {
          if (!connectionBroken(error)) await run.command('ROLLBACK');
          throw error;
        }
      });
    } catch (error) {
      if (error instanceof Outcome) return error.value as T;
      if (!retryable(error) || attempt >= MAX_ATTEMPTS || performance.now() > stopAt) {
        throw error instanceof RunAgain ? error.cause : error;
      }
      options.onRetry?.(error);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
    }
  }
}
