/**
 * Raw `mysql2` baseline on the tables `@sessions/mysql` created (so it reads the very rows our
 * store wrote; the bench's store uses the table prefix `bench_`), prepared statements like ours:
 * - add: one transaction (START, a reserve upsert returning the range through
 *   `LAST_INSERT_ID(expr)`, one multi-row INSERT, COMMIT): one statement cannot write two tables
 *   and multi-statement mode stays off, as in our store;
 * - getItems: `SELECT … ORDER BY seq` (all) or `ORDER BY seq DESC LIMIT 20` on the primary key;
 * - pop: one transaction: the newest row `FOR UPDATE`, then its DELETE.
 * What it skips is what our store adds: validation, canonical JSON, expiry (`start_seq`, TTL
 * columns, the live-session check on reads), the session row lock of a pop, the catalog counts.
 */
import type { AgentInputItem } from '@sessions/core';
import mysql from 'mysql2/promise';
import { ALL_NATIVE, type Subject, type SubjectSession } from '../subject.ts';

const SESSIONS = '`bench_sessions`';
const ITEMS = '`bench_items`';
const NOW = "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000)";

const RESERVE = `INSERT INTO ${SESSIONS} (session_id, next_seq, created_at, updated_at, item_count)
VALUES (?, LAST_INSERT_ID(CAST(? AS SIGNED)), ${NOW}, ${NOW}, CAST(? AS SIGNED))
ON DUPLICATE KEY UPDATE next_seq = LAST_INSERT_ID(next_seq + CAST(? AS SIGNED)), updated_at = ${NOW}`;
const READ_ALL = `SELECT item FROM ${ITEMS} WHERE session_id = ? ORDER BY seq`;
const READ_NEWEST = `SELECT item FROM ${ITEMS} WHERE session_id = ? ORDER BY seq DESC LIMIT ?`;
const NEWEST_LOCKED = `SELECT seq, item FROM ${ITEMS} WHERE session_id = ? ORDER BY seq DESC LIMIT 1 FOR UPDATE`;

export async function rawMySQL(url: string): Promise<Subject> {
  const pool = mysql.createPool({ uri: url, connectionLimit: 10 });
  const parse = (rows: unknown) => (rows as { item: string }[]).map((row) => JSON.parse(row.item) as AgentInputItem);
  const append = async (id: string, items: AgentInputItem[]) => {
    const connection = await pool.getConnection();
    try {
      await connection.query('START TRANSACTION');
      const [header] = await connection.execute(RESERVE, [id, items.length, items.length, items.length]);
      const base = Number((header as { insertId: number }).insertId) - items.length;
      const values = items.map(() => '(?, ?, ?)').join(', ');
      await connection.execute(
        `INSERT INTO ${ITEMS} (session_id, seq, item) VALUES ${values}`,
        items.flatMap((item, i) => [id, base + i, JSON.stringify(item)]),
      );
      await connection.query('COMMIT');
    } catch (error) {
      await connection.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      connection.release();
    }
  };
  const session = (id: string): SubjectSession => ({
    add: async (batch) => {
      await append(id, batch as AgentInputItem[]);
    },
    getAll: async () => parse((await pool.execute(READ_ALL, [id]))[0]),
    getLast: async (limit) => parse((await pool.execute(READ_NEWEST, [id, String(limit)]))[0]).reverse(),
    async pop() {
      const connection = await pool.getConnection();
      try {
        await connection.query('START TRANSACTION');
        const [rows] = await connection.execute(NEWEST_LOCKED, [id]);
        const row = (rows as { seq: number; item: string }[])[0];
        if (row) await connection.execute(`DELETE FROM ${ITEMS} WHERE session_id = ? AND seq = ?`, [id, row.seq]);
        await connection.query('COMMIT');
        return row === undefined ? undefined : (JSON.parse(row.item) as AgentInputItem);
      } finally {
        connection.release();
      }
    },
    async clear() {
      await pool.execute(`DELETE FROM ${ITEMS} WHERE session_id = ?`, [id]);
      await pool.execute(`DELETE FROM ${SESSIONS} WHERE session_id = ?`, [id]);
    },
  });
  return {
    role: 'raw',
    label: 'raw mysql2 (one transaction per write)',
    supports: ALL_NATIVE,
    prepare: (items) => items,
    session,
    async seed(id, items) {
      await session(id).clear();
      for (let i = 0; i < items.length; i += 1000) await append(id, items.slice(i, i + 1000));
    },
    async close() {
      await pool.end();
    },
  };
}
