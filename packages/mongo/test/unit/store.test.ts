import {
  SessionConnectionError,
  SessionError,
  SessionItemTooLargeError,
  SessionStorageError,
  SessionValidationError,
} from '@sessions/core';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { isDuplicateKey, isIndexConflict, isNotImplemented, toMongoSessionError } from '../../src/errors.js';
import { MongoSession, MongoSessionStore } from '../../src/index.js';
import { SESSION_OPTION_KEYS, STORE_OPTION_KEYS } from '../../src/options.js';

// Stores pointing at a closed port: nothing here needs (or reaches) a server.
const CLOSED = 'mongodb://127.0.0.1:1/';
const fast = { serverSelectionTimeoutMS: 300 };

/** A client that fails the test if anything touches it. */
const untouchable = new Proxy({} as MongoClient, {
  get: (_target, prop) => {
    throw new Error(`the client was used (${String(prop)})`);
  },
});

describe('the options guard', () => {
  it('a typo is refused by name, with a suggestion and the known options, before anything else', () => {
    const error = (() => {
      try {
        new MongoSessionStore({ client: untouchable, tllSeconds: 60 } as never);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SessionValidationError);
    expect((error as Error).message).toContain('"tllSeconds"');
    expect((error as Error).message).toContain('did you mean "ttlSeconds"');
    for (const key of STORE_OPTION_KEYS) expect((error as Error).message).toContain(key);
    // Even with an invalid URL the typo is what is reported: the guard runs first.
    expect(() => new MongoSessionStore({ url: 'not a url', colectionPrefix: 'x' } as never)).toThrow(
      /"colectionPrefix" \(did you mean "collectionPrefix"\?\)/,
    );
    expect(() => new MongoSession({ sessionId: 'x', client: untouchable, databse: 'x' } as never)).toThrow(
      /MongoSession does not know the option "databse" \(did you mean "database"\?\)/,
    );
  });

  it('null, undefined or a non-object are SessionValidationError, not TypeError', () => {
    for (const options of [null, undefined, 'mongodb://localhost', 42, []]) {
      expect(() => new MongoSessionStore(options as never), String(options)).toThrow(SessionValidationError);
      expect(() => new MongoSession(options as never), String(options)).toThrow(SessionValidationError);
    }
  });

  it('every documented key is accepted', () => {
    expect([...STORE_OPTION_KEYS].sort()).toEqual(
      ['client', 'clientOptions', 'collectionPrefix', 'database', 'db', 'ttlSeconds', 'url'].sort(),
    );
    expect([...SESSION_OPTION_KEYS].sort()).toEqual(
      [
        'client',
        'collectionPrefix',
        'createIfMissing',
        'database',
        'db',
        'isClosed',
        'sessionId',
        'timeoutMs',
        'ttlSeconds',
      ].sort(),
    );
    const client = new MongoClient(CLOSED);
    const store = new MongoSessionStore({
      url: CLOSED,
      clientOptions: fast,
      database: 'd',
      collectionPrefix: 'p_',
      ttlSeconds: 5,
    });
    const session = new MongoSession({
      sessionId: 's',
      client,
      database: 'd',
      collectionPrefix: 'p_',
      ttlSeconds: 5,
      isClosed: () => false,
    });
    expect(session.toJSON()).toEqual({ sessionId: 's', ttlSeconds: 5, timeoutMs: 10_000 });
    expect(store.toJSON()).toEqual({
      url: CLOSED,
      database: 'd',
      collectionPrefix: 'p_',
      ownsClient: true,
      ttlSeconds: 5,
      timeoutMs: 10_000,
      closed: false,
    });
    expect(new MongoSessionStore({ client }).toJSON()).toMatchObject({ ownsClient: false });
    expect(new MongoSessionStore({ db: client.db('x') }).toJSON()).toMatchObject({ database: 'x', ownsClient: false });
  });
});

describe('errors name the public method the caller called', () => {
  it('every operation on an unreachable server', async () => {
    const store = new MongoSessionStore({ url: CLOSED, clientOptions: fast });
    const session = store.session('names');
    const calls: [string, () => Promise<unknown>][] = [
      ['getItems', () => session.getItems()],
      ['addItems', () => session.addItems([{ role: 'user', content: 'x' }])],
      ['popItem', () => session.popItem()],
      ['clearSession', () => session.clearSession()],
      [
        'applyHistoryTransaction',
        () => session.applyHistoryTransaction({ operationId: 'o', transaction: { type: 'append_items', items: [] } }),
      ],
      ['replaceHistoryWithCompaction', () => session.replaceHistoryWithCompaction([])],
      [
        'applyHistoryMutations',
        () =>
          session.applyHistoryMutations({
            mutations: [{ type: 'replace_function_call', callId: 'c', replacement: { type: 'message' } as never }],
          }),
      ],
      ['setup', () => store.setup()],
      ['setup', () => store.ensureIndexes()],
      ['setup', () => session.setup()],
      ['setup', () => session.ensureIndexes()],
    ];
    try {
      const errors = await Promise.all(
        calls.map(([, call]) =>
          call().then(
            () => undefined,
            (e: unknown) => e,
          ),
        ),
      );
      for (const [i, [name]] of calls.entries()) {
        expect(errors[i], name).toBeInstanceOf(SessionConnectionError);
        expect((errors[i] as SessionStorageError).operation, name).toBe(name);
      }
    } finally {
      await store.close();
    }
  });

  it('the mapping: unreachable → SessionConnectionError, any other driver error → SessionStorageError', () => {
    const selection = Object.assign(new Error('no server'), { name: 'MongoServerSelectionError' });
    const wrapped = new Error('outer', { cause: Object.assign(new Error('x'), { name: 'MongoNetworkError' }) });
    expect(toMongoSessionError('getItems', selection)).toBeInstanceOf(SessionConnectionError);
    expect(toMongoSessionError('getItems', wrapped)).toBeInstanceOf(SessionConnectionError);
    expect(
      toMongoSessionError('getItems', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })),
    ).toBeInstanceOf(SessionConnectionError);
    const server = Object.assign(new Error('bad'), { name: 'MongoServerError', code: 2 });
    const mapped = toMongoSessionError('addItems', server);
    expect(mapped).toBeInstanceOf(SessionStorageError);
    expect(mapped).not.toBeInstanceOf(SessionConnectionError);
    expect(mapped).toMatchObject({ operation: 'addItems', cause: server });
    const ours = new SessionValidationError('x');
    expect(toMongoSessionError('getItems', ours)).toBe(ours);
    expect(ours).toBeInstanceOf(SessionError);
    expect([isDuplicateKey({ code: 11000 }), isNotImplemented({ code: 238 }), isIndexConflict({ code: 86 })]).toEqual([
      true,
      true,
      true,
    ]);
    expect([isDuplicateKey(null), isNotImplemented({ code: 11000 }), isIndexConflict(undefined)]).toEqual([
      false,
      false,
      false,
    ]);
  });
});

describe('issue #14: item size is checked by core before any I/O', () => {
  it('an oversized history mutation is refused at once, without reading the history', async () => {
    const started: string[] = [];
    const store = new MongoSessionStore({ url: CLOSED, clientOptions: { ...fast, monitorCommands: true } });
    store.client!.on('commandStarted', (event) => started.push(event.commandName));
    store.client!.on('serverHeartbeatStarted', () => started.push('heartbeat'));
    const huge = { type: 'function_call', callId: 'c', name: 'f', arguments: 'x'.repeat(MongoSession.maxItemBytes) };
    try {
      const error = await store
        .session('mutations')
        .applyHistoryMutations({ mutations: [{ type: 'replace_function_call', callId: 'c', replacement: huge }] })
        .catch((e: unknown) => e);
      // A read would have failed with SessionConnectionError after the server selection timeout.
      expect(error).toBeInstanceOf(SessionItemTooLargeError);
      expect(error).toMatchObject({ path: 'mutations[0].replacement', maxBytes: MongoSession.maxItemBytes });
      expect(started).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
