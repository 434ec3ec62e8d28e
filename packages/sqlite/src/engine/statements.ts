import type { InStatement, ResultSet } from '@libsql/client';
import {
  DEFAULT_OPERATION_RETENTION_SECONDS,
  type EncodedHistoryTransaction,
  type TransactionVerdict,
} from '@sessions/core';
import type { SchemaNames } from './schema.js';

/** Rows per multi-row INSERT: 2 bound values each, under the historical limit of 999 variables. */
const INSERT_CHUNK = 400;

/** How many other expired sessions a write removes on the way (bounded, usually none). */
const SWEEP_LIMIT = 2;

/** A condition appended to a statement, with its bound values. */
interface Guard {
  sql: string;
  args: (string | number)[];
}

/**
 * The SQL of one session's primitives. Every write is one list of statements that the session
 * runs as one `batch(…, 'write')` (one `BEGIN IMMEDIATE` transaction, one round trip); `now` and
 * `expiresAt` (ms since the epoch, or null for no expiry) come from the caller's clock.
 */
export class SessionStatements {
  readonly #n: SchemaNames;
  readonly #id: string;

  constructor(names: SchemaNames, sessionId: string) {
    this.#n = names;
    this.#id = sessionId;
  }

  /**
   * The newest `limit` items (newest first: reverse them), or all of them oldest first. An
   * expired session reads as empty although its rows are still there.
   */
  read(limit: number | undefined, now: number): InStatement {
    const { sessions, items } = this.#n;
    const live = `NOT EXISTS (SELECT 1 FROM ${sessions} WHERE session_id = ? AND expires_at <= ?)`;
    if (limit === undefined) {
      return {
        sql: `SELECT item FROM ${items} WHERE session_id = ? AND ${live} ORDER BY seq`,
        args: [this.#id, this.#id, now],
      };
    }
    return {
      sql: `SELECT item FROM ${items} WHERE session_id = ? AND ${live} ORDER BY seq DESC LIMIT ?`,
      args: [this.#id, this.#id, now, limit],
    };
  }

  append(items: string[], now: number, expiresAt: number | null): InStatement[] {
    return [...this.#purgeExpired(now), this.#reserve(items.length, now, expiresAt), ...this.#insert(items)];
  }

  /** The popped item is the one row of the second-to-last result: see {@link poppedItem}. */
  pop(now: number, expiresAt: number | null): InStatement[] {
    const { sessions, items } = this.#n;
    return [
      ...this.#purgeExpired(now),
      {
        sql: `DELETE FROM ${items} WHERE session_id = ? AND seq = (SELECT max(seq) FROM ${items} WHERE session_id = ?) RETURNING item`,
        args: [this.#id, this.#id],
      },
      // A pop is a write: it slides the expiry and counts one item less, only when it removed one.
      {
        sql: `UPDATE ${sessions} SET updated_at = max(updated_at, ?), expires_at = ?, item_count = item_count - 1
          WHERE session_id = ? AND changes() > 0`,
        args: [now, expiresAt, this.#id],
      },
    ];
  }

  /**
   * Items and operation ids go; the session row stays (listed with 0 items and its metadata) and
   * records the write. A session with no row (never written, or expired) gets none.
   */
  clear(now: number, expiresAt: number | null): InStatement[] {
    const { sessions, items, operations } = this.#n;
    return [
      ...this.#purgeExpired(now),
      { sql: `DELETE FROM ${items} WHERE session_id = ?`, args: [this.#id] },
      { sql: `DELETE FROM ${operations} WHERE session_id = ?`, args: [this.#id] },
      {
        sql: `UPDATE ${sessions} SET item_count = 0, updated_at = max(updated_at, ?), expires_at = ? WHERE session_id = ?`,
        args: [now, expiresAt, this.#id],
      },
    ];
  }

  replace(items: string[], now: number, expiresAt: number | null): InStatement[] {
    return [
      ...this.#purgeExpired(now),
      { sql: `DELETE FROM ${this.#n.items} WHERE session_id = ?`, args: [this.#id] },
      this.#reserve(items.length, now, expiresAt, { replacesAll: true }),
      ...this.#insert(items),
    ];
  }

  /** The metadata text (NULL: none yet) and its version; no row for a missing or expired session. */
  readMetadata(now: number): InStatement {
    return {
      sql: `SELECT metadata, metadata_version FROM ${this.#n.sessions}
        WHERE session_id = ? AND (expires_at IS NULL OR expires_at > ?)`,
      args: [this.#id, now],
    };
  }

  /**
   * Compare-and-set of the metadata: the last statement changes one row only if the stored
   * version is still `expectedVersion` (0 also matches "no row yet", which creates the session).
   * A row that went away meanwhile (deleted, expired) is not brought back with stale metadata: the
   * new row is proposed only when the writer expected none. See {@link metadataWritten}.
   */
  writeMetadata(expectedVersion: number, text: string, now: number, expiresAt: number | null): InStatement[] {
    const { sessions } = this.#n;
    return [
      ...this.#purgeExpired(now),
      {
        sql: `INSERT INTO ${sessions}
            (session_id, next_seq, created_at, updated_at, expires_at, item_count, metadata, metadata_version)
          SELECT ?, 0, ?, ?, ?, 0, ?, 1
          WHERE ? = 0 OR EXISTS (SELECT 1 FROM ${sessions} WHERE session_id = ?)
          ON CONFLICT (session_id) DO UPDATE SET
            metadata = excluded.metadata,
            metadata_version = metadata_version + 1,
            updated_at = max(updated_at, excluded.updated_at),
            expires_at = excluded.expires_at
          WHERE metadata_version = ?`,
        args: [this.#id, now, now, expiresAt, text, expectedVersion, this.#id, expectedVersion],
      },
    ];
  }

  /**
   * A history transaction with no error raised from SQL. The deciding statement records the
   * operation id with a fresh `nonce` only if the id is not already recorded and the newest rows
   * equal the expected suffix (compared in SQL, text to text: the expected items travel as one
   * JSON array, expanded with `json_each` and matched by position). Every later statement is
   * guarded by "this id carries my nonce", so when the decision was no, nothing else changes.
   * The last statement reads the operation row back: {@link transactionVerdict} reads it.
   */
  transaction(tx: EncodedHistoryTransaction, nonce: string, now: number, expiresAt: number | null): InStatement[] {
    const { items, operations } = this.#n;
    const k = tx.expectedSuffix.length;
    const id = this.#id;
    const guard: Guard = {
      sql: `EXISTS (SELECT 1 FROM ${operations} WHERE session_id = ? AND operation_id = ? AND nonce = ?)`,
      args: [id, tx.operationId, nonce],
    };
    const suffixMatches: Guard =
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
    statements.push(
      this.#reserve(tx.replacement.length, now, expiresAt, { guard, removed: k }),
      ...this.#insert(tx.replacement, guard),
      {
        sql: `SELECT fingerprint, nonce FROM ${operations} WHERE session_id = ? AND operation_id = ?`,
        args: [id, tx.operationId],
      },
    );
    return statements;
  }

  /**
   * First statements of every write: drop this session if it has expired (the trigger takes its
   * items and operation ids along, so a write after expiry starts a fresh history), and sweep
   * at most {@link SWEEP_LIMIT} other expired sessions so that expired data does not linger.
   */
  #purgeExpired(now: number): InStatement[] {
    const { sessions } = this.#n;
    return [
      { sql: `DELETE FROM ${sessions} WHERE session_id = ? AND expires_at <= ?`, args: [this.#id, now] },
      {
        sql: `DELETE FROM ${sessions} WHERE session_id IN (SELECT session_id FROM ${sessions} WHERE expires_at <= ? LIMIT ${SWEEP_LIMIT})`,
        args: [now],
      },
    ];
  }

  /**
   * Reserves `count` sequence numbers on the session row (creating it if needed), slides its
   * expiry and records the write. The items inserted next compute their numbers from the reserved
   * range in SQL. The item count moves here, in the same transaction as the rows: `count` added,
   * `removed` (the rows this batch deleted just before) taken off, or set to `count` when the
   * batch `replacesAll`. `updated_at` never moves back (another process's clock may lag).
   */
  #reserve(
    count: number,
    now: number,
    expiresAt: number | null,
    { guard, removed = 0, replacesAll = false }: { guard?: Guard; removed?: number; replacesAll?: boolean } = {},
  ): InStatement {
    const { sessions } = this.#n;
    const values = [this.#id, count, now, now, expiresAt, count];
    const upsert = `ON CONFLICT (session_id) DO UPDATE SET
        next_seq = next_seq + excluded.next_seq,
        updated_at = max(updated_at, excluded.updated_at),
        expires_at = excluded.expires_at,
        item_count = ${replacesAll ? 'excluded.item_count' : `item_count + excluded.item_count - ${Math.trunc(removed)}`}`;
    return {
      sql: `INSERT INTO ${sessions} (session_id, next_seq, created_at, updated_at, expires_at, item_count)
        SELECT ?, ?, ?, ?, ?, ? WHERE ${guard ? guard.sql : 'true'} ${upsert}`,
      args: [...values, ...(guard?.args ?? [])],
    };
  }

  /**
   * Inserts `items` with the sequence numbers reserved by {@link #reserve} just before, in the
   * same transaction: item `k` of `n` gets `next_seq - n + k`. Several statements when the
   * batch is large, all in the one transaction.
   */
  #insert(items: string[], guard?: Guard): InStatement[] {
    const { sessions, items: table } = this.#n;
    const statements: InStatement[] = [];
    for (let start = 0; start < items.length; start += INSERT_CHUNK) {
      const chunk = items.slice(start, start + INSERT_CHUNK);
      const args: (string | number)[] = [items.length];
      for (const [i, text] of chunk.entries()) args.push(start + i, text);
      args.push(this.#id, ...(guard?.args ?? []));
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
}

/** Every expired session of the namespace (the trigger takes items and operation ids along). */
export function deleteExpiredStatement(names: SchemaNames, now: number): InStatement {
  return { sql: `DELETE FROM ${names.sessions} WHERE expires_at <= ?`, args: [now] };
}

/** Whether a {@link SessionStatements.writeMetadata} batch stored the metadata (its compare-and-set held). */
export function metadataWritten(results: ResultSet[]): boolean {
  return (results.at(-1)?.rowsAffected ?? 0) > 0;
}

/** The item a {@link SessionStatements.pop} batch removed, if any. */
export function poppedItem(results: ResultSet[]): string | undefined {
  const row = results.at(-2)?.rows[0];
  return row === undefined ? undefined : (row[0] as string);
}

/**
 * What a {@link SessionStatements.transaction} batch did, from the operation row it read back:
 * my nonce → applied now; no row → the suffix did not match (nothing was recorded); the same
 * fingerprint under another nonce → a replay of a transaction applied before; another
 * fingerprint → the id was used for a different transaction.
 */
export function transactionVerdict(
  recorded: Readonly<Record<string, unknown>> | undefined,
  nonce: string,
  fingerprint: string,
): TransactionVerdict {
  if (recorded === undefined) return 'suffix_mismatch';
  if (recorded.nonce === nonce) return 'applied';
  return recorded.fingerprint === fingerprint ? 'replayed' : 'operation_id_reused';
}
