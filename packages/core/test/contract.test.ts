import { describe, expect, it } from 'vitest';
import {
  createInMemoryStorage,
  InMemorySession,
  InMemorySessionStore,
  SessionItemTooLargeError,
} from '../src/index.js';
import { contractCases, describeSessionContract, runContractCases } from '../src/testing/index.js';

// Stores share one storage, as stores of a real backend share one database.
const storage = createInMemoryStorage();

describeSessionContract('InMemorySession', {
  createStore: (options) => new InMemorySessionStore({ ...options, storage }),
  capabilities: { ttl: true, transactions: true, compaction: true, historyMutations: true },
  inspect: () => ({ storedItemCount: async (sessionId) => storage.get(sessionId)?.items.length ?? 0 }),
});

describe('BaseSession item size limit', () => {
  class LimitedSession extends InMemorySession {
    protected override get maxItemBytes() {
      return 64 * 1024;
    }
  }
  class LimitedStore extends InMemorySessionStore {
    protected override createSession(sessionId: string) {
      return new LimitedSession({ sessionId, storage, isClosed: this.isClosed });
    }
  }

  it('refuses items over maxItemBytes before I/O, in adds, transactions and compaction', async () => {
    const { failed, passed } = await runContractCases(
      contractCases.filter((c) => c.group === 'large items'),
      {
        createStore: (options) => new LimitedStore({ ...options, storage }),
        capabilities: {
          ttl: true,
          transactions: true,
          compaction: true,
          historyMutations: true,
          maxItemBytes: 64 * 1024,
        },
        inspect: () => ({ storedItemCount: async (sessionId) => storage.get(sessionId)?.items.length ?? 0 }),
      },
    );
    expect(failed).toEqual([]);
    expect(passed).toHaveLength(1);
    const session = new LimitedStore({ storage }).session('limited');
    const big = { type: 'message', content: 'é'.repeat(40_000) };
    await expect(session.replaceHistoryWithCompaction([big])).rejects.toBeInstanceOf(SessionItemTooLargeError);
    await expect(
      session.applyHistoryTransaction({
        operationId: 'x',
        transaction: { type: 'append_items', items: [{ a: 1 }, big] },
      }),
    ).rejects.toMatchObject({ path: 'transaction.replacement[1]', maxBytes: 65536 });
    expect(await session.getItems()).toEqual([]);
  });
});
