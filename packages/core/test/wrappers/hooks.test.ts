// withHooks: the whole contract suite through it (a hooked session is still a correct session, with
// the same capabilities), refusals that write nothing, a redaction, and one event per operation.
import { afterEach, describe, expect, it } from 'vitest';
import {
  createInMemoryStorage,
  InMemorySession,
  InMemorySessionStore,
  SessionClosedError,
  SessionValidationError,
  utf8ByteLength,
} from '../../src/index.js';
import { describeSessionContract } from '../../src/testing/index.js';
import { wrapSessionStore } from '../../src/wrappers/delegate.js';
import { withEncryption } from '../../src/wrappers/encryption/index.js';
import {
  describeSessionTarget,
  type SessionHooks,
  type SessionOperationEvent,
  type SessionOperationStart,
  withHooks,
} from '../../src/wrappers/hooks/index.js';

const full = { ttl: true, transactions: true, compaction: true, historyMutations: true };
const message = (text: string, role = 'user') => ({ type: 'message', role, content: text });
const bytesOf = (items: unknown[]) => items.reduce<number>((n, item) => n + utf8ByteLength(JSON.stringify(item)), 0);

// Every hook set, each passing things through: the contract must not notice any of them.
let contractEvents = 0;
const passThrough: SessionHooks = {
  beforeWrite: (items) => items.slice(),
  afterRead: async (items) => items.slice(),
  onOperation: () => {
    contractEvents++;
  },
  aroundOperation: async (_start, proceed) => {
    await proceed();
  },
};

const hookedStorage = createInMemoryStorage();
describeSessionContract('withHooks over InMemorySessionStore', {
  createStore: (options) => withHooks(new InMemorySessionStore({ ...options, storage: hookedStorage }), passThrough),
  capabilities: full,
  inspect: () => ({ storedItemCount: async (id) => hookedStorage.get(id)?.items.length ?? 0 }),
});

// Observers that always fail: every call must still behave as without them.
const failingStorage = createInMemoryStorage();
describeSessionContract('withHooks whose observers throw', {
  createStore: (options) =>
    withHooks(new InMemorySessionStore({ ...options, storage: failingStorage }), {
      onOperation: () => {
        throw new Error('observer failed');
      },
      aroundOperation: async () => {
        throw new Error('tracer failed before proceeding');
      },
    }),
  capabilities: full,
  inspect: () => ({ storedItemCount: async (id) => failingStorage.get(id)?.items.length ?? 0 }),
});

// A session with no optional capability keeps having none once hooked (per session, under a plain store wrapper).
const plainStorage = createInMemoryStorage();
describeSessionContract('withHooks over a session without optional capabilities', {
  createStore: (options) =>
    wrapSessionStore(new InMemorySessionStore({ ...options, storage: plainStorage }), (session) =>
      withHooks(
        {
          getSessionId: () => session.getSessionId(),
          getItems: (limit?: number) => session.getItems(limit),
          addItems: (items: unknown[]) => session.addItems(items),
          popItem: () => session.popItem(),
          clearSession: () => session.clearSession(),
        },
        passThrough,
      ),
    ),
  capabilities: { ttl: true, transactions: false, compaction: false, historyMutations: false, catalog: false },
  inspect: () => ({ storedItemCount: async (id) => plainStorage.get(id)?.items.length ?? 0 }),
});

describe('withHooks', () => {
  const stores: InMemorySessionStore[] = [];
  const newStore = () => {
    const storage = createInMemoryStorage();
    const store = new InMemorySessionStore({ storage });
    stores.push(store);
    return { store, storage, stored: (id: string) => (storage.get(id)?.items ?? []).map((t) => JSON.parse(t)) };
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  it('the contract suites above produced events', () => {
    expect(contractEvents).toBeGreaterThan(100);
  });

  describe('a rejecting beforeWrite writes nothing', () => {
    const refusal = new Error('refused by policy');
    const refusing = (events: SessionOperationEvent[]): SessionHooks => ({
      beforeWrite: (items, context) => {
        if (context.part === 'expectedSuffix') return items; // the comparison, not a write
        if (items.some((item) => JSON.stringify(item).includes('forbidden'))) throw refusal;
        return items;
      },
      onOperation: (event) => {
        events.push(event);
      },
    });

    it('on every operation that writes items, and reports each refusal as an error', async () => {
      const { store, stored } = newStore();
      const events: SessionOperationEvent[] = [];
      const hooked = withHooks(store, refusing(events));
      const session = hooked.session('refusals');
      await session.addItems([message('a'), message('b')]);
      const before = stored('refusals');
      const bad = message('forbidden text');
      const attempts: [string, () => Promise<unknown>][] = [
        ['addItems', () => session.addItems([message('ok'), bad])],
        [
          'applyHistoryTransaction',
          () =>
            session.applyHistoryTransaction({
              operationId: 'op-1',
              transaction: { type: 'append_items', items: [bad] },
            }),
        ],
        [
          'applyHistoryTransaction',
          () =>
            session.applyHistoryTransaction({
              operationId: 'op-2',
              transaction: { type: 'replace_suffix', expectedSuffix: [message('b')], replacement: [bad] },
            }),
        ],
        ['replaceHistoryWithCompaction', () => session.replaceHistoryWithCompaction([bad])],
      ];
      for (const [, attempt] of attempts) {
        await expect(attempt()).rejects.toBe(refusal);
        expect(stored('refusals')).toEqual(before);
      }
      // The refused operation ids were never seen by the store: the same ids work with allowed items.
      await session.applyHistoryTransaction({
        operationId: 'op-1',
        transaction: { type: 'append_items', items: [message('c')] },
      });
      expect(stored('refusals')).toEqual([...before, message('c')]);
      const failures = events.filter((e) => e.outcome === 'error');
      expect(failures.map((e) => e.operation)).toEqual(attempts.map(([operation]) => operation));
      expect(failures.every((e) => e.error === refusal && e.direction === 'write')).toBe(true);
    });

    it('on a history mutation', async () => {
      const { store, stored } = newStore();
      const hooked = withHooks(store, refusing([]));
      const session = hooked.session('mutation');
      const call = { type: 'function_call', callId: 'c1', name: 'f', arguments: '{}', status: 'completed' };
      await session.addItems([message('q'), call]);
      await expect(
        session.applyHistoryMutations({
          mutations: [
            { type: 'replace_function_call', callId: 'c1', replacement: { ...call, arguments: 'forbidden' } },
          ],
        }),
      ).rejects.toBe(refusal);
      expect(stored('mutation')).toEqual([message('q'), call]);
      // An allowed replacement goes through the hook too.
      const replaced = { ...call, arguments: '{"x":1}' };
      await session.applyHistoryMutations({
        mutations: [{ type: 'replace_function_call', callId: 'c1', replacement: replaced }],
      });
      expect(stored('mutation')).toEqual([message('q'), replaced]);
    });

    it('an async refusal and a wrong return value are refusals too', async () => {
      const { store, stored } = newStore();
      const asyncRefusal = withHooks(store.session('async'), {
        beforeWrite: async () => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          throw refusal;
        },
      });
      await expect(asyncRefusal.addItems([message('x')])).rejects.toBe(refusal);
      const wrongReturn = withHooks(store.session('async'), { beforeWrite: () => 'not items' as never });
      await expect(wrongReturn.addItems([message('x')])).rejects.toBeInstanceOf(SessionValidationError);
      expect(stored('async')).toEqual([]);
    });
  });

  describe('redaction', () => {
    const EMAIL = /[\w.+-]+@[\w-]+\.[\w.]+/g;
    /** Deterministic and idempotent, as beforeWrite must be. */
    const redact = (value: unknown): unknown => {
      if (typeof value === 'string') return value.replace(EMAIL, '[email]');
      if (Array.isArray(value)) return value.map(redact);
      if (value && typeof value === 'object') {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v)]));
      }
      return value;
    };
    const redacting: SessionHooks = { beforeWrite: (items) => items.map(redact) };

    it('stores and returns redacted items, and leaves the caller’s objects alone', async () => {
      const { store, stored } = newStore();
      const session = withHooks(store, redacting).session('redact');
      const original = message('write to ada@example.com please');
      await session.addItems([original]);
      expect(original.content).toBe('write to ada@example.com please');
      expect(stored('redact')).toEqual([message('write to [email] please')]);
      expect(await session.getItems()).toEqual([message('write to [email] please')]);
    });

    it('a replace_suffix transaction with the unredacted expected suffix matches what was stored', async () => {
      const { store, stored } = newStore();
      const session = withHooks(store, redacting).session('suffix');
      const said = message('mail bob@example.org', 'assistant');
      await session.addItems([message('hi'), said]);
      // The SDK compares with the items as it sent them: the hook redacts the suffix the same way.
      await session.applyHistoryTransaction({
        operationId: 'rewrite-1',
        transaction: {
          type: 'replace_suffix',
          expectedSuffix: [said],
          replacement: [message('mail carol@example.net')],
        },
      });
      expect(stored('suffix')).toEqual([message('hi'), message('mail [email]')]);
      // A retry of the same transaction is recognised (same id, same redacted content).
      await session.applyHistoryTransaction({
        operationId: 'rewrite-1',
        transaction: {
          type: 'replace_suffix',
          expectedSuffix: [said],
          replacement: [message('mail carol@example.net')],
        },
      });
      expect(stored('suffix')).toEqual([message('hi'), message('mail [email]')]);
    });
  });

  it('afterRead transforms what getItems and popItem return, not what is stored', async () => {
    const { store, stored } = newStore();
    const session = withHooks(store, {
      afterRead: (items, context) => items.map((item) => ({ ...(item as object), readBy: context.operation })),
    }).session('reads');
    await session.addItems([message('a'), message('b')]);
    expect(await session.getItems()).toEqual([
      { ...message('a'), readBy: 'getItems' },
      { ...message('b'), readBy: 'getItems' },
    ]);
    expect(await session.popItem()).toEqual({ ...message('b'), readBy: 'popItem' });
    expect(stored('reads')).toEqual([message('a')]);
    await session.clearSession();
    expect(await session.popItem()).toBeUndefined(); // nothing to transform
  });

  it('reports every operation of a store, its sessions, their capabilities and the catalog', async () => {
    const { store } = newStore();
    const events: SessionOperationEvent[] = [];
    const hooked = withHooks(store, { onOperation: (event) => void events.push(event) });
    const session = hooked.session('every');
    const a = message('a');
    const b = message('b – ünïcode ✓');
    const call = { type: 'function_call', callId: 'c', name: 'f', arguments: '{}', status: 'completed' };
    const replacedCall = { ...call, arguments: '{"y":2}' };

    await hooked.setup();
    expect(await session.getSessionId()).toBe('every');
    await session.addItems([a, b]);
    expect(await session.getItems()).toEqual([a, b]);
    expect(await session.popItem()).toEqual(b);
    await session.applyHistoryTransaction({ operationId: 't', transaction: { type: 'append_items', items: [call] } });
    await session.applyHistoryMutations({
      mutations: [{ type: 'replace_function_call', callId: 'c', replacement: replacedCall }],
    });
    await session.replaceHistoryWithCompaction([b]);
    await session.updateMetadata({ tag: 'x' });
    expect(await session.getMetadata()).toEqual({ tag: 'x' });
    expect((await hooked.listSessions()).sessions.map((s) => s.sessionId)).toEqual(['every']);
    expect((await hooked.getSessionInfo('every'))?.itemCount).toBe(1);
    const listed: string[] = [];
    for await (const info of hooked.sessions({ pageSize: 1 })) listed.push(info.sessionId);
    expect(listed).toEqual(['every']);
    await session.clearSession();
    await hooked.deleteSession('every');

    expect(events.map((e) => [e.operation, e.direction, e.itemCount, e.bytes, e.outcome])).toEqual([
      ['setup', undefined, 0, 0, 'ok'],
      ['getSessionId', undefined, 0, 0, 'ok'],
      ['addItems', 'write', 2, bytesOf([a, b]), 'ok'],
      ['getItems', 'read', 2, bytesOf([a, b]), 'ok'],
      ['popItem', 'read', 1, bytesOf([b]), 'ok'],
      ['applyHistoryTransaction', 'write', 1, bytesOf([call]), 'ok'],
      ['applyHistoryMutations', 'write', 1, bytesOf([replacedCall]), 'ok'],
      ['replaceHistoryWithCompaction', 'write', 1, bytesOf([b]), 'ok'],
      ['updateMetadata', undefined, 0, 0, 'ok'],
      ['getMetadata', undefined, 0, 0, 'ok'],
      ['listSessions', undefined, 0, 0, 'ok'],
      ['getSessionInfo', undefined, 0, 0, 'ok'],
      ['listSessions', undefined, 0, 0, 'ok'], // the one page of sessions()
      ['clearSession', undefined, 0, 0, 'ok'],
      ['deleteSession', undefined, 0, 0, 'ok'],
    ]);
    // Non-ASCII counts as UTF-8: "–", "ü", "ï" and "✓" are 3, 2, 2 and 3 bytes.
    expect(bytesOf([b])).toBe(JSON.stringify(b).length + 2 + 1 + 1 + 2);
    const storeWide = new Set(['setup', 'listSessions']);
    for (const event of events) {
      expect(event.sessionId).toBe(storeWide.has(event.operation) ? undefined : 'every');
      expect(event.backend).toBe('memory');
      expect(event.durationMs).toBeGreaterThanOrEqual(0);
      expect(event.durationMs).toBeLessThan(5_000);
      expect(event).not.toHaveProperty('error');
    }
  });

  it('reports failures with the error the caller got', async () => {
    const { store } = newStore();
    const events: SessionOperationEvent[] = [];
    const hooked = withHooks(store, { onOperation: (event) => void events.push(event) });
    const session = hooked.session('closed');
    await store.close();
    const error = await session.getItems().catch((e) => e);
    expect(error).toBeInstanceOf(SessionClosedError);
    const invalid = await hooked.getSessionInfo('').catch((e) => e);
    expect(invalid).toBeInstanceOf(SessionValidationError);
    expect(events.map((e) => [e.operation, e.sessionId, e.outcome, e.itemCount])).toEqual([
      ['getItems', 'closed', 'error', 0],
      ['getSessionInfo', '', 'error', 0],
    ]);
    expect(events[0]!.error).toBe(error);
    expect(events[1]!.error).toBe(invalid);
  });

  it('a throwing or rejecting observer never changes the call, and the operation runs exactly once', async () => {
    const { store, stored } = newStore();
    const variants: SessionHooks[] = [
      { onOperation: () => Promise.reject(new Error('async observer failed')) },
      {
        aroundOperation: async (_start, proceed) => {
          await proceed();
          await proceed(); // a second call does not run the operation again
          throw new Error('tracer failed after proceeding');
        },
      },
      { aroundOperation: async () => {} }, // never proceeds: the operation runs anyway
      {
        aroundOperation: () => {
          throw new Error('not even async');
        },
      },
    ];
    for (const [i, hooks] of variants.entries()) {
      const session = withHooks(store, hooks).session(`v${i}`);
      await session.addItems([message('once')]);
      expect(stored(`v${i}`)).toEqual([message('once')]);
      expect(await session.popItem()).toEqual(message('once'));
    }
  });

  it('aroundOperation wraps the operation: it starts before and ends after it, with the event', async () => {
    const { store } = newStore();
    const log: string[] = [];
    const inner = store.session('around');
    const observed = {
      getSessionId: () => inner.getSessionId(),
      getItems: async (limit?: number) => {
        log.push('inner getItems');
        return inner.getItems(limit);
      },
      addItems: (items: unknown[]) => inner.addItems(items),
      popItem: () => inner.popItem(),
      clearSession: () => inner.clearSession(),
    };
    const session = withHooks(observed, {
      aroundOperation: async (start: SessionOperationStart, proceed) => {
        log.push(`start ${start.operation}`);
        const event = await proceed();
        log.push(`end ${event.operation} ${event.outcome} ${event.itemCount}`);
      },
      onOperation: (event) => void log.push(`event ${event.operation}`),
    });
    await session.addItems([message('x')]);
    await session.getItems();
    expect(log).toEqual([
      'start addItems',
      'event addItems',
      'end addItems ok 1',
      'start getItems',
      'inner getItems',
      'event getItems',
      'end getItems ok 1',
    ]);
  });

  it('on one session: the id from the session, capabilities kept, metadata observed', async () => {
    const events: SessionOperationEvent[] = [];
    const session = withHooks(new InMemorySession({ sessionId: 'solo' }), {
      onOperation: (event) => void events.push(event),
    });
    expect(typeof session.applyHistoryTransaction).toBe('function');
    expect(typeof session.updateMetadata).toBe('function');
    expect(session.inner).toBeInstanceOf(InMemorySession);
    await session.addItems([message('x')]);
    await session.updateMetadata({ a: 1 });
    expect(events.map((e) => [e.operation, e.sessionId, e.backend])).toEqual([
      ['addItems', 'solo', 'memory'],
      ['updateMetadata', 'solo', 'memory'],
    ]);
  });

  it('names the backend and server from the store, through wrappers, never from credentials', () => {
    expect(describeSessionTarget(new InMemorySessionStore())).toEqual({ backend: 'memory' });
    const encrypted = wrapSessionStore(new InMemorySessionStore(), (s) =>
      withEncryption(s, { keys: [{ id: 'k', key: new Uint8Array(32) }] }),
    );
    expect(describeSessionTarget(encrypted)).toEqual({ backend: 'memory' });
    expect(describeSessionTarget(encrypted.session('s'))).toEqual({ backend: 'memory' });
    // Stores of other backends, by their class names and their masked `toJSON().url`.
    class MongoSessionStore {
      toJSON() {
        return { url: 'mongodb://***@db.internal:27018/app' };
      }
    }
    class RedisSessionStore {
      toJSON() {
        return { keyPrefix: 'sessions' };
      }
    }
    class SqliteSessionStore {
      toJSON() {
        return { url: 'file:///tmp/app.db' };
      }
    }
    class PostgresSessionStore {
      toJSON() {
        return { url: 'postgres://db.internal/app' };
      }
    }
    expect(describeSessionTarget(new MongoSessionStore())).toEqual({
      backend: 'mongodb',
      serverAddress: 'db.internal',
      serverPort: 27018,
    });
    expect(describeSessionTarget(new RedisSessionStore())).toEqual({ backend: 'redis' });
    expect(describeSessionTarget(new SqliteSessionStore())).toEqual({ backend: 'sqlite' });
    expect(describeSessionTarget(new PostgresSessionStore())).toEqual({
      backend: 'postgres',
      serverAddress: 'db.internal',
    });
    expect(describeSessionTarget({ getItems() {} })).toEqual({ backend: 'unknown' });
    // Options win over what the store tells.
    const events: SessionOperationEvent[] = [];
    const session = withHooks(new InMemorySessionStore(), {
      backend: 'custom',
      serverAddress: 'cache.local',
      serverPort: 7000,
      onOperation: (event) => void events.push(event),
    }).session('named');
    return session.getSessionId().then(() => {
      expect(events[0]).toMatchObject({ backend: 'custom', serverAddress: 'cache.local', serverPort: 7000 });
    });
  });

  it('refuses what is neither a session nor a store, and hooks that are not functions', () => {
    expect(() => withHooks({} as never, {})).toThrow(SessionValidationError);
    expect(() => withHooks(new InMemorySessionStore(), { onOperation: 'log' as never })).toThrow(/onOperation/);
    expect(() => withHooks(new InMemorySessionStore(), null as never)).toThrow(SessionValidationError);
  });
});
