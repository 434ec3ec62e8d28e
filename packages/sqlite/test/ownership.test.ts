import { join } from 'node:path';
import * as libsql from '@libsql/client';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { SqliteSessionStore } from '../src/index.js';
import { fileUrl, tempDir } from './helpers.js';

// The real driver, with `createClient` wrapped only to capture the clients the store opens.
vi.mock('@libsql/client', async (importOriginal) => {
  const original = await importOriginal<typeof libsql>();
  return { ...original, createClient: vi.fn(original.createClient) };
});
const opened = () => vi.mocked(libsql.createClient).mock.results.map((result) => result.value as libsql.Client);

const tmp = tempDir('ownership');
afterAll(() => tmp.remove());

describe('client ownership', () => {
  it('a store opens its client lazily, once, with WAL and a busy timeout, and close() closes it', async () => {
    vi.mocked(libsql.createClient).mockClear();
    const url = fileUrl(join(tmp.dir, 'owned.db'));
    const store = new SqliteSessionStore({ url });
    const sessions = Array.from({ length: 5 }, (_, i) => store.session(`s${i}`));
    expect(opened()).toHaveLength(0);
    await Promise.all(sessions.map((session) => session.addItems([{ type: 'message', role: 'user', content: 'x' }])));
    expect(opened()).toHaveLength(1);
    expect(vi.mocked(libsql.createClient).mock.calls[0]![0]).toMatchObject({ url, timeout: 5000 });
    const [client] = opened();
    expect(String((await client!.execute('PRAGMA journal_mode')).rows[0]![0]).toLowerCase()).toBe('wal');
    expect(Number((await client!.execute('PRAGMA busy_timeout')).rows[0]![0])).toBe(5000);
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

  it('a store that never ran an operation opens nothing and closes cleanly', async () => {
    vi.mocked(libsql.createClient).mockClear();
    const store = new SqliteSessionStore({ url: ':memory:' });
    store.session('unused');
    await store.close();
    expect(opened()).toHaveLength(0);
  });
});
