import { parseListOptions } from '@sessions/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listStatement, MAX_EXAMINED_PER_PAGE } from '../src/engine/catalog.js';
import { tablesFor } from '../src/engine/identifiers.js';
import { PostgresSessionStore } from '../src/index.js';
import { rawClient, uniqueName } from './helpers.js';

// What the contract cannot see: the listing's plan and bounded work, and the filter's encoding.
const url = inject('postgresUrl');
const raw = rawClient(url);
const tablePrefix = uniqueName('catalog');
const store = new PostgresSessionStore({ url, tablePrefix });
const FILLER = 12_000;

beforeAll(async () => {
  // Two rare sessions first (the oldest), then many newer ones that do not match them.
  await store.session('rare-1').updateMetadata({ kind: 'rare' });
  await store.session('rare-2').addItems([{ type: 'message', role: 'user', content: 'x' }]);
  await store.session('rare-2').updateMetadata({ kind: 'rare' });
  await raw.unsafe(
    `INSERT INTO "${tablePrefix}sessions" (session_id, created_at, updated_at, item_count, metadata, metadata_scalars)
     SELECT 'filler-' || i, now(), now() + i * interval '1 millisecond', 0, '{"kind":"filler"}', '{"\\"kind\\"":"\\"filler\\""}'
     FROM generate_series(1, $1::int) AS i`,
    [FILLER],
  );
  await raw.unsafe(`ANALYZE "${tablePrefix}sessions"`);
}, 60_000);

afterAll(async () => {
  await store.close();
  for (const table of ['sessions', 'items', 'operations', 'schema_version']) {
    await raw.unsafe(`DROP TABLE IF EXISTS "${tablePrefix}${table}"`);
  }
  await raw.end();
});

/** The executed plan of one page, as JSON text. */
async function pagePlan(options: Parameters<typeof parseListOptions>[0]): Promise<string> {
  const { text, params } = listStatement(tablesFor(undefined, tablePrefix), parseListOptions(options));
  const rows = await raw.unsafe(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
  return JSON.stringify(rows[0]);
}

/** The largest number of rows any index scan of the plan returned. */
function rowsScanned(plan: string): number {
  let most = 0;
  const visit = (node: Record<string, unknown>) => {
    if (String(node['Node Type']).includes('Index')) most = Math.max(most, Number(node['Actual Rows']));
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) visit(child);
  };
  visit((JSON.parse(plan)['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0]!.Plan);
  return most;
}

describe('listing cost', () => {
  it('a page is a range scan of the listing index that stops after the page, wherever the cursor is', async () => {
    const first = await store.listSessions({ limit: 50 });
    expect(first.sessions).toHaveLength(50);
    const plan = await pagePlan({ limit: 50 });
    expect(plan).toContain('sessions_recent');
    expect(plan).not.toContain('"Node Type":"Sort"');
    expect(rowsScanned(plan)).toBeLessThanOrEqual(60);

    // Deep in the listing: the cursor is a range bound, not an offset.
    let cursor = first.nextCursor;
    for (let i = 0; i < 100; i++) cursor = (await store.listSessions({ limit: 50, cursor })).nextCursor;
    const deep = await pagePlan({ limit: 50, cursor });
    expect(deep).toContain('sessions_recent');
    expect(rowsScanned(deep)).toBeLessThanOrEqual(60);
    const between = await pagePlan({
      limit: 50,
      updatedBefore: new Date(Date.now() + 5_000),
      updatedAfter: new Date(0),
    });
    expect(rowsScanned(between)).toBeLessThanOrEqual(60);
  });

  it(`a rare metadata value: each page examines at most ${MAX_EXAMINED_PER_PAGE} sessions, and paging finds every match once`, async () => {
    const plan = await pagePlan({ limit: 10, metadata: { kind: 'rare' } });
    // row_number() reads one row ahead of the last one it numbers.
    expect(rowsScanned(plan)).toBeLessThanOrEqual(MAX_EXAMINED_PER_PAGE + 1);
    const first = await store.listSessions({ limit: 10, metadata: { kind: 'rare' } });
    // The first 10,000 sessions hold no match: an empty page that says where to go on.
    expect(first.sessions).toEqual([]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const found = first.sessions.map((info) => info.sessionId);
    let pages = 1;
    for (let cursor = first.nextCursor; cursor !== undefined; pages++) {
      const page = await store.listSessions({ limit: 10, metadata: { kind: 'rare' }, cursor });
      found.push(...page.sessions.map((info) => info.sessionId));
      cursor = page.nextCursor;
    }
    expect(found).toEqual(['rare-2', 'rare-1']);
    expect(pages).toBeGreaterThanOrEqual(2);
    expect(await store.getSessionInfo('rare-2')).toMatchObject({ itemCount: 1, metadata: { kind: 'rare' } });
  });
});

describe('filters and order', () => {
  it('metadata equality keeps types apart and matches values and keys that jsonb cannot hold (NUL)', async () => {
    const tag = uniqueName('tag');
    const session = store.session(`${tag}nul`);
    await session.updateMetadata({ tag, text: 'a\u0000b', 'k\u0000': true, n: 1, s: '1', nested: { n: 1 } });
    expect(await session.getMetadata()).toEqual({
      tag,
      text: 'a\u0000b',
      'k\u0000': true,
      n: 1,
      s: '1',
      nested: { n: 1 },
    });
    // Through every page: the 12,000 newer filler sessions take more than one page to examine.
    const listed = async (metadata: Record<string, string | number | boolean>) => {
      const found: string[] = [];
      for await (const info of store.sessions({ metadata: { tag, ...metadata } })) found.push(info.sessionId);
      return found;
    };
    expect(await listed({ text: 'a\u0000b' })).toEqual([`${tag}nul`]);
    expect(await listed({ 'k\u0000': true })).toEqual([`${tag}nul`]);
    expect(await listed({ n: 1, s: '1' })).toEqual([`${tag}nul`]);
    expect(await listed({ n: '1' })).toEqual([]);
    expect(await listed({ s: 1 })).toEqual([]);
    expect(await listed({ 'k\u0000': 'true' })).toEqual([]);
    expect(await listed({ text: 'a' })).toEqual([]);
  });

  it('ties in one millisecond are listed by id in byte order, each once across pages', async () => {
    const tag = uniqueName('tie');
    const ids = ['é', 'B', 'a', '_', 'Z9'].map((suffix) => `${tag}${suffix}`);
    for (const id of ids) await store.session(id).updateMetadata({ tag });
    await raw.unsafe(`UPDATE "${tablePrefix}sessions" SET updated_at = now() WHERE session_id = ANY ($1::text[])`, [
      `{${ids.map((id) => `"${id}"`).join(',')}}`,
    ]);
    const paged: string[] = [];
    for await (const info of store.sessions({ metadata: { tag }, pageSize: 1 })) paged.push(info.sessionId);
    const byteOrder = [...ids].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(paged).toEqual(byteOrder);
  });
});
