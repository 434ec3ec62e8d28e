/** SQLSTATEs of a server ending the connection: shutdown, crash, starting up, idle timeouts. */
const ENDED_CONNECTION = /^(57P0[1-3]|57P05|25P0[34])$/;

/**
 * True for an error that rejected a query the driver never sent. postgres.js 3.4.9 never hands
 * a FATAL to a query in flight: it keeps the FATAL until a ReadyForQuery that never comes and
 * rejects that query with CONNECTION_CLOSED when the socket closes. It delivers the kept FATAL
 * later, to the first query of the reconnected connection, when that connection is ready: a
 * stale error for a query that was queued, not sent. A FATAL during a new connection's start-up
 * also rejects only a query not yet sent.
 */
function neverSent(error: unknown): boolean {
  const { severity, code } = (error ?? {}) as { severity?: unknown; code?: unknown };
  return severity === 'FATAL' && typeof code === 'string' && ENDED_CONNECTION.test(code);
}

/** Several pooled connections may each hold such a stale error: a few more attempts at most. */
const MAX_RETRIES = 3;

/**
 * Runs `call` again when it failed with an error that rejected a query the driver never sent
 * (see {@link neverSent}), at most {@link MAX_RETRIES} times (and within the operation's
 * deadline): without it, the first operation after a server ended a connection in the middle of
 * a query fails with that old error although the new connection works. Safe for writes: nothing
 * of a failed attempt reached the server. Every operation is one statement or one transaction
 * after the idempotent setup, so `call` repeats it whole.
 */
export async function retryIfNeverSent<T>(call: () => Promise<T>): Promise<T> {
  for (let retries = 0; ; retries++) {
    try {
      return await call();
    } catch (error) {
      if (retries >= MAX_RETRIES || !neverSent(error)) throw error;
    }
  }
}
