import { decodeBase64, decodeHex } from '../../encoding/base64.js';
import type { SessionDecryptionError } from '../../errors/decryption-error.js';
import { SessionValidationError } from '../../errors/session-errors.js';

/** The parts of a WebCrypto `CryptoKey` read here (the DOM's and Node's both fit). */
export interface WebCryptoKey {
  readonly algorithm: { readonly name: string };
  readonly usages: readonly string[];
}

type AesGcmParams = { name: 'AES-GCM'; iv: Uint8Array; additionalData: Uint8Array; tagLength: number };

/**
 * The methods of WebCrypto's `SubtleCrypto` used here: `globalThis.crypto.subtle` in Node 20+,
 * Deno, Bun, browsers and edge runtimes, or `require('node:crypto').webcrypto.subtle`.
 */
export interface SubtleCryptoLike {
  importKey(
    format: 'raw',
    keyData: Uint8Array,
    algorithm: string | { name: string; hash?: string },
    extractable: boolean,
    keyUsages: string[],
  ): Promise<unknown>;
  deriveBits(
    algorithm: { name: 'HKDF'; hash: string; salt: Uint8Array; info: Uint8Array },
    baseKey: unknown,
    length: number,
  ): Promise<ArrayBuffer>;
  sign(algorithm: 'HMAC', key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
  encrypt(algorithm: AesGcmParams, key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
  decrypt(algorithm: AesGcmParams, key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
}

/**
 * A master key: raw bytes (at least 32), an explicit `{ base64 }` or `{ hex }` text form of them,
 * a WebCrypto `HKDF` key, or — as a shorthand — a bare base64 string of exactly 32 bytes. Any other
 * bare string is refused: a 64-character hex key is also valid base64 (of 48 other bytes), so
 * guessing would silently use the wrong key.
 */
export type EncryptionKeyMaterial =
  | Uint8Array
  | ArrayBuffer
  | { readonly base64: string }
  | { readonly hex: string }
  | string
  | WebCryptoKey;

export interface EncryptionKey {
  /** Stored in clear next to every item it seals, so that reads pick the right key. */
  id: string;
  key: EncryptionKeyMaterial;
}

/**
 * What to do with an item that cannot be decrypted: `'throw'` (default) a
 * {@link SessionDecryptionError}; `'skip'` leave it out; a function is called with the error and
 * the item is left out (to log what was skipped). No policy ever removes an unreadable item.
 */
export type UnreadableItemPolicy = 'throw' | 'skip' | ((error: SessionDecryptionError) => void);

export interface EncryptionOptions {
  /**
   * Master keys, newest first: `keys[0]` seals every write, any listed key opens a read. To
   * rotate, put the new key first and keep the old ones until `reencrypt()` has run everywhere.
   */
  keys: readonly EncryptionKey[];
  /** Default `'throw'`: never a silent skip. */
  onUnreadable?: UnreadableItemPolicy;
  /**
   * Read items that are not encrypted as they are (histories written before encryption was
   * enabled). Off by default: whoever can write to the database could otherwise inject items.
   */
  allowUnencrypted?: boolean;
  /**
   * Bound into every per-session key (e.g. a tenant or namespace): a ciphertext copied to the same
   * session id under another context does not decrypt. Off by default, for compatibility with
   * items sealed without one; turning it on for existing data makes that data unreadable.
   */
  context?: string;
  /** A WebCrypto implementation; defaults to `globalThis.crypto.subtle`. */
  subtle?: SubtleCryptoLike;
}

export interface PreparedKeys {
  subtle: SubtleCryptoLike;
  writerId: string;
  material: Map<string, Uint8Array | WebCryptoKey>;
  imported: Map<string, Promise<unknown>>;
  policy: UnreadableItemPolicy;
  allowUnencrypted: boolean;
  context: string | undefined;
}

const MIN_KEY_BYTES = 32;
const OPTION_KEYS = ['keys', 'onUnreadable', 'allowUnencrypted', 'context', 'subtle'];

/** Validates the options once (before any I/O) and prepares the key table. */
export function prepareKeys(options: EncryptionOptions): PreparedKeys {
  if (options === null || typeof options !== 'object') {
    throw new SessionValidationError('withEncryption options must be an object with keys');
  }
  const unknown = Object.keys(options).find((key) => !OPTION_KEYS.includes(key));
  if (unknown !== undefined) {
    throw new SessionValidationError(
      `withEncryption does not know the option ${JSON.stringify(unknown)}; known options: ${OPTION_KEYS.join(', ')}`,
    );
  }
  const { keys, onUnreadable = 'throw', allowUnencrypted = false, context } = options;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new SessionValidationError('encryption keys must be a non-empty array of { id, key } (newest first)');
  }
  const material = new Map<string, Uint8Array | WebCryptoKey>();
  keys.forEach((entry: EncryptionKey, i) => {
    const id = entry?.id;
    if (typeof id !== 'string' || id.length === 0 || id.length > 128 || !id.isWellFormed()) {
      throw new SessionValidationError(`keys[${i}].id must be a non-empty string of at most 128 characters`);
    }
    if (material.has(id)) throw new SessionValidationError(`keys[${i}].id ${JSON.stringify(id)} is listed twice`);
    material.set(id, checkKeyMaterial(entry.key, `keys[${i}].key`));
  });
  if (onUnreadable !== 'throw' && onUnreadable !== 'skip' && typeof onUnreadable !== 'function') {
    throw new SessionValidationError(`onUnreadable must be 'throw', 'skip' or a function`);
  }
  if (context !== undefined && (typeof context !== 'string' || !context.isWellFormed() || context.includes('\u0000'))) {
    throw new SessionValidationError('context must be a string (well-formed, without U+0000)');
  }
  const subtle = options.subtle ?? (globalThis.crypto?.subtle as SubtleCryptoLike | undefined);
  if (!subtle || typeof subtle.encrypt !== 'function') {
    throw new SessionValidationError('WebCrypto is not available: pass options.subtle (a SubtleCrypto)');
  }
  return {
    subtle,
    writerId: keys[0]!.id,
    material,
    imported: new Map(),
    policy: onUnreadable,
    allowUnencrypted: allowUnencrypted === true,
    context,
  };
}

function checkKeyMaterial(key: unknown, path: string): Uint8Array | WebCryptoKey {
  if (typeof key === 'string') return bareStringKey(key, path);
  if (key instanceof Uint8Array || key instanceof ArrayBuffer) {
    return enoughBytes(new Uint8Array(key.slice(0)), `${path} is`);
  }
  const record = key as Record<string, unknown> | null;
  if (record && typeof record === 'object' && typeof record.base64 === 'string' && !('hex' in record)) {
    const bytes = decodeBase64(record.base64.replace(/-/g, '+').replace(/_/g, '/'));
    if (!bytes) throw new SessionValidationError(`${path}.base64 is not base64 (or base64url) text`);
    return enoughBytes(bytes, `${path}.base64 decodes to`);
  }
  if (record && typeof record === 'object' && typeof record.hex === 'string' && !('base64' in record)) {
    const bytes = decodeHex(record.hex);
    if (!bytes) throw new SessionValidationError(`${path}.hex is not hex text (an even number of 0-9, a-f)`);
    return enoughBytes(bytes, `${path}.hex decodes to`);
  }
  const cryptoKey = key as WebCryptoKey | null;
  if (cryptoKey && typeof cryptoKey === 'object' && cryptoKey.algorithm?.name === 'HKDF') {
    if (!cryptoKey.usages.includes('deriveBits')) {
      throw new SessionValidationError(`${path} is an HKDF CryptoKey without the 'deriveBits' usage`);
    }
    return cryptoKey;
  }
  throw new SessionValidationError(
    `${path} must be bytes (at least ${MIN_KEY_BYTES}), { base64: '…' }, { hex: '…' } or an HKDF CryptoKey`,
  );
}

/** A bare string is taken only when it cannot mean two things: base64 of exactly 32 bytes. */
function bareStringKey(text: string, path: string): Uint8Array {
  const bytes = decodeBase64(text.replace(/-/g, '+').replace(/_/g, '/'));
  if (bytes?.length === MIN_KEY_BYTES) return bytes;
  const hint = /^[0-9a-fA-F]+$/.test(text)
    ? `it looks like hex: pass { hex: '…' } (or { base64: '…' } if it really is base64)`
    : `pass { base64: '…' } or { hex: '…' } to say how it is written`;
  throw new SessionValidationError(
    `${path} is a bare string that is not base64 of exactly ${MIN_KEY_BYTES} bytes, so its encoding is ambiguous: ${hint}`,
  );
}

function enoughBytes(bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.length < MIN_KEY_BYTES) {
    throw new SessionValidationError(`${what} ${bytes.length} bytes; at least ${MIN_KEY_BYTES} are required`);
  }
  return bytes;
}

/** The master key `kid` as a WebCrypto HKDF key, imported once per options object. */
export function importMaster(keys: PreparedKeys, kid: string): Promise<unknown> {
  const cached = keys.imported.get(kid);
  if (cached) return cached;
  const material = keys.material.get(kid)!;
  const imported =
    material instanceof Uint8Array
      ? keys.subtle.importKey('raw', material, 'HKDF', false, ['deriveBits'])
      : Promise.resolve(material);
  imported.catch(() => keys.imported.delete(kid));
  keys.imported.set(kid, imported);
  return imported;
}
