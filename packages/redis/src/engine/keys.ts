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
  /** HASH of the catalog entry: `c` createdAt ms, `u` updatedAt ms, `m` metadata JSON, `v` its version. */
  meta: string;
}

/** The catalog of one key prefix: two keys sharing one hash tag (one Cluster slot, another than any session's). */
export interface CatalogKeys {
  /** SORTED SET, every score 0, members `<16-digit inverted updatedAt ms>:<session id>`: listing order is member order. */
  order: string;
  /** HASH session id → the updatedAt ms its `order` member carries (to find and move that member). */
  at: string;
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

/** `<prefix>:{<encoded id>}:items`, `…:ops`, `…:optimes` and `…:meta`. */
export function sessionKeys(keyPrefix: string, sessionId: string): SessionKeys {
  const base = `${keyPrefix}:{${sessionTag(sessionId)}}`;
  return { items: `${base}:items`, operations: `${base}:ops`, operationTimes: `${base}:optimes`, meta: `${base}:meta` };
}

/**
 * `<prefix>:{<prefix>#catalog}:order` and `…:at`. `#` is always percent-encoded in a session's
 * tag, so no session id can produce this tag; the prefix in it spreads the catalogs of several
 * prefixes over several Cluster slots.
 */
export function catalogKeys(keyPrefix: string): CatalogKeys {
  const base = `${keyPrefix}:{${keyPrefix}#catalog}`;
  return { order: `${base}:order`, at: `${base}:at` };
}

/** The session id of an `…:items` key of `keyPrefix`, or undefined for any other key. */
export function sessionIdOfItemsKey(keyPrefix: string, key: string): string | undefined {
  const head = `${keyPrefix}:{`;
  const tail = '}:items';
  if (!key.startsWith(head) || !key.endsWith(tail)) return undefined;
  const tag = key.slice(head.length, -tail.length);
  if (tag === '' || /[{}]/.test(tag)) return undefined;
  try {
    const id = decodeURIComponent(tag);
    return sessionTag(id) === tag ? id : undefined;
  } catch {
    return undefined;
  }
}

/*
 * Catalog members sort by bytes (ZRANGEBYLEX): a fixed-width inverted time first puts the newest
 * first, then the id's UTF-8 bytes break ties in ascending order. 9e15 stays below 2^53, so Lua's
 * doubles compute it exactly, and every Date (at most 8.64e15 ms) fits in 16 digits.
 */
const INVERT_FROM = 9_000_000_000_000_000;

export function catalogMember(updatedAt: number, sessionId: string): string {
  return `${timePrefix(updatedAt)}:${sessionId}`;
}

/** The first 16 characters of every member of `updatedAt`. */
export function timePrefix(updatedAt: number): string {
  return String(INVERT_FROM - updatedAt).padStart(16, '0');
}

export function parseCatalogMember(member: string): { updatedAt: number; sessionId: string } | undefined {
  if (member.length < 18 || member[16] !== ':') return undefined;
  const inverted = Number(member.slice(0, 16));
  if (!Number.isSafeInteger(inverted)) return undefined;
  return { updatedAt: INVERT_FROM - inverted, sessionId: member.slice(17) };
}
