import { isConnectionError } from '@sessions/core';
import type postgres from 'postgres';
import type { PostgresClient } from '../options.js';

// biome-ignore lint/suspicious/noExplicitAny: any client, whatever custom types it was built with
export type TransactionClient = postgres.TransactionSql<any>;

/**
 * The connection is gone (a socket error, the driver's CONNECTION_* codes) or the server is
 * ending it (FATAL). Not CONNECTION_ENDED: `sql.end()` refuses new queries on a live socket.
 */
function connectionLost(error: unknown): boolean {
  const { severity, code } = (error ?? {}) as { severity?: unknown; code?: unknown };
  if (code === 'CONNECTION_ENDED') return false;
  return severity === 'FATAL' || severity === 'PANIC' || isConnectionError(error);
}

/**
 * `client.begin(body)` (commit when `body` settles, roll back when it throws), except when the
 * connection dies under `body`: then `body` never settles, so the driver writes no ROLLBACK to
 * the dead socket, and the driver's own close handler rejects `begin` instead. postgres.js 3.4.9
 * schedules such a small write for the next tick and, the socket being gone by then, throws an
 * uncaught `TypeError: Cannot read properties of null (reading 'write')` that no caller can catch
 * (porsager/postgres#1154, #1208). The server has rolled back the transaction anyway: it ended
 * with the connection. The first error `body` met is the one reported (e.g. the server's FATAL
 * 25P03 or 57P01 rather than the driver's generic CONNECTION_CLOSED).
 */
export async function transaction<T>(
  client: PostgresClient,
  body: (tx: TransactionClient) => Promise<T> | readonly Promise<unknown>[],
): Promise<T> {
  let lost: unknown;
  try {
    return (await client.begin(async (tx) => {
      try {
        const result = body(tx);
        return (await (Array.isArray(result) ? Promise.all(result) : result)) as T;
      } catch (error) {
        if (!connectionLost(error)) throw error;
        lost = error;
        return new Promise<never>(() => {});
      }
    })) as T;
  } catch (error) {
    throw lost ?? error;
  }
}
