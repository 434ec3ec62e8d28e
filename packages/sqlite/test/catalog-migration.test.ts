// A database written by the previous release (schema version 1: no catalog columns) keeps working:
// the first store of this release upgrades it in place, counting every session's items once.
import { join } from 'node:path';
import type { Client } from '@libsql/client';
import { type AgentInputItem, SessionStorageError } from '@sessions/core';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { SqliteSessionStore } from '../src/index.js';
import { fileUrl, rawClient, tempDir, uniquePrefix } from './helpers.js';

const tmp = tempDir('catalog-migration');
afterAll(() => tmp.remove());

const message = (content: string): AgentInputItem => ({ type: 'message', role: 'user', content });

/** The layout of schema version 1, as `git show HEAD:packages/sqlite/src/engine/schema.ts` had it. */
function versionOneLayout(prefix: string, now: number): string[] {
  const q = (suffix: string) => `"${prefix}${suffix}"`;
  return [
    `CREATE TABLE IF NOT EXISTS ${q('schema')} (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      version INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`,
    `INSERT INTO ${q('schema')} (id, version, updated_at) VALUES (1, 1, ${now}) ON CONFLICT (id) DO NOTHING`,
    `CREATE TABLE IF NOT EXISTS ${q('sessions')} (
      session_id TEXT NOT NULL PRIMARY KEY,
      next_seq INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      expires_at INTEGER
    ) WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS ${q('sessions_expires_at')} ON ${q('sessions')} (expires_at) WHERE expires_at IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${q('items')} (
      session_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      item TEXT NOT NULL,
      PRIMARY KEY (session_id, seq)
    )`,
    `CREATE TABLE IF NOT EXISTS ${q('operations')} (
      session_id TEXT NOT NULL,
      operation_id TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      nonce TEXT NOT NULL,
      PRIMARY KEY (session_id, operation_id)
    ) WITHOUT ROWID`,
    `CREATE TRIGGER IF NOT EXISTS ${q('sessions_cascade')} AFTER DELETE ON ${q('sessions')} FOR EACH ROW BEGIN
      DELETE FROM ${q('items')} WHERE session_id = OLD.session_id;
      DELETE FROM ${q('operations')} WHERE session_id = OLD.session_id;
    END`,
  ];
}

/**
 * What the previous release's `addItems` wrote: the session row reserving sequence numbers, then
 * the items numbered from the reserved range (items are stored as their JSON text).
 */
async function oldAppend(
  raw: Client,
  prefix: string,
  sessionId: string,
  items: AgentInputItem[],
  at: number,
  expiresAt: number | null = null,
): Promise<void> {
  await raw.batch(
    [
      {
        sql: `INSERT INTO "${prefix}sessions" (session_id, next_seq, created_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?)
          ON CONFLICT (session_id) DO UPDATE SET next_seq = next_seq + excluded.next_seq,
            updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
        args: [sessionId, items.length, at, at, expiresAt],
      },
      ...items.map((item, i) => ({
        sql: `INSERT INTO "${prefix}items" (session_id, seq, item)
          SELECT session_id, next_seq - ? + ?, ? FROM "${prefix}sessions" WHERE session_id = ?`,
        args: [items.length, i, JSON.stringify(item), sessionId],
      })),
    ],
    'write',
  );
}

/** The previous release's popItem: the newest row goes, the session row records the write. */
async function oldPop(raw: Client, prefix: string, sessionId: string, at: number): Promise<void> {
  await raw.batch(
    [
      {
        sql: `DELETE FROM "${prefix}items" WHERE session_id = ? AND seq = (SELECT max(seq) FROM "${prefix}items" WHERE session_id = ?)`,
        args: [sessionId, sessionId],
      },
      { sql: `UPDATE "${prefix}sessions" SET updated_at = ? WHERE session_id = ?`, args: [at, sessionId] },
    ],
    'write',
  );
}

/** A file with the version 1 layout under `prefix` and a few sessions written the old way. */
async function oldDatabase(name: string): Promise<{ url: string; prefix: string; raw: Client; t0: number }> {
  const url = fileUrl(join(tmp.dir, `${name}.db`));
  const prefix = uniquePrefix(name);
  const raw = rawClient(url);
  onTestFinished(() => raw.close());
  const t0 = Date.now() - 60_000;
  await raw.batch(versionOneLayout(prefix, t0), 'write');
  await oldAppend(raw, prefix, 'alpha', [message('a1'), message('a2')], t0);
  await oldAppend(raw, prefix, 'alpha', [message('a3')], t0 + 1000);
  await oldAppend(raw, prefix, 'beta', [message('b1'), message('b2')], t0 + 2000);
  await oldPop(raw, prefix, 'beta', t0 + 3000);
  // Emptied by pops: the row stays, with no items (listed with 0, as this release does too).
  await oldAppend(raw, prefix, 'emptied', [message('e1')], t0 + 4000);
  await oldPop(raw, prefix, 'emptied', t0 + 5000);
  // Expired under the old TTL: not listed, reads as nothing.
  await oldAppend(raw, prefix, 'expired', [message('x1')], t0 + 6000, t0 + 7000);
  // A transaction the old release recorded: its operation id must still be remembered.
  await oldAppend(raw, prefix, 'gamma', [message('g1')], t0 + 8000);
  await raw.execute({
    sql: `INSERT INTO "${prefix}operations" (session_id, operation_id, fingerprint, created_at, nonce) VALUES (?, ?, ?, ?, ?)`,
    args: ['gamma', 'op-old', 'fingerprint-of-another-transaction', Date.now(), 'old-nonce'],
  });
  return { url, prefix, raw, t0 };
}

async function versionOf(raw: Client, prefix: string): Promise<number> {
  return Number((await raw.execute(`SELECT version FROM "${prefix}schema"`)).rows[0]!.version);
}

describe('a database written by the previous release (schema version 1)', () => {
  it('is upgraded on first use: counts, dates and items are right, and writes keep the count', async () => {
    const { url, prefix, raw, t0 } = await oldDatabase('upgrade');
    await using store = new SqliteSessionStore({ url, tablePrefix: prefix });

    expect(await store.getSessionInfo('alpha')).toEqual({
      sessionId: 'alpha',
      createdAt: new Date(t0),
      updatedAt: new Date(t0 + 1000),
      itemCount: 3,
      metadata: {},
    });
    expect(await versionOf(raw, prefix)).toBe(2);
    expect(await store.getSessionInfo('beta')).toMatchObject({ itemCount: 1, updatedAt: new Date(t0 + 3000) });
    expect(await store.getSessionInfo('emptied')).toMatchObject({ itemCount: 0 });
    expect(await store.getSessionInfo('expired')).toBeUndefined();

    const page = await store.listSessions();
    expect(page.sessions.map((info) => [info.sessionId, info.itemCount])).toEqual([
      ['gamma', 1],
      ['emptied', 0],
      ['beta', 1],
      ['alpha', 3],
    ]);
    expect(page.nextCursor).toBeUndefined();

    const alpha = store.session('alpha');
    expect(await alpha.getItems()).toEqual([message('a1'), message('a2'), message('a3')]);
    await alpha.addItems([message('a4'), message('a5')]);
    expect(await alpha.getItems(2)).toEqual([message('a4'), message('a5')]);
    expect(await store.getSessionInfo('alpha')).toMatchObject({ itemCount: 5, createdAt: new Date(t0) });
    await alpha.popItem();
    expect(await alpha.updateMetadata({ migrated: true })).toEqual({ migrated: true });
    expect(await store.getSessionInfo('alpha')).toMatchObject({ itemCount: 4, metadata: { migrated: true } });
    expect((await store.listSessions({ limit: 1 })).sessions[0]!.sessionId).toBe('alpha');

    // The operation id recorded by the old release is still known: reusing it is refused.
    const gamma = store.session('gamma');
    await expect(
      gamma.applyHistoryTransaction({
        operationId: 'op-old',
        transaction: { type: 'append_items', items: [message('g2')] },
      }),
    ).rejects.toMatchObject({ reason: 'operation_id_reused' });
    await gamma.clearSession();
    expect(await store.getSessionInfo('gamma')).toMatchObject({ itemCount: 0 });

    // A second store on the same file finds version 2 and changes nothing.
    await using again = new SqliteSessionStore({ url, tablePrefix: prefix });
    await again.setup();
    expect(await again.getSessionInfo('alpha')).toMatchObject({ itemCount: 4, metadata: { migrated: true } });
  });

  it('several stores opening it at once upgrade it once, and all of them work', async () => {
    const { url, prefix, raw } = await oldDatabase('race');
    const stores = Array.from({ length: 6 }, () => new SqliteSessionStore({ url, tablePrefix: prefix }));
    onTestFinished(async () => {
      for (const store of stores) await store.close();
    });
    const infos = await Promise.all(stores.map((store) => store.getSessionInfo('alpha')));
    for (const info of infos) expect(info).toMatchObject({ itemCount: 3 });
    expect(await versionOf(raw, prefix)).toBe(2);
    await Promise.all(stores.map((store, i) => store.session('alpha').addItems([message(`from ${i}`)])));
    expect(await stores[0]!.getSessionInfo('alpha')).toMatchObject({ itemCount: 9 });
    expect(await stores[1]!.session('alpha').getItems()).toHaveLength(9);
  });

  it('with createIfMissing: false it is not changed, and the error says how to upgrade it', async () => {
    const { url, prefix, raw } = await oldDatabase('readonly');
    await using store = new SqliteSessionStore({ url, tablePrefix: prefix, createIfMissing: false });
    const error = await store.getSessionInfo('alpha').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStorageError);
    expect((error as Error).message).toMatch(/schema version 1, from an earlier @sessions\/sqlite; run setup\(\)/);
    expect(await versionOf(raw, prefix)).toBe(1);
    const columns = await raw.execute(`SELECT name FROM pragma_table_info('${prefix}sessions')`);
    expect(columns.rows.map((row) => row.name)).not.toContain('item_count');
  });
});
