import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Client, createClient } from '@libsql/client';

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(tag: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `sessions-sqlite-${tag}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `file:` URL of a path (absolute, so it works whatever the working directory). */
export function fileUrl(path: string): string {
  return pathToFileURL(path).href;
}

/** A per-run unique table prefix so runs never collide. */
export function uniquePrefix(tag: string): string {
  return `t_${tag}_${globalThis.crypto.randomUUID().replaceAll('-', '').slice(0, 10)}_`;
}

/** A raw client, for checking what really landed (never the one under test). */
export function rawClient(url: string): Client {
  return createClient({ url, timeout: 5000 });
}

/** Rows physically stored for `sessionId`, ignoring TTL. */
export async function countRows(client: Client, prefix: string, sessionId: string): Promise<number> {
  const result = await client.execute({
    sql: `SELECT count(*) AS n FROM "${prefix}items" WHERE session_id = ?`,
    args: [sessionId],
  });
  return Number(result.rows[0]!.n);
}
