/** The key prefix used when none is given. */
export const DEFAULT_KEY_PREFIX = 'sessions';

/** The Redis keys of one session. They share one hash tag, so they live in one Cluster slot. */
export interface SessionKeys {
  /** LIST of the items as canonical JSON text, oldest at the head. */
  items: string;
  /** HASH operationId → fingerprint of the recorded history transactions. */
  operations: string;
  /** SORTED SET operationId → server time (ms) it was recorded, to enforce the retention window. */
  operationTimes: string;
}

/**
 * The hash tag of a session: its id percent-encoded with `encodeURIComponent`. The encoding
 * never contains `{` or `}` (so no id can end the tag early or open another one), it is
 * injective (distinct ids give distinct tags; `decodeURIComponent` gives the id back), and
 * ordinary ids such as UUIDs or `user_42` stay readable in `redis-cli`. Session ids are
 * validated as well-formed Unicode before they get here, so the encoding cannot throw.
 */
export function sessionTag(sessionId: string): string {
  return encodeURIComponent(sessionId);
}

/** `<prefix>:{<encoded id>}:items`, `…:ops` and `…:optimes`. */
export function sessionKeys(keyPrefix: string, sessionId: string): SessionKeys {
  const base = `${keyPrefix}:{${sessionTag(sessionId)}}`;
  return { items: `${base}:items`, operations: `${base}:ops`, operationTimes: `${base}:optimes` };
}
