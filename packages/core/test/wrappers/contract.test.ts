// The whole contract suite, run through the encryption wrapper: an encrypted session must still
// be a correct session, with the same capabilities as the one it wraps.
import { createInMemoryStorage, InMemorySessionStore } from '../../src/index.js';
import { describeSessionContract } from '../../src/testing/index.js';
import { wrapSessionStore } from '../../src/wrappers/delegate.js';
import { type EncryptionOptions, withEncryption } from '../../src/wrappers/encryption/index.js';

const encryption: EncryptionOptions = {
  keys: [
    { id: 'k2', key: new Uint8Array(32).fill(7) },
    { id: 'k1', key: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=' },
  ],
};
const full = { ttl: true, transactions: true, compaction: true, historyMutations: true };

const encryptedStorage = createInMemoryStorage();
describeSessionContract('withEncryption over InMemorySession', {
  createStore: (options) =>
    wrapSessionStore(new InMemorySessionStore({ ...options, storage: encryptedStorage }), (session) =>
      withEncryption(session, encryption),
    ),
  capabilities: full,
  inspect: () => ({ storedItemCount: async (id) => encryptedStorage.get(id)?.items.length ?? 0 }),
});

// A session with no optional capability keeps having none once wrapped.
const plainStorage = createInMemoryStorage();
describeSessionContract('withEncryption over a session without optional capabilities', {
  createStore: (options) =>
    wrapSessionStore(new InMemorySessionStore({ ...options, storage: plainStorage }), (session) =>
      withEncryption(
        {
          getSessionId: () => session.getSessionId(),
          getItems: (limit?: number) => session.getItems(limit),
          addItems: (items: unknown[]) => session.addItems(items),
          popItem: () => session.popItem(),
          clearSession: () => session.clearSession(),
        },
        encryption,
      ),
    ),
  // The inner session is a bare Session: no metadata, so no catalog on the wrapper either.
  capabilities: { ttl: true, transactions: false, compaction: false, historyMutations: false, catalog: false },
  inspect: () => ({ storedItemCount: async (id) => plainStorage.get(id)?.items.length ?? 0 }),
});
