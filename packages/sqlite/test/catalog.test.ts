// The SQLite side of the catalog beyond the contract suite: what a page costs (its plan and the
// bound on the entries it examines), round trips, and metadata filters and ties that only SQL
// could get wrong.
import { type Client, createClient, type InStatement } from '@libsql/client';
import type { AgentInputItem, CatalogQuery } from '@sessions/core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { examinedPerPage, listStatements } from '../src/engine/catalog.js';
import { schemaNames } from '../src/engine/schema.js';
import { SqliteSessionStore } from '../src/index.js';
import { uniquePrefix } from './helpers.js';

const message = (content: string): AgentInputItem => ({ type: 'message', role: 'user', content });

async function memoryStore(): Promise<{ client: Client; store: SqliteSessionStore; prefix: string }> {
  const client = createClient({ url: ':memory:' });
  const prefix = uniquePrefix('catalog');
  const store = new SqliteSessionStore({ client, tablePrefix: prefix });
  onTestFinished(async () => {
    await store.close();
    client.close();
  });
  await store.setup();
  return { client, store, prefix };
}

/**
 * `count` session rows written straight into the table (no items), one per millisecond going
 * back from `newest`: `s00000` is the newest. Metadata text from `metadataOf(i)` (null: none).
 */
async function seed(
  client: Client,
  prefix: string,
  count: number,
  newest: number,
  metadataOf: (i: number) => string | null = () => null,
): Promise<void> {
  const statements: InStatement[] = [];
  for (let i = 0; i < count; i++) {
    statements.push({
      sql: `INSERT INTO "${prefix}sessions" (session_id, next_seq, created_at, updated_at, item_count, metadata)
        VALUES (?, 0, ?, ?, 0, ?)`,
      args: [`s${String(i).padStart(5, '0')}`, newest - i, newest - i, metadataOf(i)],
    });
  }
  await client.batch(statements, 'write');
}

describe('a page of the catalog', () => {
  it('is an ordered scan of the listing index, never a sort or a scan of the table', async () => {
    const { client, prefix } = await memoryStore();
    const names = schemaNames(prefix);
    const queries: CatalogQuery[] = [
      { limit: 50, metadata: [] },
      { limit: 1000, metadata: [['tag', 'x']], after: { updatedAt: 5, sessionId: 'x' } },
      { limit: 10, metadata: [['n', 1]], updatedAfter: 1, updatedBefore: 10, after: { updatedAt: 7, sessionId: 'y' } },
    ];
    for (const query of queries) {
      for (const statement of listStatements(names, query, Date.now())) {
        const { sql, args } = statement as { sql: string; args: (string | number)[] };
        const plan = await client.execute({ sql: `EXPLAIN QUERY PLAN ${sql}`, args });
        const steps = plan.rows.map((row) => String(row.detail));
        expect(steps.join('\n')).not.toMatch(/TEMP B-TREE|SCAN .*sessions"?$/m);
        const sessionsSteps = steps.filter((step) => step.includes(`${names.prefix}sessions`));
        expect(sessionsSteps.length).toBeGreaterThan(0);
        for (const step of sessionsSteps) expect(step).toContain(`USING`);
        for (const step of sessionsSteps) expect(step).toContain(`${names.prefix}sessions_listing`);
      }
    }
  });

  it('examines a bounded window: a rare match costs empty pages with a cursor, never a long scan', async () => {
    const { client, store, prefix } = await memoryStore();
    const total = 2500;
    const tag = 'rare';
    // Only the oldest session matches.
    await seed(client, prefix, total, Date.now(), (i) => (i === total - 1 ? JSON.stringify({ tag }) : '{"tag":"x"}'));
    const window = examinedPerPage(10);
    const pages: number[] = [];
    const found: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listSessions({ metadata: { tag }, limit: 10, ...(cursor && { cursor }) });
      pages.push(page.sessions.length);
      found.push(...page.sessions.map((info) => info.sessionId));
      cursor = page.nextCursor;
    } while (cursor !== undefined && pages.length < 100);
    expect(found).toEqual([`s0${total - 1}`]);
    expect(pages).toEqual([...Array(Math.ceil(total / window) - 1).fill(0), 1]);

    // Unfiltered, pages of 1000 see every session once, in order.
    const seen: string[] = [];
    for await (const info of store.sessions({ pageSize: 1000 })) seen.push(info.sessionId);
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => `s${String(i).padStart(5, '0')}`));
  });

  it('ties on one millisecond come in byte order of the id, each exactly once across pages', async () => {
    const { client, store, prefix } = await memoryStore();
    const ids = ['😀', 'b', 'ｚ', 'a', 'é', '日本', 'A', 'a b'];
    for (const id of ids) await store.session(id).addItems([message(id)]);
    const at = Date.now() + 1000;
    await client.execute({ sql: `UPDATE "${prefix}sessions" SET updated_at = ?`, args: [at] });
    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listSessions({ limit: 1, ...(cursor && { cursor }) });
      listed.push(...page.sessions.map((info) => info.sessionId));
      cursor = page.nextCursor;
    } while (cursor !== undefined && listed.length < 20);
    const byteOrder = [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(listed).toEqual(byteOrder);
    // UTF-16 order would put U+FF5A 'ｚ' after the surrogate pair of '😀'; bytes put it before.
    expect(listed.indexOf('ｚ')).toBeLessThan(listed.indexOf('😀'));
  });
});

describe('metadata filters in SQL', () => {
  it('compare the JSON type too, and take any key (dots, quotes, $, non-ASCII)', async () => {
    const { store } = await memoryStore();
    const labels: Record<string, Record<string, string | number | boolean | object>> = {
      int: { n: 1 },
      text: { n: '1' },
      yes: { n: true },
      no: { n: false },
      zero: { n: 0 },
      real: { n: 1.5 },
      nested: { n: { n: 1 } },
      keys: { 'a.b': 'dot', 'say "hi"': 'quote', $: 'dollar', ключ: 'значение', '[0]': 'bracket' },
    };
    for (const [id, metadata] of Object.entries(labels)) await store.session(id).updateMetadata(metadata as never);
    const names = async (metadata: Record<string, string | number | boolean>) =>
      (await store.listSessions({ metadata })).sessions.map((info) => info.sessionId).sort();
    expect(await names({ n: 1 })).toEqual(['int']);
    expect(await names({ n: '1' })).toEqual(['text']);
    expect(await names({ n: true })).toEqual(['yes']);
    expect(await names({ n: false })).toEqual(['no']);
    expect(await names({ n: 0 })).toEqual(['zero']);
    expect(await names({ n: 1.5 })).toEqual(['real']);
    expect(await names({ 'a.b': 'dot' })).toEqual(['keys']);
    expect(await names({ 'say "hi"': 'quote', $: 'dollar' })).toEqual(['keys']);
    expect(await names({ ключ: 'значение', '[0]': 'bracket' })).toEqual(['keys']);
    expect(await names({ 'a.b': 'other' })).toEqual([]);
    expect(await names({ a: 'dot' })).toEqual([]);
  });
});

describe('round trips', () => {
  it('a page, an info and a delete are one call each; updateMetadata is a read and one write batch', async () => {
    const { client, prefix } = await memoryStore();
    const calls: string[] = [];
    const counting = new Proxy(client, {
      get(target, property) {
        const value = (target as unknown as Record<PropertyKey, unknown>)[property];
        if (property === 'execute' || property === 'batch') {
          return (...args: unknown[]) => {
            calls.push(String(property));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const counted = new SqliteSessionStore({ client: counting, tablePrefix: prefix });
    onTestFinished(() => counted.close());
    await counted.setup();
    const count = async (work: () => Promise<unknown>) => {
      calls.length = 0;
      await work();
      return calls.join(',');
    };
    await counted.session('x').addItems([message('one')]);
    expect(await count(() => counted.session('x').updateMetadata({ k: 1 }))).toBe('execute,batch');
    expect(await count(() => counted.session('x').getMetadata())).toBe('execute');
    expect(await count(() => counted.listSessions({ metadata: { k: 1 }, limit: 5 }))).toBe('batch');
    expect(await count(() => counted.getSessionInfo('x'))).toBe('execute');
    expect(await count(() => counted.deleteSession('x'))).toBe('batch');
    expect(await counted.getSessionInfo('x')).toBeUndefined();
  });

  it('deleteSession leaves no row behind in any table', async () => {
    const { client, store, prefix } = await memoryStore();
    const session = store.session('gone');
    await session.addItems([message('a'), message('b')]);
    await session.applyHistoryTransaction({
      operationId: 'op',
      transaction: { type: 'append_items', items: [message('c')] },
    });
    await session.updateMetadata({ owner: 'ada' });
    await store.deleteSession('gone');
    for (const table of ['sessions', 'items', 'operations']) {
      const rows = await client.execute({
        sql: `SELECT count(*) AS n FROM "${prefix}${table}" WHERE session_id = ?`,
        args: ['gone'],
      });
      expect(Number(rows.rows[0]!.n), table).toBe(0);
    }
  });
});
