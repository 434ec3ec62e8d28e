/**
 * The server's clock in milliseconds since the epoch, from `UTC_TIMESTAMP(6)`: independent of
 * the session's `time_zone` (no daylight-saving hour read twice) and of the client's clock. It is
 * fixed for the duration of one statement, so every column a statement writes agrees on one instant.
 */
export const NOW_MS = "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000)";

/** The session row (alias prefix `a`, e.g. `s.` or ``) has expired by now. */
export const expired = (a = '') => `(${a}expires_at IS NOT NULL AND ${a}expires_at <= ${NOW_MS})`;

/** The session row exists and has not expired. */
export const live = (a = '') => `(${a}expires_at IS NULL OR ${a}expires_at > ${NOW_MS})`;

/** An integer parameter, exactly: mysql2 sends JavaScript numbers as DOUBLE. */
export const int = 'CAST(? AS SIGNED)';

/** The expiry of a write now, from a TTL parameter in milliseconds (NULL: no expiry). */
export const expiry = `${NOW_MS} + ${int}`;
