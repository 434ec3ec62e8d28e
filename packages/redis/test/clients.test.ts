import {
  SessionClosedError,
  SessionConnectionError,
  SessionStorageError,
  SessionValidationError,
} from '@sessions/core';
import { freePort } from '@sessions/test-services';
import { createClient, RESP_TYPES } from 'redis';
import { describe, expect, it } from 'vitest';
import { RedisSession, type RedisSessionClient, RedisSessionStore } from '../src/index.js';
import { itemsKey, redisForTests } from './helpers.js';

// The shared server, a key prefix of this file's own, and a raw client for checks.
const { url, keyPrefix, raw } = await redisForTests('clients');

const message = (content: string) => ({ type: 'message', role: 'user', content });

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe("the caller's own client", () => {
  it('is used as is and never closed by the store', async () => {
    const client = createClient({ url });
    await client.connect();
    const store = new RedisSessionStore({ client, keyPrefix });
    expect(store.client).toBe(client);
    await store.session('own').addItems([message('hi')]);
    await store.close();
    expect(client.isOpen).toBe(true);
    expect(await new RedisSession({ sessionId: 'own', client, keyPrefix }).getItems()).toEqual([message('hi')]);
    await client.close();
  });

  it('works with RESP3 and a type mapping that returns blob strings as Buffers', async () => {
    const base = createClient({ url, RESP: 3 });
    await base.connect();
    const client = base.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    const session = new RedisSession({ sessionId: 'resp3 ✓', client, keyPrefix });
    const items = [message('one ✓'), message('two 😀'), message('three')];
    await session.addItems(items);
    expect(await session.getItems()).toEqual(items);
    expect(await session.getItems(1)).toEqual(items.slice(2));
    expect(await session.popItem()).toEqual(items[2]);
    await session.applyHistoryTransaction({
      operationId: 'op',
      transaction: { type: 'replace_suffix', expectedSuffix: [items[1]!], replacement: [message('swapped')] },
    });
    expect(await session.getItems()).toEqual([items[0], message('swapped')]);
    await base.close();
  });

  it('closed or never connected: SessionClosedError saying what to do', async () => {
    const never = createClient({ url });
    const error = await rejection(new RedisSession({ sessionId: 'x', client: never, keyPrefix }).getItems());
    expect(error).toBeInstanceOf(SessionClosedError);
    expect(error.message).toMatch(/connect\(\)/);
    const closed = createClient({ url });
    await closed.connect();
    await closed.close();
    const store = new RedisSessionStore({ client: closed, keyPrefix });
    for (const call of [
      () => store.session('x').addItems([message('lost')]),
      () => store.session('x').popItem(),
      () => store.session('x').clearSession(),
    ]) {
      expect(await rejection(call())).toBeInstanceOf(SessionClosedError);
    }
    expect(await raw.exists(itemsKey(keyPrefix, 'x'))).toBe(0);
  });

  it('anything but a node-redis client, or conflicting options, is refused before any I/O', () => {
    for (const client of [null, {}, { eval() {} }, 'redis://x', 42]) {
      expect(() => new RedisSessionStore({ client: client as never })).toThrow(SessionValidationError);
      expect(() => new RedisSession({ sessionId: 'a', client: client as never })).toThrow(SessionValidationError);
    }
    expect(() => new RedisSessionStore({} as never)).toThrow(SessionValidationError);
    expect(() => new RedisSessionStore(undefined as never)).toThrow(SessionValidationError);
    expect(() => new RedisSessionStore({ url, client: raw as RedisSessionClient })).toThrow(SessionValidationError);
    expect(() => new RedisSessionStore({ url: '' })).toThrow(SessionValidationError);
    const error = (() => {
      try {
        new RedisSessionStore({ url: 'http://user:hunter2@example.com' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(SessionValidationError);
    expect(error?.message).not.toContain('hunter2');
    expect(() => new RedisSessionStore({ url, ttlSeconds: 0 })).toThrow(SessionValidationError);
  });
});

describe('errors', () => {
  it('an unreachable server: SessionConnectionError after the command timeout, with no credentials in the message', async () => {
    const port = await freePort();
    const store = new RedisSessionStore({
      url: `redis://app:hunter2@127.0.0.1:${port}`,
      keyPrefix,
      clientOptions: { commandOptions: { timeout: 300 } },
    });
    const started = Date.now();
    const error = await rejection(store.session('down').addItems([message('lost')]));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(SessionConnectionError);
    expect((error as SessionConnectionError).operation).toBe('addItems');
    expect(error.message).toMatch(/command timeout/);
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(error.message).not.toContain('hunter2');
    expect(error.cause?.constructor.name).toBe('TimeoutError');
    expect(await rejection(store.session('down').getItems())).toBeInstanceOf(SessionConnectionError);
    await store.close();
  });

  it('an unreachable server with the offline queue disabled fails at once', async () => {
    const port = await freePort();
    const store = new RedisSessionStore({
      url: `redis://127.0.0.1:${port}`,
      keyPrefix,
      clientOptions: { disableOfflineQueue: true },
    });
    const started = Date.now();
    const error = await rejection(store.session('down').popItem());
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(SessionConnectionError);
    expect(error.cause?.constructor.name).toBe('ClientOfflineError');
    await store.close();
  });

  it('a command the server refuses is a SessionStorageError, not a connection error', async () => {
    await raw.set(itemsKey(keyPrefix, 'wrong-type'), 'not a list');
    await using store = new RedisSessionStore({ url, keyPrefix });
    for (const call of [
      () => store.session('wrong-type').getItems(),
      () => store.session('wrong-type').addItems([message('x')]),
    ]) {
      const error = await rejection(call());
      expect(error).toBeInstanceOf(SessionStorageError);
      expect(error).not.toBeInstanceOf(SessionConnectionError);
      expect(error.message).toMatch(/WRONGTYPE/);
    }
    expect(await raw.get(itemsKey(keyPrefix, 'wrong-type'))).toBe('not a list');
  });

  it('a store-created client connects on first use only, and close() releases it', async () => {
    const store = new RedisSessionStore({ url, keyPrefix });
    expect(store.client.isOpen).toBe(false);
    store.session('lazy');
    expect(store.client.isOpen).toBe(false);
    await store.session('lazy').getItems();
    expect(store.client.isOpen).toBe(true);
    await store.close();
    expect(store.client.isOpen).toBe(false);
  });
});
