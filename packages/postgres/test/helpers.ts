import postgres from 'postgres';
import type { PostgresClient } from '../src/index.js';

/** A table prefix (or schema name) no other test run uses. */
export function uniqueName(tag: string): string {
  return `${tag}_${globalThis.crypto.randomUUID().replaceAll('-', '').slice(0, 10)}_`;
}

/** A client for raw checks, quiet about notices. */
export function rawClient(url: string, options: postgres.Options<{}> = {}): PostgresClient {
  return postgres(url, { onnotice: () => {}, max: 4, ...options });
}

/** Rows physically stored for `sessionId` (ignores TTL), straight from the items table. */
export async function countItems(
  sql: PostgresClient,
  sessionId: string,
  namespace: { schema?: string; tablePrefix: string },
): Promise<number> {
  const [row] = await sql.unsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM "${namespace.schema ?? 'public'}"."${namespace.tablePrefix}items" WHERE session_id = $1::text`,
    [sessionId],
  );
  return row?.n ?? -1;
}
