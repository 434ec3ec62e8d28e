import { SessionValidationError } from '../errors/index.js';
import { utf8ByteLength } from './items.js';

/** Session ids are at most this many UTF-8 bytes (fits every backend's key limit). */
export const MAX_SESSION_ID_BYTES = 512;

/**
 * A session id is any well-formed Unicode string of 1..512 UTF-8 bytes without U+0000.
 * Lone surrogates are refused because backends store UTF-8, where two different ill-formed
 * ids would collapse into the same replacement character and collide. NUL is refused because
 * PostgreSQL text cannot hold it.
 */
export function validateSessionId(sessionId: unknown): string {
  if (typeof sessionId !== 'string') {
    throw new SessionValidationError(`sessionId must be a string, got ${typeof sessionId}`);
  }
  if (sessionId.length === 0) throw new SessionValidationError('sessionId must not be empty');
  if (!sessionId.isWellFormed()) {
    throw new SessionValidationError('sessionId must be well-formed Unicode (it has a lone surrogate)');
  }
  if (sessionId.includes('\u0000')) {
    throw new SessionValidationError('sessionId must not contain the NUL character (U+0000)');
  }
  const bytes = utf8ByteLength(sessionId);
  if (bytes > MAX_SESSION_ID_BYTES) {
    throw new SessionValidationError(`sessionId is ${bytes} UTF-8 bytes; the maximum is ${MAX_SESSION_ID_BYTES}`);
  }
  return sessionId;
}

/** `undefined` means "all items"; otherwise a non-negative safe integer. */
export function validateLimit(limit: unknown): number | undefined {
  if (limit === undefined) return undefined;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) {
    throw new SessionValidationError(
      `limit must be a non-negative integer or undefined, got ${typeof limit === 'number' ? limit : typeof limit}`,
    );
  }
  return limit;
}

/**
 * The longest `ttlSeconds` accepted: 100 years. Past that, backends disagree (a Redis expiry in
 * milliseconds, a Mongo date and a DynamoDB epoch number overflow in different places), so the
 * bound is checked once, here, before any I/O.
 */
export const MAX_TTL_SECONDS = 100 * 365 * 24 * 60 * 60;

/** `ttlSeconds`: a positive finite number of seconds up to {@link MAX_TTL_SECONDS}, or undefined for no expiry. */
export function validateTtlSeconds(ttlSeconds: unknown): number | undefined {
  if (ttlSeconds === undefined) return undefined;
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new SessionValidationError(`ttlSeconds must be a positive number of seconds, got ${String(ttlSeconds)}`);
  }
  if (ttlSeconds > MAX_TTL_SECONDS) {
    throw new SessionValidationError(`ttlSeconds must be at most ${MAX_TTL_SECONDS} (100 years), got ${ttlSeconds}`);
  }
  return ttlSeconds;
}

/** `createIfMissing`: true or false; undefined means true (create on first use). */
export function validateCreateIfMissing(createIfMissing: unknown): boolean {
  if (createIfMissing === undefined) return true;
  if (typeof createIfMissing !== 'boolean') {
    throw new SessionValidationError(`createIfMissing must be true or false, got ${String(createIfMissing)}`);
  }
  return createIfMissing;
}

/** Every operation's deadline when none is given: connecting, queueing and the call together. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** The longest deadline a timer can hold (about 24.8 days). */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** `timeoutMs`: a positive integer of milliseconds; undefined means {@link DEFAULT_TIMEOUT_MS}. */
export function validateTimeoutMs(timeoutMs: unknown): number {
  if (timeoutMs === undefined) return DEFAULT_TIMEOUT_MS;
  if (
    typeof timeoutMs !== 'number' ||
    !Number.isSafeInteger(timeoutMs) ||
    timeoutMs <= 0 ||
    timeoutMs > MAX_TIMEOUT_MS
  ) {
    throw new SessionValidationError(
      `timeoutMs must be a positive whole number of milliseconds up to ${MAX_TIMEOUT_MS}, got ${String(timeoutMs)}`,
    );
  }
  return timeoutMs;
}

/** Operation ids of history transactions: non-empty, at most 256 characters. */
export function validateOperationId(operationId: unknown): string {
  // Whitespace alone is refused as the SDK's reference session refuses it: such an id is a bug.
  if (typeof operationId !== 'string' || operationId.trim().length === 0 || operationId.length > 256) {
    throw new SessionValidationError('operationId must be a non-blank string of at most 256 characters');
  }
  if (!operationId.isWellFormed() || operationId.includes('\u0000')) {
    throw new SessionValidationError('operationId must be well-formed Unicode without NUL');
  }
  return operationId;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

/**
 * Table names, key prefixes and similar names that end up in queries or keys. Only letters,
 * digits and `_` (starting with a letter or `_`, at most 48 characters) so they can never
 * inject SQL or alias another namespace, even where a driver cannot bind identifiers.
 */
export function validateName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new SessionValidationError(
      `${what} must match ${NAME} (letters, digits and _, starting with a letter or _), got ${JSON.stringify(name)}`,
    );
  }
  return name;
}
