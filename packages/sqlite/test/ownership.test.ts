import { join } from 'node:path';
import * as libsql from '@libsql/client';
import { afterAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { SqliteSessionStore } from '../src/index.js';
import { collectGarbage, fileUrl, tempDir } from './helpers.js';

// The real driver, with `createClient` wrapped only to capture the clients the store opens.
vi.mock('@libsql/client', async (importOriginal) => {
  const original = await importOriginal<typeof libsql>();
  return { ...original, createClient: vi.fn(original.createClient) };
});
const original = await vi.importActual<typeof libsql>('@libsql/client');
const opened = () => vi.mocked(libsql.createClient).mock.results.map((result) => result.value as libsql.Client);

const tmp = tempDir('ownership');
afterAll(() => tmp.remove());

const message = (content: string) => ({ type: 'message' as const, role: 'user' as const, content });
const countSql = 'SELECT count(*) FROM agents_items';

/** Counts the SQLITE_BUSY errors `client.batch` reports from now on (the spy only observes). */
function countBusyErrors(client: libsql.Client): () => number {
  let busy = 0;
  const batch = client.batch.bind(client);
  // A plain wrapper, not a spy: a spy would keep every error, and with it the driver's failed
  // statement that must be garbage-collected (libsql-client-ts#352).
  client.batch = async (...args: Parameters<libsql.Client['batch']>) => {
    try {
      return await batch(...args);
    } catch (error) {
      if (String((error as { code?: unknown }).code).startsWith('SQLITE_BUSY')) busy++;
      throw error;
    }
  };
  return () => busy;
}

describe('client ownership', () => {
  it('a store opens its client lazily, once, with WAL and no SQLite busy timeout (it waits itself), and close() closes it', async () => {
    vi.mocked(libsql.createClient).mockClear();
    const url = fileUrl(join(tmp.dir, 'owned.db'));
    const store = new SqliteSessionStore({ url });
    const sessions = Array.from({ length: 5 }, (_, i) => store.session(`s${i}`));
    expect(opened()).toHaveLength(0);
    await Promise.all(sessions.map((session) => session.addItems([{ type: 'message', role: 'user', content: 'x' }])));
    expect(opened()).toHaveLength(1);
    expect(vi.mocked(libsql.createClient).mock.calls[0]![0]).toMatchObject({ url, timeout: 0 });
    const [client] = opened();
    expect(String((await client!.execute('PRAGMA journal_mode')).rows[0]![0]).toLowerCase()).toBe('wal');
    // A local call is synchronous: SQLite waiting inside it would block the event loop.
    expect(Number((await client!.execute('PRAGMA busy_timeout')).rows[0]![0])).toBe(0);
    expect(client!.closed).toBe(false);
    await store.close();
    expect(client!.closed).toBe(true);
  });

  it('a relative file: url is resolved once, when the store is built', () => {
    vi.mocked(libsql.createClient).mockClear();
    const store = new SqliteSessionStore({ url: 'file:relative dir/conversations.db', busyTimeoutMs: 250 });
    void store
      .session('s')
      .getItems()
      .catch(() => undefined);
    const config = vi.mocked(libsql.createClient).mock.calls[0]![0];
    expect(config.url).toBe(fileUrl(join(process.cwd(), 'relative dir', 'conversations.db')));
    expect(config.timeout).toBe(250);
    return store.close();
  });

  /**
   * Holds the write lock (`BEGIN IMMEDIATE`) from another connection; `released` settles when it
   * lets go, after `ms`. (Wrapped in an object: an async function returning a bare promise would
   * be awaited through, i.e. only after the release.)
   */
  async function holdWriteLock(url: string, ms: number): Promise<{ released: Promise<void> }> {
    const holder = original.createClient({ url });
    const tx = await holder.transaction('write');
    await tx.execute('SELECT 1');
    const released = new Promise<void>((resolve) => setTimeout(resolve, ms)).then(async () => {
      await tx.commit();
      holder.close();
    });
    return { released };
  }

  it('a client you pass in is never reconnected or closed after SQLITE_BUSY; the write lands once the lock goes', async () => {
    const url = fileUrl(join(tmp.dir, 'borrowed.db'));
    // No busy timeout: every contention surfaces as SQLITE_BUSY in the session's retry loop.
    const client = original.createClient({ url });
    onTestFinished(() => client.close());
    await client.execute('PRAGMA journal_mode = WAL');
    const store = new SqliteSessionStore({ client });
    const session = store.session('borrowed');
    await session.addItems([message('before')]);
    const reconnect = vi.spyOn(client, 'reconnect');
    const close = vi.spyOn(client, 'close');

    // The caller's own interactive transaction on the same client, open across the busy spell.
    const mine = await client.transaction('read');
    expect(Number((await mine.execute(countSql)).rows[0]![0])).toBe(1);

    const { released } = await holdWriteLock(url, 150);
    const busyErrors = countBusyErrors(client);
    // libsql-client-ts#352: see collectGarbage. Collect while the session retries, once the lock is gone.
    const collector = released.then(() => setInterval(collectGarbage, 20));
    await session.addItems([message('during')]);
    clearInterval(await collector);
    await released;
    expect(busyErrors()).toBeGreaterThan(0); // the lock really was hit, and retried

    expect(reconnect).not.toHaveBeenCalled();
    expect(close).not.toHaveBeenCalled();
    expect(client.closed).toBe(false);
    // Still the same transaction (its snapshot predates the write), not aborted by a reconnect.
    expect(mine.closed).toBe(false);
    expect(Number((await mine.execute(countSql)).rows[0]![0])).toBe(1);
    await mine.commit();

    expect(await session.getItems()).toEqual([message('before'), message('during')]);
    expect(Number((await client.execute(countSql)).rows[0]![0])).toBe(2);
    await store.close();
    expect(close).not.toHaveBeenCalled();
    expect(client.closed).toBe(false);
  });

  it('a client the store opened itself is reconnected after SQLITE_BUSY (libsql-client-ts#352)', async () => {
    vi.mocked(libsql.createClient).mockClear();
    const url = fileUrl(join(tmp.dir, 'owned-busy.db'));
    await using store = new SqliteSessionStore({ url, busyTimeoutMs: 0 });
    const session = store.session('owned');
    await session.addItems([message('before')]);
    const [client] = opened();
    const reconnect = vi.spyOn(client!, 'reconnect');
    const { released } = await holdWriteLock(url, 150);
    await session.addItems([message('during')]);
    await released;
    expect(reconnect).toHaveBeenCalled();
    expect(await session.getItems()).toEqual([message('before'), message('during')]);
  });

  it('a store that never ran an operation opens nothing and closes cleanly', async () => {
    vi.mocked(libsql.createClient).mockClear();
    const store = new SqliteSessionStore({ url: ':memory:' });
    store.session('unused');
    await store.close();
    expect(opened()).toHaveLength(0);
  });
});
