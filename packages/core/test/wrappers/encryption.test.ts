import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createInMemoryStorage,
  encodeItem,
  InMemorySession,
  InMemorySessionStore,
  SessionConflictError,
  SessionCorruptDataError,
  SessionError,
  SessionValidationError,
} from '../../src/index.js';
import fixtures from '../../src/testing/fixtures/agent-input-items.json' with { type: 'json' };
import {
  decodeBase64,
  type EncryptedItem,
  type EncryptionOptions,
  encodeBase64,
  SessionDecryptionError,
  withEncryption,
} from '../../src/wrappers/encryption/index.js';

const KEY_1 = new Uint8Array(32).map((_, i) => i + 1);
const KEY_2 = new Uint8Array(32).map((_, i) => 200 - i);
const k1: EncryptionOptions = { keys: [{ id: 'k1', key: KEY_1 }] };
const k2k1: EncryptionOptions = {
  keys: [
    { id: 'k2', key: KEY_2 },
    { id: 'k1', key: KEY_1 },
  ],
};
const k2: EncryptionOptions = { keys: [{ id: 'k2', key: KEY_2 }] };

const msg = (text: string, extra: Record<string, unknown> = {}) => ({
  type: 'message',
  role: 'user',
  content: text,
  ...extra,
});
const numbered = (tag: string, n: number) => Array.from({ length: n }, (_, i) => msg(`${tag}-${i}`, { i }));

/** One in-memory session, seen raw and through the wrapper. */
function setup(options: EncryptionOptions = k1, id = 'session-1') {
  const storage = createInMemoryStorage();
  const raw = new InMemorySession({ sessionId: id, storage });
  return {
    storage,
    raw,
    session: withEncryption(raw, options),
    reopen: (o: EncryptionOptions) => withEncryption(raw, o),
  };
}

async function rejection<T>(promise: Promise<unknown>, type: abstract new (...args: never[]) => T): Promise<T> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(type);
  return caught as T;
}

/** Tampers with stored item `index` of the raw session by replacing it through `edit`. */
async function tamper(raw: InMemorySession, index: number, edit: (item: EncryptedItem) => unknown) {
  const items = await raw.getItems();
  items[index] = edit(items[index]);
  await raw.replaceHistoryWithCompaction(items);
}

function flipLastByte(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[bytes.length - 1]! ^= 1;
  return bytes.toString('base64');
}

describe('withEncryption: what is stored', () => {
  it('stores only sealed JSON items: no plaintext, the key id with each, a fresh IV per item', async () => {
    const { storage, raw, session } = setup();
    const secret = msg('the launch code is 0000', { providerData: { note: 'classified' } });
    await session.addItems([secret, secret]);
    const stored = await raw.getItems();
    expect(stored).toHaveLength(2);
    for (const item of stored) {
      expect(Object.keys(item).sort()).toEqual(['ct', 'iv', 'kid', 'type', 'v']);
      expect(item).toMatchObject({ type: 'encrypted', v: 1, kid: 'k1' });
      expect(Buffer.from(item.iv, 'base64')).toHaveLength(12);
    }
    const text = JSON.stringify([...storage.values()].map((r) => r.items));
    expect(text).not.toContain('launch');
    expect(text).not.toContain('classified');
    // Same plaintext, different ciphertext: plain appends leak no equality.
    expect(stored[0].iv).not.toBe(stored[1].iv);
    expect(stored[0].ct).not.toBe(stored[1].ct);
    expect(await session.getItems()).toEqual([secret, secret]);
  });

  it('every fixture item round-trips', async () => {
    const { session } = setup();
    const items = Object.values(fixtures);
    await session.addItems(items);
    expect(await session.getItems()).toEqual(items);
    expect(await session.getItems(3)).toEqual(items.slice(-3));
    expect(await session.popItem()).toEqual(items.at(-1));
  });

  it('the same item in two sessions has unrelated ciphertexts (per-session keys)', async () => {
    const storage = createInMemoryStorage();
    const a = withEncryption(new InMemorySession({ sessionId: 'a', storage }), k1);
    const b = withEncryption(new InMemorySession({ sessionId: 'b', storage }), k1);
    await a.addItems([msg('same')]);
    await b.addItems([msg('same')]);
    // Moving a sealed item to another session is detected: it was sealed under another key.
    await b.inner.addItems(await a.inner.getItems());
    const error = await rejection(b.getItems(), SessionDecryptionError);
    expect(error.reason).toBe('authentication_failed');
    expect(error.position).toBe(1);
  });
});

describe('withEncryption: tampering, wrong keys and unknown keys', () => {
  it('a modified ciphertext fails with SessionDecryptionError naming its position', async () => {
    const { raw, session } = setup();
    await session.addItems(numbered('t', 6));
    await tamper(raw, 3, (item) => ({ ...item, ct: flipLastByte(item.ct) }));
    const error = await rejection(session.getItems(), SessionDecryptionError);
    expect(error).toBeInstanceOf(SessionCorruptDataError);
    expect(error).toBeInstanceOf(SessionError);
    expect(error.code).toBe('CORRUPT_DATA');
    expect(error.reason).toBe('authentication_failed');
    expect(error.position).toBe(3);
    expect(error.fromEnd).toBe(3);
    expect(error.keyId).toBe('k1');
    expect(error.sessionId).toBe('session-1');
    expect(error.message).toContain('item 3 of the 6 read');
    expect(error.message).toContain('3 from the end');
    // With a limit, the position is among the items read; fromEnd stays absolute.
    const limited = await rejection(session.getItems(4), SessionDecryptionError);
    expect([limited.position, limited.fromEnd]).toEqual([1, 3]);
    // Items past the tampered one are still readable.
    expect(await session.getItems(2)).toEqual(numbered('t', 6).slice(4));
  });

  it('a modified IV, key id or version is detected', async () => {
    const { raw, session } = setup(k2k1);
    await session.addItems([msg('a'), msg('b'), msg('c')]);
    await tamper(raw, 0, (item) => ({ ...item, iv: flipLastByte(item.iv) }));
    expect((await rejection(session.getItems(), SessionDecryptionError)).reason).toBe('authentication_failed');
    await tamper(raw, 0, () => ({ type: 'encrypted', v: 1, kid: 'k2', iv: 'AAAA', ct: 'AAAA' }));
    expect((await rejection(session.getItems(), SessionDecryptionError)).reason).toBe('malformed');
    // Relabelled under the other listed key id: the AAD binds the id, and the key differs.
    const fresh = setup(k2k1);
    await fresh.session.addItems([msg('x')]);
    await tamper(fresh.raw, 0, (item) => ({ ...item, kid: 'k1' }));
    expect((await rejection(fresh.session.getItems(), SessionDecryptionError)).reason).toBe('authentication_failed');
    await tamper(fresh.raw, 0, (item) => ({ ...item, v: 2 }));
    expect((await rejection(fresh.session.getItems(), SessionDecryptionError)).reason).toBe('malformed');
  });

  it('a different key under the same id fails authentication; an unlisted id is unknown_key', async () => {
    const { session, reopen } = setup(k1);
    await session.addItems([msg('one'), msg('two')]);
    const wrong = reopen({ keys: [{ id: 'k1', key: KEY_2 }] });
    const error = await rejection(wrong.getItems(), SessionDecryptionError);
    expect([error.reason, error.position, error.fromEnd]).toEqual(['authentication_failed', 0, 2]);
    const unknown = await rejection(reopen(k2).getItems(), SessionDecryptionError);
    expect(unknown.reason).toBe('unknown_key');
    expect(unknown.keyId).toBe('k1');
    expect(unknown.message).toContain('"k1"');
  });

  it('items that are not encrypted are refused unless allowUnencrypted', async () => {
    const { raw, session, reopen } = setup();
    await raw.addItems([msg('written before encryption')]);
    await session.addItems([msg('written after')]);
    const error = await rejection(session.getItems(), SessionDecryptionError);
    expect([error.reason, error.position]).toEqual(['not_encrypted', 0]);
    const lenient = reopen({ ...k1, allowUnencrypted: true });
    expect(await lenient.getItems()).toEqual([msg('written before encryption'), msg('written after')]);
    // reencrypt() seals the legacy item too.
    expect(await lenient.reencrypt()).toBe(1);
    expect(await session.getItems()).toEqual([msg('written before encryption'), msg('written after')]);
  });

  it("popItem in 'throw' mode refuses before removing anything", async () => {
    const { raw, session, reopen } = setup();
    await session.addItems([msg('a'), msg('b')]);
    await rejection(reopen(k2).popItem(), SessionDecryptionError);
    expect(await raw.getItems()).toHaveLength(2);
    await tamper(raw, 1, (item) => ({ ...item, ct: flipLastByte(item.ct) }));
    const error = await rejection(session.popItem(), SessionDecryptionError);
    expect(error.fromEnd).toBe(1);
    expect(error.message).toContain('the newest item');
    expect(await raw.getItems()).toHaveLength(2);
  });
});

describe("withEncryption: onUnreadable 'skip'", () => {
  it('leaves unreadable items out, refills limited reads from further back, and reports them', async () => {
    const { raw, session, reopen } = setup();
    const items = numbered('s', 8);
    await session.addItems(items);
    for (const index of [2, 6, 7]) await tamper(raw, index, (item) => ({ ...item, ct: flipLastByte(item.ct) }));
    const reported: SessionDecryptionError[] = [];
    const skipping = reopen({ ...k1, onUnreadable: (error) => reported.push(error) });
    expect(await skipping.getItems()).toEqual([0, 1, 3, 4, 5].map((i) => items[i]));
    expect(reported.map((e) => e.position)).toEqual([2, 6, 7]);
    expect(await skipping.getItems(2)).toEqual([items[4], items[5]]);
    expect(await skipping.getItems(4)).toEqual([1, 3, 4, 5].map((i) => items[i]));
    expect(await skipping.getItems(100)).toEqual([0, 1, 3, 4, 5].map((i) => items[i]));
    // popItem never destroys what it cannot read: an unreadable newest item is reported and kept.
    const silent = reopen({ ...k1, onUnreadable: 'skip' });
    expect(await silent.popItem()).toBeUndefined();
    expect(await raw.getItems()).toHaveLength(8);
    // With a readable item on top, pop removes exactly that one.
    await silent.addItems([items[0]]);
    expect(await silent.popItem()).toEqual(items[0]);
    expect(await raw.getItems()).toHaveLength(8);
  });
});

describe('withEncryption: key rotation', () => {
  it('new writes use the first key, reads accept every listed key, reencrypt() moves all to the first', async () => {
    const { raw, session, reopen } = setup(k1);
    await session.addItems(numbered('old', 3));
    const rotated = reopen(k2k1);
    await rotated.addItems(numbered('new', 2));
    expect((await raw.getItems()).map((i: EncryptedItem) => i.kid)).toEqual(['k1', 'k1', 'k1', 'k2', 'k2']);
    const all = [...numbered('old', 3), ...numbered('new', 2)];
    expect(await rotated.getItems()).toEqual(all);
    // Without the old key the old items are unreadable (the first one is named).
    const error = await rejection(reopen(k2).getItems(), SessionDecryptionError);
    expect([error.reason, error.position]).toEqual(['unknown_key', 0]);
    expect(await rotated.reencrypt()).toBe(3);
    expect(await rotated.reencrypt()).toBe(0);
    expect((await raw.getItems()).map((i: EncryptedItem) => i.kid)).toEqual(['k2', 'k2', 'k2', 'k2', 'k2']);
    expect(await reopen(k2).getItems()).toEqual(all);
  });

  it('accepts base64, base64url and HKDF CryptoKey master keys, all equivalent to the bytes', async () => {
    const { session, reopen } = setup({ keys: [{ id: 'k', key: KEY_2 }] });
    await session.addItems([msg('interop')]);
    const b64 = Buffer.from(KEY_2).toString('base64');
    const b64url = Buffer.from(KEY_2).toString('base64url');
    const cryptoKey = await globalThis.crypto.subtle.importKey('raw', KEY_2, 'HKDF', false, ['deriveBits']);
    for (const key of [b64, b64url, cryptoKey, KEY_2.buffer.slice(0)]) {
      expect(await reopen({ keys: [{ id: 'k', key }] }).getItems()).toEqual([msg('interop')]);
    }
  });

  it('refuses bad key configurations before any I/O', () => {
    const raw = new InMemorySession({ sessionId: 'x' });
    const bad: unknown[] = [
      undefined,
      {},
      { keys: [] },
      { keys: [{ id: '', key: KEY_1 }] },
      { keys: [{ id: 'a', key: new Uint8Array(16) }] },
      { keys: [{ id: 'a', key: 'c2hvcnQ=' }] },
      { keys: [{ id: 'a', key: 'not base64!' }] },
      { keys: [{ id: 'a', key: 42 }] },
      {
        keys: [
          { id: 'a', key: KEY_1 },
          { id: 'a', key: KEY_2 },
        ],
      },
      { keys: [{ id: 'a', key: KEY_1 }], onUnreadable: 'ignore' },
    ];
    for (const options of bad) {
      expect(() => withEncryption(raw, options as EncryptionOptions), JSON.stringify(options)).toThrow(
        SessionValidationError,
      );
    }
    expect(() => withEncryption({} as never, k1)).toThrow(SessionValidationError);
  });
});

describe('withEncryption: history transactions stay atomic and idempotent', () => {
  it('a retried append_items stores byte-identical ciphertexts once', async () => {
    const { raw, session } = setup();
    const args = { operationId: 'op-1', transaction: { type: 'append_items' as const, items: numbered('a', 3) } };
    await session.applyHistoryTransaction(args);
    const first = await raw.getItems();
    await session.applyHistoryTransaction(structuredClone(args));
    await withEncryption(raw, k1).applyHistoryTransaction(structuredClone(args));
    expect(await raw.getItems()).toEqual(first);
    expect(await session.getItems()).toEqual(numbered('a', 3));
    // The same item in another operation gets another IV: no equality leak across operations.
    await session.applyHistoryTransaction({
      operationId: 'op-2',
      transaction: { type: 'append_items', items: [msg('a-0', { i: 0 })] },
    });
    const stored = await raw.getItems();
    expect(stored[3].ct).not.toBe(stored[0].ct);
  });

  it('replace_suffix matches items written by addItems (random IVs) and by an older key', async () => {
    const { raw, session, reopen } = setup(k1);
    const [a, b, c] = numbered('r', 3);
    await session.addItems([a, b, c]);
    const rotated = reopen(k2k1);
    const args = {
      operationId: 'op-replace',
      transaction: { type: 'replace_suffix' as const, expectedSuffix: [b, c], replacement: [msg('x'), msg('y')] },
    };
    await rotated.applyHistoryTransaction(args);
    const after = await raw.getItems();
    await rotated.applyHistoryTransaction(structuredClone(args));
    expect(await raw.getItems()).toEqual(after);
    expect(await rotated.getItems()).toEqual([a, msg('x'), msg('y')]);
    expect(after.map((i: EncryptedItem) => i.kid)).toEqual(['k1', 'k2', 'k2']);
  });

  it('a retry after a key rotation is still recognised as the same operation', async () => {
    const { raw, session, reopen } = setup(k1);
    await session.addItems([msg('base')]);
    const args = {
      operationId: 'op-rotated',
      transaction: { type: 'replace_suffix' as const, expectedSuffix: [msg('base')], replacement: [msg('new')] },
    };
    await session.applyHistoryTransaction(args);
    const before = await raw.getItems();
    await reopen(k2k1).applyHistoryTransaction(structuredClone(args)); // no error, no change
    expect(await raw.getItems()).toEqual(before);
    // A different transaction under that id is still a conflict.
    const error = await rejection(
      reopen(k2k1).applyHistoryTransaction({
        operationId: 'op-rotated',
        transaction: { type: 'append_items', items: [msg('other')] },
      }),
      SessionConflictError,
    );
    expect(error.reason).toBe('operation_id_reused');
  });

  it('a suffix that does not match as plaintext fails and changes nothing', async () => {
    const { raw, session } = setup();
    await session.addItems(numbered('m', 3));
    const before = await raw.getItems();
    const error = await rejection(
      session.applyHistoryTransaction({
        operationId: 'op-stale',
        transaction: { type: 'replace_suffix', expectedSuffix: [msg('nope')], replacement: [] },
      }),
      SessionConflictError,
    );
    expect(error.reason).toBe('suffix_mismatch');
    expect(await raw.getItems()).toEqual(before);
  });

  it('applyHistoryMutations replaces an encrypted function call in place', async () => {
    const { raw, session } = setup(k2k1);
    const call = { type: 'function_call', callId: 'c1', name: 'f', arguments: '{"secret":1}', status: 'completed' };
    const result = { type: 'function_call_result', callId: 'c1', name: 'f', status: 'completed', output: 'ok' };
    await session.addItems([msg('q'), call, result]);
    const before = await raw.getItems();
    const replacement = { ...call, arguments: '{}' };
    await session.applyHistoryMutations({ mutations: [{ type: 'replace_function_call', callId: 'c1', replacement }] });
    expect(await session.getItems()).toEqual([msg('q'), replacement, result]);
    const after = await raw.getItems();
    expect(after[0]).toEqual(before[0]);
    expect(after[2]).toEqual(before[2]);
    expect(after[1]).not.toEqual(before[1]);
  });
});

describe('withEncryption: Node crypto and WebCrypto agree', () => {
  const id = 'interop-session';
  const master = randomBytes(32);
  const options: EncryptionOptions = { keys: [{ id: 'main', key: new Uint8Array(master) }] };
  const okm = () => Buffer.from(hkdfSync('sha256', master, '@sessions/core encryption v1', `session:${id}`, 64));

  it("an item sealed through WebCrypto opens with Node's classic crypto API (documented key schedule)", async () => {
    const { raw, session } = setup(options, id);
    const item = (fixtures as Record<string, unknown>).user_unicode_edge;
    await session.addItems([item]);
    const [sealed] = (await raw.getItems()) as EncryptedItem[];
    const ct = Buffer.from(sealed!.ct, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', okm().subarray(0, 32), Buffer.from(sealed!.iv, 'base64'));
    decipher.setAAD(Buffer.from('@sessions/core v1 main'));
    decipher.setAuthTag(ct.subarray(-16));
    const plaintext = Buffer.concat([decipher.update(ct.subarray(0, -16)), decipher.final()]).toString('utf8');
    expect(plaintext).toBe(encodeItem(item));
  });

  it("an item sealed with Node's classic crypto API opens through WebCrypto", async () => {
    const { raw, session } = setup(options, id);
    const item = {
      type: 'message',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'from node:crypto 😀' }],
    };
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', okm().subarray(0, 32), iv);
    cipher.setAAD(Buffer.from('@sessions/core v1 main'));
    const body = Buffer.concat([cipher.update(encodeItem(item), 'utf8'), cipher.final(), cipher.getAuthTag()]);
    await raw.addItems([
      { type: 'encrypted', v: 1, kid: 'main', iv: iv.toString('base64'), ct: body.toString('base64') },
    ]);
    expect(await session.getItems()).toEqual([item]);
  });

  it('transaction IVs are HMAC-SHA256(mac key, label + NUL + text) truncated to 12 bytes', async () => {
    const { raw, session } = setup(options, id);
    const item = msg('deterministic');
    await session.applyHistoryTransaction({
      operationId: 'op-iv',
      transaction: { type: 'append_items', items: [item] },
    });
    const [sealed] = (await raw.getItems()) as EncryptedItem[];
    const expected = createHmac('sha256', okm().subarray(32))
      .update(`tx\u0000op-iv\u00000\u0000${encodeItem(item)}`)
      .digest()
      .subarray(0, 12);
    expect(sealed!.iv).toBe(expected.toString('base64'));
  });

  it('a subtle passed as an option (node:crypto webcrypto) reads what the global one wrote, and back', async () => {
    const { session, reopen } = setup(options, id);
    const items = Object.values(fixtures);
    await session.addItems(items.slice(0, 10));
    const viaOption = reopen({ ...options, subtle: webcrypto.subtle });
    expect(await viaOption.getItems()).toEqual(items.slice(0, 10));
    await viaOption.addItems(items.slice(10));
    expect(await session.getItems()).toEqual(items);
  });
});

describe('withEncryption: wrapping', () => {
  it('forwards the run context to a session that accepts it, and keeps the flag', async () => {
    const calls: unknown[][] = [];
    const inner = new InMemorySession({ sessionId: 'ctx' });
    const contextAware = {
      acceptsRunContext: true as const,
      getSessionId: () => inner.getSessionId(),
      getItems: (limit?: number, ...rest: unknown[]) => {
        calls.push(['getItems', ...rest]);
        return inner.getItems(limit);
      },
      addItems: (items: unknown[], ...rest: unknown[]) => {
        calls.push(['addItems', ...rest]);
        return inner.addItems(items);
      },
      popItem: (...rest: unknown[]) => {
        calls.push(['popItem', ...rest]);
        return inner.popItem();
      },
      clearSession: (...rest: unknown[]) => {
        calls.push(['clearSession', ...rest]);
        return inner.clearSession();
      },
    };
    const session = withEncryption(contextAware, k1);
    expect(session.acceptsRunContext).toBe(true);
    expect('applyHistoryTransaction' in session).toBe(false);
    const context = { tenant: 't1' };
    const call = session as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    await call.addItems!([msg('x')], context);
    await call.getItems!(undefined, context);
    await call.clearSession!(context);
    expect(calls).toEqual([
      ['addItems', context],
      ['getItems', context],
      ['clearSession', context],
    ]);
  });

  it('works per handle from a store, deriving keys once per handle', async () => {
    await using store = new InMemorySessionStore();
    for (let i = 0; i < 3; i++) await withEncryption(store.session('s'), k1).addItems([msg(`m${i}`)]);
    expect(await withEncryption(store.session('s'), k1).getItems()).toEqual([msg('m0'), msg('m1'), msg('m2')]);
  });
});

describe('base64 (hand-written for edge runtimes)', () => {
  it('agrees with Buffer for every length and byte, and refuses what is not base64', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = new Uint8Array(randomBytes(n));
      const text = encodeBase64(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64'));
      expect(decodeBase64(text)).toEqual(bytes);
      expect(decodeBase64(text.replace(/=+$/, ''))).toEqual(bytes);
    }
    const all = new Uint8Array(256).map((_, i) => i);
    expect(decodeBase64(encodeBase64(all))).toEqual(all);
    for (const bad of ['a', 'ab=c', 'abc===', 'ab$d', 'é123', 'abcd\n']) expect(decodeBase64(bad), bad).toBeUndefined();
  });
});
