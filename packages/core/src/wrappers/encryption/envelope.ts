/**
 * The stored form and the cryptography behind it. An encrypted item is a plain JSON object every
 * backend stores unchanged:
 *   { type: 'encrypted', v: 1, kid: '<key id>', iv: '<base64, 12 bytes>', ct: '<base64 ciphertext+tag>' }
 * Key schedule (documented so other tools can read the data):
 *   info = "session:" + sessionId                       (no context, the default)
 *        | "session:" + sessionId + "\0context:" + ctx  (with the `context` option)
 *   okm  = HKDF-SHA256(ikm = master key, salt = "@sessions/core encryption v1", info, 64 bytes)
 *   aes  = okm[0..32]   (AES-256-GCM key, 128-bit tag, AAD = "@sessions/core v1 " + kid)
 *   mac  = okm[32..64]  (HMAC-SHA256 key, only for deterministic IVs of history transactions)
 * The plaintext is the item's canonical JSON text (sorted keys) in UTF-8.
 */

import { decodeBase64, encodeBase64 } from '../../encoding/base64.js';
import type { DecryptionFailureReason } from '../../errors/decryption-error.js';
import type { AgentInputItem } from '../../protocol/session.js';
import { importMaster, type PreparedKeys } from './keys.js';

/** Version 1 of the stored form. */
export interface EncryptedItem {
  type: 'encrypted';
  v: 1;
  /** Id of the master key the item was sealed under. */
  kid: string;
  /** Base64 of the 12-byte AES-GCM IV. */
  iv: string;
  /** Base64 of ciphertext followed by the 16-byte tag. */
  ct: string;
}

export interface SessionKeys {
  aes: unknown;
  mac: unknown;
}

export type Opened =
  | { ok: true; item: AgentInputItem }
  | { ok: false; reason: DecryptionFailureReason; kid?: string; detail?: string; cause?: unknown };

const SALT = utf8('@sessions/core encryption v1');
const IV_BYTES = 12;

/** The per-session AES and HMAC keys under master key `kid`. */
export async function deriveSessionKeys(keys: PreparedKeys, kid: string, sessionId: string): Promise<SessionKeys> {
  const { subtle, context } = keys;
  const master = await importMaster(keys, kid);
  const info = utf8(context === undefined ? `session:${sessionId}` : `session:${sessionId}\u0000context:${context}`);
  const okm = new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: SALT, info }, master, 512));
  const [aes, mac] = await Promise.all([
    subtle.importKey('raw', okm.slice(0, 32), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']),
    subtle.importKey('raw', okm.slice(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']),
  ]);
  okm.fill(0);
  return { aes, mac };
}

/** Seals canonical item text; `ivLabel` makes the IV deterministic (HMAC of label and text). */
export async function seal(
  keys: PreparedKeys,
  sessionKeys: SessionKeys,
  kid: string,
  text: string,
  ivLabel?: string,
): Promise<EncryptedItem> {
  const { subtle } = keys;
  let iv: Uint8Array;
  if (ivLabel === undefined) {
    iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
  } else {
    const mac = await subtle.sign('HMAC', sessionKeys.mac, utf8(`${ivLabel}\u0000${text}`));
    iv = new Uint8Array(mac, 0, IV_BYTES).slice();
  }
  const ct = await subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: aad(kid), tagLength: 128 },
    sessionKeys.aes,
    utf8(text),
  );
  return { type: 'encrypted', v: 1, kid, iv: encodeBase64(iv), ct: encodeBase64(new Uint8Array(ct)) };
}

/** Opens a stored item; `derive` gives the session keys of a key id the table holds. */
export async function open(
  keys: PreparedKeys,
  raw: unknown,
  derive: (kid: string) => Promise<SessionKeys>,
): Promise<Opened> {
  if (!isEnvelope(raw)) {
    const looksSealed = (raw as { type?: unknown } | null)?.type === 'encrypted';
    if (!looksSealed && keys.allowUnencrypted && raw !== null && typeof raw === 'object') {
      return { ok: true, item: raw };
    }
    return looksSealed
      ? { ok: false, reason: 'malformed', detail: 'unexpected version or fields' }
      : { ok: false, reason: 'not_encrypted' };
  }
  const { kid } = raw;
  if (!keys.material.has(kid)) return { ok: false, reason: 'unknown_key', kid };
  const iv = decodeBase64(raw.iv);
  const ct = decodeBase64(raw.ct);
  if (!iv || iv.length !== IV_BYTES || !ct || ct.length < 16) {
    return { ok: false, reason: 'malformed', kid, detail: 'bad iv or ciphertext encoding' };
  }
  const sessionKeys = await derive(kid);
  let plaintext: ArrayBuffer;
  try {
    plaintext = await keys.subtle.decrypt(
      { name: 'AES-GCM', iv, additionalData: aad(kid), tagLength: 128 },
      sessionKeys.aes,
      ct,
    );
  } catch (cause) {
    return { ok: false, reason: 'authentication_failed', kid, cause };
  }
  try {
    const item = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new Error('not an object');
    return { ok: true, item };
  } catch (cause) {
    return { ok: false, reason: 'malformed', kid, detail: 'the plaintext is not a JSON object', cause };
  }
}

export function isEnvelope(value: unknown): value is EncryptedItem {
  const item = value as Partial<EncryptedItem> | null;
  return (
    item !== null &&
    typeof item === 'object' &&
    item.type === 'encrypted' &&
    item.v === 1 &&
    typeof item.kid === 'string' &&
    typeof item.iv === 'string' &&
    typeof item.ct === 'string'
  );
}

function aad(kid: string): Uint8Array {
  return utf8(`@sessions/core v1 ${kid}`);
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
