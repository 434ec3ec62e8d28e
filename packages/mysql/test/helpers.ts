import mysql, { type Pool, type PoolOptions } from 'mysql2/promise';

/** A table prefix no other test run uses. */
export function uniqueName(tag: string): string {
  return `${tag}_${globalThis.crypto.randomUUID().replaceAll('-', '').slice(0, 10)}_`;
}

/** A pool for raw checks, beside the store under test. */
export function rawPool(url: string, options: PoolOptions = {}): Pool {
  return mysql.createPool({ uri: url, connectionLimit: 4, ...options });
}

/** Rows physically stored for `sessionId` (ignores TTL), straight from the items table. */
export async function countItems(pool: Pool, sessionId: string, tablePrefix: string): Promise<number> {
  const [rows] = await pool.execute(`SELECT COUNT(*) AS n FROM \`${tablePrefix}items\` WHERE session_id = ?`, [
    sessionId,
  ]);
  return Number((rows as { n: number }[])[0]?.n ?? -1);
}

/** Drops the tables of a namespace. */
export async function dropTables(pool: Pool, tablePrefix: string): Promise<void> {
  for (const table of ['sessions', 'items', 'operations', 'schema_version']) {
    await pool.query(`DROP TABLE IF EXISTS \`${tablePrefix}${table}\``);
  }
}
