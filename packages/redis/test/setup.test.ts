import {
  SessionConflictError,
  SessionConnectionError,
  type SessionStorageError,
  TRANSACTION_VERDICTS,
} from '@sessions/core';
import { freePort } from '@sessions/test-services';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { sessionKeys } from '../src/engine/keys.js';
import { runScript, TRANSACTION } from '../src/engine/scripts.js';
import { RedisSessionStore } from '../src/index.js';
import { catalogKeysOf, itemsKey, redisForTests } from './helpers.js';

// The shared server, a key prefix of this file's own, and a raw client for checks.
const { url, keyPrefix, raw } = await redisForTests('setup');

const message = (content: string) => ({ type: 'message', role: 'user', content });

async function rejection(promise: Promise<unknown>): Promise<SessionStorageError> {
  try {
    await promise;
  } catch (error) {
    return error as SessionStorageError;
  }
  throw new Error('expected a rejection');
}

describe('setup()', () => {
  it('connects a store-created client, checks the server and writes nothing; it may run again', async () => {
    await using store = new RedisSessionStore({ url, keyPrefix });
    expect(store.client.isOpen).toBe(false);
    await store.setup();
    expect(store.client.isOpen).toBe(true);
    await store.setup();
    expect(await raw.keys(`${keyPrefix}*`)).toEqual([]);
    await store.session('after-setup').addItems([message('hi')]);
    expect(await store.session('after-setup').getItems()).toEqual([message('hi')]);
  });

  it("works on the caller's client, which it never connects or closes", async () => {
    const client = createClient({ url });
    await client.connect();
    const store = new RedisSessionStore({ client, keyPrefix });
    await store.setup();
    await store.close();
    expect(client.isOpen).toBe(true);
    await client.close();
  });

  it('an unreachable server: SessionConnectionError with operation "setup"', async () => {
    const port = await freePort();
    await using store = new RedisSessionStore({
      url: `redis://127.0.0.1:${port}`,
      keyPrefix,
      clientOptions: { disableOfflineQueue: true },
    });
    const error = await rejection(store.setup());
    expect(error).toBeInstanceOf(SessionConnectionError);
    expect(error.operation).toBe('setup');
  });

  it('a user the server does not let run scripts on the keys fails setup() (SessionStorageError, NOPERM)', async () => {
    const user = `${keyPrefix}_user`;
    const withUser = (name: string) => url.replace('redis://', `redis://${name}:pw-${name}@`);
    const cases = [
      // Scripts forbidden; every other command allowed.
      [`${user}_noeval`, /NOPERM .*'eval' command/, ['on', `>pw-${user}_noeval`, `~${keyPrefix}:*`, '+@all', '-eval']],
      // Scripts allowed, but only on keys under another prefix.
      [`${user}_otherkeys`, /NOPERM .*keys/, ['on', `>pw-${user}_otherkeys`, '~elsewhere:*', '+@all']],
    ] as const;
    try {
      for (const [name, expected, rules] of cases) {
        await raw.sendCommand(['ACL', 'SETUSER', name, 'reset', ...rules]);
        await using store = new RedisSessionStore({ url: withUser(name), keyPrefix });
        const error = await rejection(store.setup());
        expect(error.name, name).toBe('SessionStorageError');
        expect(error.operation).toBe('setup');
        expect(error.message).toMatch(expected);
      }
    } finally {
      for (const [name] of cases) await raw.sendCommand(['ACL', 'DELUSER', name]);
    }
  });

  it('a closed store refuses setup()', async () => {
    const store = new RedisSessionStore({ url, keyPrefix });
    await store.close();
    await expect(store.setup()).rejects.toMatchObject({ name: 'SessionClosedError' });
    expect(store.client.isOpen).toBe(false);
  });
});

describe('createIfMissing: false', () => {
  it('is accepted and changes nothing: Redis has no schema; reads and setup() create no key', async () => {
    const prefix = `${keyPrefix}_nocreate`;
    await using store = new RedisSessionStore({ url, keyPrefix: prefix, createIfMissing: false });
    expect(store.createIfMissing).toBe(false);
    await store.setup();
    const session = store.session('fresh');
    expect(await session.getItems()).toEqual([]);
    expect(await session.getItems(5)).toEqual([]);
    expect(await session.popItem()).toBeUndefined();
    await session.clearSession();
    expect(await raw.keys(`${prefix}*`)).toEqual([]);
    // A write creates the session's keys, as with the default: they are data, not a schema.
    await session.addItems([message('kept')]);
    const meta = itemsKey(prefix, 'fresh').replace(/:items$/, ':meta');
    const catalog = catalogKeysOf(prefix);
    expect((await raw.keys(`${prefix}*`)).sort()).toEqual([itemsKey(prefix, 'fresh'), meta, ...catalog].sort());
    await raw.del([itemsKey(prefix, 'fresh'), meta, ...catalog]);
  });
});

describe('the operation of an error is the public method called', () => {
  const tx = { operationId: 'op', transaction: { type: 'append_items' as const, items: [message('x')] } };
  const calls = (store: RedisSessionStore, id: string): [string, () => Promise<unknown>][] => [
    ['getItems', () => store.session(id).getItems()],
    ['addItems', () => store.session(id).addItems([message('x')])],
    ['popItem', () => store.session(id).popItem()],
    ['clearSession', () => store.session(id).clearSession()],
    ['applyHistoryTransaction', () => store.session(id).applyHistoryTransaction(tx)],
    ['replaceHistoryWithCompaction', () => store.session(id).replaceHistoryWithCompaction([message('y')])],
    [
      'applyHistoryMutations',
      () =>
        store.session(id).applyHistoryMutations({
          mutations: [
            { type: 'replace_function_call', callId: 'c', replacement: { type: 'function_call', callId: 'c' } },
          ],
        }),
    ],
  ];

  it('storage errors (a key of the wrong type)', async () => {
    await using store = new RedisSessionStore({ url, keyPrefix });
    for (const [operation, call] of calls(store, 'wrong-type')) {
      // Both replace a key of any type (DEL first): they succeed.
      if (operation === 'clearSession' || operation === 'replaceHistoryWithCompaction') continue;
      await raw.set(itemsKey(keyPrefix, 'wrong-type'), 'not a list');
      const error = await rejection(call());
      expect(error.name, operation).toBe('SessionStorageError');
      expect(error.operation).toBe(operation);
      expect(error.message).toMatch(new RegExp(`^${operation} failed: WRONGTYPE`));
    }
  });

  it('connection errors (an unreachable server)', async () => {
    const port = await freePort();
    await using store = new RedisSessionStore({
      url: `redis://127.0.0.1:${port}`,
      keyPrefix,
      clientOptions: { disableOfflineQueue: true },
    });
    for (const [operation, call] of calls(store, 'down')) {
      const error = await rejection(call());
      expect(error, operation).toBeInstanceOf(SessionConnectionError);
      expect(error.operation).toBe(operation);
    }
  });
});

describe('the transaction script', () => {
  it("answers with core's verdicts, exactly", async () => {
    const keys = sessionKeys(keyPrefix, 'verdicts');
    const run = (operationId: string, fingerprint: string, expected: string[], replacement: string[]) =>
      runScript(
        raw,
        TRANSACTION,
        [keys.items, keys.operations, keys.operationTimes, keys.meta],
        // TTL, now, session id, then the transaction; the reply is [updatedAt (0: no change), verdict].
        [
          '0',
          String(Date.now()),
          'verdicts',
          '60000',
          operationId,
          fingerprint,
          String(expected.length),
          ...expected,
          ...replacement,
        ],
      ).then((reply) => (reply as unknown[])[1]);
    const verdicts = [
      await run('a', 'f1', [], ['"one"']),
      await run('a', 'f1', [], ['"one"']),
      await run('a', 'f2', [], ['"two"']),
      await run('b', 'f3', ['"zero"'], ['"two"']),
    ];
    expect(verdicts).toEqual(['applied', 'replayed', 'operation_id_reused', 'suffix_mismatch']);
    expect(TRANSACTION_VERDICTS).toEqual(verdicts);
    expect(await raw.lRange(keys.items, 0, -1)).toEqual(['"one"']);
  });

  it('a session turns a refusal into the conflict error core builds', async () => {
    await using store = new RedisSessionStore({ url, keyPrefix });
    const session = store.session('conflicts');
    const tx = { operationId: 'same', transaction: { type: 'append_items' as const, items: [message('a')] } };
    await session.applyHistoryTransaction(tx);
    await session.applyHistoryTransaction(tx);
    expect(await session.getItems()).toEqual([message('a')]);
    const reused = await rejection(
      session.applyHistoryTransaction({ ...tx, transaction: { type: 'append_items', items: [message('b')] } }),
    );
    expect(reused).toBeInstanceOf(SessionConflictError);
    expect(reused).toMatchObject({
      reason: 'operation_id_reused',
      message: 'operationId "same" was already used for a different transaction',
    });
    const mismatch = await rejection(
      session.applyHistoryTransaction({
        operationId: 'other',
        transaction: { type: 'replace_suffix', expectedSuffix: [message('z')], replacement: [] },
      }),
    );
    expect(mismatch).toMatchObject({
      reason: 'suffix_mismatch',
      message: 'The history no longer ends with the expected suffix',
    });
  });
});
