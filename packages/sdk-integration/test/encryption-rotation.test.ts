// Issue #13's measured data loss, replayed on real servers: during a rolling key rotation an old
// instance (old key only) pops while new instances (new key first) write. Bounded in count and time.
import type { FullSession, SessionStore } from '@sessions/core';
import { type EncryptionOptions, withEncryption } from '@sessions/core';
import { rotationRace } from '@sessions/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from './backends.js';

const OLD = new Uint8Array(32).fill(1);
const NEW = new Uint8Array(32).fill(2);
const newKeys: EncryptionOptions = {
  keys: [
    { id: 'new', key: NEW },
    { id: 'old', key: OLD },
  ],
};

for (const backend of backends.filter((b) => ['redis', 'postgres', 'sqlite'].includes(b.name))) {
  describe(`key rotation on ${backend.name}`, () => {
    let store: SessionStore<FullSession>;
    beforeAll(async () => {
      store = await backend.open();
    });
    afterAll(async () => {
      await store?.close();
    });

    for (const mode of ['throw', 'skip'] as const) {
      it(`destroys 0 acknowledged items while an old instance pops (onUnreadable: '${mode}')`, async () => {
        const id = `rotation-${mode}-${Math.random().toString(36).slice(2, 8)}`;
        const oldKeys: EncryptionOptions = { keys: [{ id: 'old', key: OLD }], onUnreadable: mode };
        const result = await rotationRace({
          oldInstance: () => withEncryption(store.session(id), oldKeys),
          newInstance: () => withEncryption(store.session(id), newKeys),
          writes: 600,
          pops: 300,
          deadlineMs: 20_000,
        });
        expect(result.popsDone).toBeGreaterThan(0);
        expect(result.destroyed).toEqual([]);
      });
    }
  });
}
