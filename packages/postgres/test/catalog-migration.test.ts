import { SessionStorageError } from '@sessions/core';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PostgresSessionStore } from '../src/index.js';
import { rawClient, uniqueName } from './helpers.js';

// Tables written by the previous release (schema version 1, before the catalog), opened by this
// one: the setup upgrades them in place and every session reads right, counts included.
const url = inject('postgresUrl');
const raw = rawClient(url);
afterAll(() => raw.end());

const message = (text: string) => ({ type: 'message', role: 'user', content: text });
const json = (value: unknown) => JSON.stringify(value);

/** Schema version 1, exactly as `git show HEAD:packages/postgres/src/engine/ddl.ts` wrote it. */
function versionOneDdl(p: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS "public"."${p}sessions" (
  session_id text PRIMARY KEY,
  start_seq  bigint NOT NULL DEFAULT 0,
  next_seq   bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz
)`,
    `CREATE INDEX IF NOT EXISTS "${p}sessions_expires" ON "public"."${p}sessions" (expires_at) WHERE expires_at IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS "public"."${p}items" (
  session_id text NOT NULL,
  seq        bigint NOT NULL,
  item       text NOT NULL,
  PRIMARY KEY (session_id, seq)
)`,
    `CREATE TABLE IF NOT EXISTS "public"."${p}operations" (
  session_id   text NOT NULL,
  operation_id text NOT NULL,
  fingerprint  text NOT NULL,
  epoch        bigint NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (session_id, operation_id)
)`,
    `CREATE INDEX IF NOT EXISTS "${p}operations_created" ON "public"."${p}operations" (created_at)`,
    `CREATE TABLE IF NOT EXISTS "public"."${p}schema_version" (
  id         integer PRIMARY KEY CHECK (id = 1),
  version    integer NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
)`,
    `INSERT INTO "public"."${p}schema_version" (id, version, updated_at) VALUES (1, 1, now())`,
  ];
}

/** Version 1's `addItems` statement (its `append`, with its `reserveSql`), verbatim. */
function versionOneAppend(p: string): string {
  const sessions = `"public"."${p}sessions"`;
  const items = `"public"."${p}items"`;
  const operations = `"public"."${p}operations"`;
  const expiry = (at: string, param: string) => `${at} + make_interval(secs => ${param}::float8)`;
  return `WITH up AS (
INSERT INTO ${sessions} AS s (session_id, start_seq, next_seq, created_at, updated_at, expires_at)
SELECT $1::text, 0, $4::bigint, c.t, c.t, ${expiry('c.t', '$3')} FROM (SELECT clock_timestamp() AS t) c
ON CONFLICT (session_id) DO UPDATE SET (start_seq, next_seq, created_at, updated_at, expires_at) = (
  SELECT
    CASE WHEN s.expires_at <= c.t THEN s.next_seq + 1 ELSE s.start_seq END,
    CASE WHEN s.expires_at <= c.t THEN s.next_seq + 1 ELSE s.next_seq END + excluded.next_seq,
    CASE WHEN s.expires_at <= c.t THEN c.t ELSE s.created_at END,
    c.t,
    ${expiry('c.t', '$3')}
  FROM (SELECT clock_timestamp() AS t) c
)
RETURNING s.start_seq, s.next_seq
),
fresh AS (SELECT start_seq FROM up WHERE start_seq = next_seq - $4::bigint),
dead_items AS (DELETE FROM ${items} WHERE session_id = $1::text AND seq < (SELECT start_seq FROM fresh)),
dead_ops AS (DELETE FROM ${operations} WHERE session_id = $1::text AND epoch < (SELECT start_seq FROM fresh)),
inserted AS (
  INSERT INTO ${items} (session_id, seq, item)
  SELECT $1::text, up.next_seq - $4::bigint + b.ord - 1, b.item
  FROM up, unnest(string_to_array($2::text, chr(1))) WITH ORDINALITY AS b(item, ord)
)
SELECT 1 AS ok`;
}

/** Writes `texts` to `sessionId` as version 1 did (`ttl` seconds or null). */
async function oldAddItems(p: string, sessionId: string, texts: string[], ttl: number | null = null): Promise<void> {
  await raw.unsafe(versionOneAppend(p), [
    sessionId,
    texts.map((text) => json(message(text))).join('\u0001'),
    ttl,
    texts.length,
  ]);
}

/**
 * A version-1 namespace holding `long` (5 items, then the newest popped as version 1 did),
 * `short` (1 item), `gone` (expired) and `reborn` (expired, then written again: a fresh history
 * past `start_seq`).
 */
async function oldNamespace(): Promise<string> {
  const p = uniqueName('catmig');
  for (const statement of versionOneDdl(p)) await raw.unsafe(statement);
  await oldAddItems(p, 'long', ['l0', 'l1', 'l2']);
  await oldAddItems(p, 'long', ['l3', 'l4']);
  // Version 1's pop: delete the newest item and move updated_at (next_seq stays).
  await raw.unsafe(`DELETE FROM "${p}items" WHERE session_id = 'long' AND seq = 4`);
  await oldAddItems(p, 'short', ['s0']);
  await oldAddItems(p, 'gone', ['g0', 'g1'], 0.001);
  await oldAddItems(p, 'reborn', ['r0', 'r1', 'r2'], 0.001);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await oldAddItems(p, 'reborn', ['r3']);
  // Timestamps of version 1 carry microseconds.
  await raw.unsafe(`UPDATE "${p}sessions" SET updated_at = updated_at + interval '0.123456 second'`);
  return p;
}

async function dropNamespace(p: string): Promise<void> {
  for (const table of ['sessions', 'items', 'operations', 'schema_version']) {
    await raw.unsafe(`DROP TABLE IF EXISTS "${p}${table}"`);
  }
}

describe('catalog on tables of schema version 1', () => {
  it('the upgrade keeps every session: counts, dates, listing, items; writes store the count', async () => {
    const p = await oldNamespace();
    try {
      const before = await raw.unsafe<{ id: string; created: Date; updated: Date }[]>(
        `SELECT session_id AS id, created_at AS created, updated_at AS updated FROM "${p}sessions" ORDER BY 1`,
      );
      await using store = new PostgresSessionStore({ url, tablePrefix: p });
      await store.setup();
      const [version] = await raw.unsafe(`SELECT version FROM "${p}schema_version"`);
      expect(version?.version).toBe(2);
      // Not counted by the upgrade (no scan of the items table): counted on read instead.
      const counts = await raw.unsafe<{ id: string; n: string | null }[]>(
        `SELECT session_id AS id, item_count AS n FROM "${p}sessions" ORDER BY 1`,
      );
      expect(counts.every((row) => row.n === null)).toBe(true);

      const long = await store.getSessionInfo('long');
      expect(long).toMatchObject({ sessionId: 'long', itemCount: 4, metadata: {} });
      expect(long?.expiresAt).toBeUndefined();
      const oldLong = before.find((row) => row.id === 'long')!;
      // Rounded to the millisecond by the upgrade (the listing order pages by milliseconds).
      expect(Math.abs(long!.updatedAt.getTime() - oldLong.updated.getTime())).toBeLessThanOrEqual(1);
      expect(Math.abs(long!.createdAt.getTime() - oldLong.created.getTime())).toBeLessThanOrEqual(1);
      expect(await store.getSessionInfo('short')).toMatchObject({ itemCount: 1 });
      expect(await store.getSessionInfo('reborn')).toMatchObject({ itemCount: 1 });
      expect(await store.getSessionInfo('gone')).toBeUndefined();

      const listed = (await store.listSessions({ limit: 2 })).sessions;
      const all: string[] = [];
      for await (const info of store.sessions({ pageSize: 1 })) all.push(info.sessionId);
      expect(all.sort()).toEqual(['long', 'reborn', 'short']);
      expect(listed).toHaveLength(2);
      const ordered = [...listed].sort(
        (a, b) => b.updatedAt.getTime() - a.updatedAt.getTime() || (a.sessionId < b.sessionId ? -1 : 1),
      );
      expect(listed).toEqual(ordered);

      expect(await store.session('long').getItems()).toEqual(['l0', 'l1', 'l2', 'l3'].map(message));
      expect(await store.session('reborn').getItems()).toEqual([message('r3')]);

      // Each kind of write stores the count it changes, from the counted one.
      await store.session('long').addItems([message('l5')]);
      await store.session('short').popItem();
      await store.session('reborn').updateMetadata({ owner: 'ada' });
      const stored = await raw.unsafe<{ id: string; n: string | null }[]>(
        `SELECT session_id AS id, item_count::int AS n FROM "${p}sessions" ORDER BY 1`,
      );
      expect(Object.fromEntries(stored.map((row) => [row.id, row.n]))).toMatchObject({
        long: 5,
        short: 0,
        reborn: null,
      });
      expect(await store.getSessionInfo('long')).toMatchObject({ itemCount: 5 });
      expect(await store.getSessionInfo('short')).toMatchObject({ itemCount: 0 });
      expect(await store.getSessionInfo('reborn')).toMatchObject({ itemCount: 1, metadata: { owner: 'ada' } });
      expect(await store.session('long').getItems()).toEqual(['l0', 'l1', 'l2', 'l3', 'l5'].map(message));
      expect((await store.listSessions({ metadata: { owner: 'ada' } })).sessions.map((s) => s.sessionId)).toEqual([
        'reborn',
      ]);
    } finally {
      await dropNamespace(p);
    }
  });

  it('a store that may not upgrade (createIfMissing: false) refuses old tables instead of reading them as empty', async () => {
    const p = await oldNamespace();
    try {
      await using readOnly = new PostgresSessionStore({ url, tablePrefix: p, createIfMissing: false });
      const error = await readOnly
        .session('long')
        .getItems()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionStorageError);
      expect((error as Error).message).toMatch(
        /schema version 1, older than this package's \(2\): run store\.setup\(\)/,
      );
      await expect(readOnly.listSessions()).rejects.toBeInstanceOf(SessionStorageError);
      // After one setup() (by any store), the same store reads everything.
      await readOnly.setup();
      expect(await readOnly.session('long').getItems()).toHaveLength(4);
    } finally {
      await dropNamespace(p);
    }
  });
});
