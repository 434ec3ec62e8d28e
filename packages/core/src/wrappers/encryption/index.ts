/**
 * Encryption at rest for any session: every item is sealed with AES-256-GCM before it reaches
 * the backend, under a key derived per session with HKDF-SHA256 from a master key (the stored
 * form and key schedule are documented in `envelope.ts`).
 *
 * WebCrypto only (`globalThis.crypto.subtle`, or a `subtle` passed in), so one code path serves
 * Node 20+, Deno, Bun, browsers and edge runtimes; on Node it is Node's own crypto underneath.
 */
import { SessionValidationError } from '../../errors/session-errors.js';
import type { Session } from '../../protocol/session.js';
import { hasMethod } from '../delegate.js';
import { type EncryptedSession, EncryptedSessionImpl } from './encrypted-session.js';
import { type EncryptionOptions, type PreparedKeys, prepareKeys } from './keys.js';

export { decodeBase64, encodeBase64 } from '../../encoding/base64.js';
export { SessionDecryptionError } from '../../errors/decryption-error.js';
export type { EncryptedSession } from './encrypted-session.js';
export type { EncryptedItem } from './envelope.js';
export type {
  EncryptionKey,
  EncryptionKeyMaterial,
  EncryptionOptions,
  SubtleCryptoLike,
  UnreadableItemPolicy,
  WebCryptoKey,
} from './keys.js';

// Options objects are usually created once and used for every session handle (a store wrapper
// calls withEncryption on each `session(id)`), so validated and imported keys are cached per object.
const prepared = new WeakMap<EncryptionOptions, PreparedKeys>();

/**
 * Wraps `session` so that every item is encrypted before it reaches the backend. The result has
 * the same optional capabilities as `session` (transactions stay atomic and idempotent).
 *
 *   const session = withEncryption(store.session(id), { keys: [{ id: '2025-06', key: { base64: process.env.SESSION_KEY! } }] });
 */
export function withEncryption<S extends Session>(session: S, options: EncryptionOptions): EncryptedSession<S> {
  if (session === null || typeof session !== 'object' || !hasMethod(session, 'getItems')) {
    throw new SessionValidationError('withEncryption expects a session as its first argument');
  }
  let keys = prepared.get(options);
  if (!keys) {
    keys = prepareKeys(options);
    prepared.set(options, keys);
  }
  return new EncryptedSessionImpl(session, keys).facade as EncryptedSession<S>;
}
