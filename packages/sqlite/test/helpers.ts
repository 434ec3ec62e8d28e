import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

/**
 * A full garbage collection (V8's `gc`, exposed on demand). libsql-client-ts#352: a connection of
 * a caller's client that saw SQLITE_BUSY fails every COMMIT until the driver's failed statement
 * is collected. A live process collects garbage all the time; a quiet test process may not for
 * many seconds, so tests of that path collect explicitly.
 */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
