/**
 * Encryption at rest for any session: every item is sealed with AES-256-GCM before it reaches
 * the backend, under a key derived per session with HKDF-SHA256 from a master key.
 *
 * WebCrypto only (`globalThis.crypto.subtle`, or a `subtle` passed in), so one code path serves
 * Node 20+, Deno, Bun, browsers and edge runtimes; on Node it is Node's own crypto underneath.
 *
 * Stored form, a plain JSON object every backend stores unchanged:
 *   { type: 'encrypted', v: 1, kid: '<key id>', iv: '<base64, 12 bytes>', ct: '<base64 ciphertext+tag>' }
 * Key schedule (documented so other tools can read the data):
 *   okm  = HKDF-SHA256(ikm = master key, salt = "@sessions/core encryption v1", info = "session:" + sessionId, 64 bytes)
 *   aes  = okm[0..32]   (AES-256-GCM key, 128-bit tag, AAD = "@sessions/core v1 " + kid)
 *   mac  = okm[32..64]  (HMAC-SHA256 key, only for deterministic IVs of history transactions)
 * The plaintext is the item's canonical JSON text (sorted keys) in UTF-8.
 */
import { validateLimit } from '../encoding/arguments.js';
import { encodeItem, encodeItems } from '../encoding/items.js';
import { encodeHistoryMutations, encodeHistoryTransaction } from '../encoding/transactions.js';
import { SessionCorruptDataError, SessionValidationError } from '../errors/index.js';
import type { AgentInputItem, HistoryMutationArgs, Session } from '../protocol/session.js';
import { type AnySession, buildFacade, hasMethod, isConflict, type WrappedSession } from './delegate.js';

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

/** Raw bytes (at least 32), a base64 / base64url string of them, or a WebCrypto `HKDF` key. */
export type EncryptionKeyMaterial = Uint8Array | ArrayBuffer | string | WebCryptoKey;

export interface EncryptionKey {
  /** Stored in clear next to every item it seals, so that reads pick the right key. */
  id: string;
  key: EncryptionKeyMaterial;
}

/**
 * What to do with an item that cannot be decrypted: `'throw'` (default) a
 * {@link SessionDecryptionError}; `'skip'` leave it out; a function is called with the error and
 * the item is left out (to log what was skipped).
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
  /** A WebCrypto implementation; defaults to `globalThis.crypto.subtle`. */
  subtle?: SubtleCryptoLike;
}

export type DecryptionFailureReason = 'unknown_key' | 'authentication_failed' | 'malformed' | 'not_encrypted';

export interface SessionDecryptionErrorDetails {
  reason: DecryptionFailureReason;
  sessionId: string;
  /** Index of the item among the items read (0 = oldest read); for a full read, its position in the history. */
  position: number;
  /** How many items were read. */
  count: number;
  /** Key id recorded with the item, when it has one. */
  keyId?: string | undefined;
  detail?: string | undefined;
}

/**
 * A stored item could not be decrypted: tampered with, sealed under another key than the one
 * with its id, under a key id that is not configured, or not an encrypted item at all.
 * `code` is `'CORRUPT_DATA'` (it is a {@link SessionCorruptDataError}).
 */
export class SessionDecryptionError extends SessionCorruptDataError {
  readonly reason: DecryptionFailureReason;
  readonly sessionId: string;
  /** Index among the items read (0 = oldest read). */
  readonly position: number;
  /** 1 = the newest item of the session, 2 = the one before, ... */
  readonly fromEnd: number;
  readonly keyId: string | undefined;

  constructor(details: SessionDecryptionErrorDetails, options?: { cause?: unknown }) {
    const fromEnd = details.count - details.position;
    const where = `item ${details.position} of the ${details.count} read from session ${JSON.stringify(details.sessionId)} (${fromEnd === 1 ? 'the newest item' : `${fromEnd} from the end`})`;
    super(`Cannot decrypt ${where}: ${explain(details)}`, options);
    this.reason = details.reason;
    this.sessionId = details.sessionId;
    this.position = details.position;
    this.fromEnd = fromEnd;
    this.keyId = details.keyId;
  }
}

function explain({ reason, keyId, detail }: SessionDecryptionErrorDetails): string {
  switch (reason) {
    case 'unknown_key':
      return `it was sealed under key id ${JSON.stringify(keyId)}, which is not among the configured keys`;
    case 'authentication_failed':
      return `authentication failed under key id ${JSON.stringify(keyId)}: the item was altered, or the key configured under that id is not the one that sealed it`;
    case 'not_encrypted':
      return 'it is not an encrypted item (pass allowUnencrypted: true to read items stored before encryption was enabled)';
    default:
      return `it is not a well-formed encrypted item${detail ? ` (${detail})` : ''}`;
  }
}

/** What `withEncryption` returns: the wrapped session's capabilities plus key rotation. */
export type EncryptedSession<S extends Session = Session> = WrappedSession<S> & {
  /** The session that holds the sealed items. */
  readonly inner: S;
  /**
   * Re-seals every item not sealed under `keys[0]`, atomically (needs the inner session's
   * `applyHistoryTransaction`). Returns how many items were re-sealed. After it has run on every
   * session, the old keys can be dropped.
   */
  reencrypt(): Promise<number>;
};

const SALT = utf8('@sessions/core encryption v1');
const IV_BYTES = 12;
const MIN_KEY_BYTES = 32;
const MAX_ATTEMPTS = 10;

interface PreparedKeys {
  subtle: SubtleCryptoLike;
  writerId: string;
  material: Map<string, EncryptionKeyMaterial>;
  imported: Map<string, Promise<unknown>>;
  policy: UnreadableItemPolicy;
  allowUnencrypted: boolean;
}

interface SessionKeys {
  aes: unknown;
  mac: unknown;
}

type Opened =
  | { ok: true; item: AgentInputItem }
  | { ok: false; reason: DecryptionFailureReason; kid?: string; detail?: string; cause?: unknown };

// Options objects are usually created once and used for every session handle (a store wrapper
// calls withEncryption on each `session(id)`), so validated and imported keys are cached per object.
const prepared = new WeakMap<EncryptionOptions, PreparedKeys>();

/**
 * Wraps `session` so that every item is encrypted before it reaches the backend. The result has
 * the same optional capabilities as `session` (transactions stay atomic and idempotent).
 *
 *   const session = withEncryption(store.session(id), { keys: [{ id: '2025-06', key: process.env.SESSION_KEY! }] });
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

function prepareKeys(options: EncryptionOptions): PreparedKeys {
  if (options === null || typeof options !== 'object') {
    throw new SessionValidationError('withEncryption options must be an object with keys');
  }
  const { keys, onUnreadable = 'throw', allowUnencrypted = false } = options;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new SessionValidationError('encryption keys must be a non-empty array of { id, key } (newest first)');
  }
  const material = new Map<string, EncryptionKeyMaterial>();
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
  };
}

function checkKeyMaterial(key: unknown, path: string): EncryptionKeyMaterial {
  if (typeof key === 'string') {
    const bytes = decodeBase64(key.replace(/-/g, '+').replace(/_/g, '/'));
    if (!bytes) throw new SessionValidationError(`${path} must be base64 (or base64url) text`);
    if (bytes.length < MIN_KEY_BYTES) {
      throw new SessionValidationError(
        `${path} decodes to ${bytes.length} bytes; at least ${MIN_KEY_BYTES} are required`,
      );
    }
    return bytes;
  }
  if (key instanceof Uint8Array || key instanceof ArrayBuffer) {
    const length = key.byteLength;
    if (length < MIN_KEY_BYTES) {
      throw new SessionValidationError(`${path} is ${length} bytes; at least ${MIN_KEY_BYTES} are required`);
    }
    return new Uint8Array(key.slice(0));
  }
  const cryptoKey = key as WebCryptoKey | null;
  if (cryptoKey && typeof cryptoKey === 'object' && cryptoKey.algorithm?.name === 'HKDF') {
    if (!cryptoKey.usages.includes('deriveBits')) {
      throw new SessionValidationError(`${path} is an HKDF CryptoKey without the 'deriveBits' usage`);
    }
    return cryptoKey;
  }
  throw new SessionValidationError(`${path} must be bytes (≥ 32), base64 text of them, or an HKDF CryptoKey`);
}

class EncryptedSessionImpl<S extends Session> {
  readonly facade: EncryptedSession<S>;
  readonly #inner: AnySession;
  readonly #keys: PreparedKeys;
  readonly #sessionKeys = new Map<string, Promise<SessionKeys>>();
  #sessionId: string | undefined;

  constructor(inner: S, keys: PreparedKeys) {
    this.#inner = inner as AnySession;
    this.#keys = keys;
    this.facade = buildFacade(
      inner,
      {
        getSessionId: (...rest) => this.#inner.getSessionId(...rest),
        getItems: (limit, ...rest) => this.getItems(limit, rest),
        addItems: (items, ...rest) => this.addItems(items, rest),
        popItem: (...rest) => this.popItem(rest),
        clearSession: (...rest) => this.#inner.clearSession(...rest),
        applyHistoryTransaction: (args, ...rest) => this.applyHistoryTransaction(args, rest),
        replaceHistoryWithCompaction: (items, ...rest) => this.replaceHistoryWithCompaction(items, rest),
        applyHistoryMutations: hasMethod(inner, 'applyHistoryTransaction')
          ? (args, ...rest) => this.applyHistoryMutations(args, rest)
          : undefined,
      },
      { inner, reencrypt: () => this.reencrypt() },
    ) as EncryptedSession<S>;
  }

  async getItems(limit: unknown, rest: unknown[]): Promise<AgentInputItem[]> {
    const checked = validateLimit(limit);
    if (checked === 0) return this.#inner.getItems(0, ...rest); // [] (or the inner's closed error)
    if (checked === undefined) {
      return this.#readable(await this.#inner.getItems(undefined, ...rest));
    }
    // With `skip`, unreadable items do not count against the limit: read further back for them.
    for (let want = checked; ; ) {
      const raw: unknown[] = await this.#inner.getItems(want, ...rest);
      const items = await this.#readable(raw);
      if (items.length >= checked || raw.length < want) return items.slice(-checked);
      want += 2 * (checked - items.length);
    }
  }

  async addItems(items: AgentInputItem[], rest: unknown[]): Promise<void> {
    const texts = encodeItems(items);
    if (texts.length === 0) return this.#inner.addItems([], ...rest);
    const sealed = await Promise.all(texts.map((text) => this.#seal(text)));
    await this.#inner.addItems(sealed, ...rest);
  }

  async popItem(rest: unknown[]): Promise<AgentInputItem | undefined> {
    // Look before removing, in every mode: an item this key cannot read is never destroyed.
    const [newest] = await this.#inner.getItems(1, ...rest);
    if (newest === undefined) return undefined;
    const checked = await this.#open(newest);
    if (!checked.ok) return this.#unreadablePop(await this.#error(checked, 0, 1));
    const raw = await this.#inner.popItem(...rest);
    if (raw === undefined) return undefined;
    const opened = await this.#open(raw);
    // Only a concurrent writer can put an unreadable item on top between the look and the pop.
    return opened.ok ? opened.item : this.#unreadablePop(await this.#error(opened, 0, 1));
  }

  #unreadablePop(error: SessionDecryptionError): undefined {
    if (this.#keys.policy === 'throw') throw error;
    this.#report(error);
    return undefined;
  }

  async replaceHistoryWithCompaction(items: AgentInputItem[], rest: unknown[]): Promise<void> {
    const texts = encodeItems(items);
    const sealed = await Promise.all(texts.map((text) => this.#seal(text)));
    await this.#inner.replaceHistoryWithCompaction(sealed, ...rest);
  }

  /**
   * Transactions over sealed items. The backend compares and remembers what it stores, so the
   * sealed transaction must be a pure function of the plaintext one, or a retry would look like
   * a different transaction under the same id:
   * - replacement items get an IV derived from HMAC(operationId, index, plaintext), so a retry
   *   produces byte-identical ciphertexts (and nothing else ever reuses an IV with other text);
   * - the expected suffix is sealed in a canonical form (IV from HMAC(distance from the end,
   *   plaintext)). Stored items normally have random IVs, so on a mismatch the stored tail is
   *   read, opened and compared as plaintext; if it matches, it is first re-sealed in canonical
   *   form by a conditional replace (history unchanged as plaintext) and the transaction retried.
   */
  async applyHistoryTransaction(args: unknown, rest: unknown[]): Promise<void> {
    const plain = encodeHistoryTransaction(args as never);
    const type = (args as { transaction: { type: 'append_items' | 'replace_suffix' } }).transaction.type;
    const build = async (kid: string) => {
      const replacement = await Promise.all(
        plain.replacement.map((text, i) => this.#seal(text, kid, `tx\u0000${plain.operationId}\u0000${i}`)),
      );
      if (type === 'append_items') return { type, items: replacement };
      return { type, expectedSuffix: await this.#canonicalSuffix(plain.expectedSuffix, kid), replacement };
    };
    const apply = async (kid: string) =>
      this.#inner.applyHistoryTransaction({ operationId: plain.operationId, transaction: await build(kid) }, ...rest);

    for (let attempt = 0; ; attempt++) {
      try {
        await apply(this.#keys.writerId);
        return;
      } catch (error) {
        if (isConflict(error, 'operation_id_reused')) {
          // The backend knows this id. If it was applied before a key rotation, the retry is the
          // same transaction sealed under an older key: offer each one (a known id never writes).
          for (const kid of this.#keys.material.keys()) {
            if (kid === this.#keys.writerId) continue;
            try {
              await apply(kid);
              return;
            } catch (retryError) {
              if (!isConflict(retryError)) throw retryError;
            }
          }
          throw error;
        }
        if (!isConflict(error, 'suffix_mismatch') || type !== 'replace_suffix' || attempt >= MAX_ATTEMPTS) throw error;
        if (!(await this.#canonicalizeTail(plain.expectedSuffix, rest))) throw error;
      }
    }
  }

  /**
   * Re-seals the stored tail in the canonical form of `expected` when it holds the same plaintext.
   * Returns false when it does not (a genuine mismatch).
   */
  async #canonicalizeTail(expected: string[], rest: unknown[]): Promise<boolean> {
    const n = expected.length;
    const raw: unknown[] = await this.#inner.getItems(n, ...rest);
    if (raw.length < n) return false;
    const opened = await Promise.all(raw.map((item) => this.#open(item)));
    for (let i = 0; i < n; i++) {
      const item = opened[i]!;
      if (!item.ok || encodeItem(item.item) !== expected[i]) return false;
    }
    const canonical = await this.#canonicalSuffix(expected, this.#keys.writerId);
    if (canonical.every((item, i) => encodeItem(item) === encodeItem(raw[i]))) return true; // someone else did it
    try {
      await this.#inner.applyHistoryTransaction(
        {
          operationId: `reseal:${globalThis.crypto.randomUUID()}`,
          transaction: { type: 'replace_suffix', expectedSuffix: raw, replacement: canonical },
        },
        ...rest,
      );
    } catch (error) {
      if (!isConflict(error, 'suffix_mismatch')) throw error;
    }
    return true;
  }

  #canonicalSuffix(texts: string[], kid: string): Promise<EncryptedItem[]> {
    const n = texts.length;
    return Promise.all(texts.map((text, i) => this.#seal(text, kid, `suffix\u0000${n - i}`)));
  }

  async applyHistoryMutations(args: unknown, rest: unknown[]): Promise<void> {
    const replacements = encodeHistoryMutations(args as HistoryMutationArgs);
    if (replacements.size === 0) return;
    await this.#rewrite('mutation', rest, async (item) => {
      if (item?.type !== 'function_call' || typeof item.callId !== 'string') return undefined;
      const text = replacements.get(item.callId);
      return text === undefined || text === encodeItem(item) ? undefined : this.#seal(text);
    });
  }

  async reencrypt(): Promise<number> {
    if (!hasMethod(this.#inner, 'applyHistoryTransaction')) {
      throw new SessionValidationError('reencrypt() needs a session with applyHistoryTransaction');
    }
    return this.#rewrite('reencrypt', [], async (item, raw) =>
      isEnvelope(raw) && raw.kid === this.#keys.writerId ? undefined : this.#seal(encodeItem(item)),
    );
  }

  /**
   * Reads the whole history, replaces the items `change` returns a new sealed form for, and
   * swaps the changed suffix with a conditional transaction; re-read and retried on a race.
   */
  async #rewrite(
    label: string,
    rest: unknown[],
    change: (item: AgentInputItem, raw: unknown) => Promise<EncryptedItem | undefined>,
  ): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const raw: unknown[] = await this.#inner.getItems(undefined, ...rest);
      const opened = await Promise.all(raw.map((item) => this.#open(item)));
      const next = raw.slice();
      let changed = 0;
      for (const [i, result] of opened.entries()) {
        if (!result.ok) {
          const error = await this.#error(result, i, raw.length);
          if (this.#keys.policy === 'throw') throw error;
          this.#report(error);
          continue;
        }
        const sealed = await change(result.item, raw[i]);
        if (sealed) {
          next[i] = sealed;
          changed++;
        }
      }
      const first = next.findIndex((item, i) => item !== raw[i]);
      if (first === -1) return 0;
      try {
        await this.#inner.applyHistoryTransaction(
          {
            operationId: `${label}:${globalThis.crypto.randomUUID()}`,
            transaction: { type: 'replace_suffix', expectedSuffix: raw.slice(first), replacement: next.slice(first) },
          },
          ...rest,
        );
        return changed;
      } catch (error) {
        if (!isConflict(error, 'suffix_mismatch') || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  /** Opens every raw item; applies the unreadable policy, naming the first failure's position. */
  async #readable(raw: unknown[]): Promise<AgentInputItem[]> {
    const opened = await Promise.all(raw.map((item) => this.#open(item)));
    const items: AgentInputItem[] = [];
    for (const [i, result] of opened.entries()) {
      if (result.ok) {
        items.push(result.item);
        continue;
      }
      const error = await this.#error(result, i, raw.length);
      if (this.#keys.policy === 'throw') throw error;
      this.#report(error);
    }
    return items;
  }

  #report(error: SessionDecryptionError): void {
    const policy = this.#keys.policy;
    if (typeof policy === 'function') policy(error);
  }

  async #error(
    failure: Extract<Opened, { ok: false }>,
    position: number,
    count: number,
  ): Promise<SessionDecryptionError> {
    return new SessionDecryptionError(
      {
        reason: failure.reason,
        sessionId: await this.#id(),
        position,
        count,
        keyId: failure.kid,
        detail: failure.detail,
      },
      { cause: failure.cause },
    );
  }

  async #id(): Promise<string> {
    this.#sessionId ??= String(await this.#inner.getSessionId());
    return this.#sessionId;
  }

  #derive(kid: string): Promise<SessionKeys> {
    let keys = this.#sessionKeys.get(kid);
    if (!keys) {
      keys = this.#deriveUncached(kid);
      keys.catch(() => this.#sessionKeys.delete(kid));
      this.#sessionKeys.set(kid, keys);
    }
    return keys;
  }

  async #deriveUncached(kid: string): Promise<SessionKeys> {
    const { subtle } = this.#keys;
    const master = await importMaster(this.#keys, kid);
    const info = utf8(`session:${await this.#id()}`);
    const okm = new Uint8Array(
      await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: SALT, info }, master, 512),
    );
    const [aes, mac] = await Promise.all([
      subtle.importKey('raw', okm.slice(0, 32), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']),
      subtle.importKey('raw', okm.slice(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']),
    ]);
    okm.fill(0);
    return { aes, mac };
  }

  /** Seals canonical item text; `ivLabel` makes the IV deterministic (HMAC of label and text). */
  async #seal(text: string, kid = this.#keys.writerId, ivLabel?: string): Promise<EncryptedItem> {
    const { subtle } = this.#keys;
    const keys = await this.#derive(kid);
    const plaintext = utf8(text);
    let iv: Uint8Array;
    if (ivLabel === undefined) {
      iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
    } else {
      const mac = await subtle.sign('HMAC', keys.mac, utf8(`${ivLabel}\u0000${text}`));
      iv = new Uint8Array(mac, 0, IV_BYTES).slice();
    }
    const ct = await subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: aad(kid), tagLength: 128 },
      keys.aes,
      plaintext,
    );
    return { type: 'encrypted', v: 1, kid, iv: encodeBase64(iv), ct: encodeBase64(new Uint8Array(ct)) };
  }

  async #open(raw: unknown): Promise<Opened> {
    if (!isEnvelope(raw)) {
      const looksSealed = (raw as { type?: unknown } | null)?.type === 'encrypted';
      if (!looksSealed && this.#keys.allowUnencrypted && raw !== null && typeof raw === 'object') {
        return { ok: true, item: raw };
      }
      return looksSealed
        ? { ok: false, reason: 'malformed', detail: 'unexpected version or fields' }
        : { ok: false, reason: 'not_encrypted' };
    }
    const { kid } = raw;
    if (!this.#keys.material.has(kid)) return { ok: false, reason: 'unknown_key', kid };
    const iv = decodeBase64(raw.iv);
    const ct = decodeBase64(raw.ct);
    if (!iv || iv.length !== IV_BYTES || !ct || ct.length < 16) {
      return { ok: false, reason: 'malformed', kid, detail: 'bad iv or ciphertext encoding' };
    }
    const keys = await this.#derive(kid);
    let plaintext: ArrayBuffer;
    try {
      plaintext = await this.#keys.subtle.decrypt(
        { name: 'AES-GCM', iv, additionalData: aad(kid), tagLength: 128 },
        keys.aes,
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
}

function importMaster(keys: PreparedKeys, kid: string): Promise<unknown> {
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

function isEnvelope(value: unknown): value is EncryptedItem {
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

// Base64 by hand: no Buffer on edge runtimes, and atob/btoa go through binary strings (slow).
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;
const ALPHABET_CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));

export function encodeBase64(bytes: Uint8Array): string {
  // Written as ASCII bytes and decoded once: far faster than growing a string.
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ALPHABET_CODES[n >> 18]!;
    out[o++] = ALPHABET_CODES[(n >> 12) & 63]!;
    out[o++] = ALPHABET_CODES[(n >> 6) & 63]!;
    out[o++] = ALPHABET_CODES[n & 63]!;
  }
  if (i < bytes.length) {
    const two = i + 1 < bytes.length;
    const n = (bytes[i]! << 16) | (two ? bytes[i + 1]! << 8 : 0);
    out[o++] = ALPHABET_CODES[n >> 18]!;
    out[o++] = ALPHABET_CODES[(n >> 12) & 63]!;
    out[o++] = two ? ALPHABET_CODES[(n >> 6) & 63]! : 61;
    out[o++] = 61; // =
  }
  return new TextDecoder().decode(out);
}

/** Strict standard base64 (padding optional); `undefined` when the text is not base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  let length = text.length;
  while (length > 0 && text.charCodeAt(length - 1) === 61 /* = */) length--;
  if (text.length - length > 2 || length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((length * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? LOOKUP[code]! : -1;
    if (value < 0) return undefined;
    buffer = ((buffer << 6) | value) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xff;
    }
  }
  return out;
}
