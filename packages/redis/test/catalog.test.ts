import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../src/index.js';
import { expectCatalogSelfRepair, type IndexEditor, redisForTests } from './helpers.js';

// The shared server, a key prefix of this file's own, and a raw client for checks.
const { url, keyPrefix, raw } = await redisForTests('catalog');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const message = (content: string) => ({ type: 'message', role: 'user', content });

/** The commands this client sends for keys under `prefix` while `body` runs (MONITOR; script-internal ones excluded). */
async function commandsOf(prefix: string, body: () => Promise<unknown>): Promise<string[]> {
  const monitor = createClient({ url });
  await monitor.connect();
  const seen: string[] = [];
  await monitor.monitor((line) => {
    if (line.includes(`"${prefix}:`) && !line.includes(' lua]')) seen.push(line.split('"')[1]!.toUpperCase());
  });
  try {
    await body();
    // MONITOR output is asynchronous: wait until a marker sent afterwards shows up.
    await raw.get(`${prefix}:marker`);
    for (let i = 0; i < 200 && !seen.includes('GET'); i++) await sleep(5);
    return seen.filter((command) => command !== 'GET');
  } finally {
    await monitor.destroy();
  }
}

describe('catalog cost', () => {
  it('a page of 10 sends the same commands whether the prefix holds 20 or 400 sessions', async () => {
    const counts: number[] = [];
    for (const size of [20, 400]) {
      const prefix = `${keyPrefix}_n${size}`;
      await using store = new RedisSessionStore({ url, keyPrefix: prefix });
      for (let i = 0; i < size; i += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, size - i) }, (_, k) => store.session(`s${i + k}`).addItems([message('x')])),
        );
      }
      await store.listSessions({ limit: 10 }); // loads the scripts
      const page = await commandsOf(prefix, async () => {
        const { sessions, nextCursor } = await store.listSessions({ limit: 10 });
        expect(sessions).toHaveLength(10);
        expect(nextCursor).toEqual(expect.any(String));
      });
      // One ZRANGEBYLEX script, then the 11 entries (10 + one to know more follow), sent together.
      expect(page).toEqual(Array(12).fill('EVALSHA'));
      counts.push(page.length);
    }
    expect(counts[0]).toBe(counts[1]);
  });

  it('getSessionInfo and deleteSession are one command, updateMetadata two (read, compare-and-set)', async () => {
    const prefix = `${keyPrefix}_calls`;
    await using store = new RedisSessionStore({ url, keyPrefix: prefix });
    const session = store.session('one');
    await session.addItems([message('warm')]);
    await session.updateMetadata({ warm: true });
    await store.getSessionInfo('one');
    await store.deleteSession('nothing');
    expect(await commandsOf(prefix, () => store.getSessionInfo('one'))).toEqual(['EVALSHA']);
    expect(await commandsOf(prefix, () => session.updateMetadata({ a: 1 }))).toEqual(['EVALSHA', 'EVALSHA']);
    expect(await commandsOf(prefix, () => store.deleteSession('one'))).toEqual(['EVALSHA']);
    expect(await raw.keys(`${prefix}:*`)).toEqual([]);
  });
});

describe('catalog index on a standalone server', () => {
  it('moves in the same script as the write: the index always matches every entry', async () => {
    const prefix = `${keyPrefix}_atomic`;
    await using store = new RedisSessionStore({ url, keyPrefix: prefix });
    await Promise.all(
      Array.from({ length: 20 }, async (_, w) => {
        const session = store.session(`c${w % 4}`);
        for (let b = 0; b < 5; b++) {
          await session.addItems([message(`w${w}b${b}`)]);
          if (b % 2 === 0) await session.popItem();
          await session.updateMetadata({ [`w${w}`]: b });
        }
      }),
    );
    const at = await raw.hGetAll(`${prefix}:{${prefix}#catalog}:at`);
    for (let c = 0; c < 4; c++) {
      const info = (await store.getSessionInfo(`c${c}`))!;
      expect(Number(at[`c${c}`])).toBe(info.updatedAt.getTime());
      expect(info.itemCount).toBe((await store.session(`c${c}`).getItems()).length);
    }
  });

  it('repairs a damaged index while listing, and re-indexes on the next write', async () => {
    await using store = new RedisSessionStore({ url, keyPrefix: `${keyPrefix}_repair` });
    await expectCatalogSelfRepair(store, raw as unknown as IndexEditor);
  });
});
