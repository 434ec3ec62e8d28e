import { createInMemoryStorage, InMemorySessionStore } from '../src/index.js';
import { describeSessionContract } from '../src/testing/index.js';

// Stores share one storage, as stores of a real backend share one database.
const storage = createInMemoryStorage();

describeSessionContract('InMemorySession', {
  createStore: (options) => new InMemorySessionStore({ ...options, storage }),
  capabilities: { ttl: true, transactions: true, compaction: true, historyMutations: true },
  inspect: () => ({ storedItemCount: async (sessionId) => storage.get(sessionId)?.items.length ?? 0 }),
});
