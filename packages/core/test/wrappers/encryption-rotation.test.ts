import { describe, expect, it } from 'vitest';
import { createInMemoryStorage, InMemorySession } from '../../src/index.js';
import type { Session } from '../../src/protocol/session.js';
import { rotationRace } from '../../src/testing/rotation-race.js';
import { type EncryptionOptions, withEncryption } from '../../src/wrappers/encryption/index.js';

const OLD = new Uint8Array(32).fill(7);
const NEW = new Uint8Array(32).fill(9);
const oldKeys = (onUnreadable: EncryptionOptions['onUnreadable']): EncryptionOptions => ({
  keys: [{ id: 'old', key: OLD }],
  onUnreadable,
});
const newKeys: EncryptionOptions = {
  keys: [
    { id: 'new', key: NEW },
    { id: 'old', key: OLD },
  ],
};

/** The five protocol methods only: the wrapper must fall back to look-then-pop. */
function withoutTransactions(session: Session): Session {
  return {
    getSessionId: () => session.getSessionId(),
    getItems: (limit?: number) => session.getItems(limit),
    addItems: (items) => session.addItems(items),
    popItem: () => session.popItem(),
    clearSession: () => session.clearSession(),
  };
}

describe('withEncryption: a rolling key rotation destroys nothing', () => {
  for (const mode of ['throw', 'skip'] as const) {
    it(`an old instance popping beside new writers destroys 0 acknowledged items (onUnreadable: '${mode}')`, async () => {
      const storage = createInMemoryStorage();
      const inner = () => new InMemorySession({ sessionId: `rotation-${mode}`, storage });
      const result = await rotationRace({
        oldInstance: () => withEncryption(inner(), oldKeys(mode)),
        newInstance: () => withEncryption(inner(), newKeys),
        writes: 400,
        pops: 200,
        deadlineMs: 20_000,
      });
      expect(result.popsDone).toBeGreaterThan(0);
      expect(result.unreadableNewest).toBeGreaterThan(0); // the race really happened
      expect(result.destroyed).toEqual([]);
    });
  }

  it('the same race catches the look-then-pop of a session without transactions (documented limit)', async () => {
    let destroyed = 0;
    // Interleavings vary: a few rounds make the loss certain in practice.
    for (let round = 0; round < 5 && destroyed === 0; round++) {
      const storage = createInMemoryStorage();
      const inner = () => new InMemorySession({ sessionId: `plain-${round}`, storage });
      const result = await rotationRace({
        oldInstance: () => withEncryption(withoutTransactions(inner()), oldKeys('skip')),
        newInstance: () => withEncryption(inner(), newKeys),
        writes: 400,
        pops: 200,
        deadlineMs: 20_000,
      });
      destroyed += result.destroyed.length;
    }
    expect(destroyed).toBeGreaterThan(0);
  });
});

describe('withEncryption: key forms and context', () => {
  const raw32 = new Uint8Array(32).map((_, i) => i * 3);
  const hex = Buffer.from(raw32).toString('hex');
  const b64 = Buffer.from(raw32).toString('base64');

  it('a 64-character hex key is refused as a bare string and accepted as { hex }', async () => {
    const inner = new InMemorySession({ sessionId: 'keys' });
    expect(() => withEncryption(inner, { keys: [{ id: 'a', key: hex }] })).toThrow(/looks like hex: pass \{ hex/);
    const viaHex = withEncryption(inner, { keys: [{ id: 'a', key: { hex } }] });
    await viaHex.addItems([{ type: 'message', role: 'user', content: 'hi' }]);
    for (const key of [raw32, { base64: b64 }, b64]) {
      const again = withEncryption(inner, { keys: [{ id: 'a', key }] });
      expect(await again.getItems()).toEqual([{ content: 'hi', role: 'user', type: 'message' }]);
    }
  });

  it('refuses ambiguous or short text forms before any I/O', () => {
    const inner = new InMemorySession({ sessionId: 'keys' });
    const bad: unknown[] = [
      Buffer.from(new Uint8Array(48)).toString('base64'), // base64 of 48 bytes: not the 32-byte shorthand
      { hex: 'abc' },
      { hex: 'zz'.repeat(32) },
      { base64: 'AAAA' },
      { base64: b64, hex },
    ];
    for (const key of bad) {
      expect(() => withEncryption(inner, { keys: [{ id: 'a', key: key as never }] }), JSON.stringify(key)).toThrow(
        /key/,
      );
    }
  });

  it('with a context, a ciphertext copied to the same id under another context does not decrypt', async () => {
    const storage = createInMemoryStorage();
    const key = [{ id: 'k', key: raw32 }];
    const tenantA = withEncryption(new InMemorySession({ sessionId: 'same-id', storage }), { keys: key, context: 'A' });
    await tenantA.addItems([{ type: 'message', role: 'user', content: 'for A only' }]);
    const copied = await new InMemorySession({ sessionId: 'same-id', storage }).getItems();
    const other = createInMemoryStorage();
    await new InMemorySession({ sessionId: 'same-id', storage: other }).addItems(copied);
    const tenantB = withEncryption(new InMemorySession({ sessionId: 'same-id', storage: other }), {
      keys: key,
      context: 'B',
    });
    await expect(tenantB.getItems()).rejects.toThrow(/authentication failed/);
    const noContext = withEncryption(new InMemorySession({ sessionId: 'same-id', storage: other }), { keys: key });
    await expect(noContext.getItems()).rejects.toThrow(/authentication failed/);
    const sameContext = withEncryption(new InMemorySession({ sessionId: 'same-id', storage: other }), {
      keys: key,
      context: 'A',
    });
    expect(await sameContext.getItems()).toHaveLength(1);
  });
});
