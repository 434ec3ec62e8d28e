import type postgres from 'postgres';

/** Node timers overflow past 2^31 - 1 ms (and then fire at once): the largest timer in seconds. */
const MAX_TIMER_SECONDS = Math.floor(2_147_483_647 / 1000);
/** The longest reconnect delay of a store-created client, in seconds (see {@link boundedClientOptions}). */
const MAX_BACKOFF_SECONDS = 1;

/**
 * The first statement of every transaction of this package: `set_config(name, value, true)` is
 * `SET LOCAL`, so the three bounds end with the transaction. That works behind transaction-mode
 * poolers (which refuse such settings as startup parameters) and changes nothing on a caller's
 * client or session. Each is the operation's `timeoutMs`, which the whole operation must fit in:
 * - `statement_timeout`: a statement running past it is cancelled by the server;
 * - `lock_timeout`: waiting past it for a row lock fails;
 * - `idle_in_transaction_session_timeout`: a transaction whose client stopped talking (its call
 *   already ended in `SessionTimeoutError`) is ended by the server, connection included, so its
 *   row lock is released and nothing of it is committed.
 * No parameters, so the statement is pipelined with the next ones even with `prepare: false`.
 */
export function transactionBoundsSql(timeoutMs: number): string {
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) throw new Error(`invalid timeoutMs ${timeoutMs}`);
  const ms = `'${timeoutMs}'`;
  return `SELECT set_config('statement_timeout', ${ms}, true) AS s, set_config('lock_timeout', ${ms}, true) AS l, set_config('idle_in_transaction_session_timeout', ${ms}, true) AS i`;
}

/** True when the connection URL sets the driver option `name` in its query string. */
function urlSets(url: string | undefined, name: string): boolean {
  return url !== undefined && new RegExp(`[?&]${name}=`).test(url);
}

/**
 * The driver options a store derives from `timeoutMs` for the client it creates, under the
 * caller's `clientOptions` (and URL parameters), which always win:
 * - `connect_timeout` = `timeoutMs` rounded up to whole seconds: a server that accepts the
 *   connection and never answers frees the connection attempt (the driver's default is 30 s);
 * - `backoff` capped at min(1 s, timeoutMs / 4): after failed connection attempts the driver
 *   waits before the next one (its default grows to 20 s), so a store that met a down server
 *   works within about a second of the server being back, well inside one operation's deadline.
 */
export function boundedClientOptions(
  timeoutMs: number,
  url: string | undefined,
  given: postgres.Options<{}> = {},
): postgres.Options<{}> {
  const derived: postgres.Options<{}> = {};
  if (!urlSets(url, 'connect_timeout')) {
    derived.connect_timeout = Math.min(Math.ceil(timeoutMs / 1000), MAX_TIMER_SECONDS);
  }
  if (!urlSets(url, 'backoff')) {
    const cap = Math.min(MAX_BACKOFF_SECONDS, timeoutMs / 4000);
    // The driver's own curve, capped: (0.5..1) × 3^attempt / 100 seconds.
    derived.backoff = (attempt: number) => Math.min((0.5 + Math.random() / 2) * (3 ** attempt / 100), cap);
  }
  const options: Record<string, unknown> = { ...derived };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) options[key] = value;
  return options as postgres.Options<{}>;
}
