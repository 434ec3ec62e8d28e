import { expect } from 'vitest';
import { SessionValidationError } from '../../errors/session-errors.js';
import type { MetadataCapable, SessionCatalog, SessionFilter, SessionInfo } from '../../protocol/catalog.js';
import type { Session, SessionStore } from '../../protocol/session.js';
import type { ContractCapabilities, ContractCase, ContractContext } from '../types.js';
import { message, numbered, rejection, sleep } from './helpers.js';

const group = 'catalog';

// Contract stores may share one namespace (a schema, a key prefix) with every other test: each
// case lists only what it wrote, by a metadata tag or by its own id prefix.
type CatalogStore = SessionStore & SessionCatalog;
type MetadataSession = Session & MetadataCapable;

const catalogOf = (store: SessionStore) => store as CatalogStore;
const labelled = (session: Session) => session as MetadataSession;
const tagOf = (ctx: ContractContext) => ctx.idFor('tag');

/** Every session of this test, through every page, in listing order (ids checked unique by the caller). */
async function listOwn(
  ctx: ContractContext,
  filter: SessionFilter = {},
  limit = 100,
  store = ctx.store,
): Promise<SessionInfo[]> {
  const own: SessionInfo[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const result = await catalogOf(store).listSessions({ ...filter, limit, ...(cursor !== undefined && { cursor }) });
    expect(result.sessions.length).toBeLessThanOrEqual(limit);
    own.push(...result.sessions.filter((info) => info.sessionId.startsWith(ctx.idFor(''))));
    cursor = result.nextCursor;
    if (cursor === undefined) return own;
  }
  throw new Error('the listing did not end after 1,000 pages');
}

const hasCatalog = (c: ContractCapabilities) => c.catalog !== false;
const recently = () => new Date(Date.now() - 120_000);
const ids = (infos: SessionInfo[]) => infos.map((info) => info.sessionId);

export const catalogCases: ContractCase[] = [
  {
    group,
    when: hasCatalog,
    name: 'a session is listed once it has items or metadata, with an exact count and its dates',
    async run(ctx) {
      const before = Date.now();
      const silent = ctx.session('silent');
      await silent.getItems();
      await silent.popItem();
      await silent.addItems([]);
      await silent.clearSession();
      expect(await catalogOf(ctx.store).getSessionInfo(ctx.idFor('silent'))).toBeUndefined();

      await ctx.session('items').addItems(numbered('c', 3));
      expect(await labelled(ctx.session('labels')).updateMetadata({ topic: 'billing' })).toEqual({ topic: 'billing' });

      const items = await catalogOf(ctx.store).getSessionInfo(ctx.idFor('items'));
      expect(items).toMatchObject({ sessionId: ctx.idFor('items'), itemCount: 3, metadata: {} });
      expect(items!.createdAt).toBeInstanceOf(Date);
      expect(items!.updatedAt.getTime()).toBeGreaterThanOrEqual(items!.createdAt.getTime());
      // Database clocks may differ a little from this process's.
      expect(Math.abs(items!.createdAt.getTime() - before)).toBeLessThan(60_000);
      expect(items!.expiresAt).toBeUndefined();
      expect(await catalogOf(ctx.store).getSessionInfo(ctx.idFor('labels'))).toMatchObject({
        itemCount: 0,
        metadata: { topic: 'billing' },
      });

      const listed = await listOwn(ctx, { updatedAfter: recently() });
      expect(ids(listed).sort()).toEqual([ctx.idFor('items'), ctx.idFor('labels')].sort());
    },
  },
  {
    group,
    when: hasCatalog,
    name: 'itemCount and updatedAt follow every kind of write; clearSession keeps the session and its metadata',
    async run(ctx) {
      const catalog = catalogOf(ctx.store);
      const session = ctx.session();
      const id = ctx.idFor();
      const info = async () => (await catalog.getSessionInfo(id))!;
      const expectCount = async () => {
        const current = await info();
        expect(current.itemCount).toBe((await session.getItems()).length);
        return current;
      };
      await session.addItems(numbered('w', 5));
      let last = await expectCount();
      const advanced = async () => {
        const current = await expectCount();
        expect(current.updatedAt.getTime()).toBeGreaterThan(last.updatedAt.getTime());
        expect(current.createdAt.getTime()).toBe(last.createdAt.getTime());
        last = current;
      };
      await sleep(15);
      await session.popItem();
      await advanced();
      const full = session as Session & Record<string, (...args: unknown[]) => Promise<unknown>>;
      if (ctx.capabilities.transactions) {
        await sleep(15);
        await full.applyHistoryTransaction!({
          operationId: `${id}-a`,
          transaction: { type: 'append_items', items: numbered('t', 2) },
        });
        await advanced();
        await sleep(15);
        const tail = (await session.getItems(2)) as unknown[];
        await full.applyHistoryTransaction!({
          operationId: `${id}-b`,
          transaction: { type: 'replace_suffix', expectedSuffix: tail, replacement: [message('one instead of two')] },
        });
        await advanced();
      }
      if (ctx.capabilities.compaction) {
        await sleep(15);
        await full.replaceHistoryWithCompaction!([message('summary'), message('last')]);
        await advanced();
      }
      await labelled(session).updateMetadata({ kept: true });
      await sleep(15);
      await session.clearSession();
      await advanced();
      expect(await info()).toMatchObject({ itemCount: 0, metadata: { kept: true } });
      expect(ids(await listOwn(ctx, { updatedAfter: recently() }))).toEqual([id]);
    },
  },
  {
    group,
    when: hasCatalog,
    name: 'itemCount stays exact under 20 concurrent writers and pops',
    async run(ctx) {
      const session = ctx.session();
      await Promise.all([
        ...Array.from({ length: 20 }, async (_, w) => {
          for (let b = 0; b < 3; b++) await session.addItems(numbered(`w${w}b${b}`, 2));
        }),
        ...Array.from({ length: 10 }, () => sleep(5).then(() => session.popItem())),
      ]);
      const info = await catalogOf(ctx.store).getSessionInfo(ctx.idFor());
      expect(info?.itemCount).toBe((await session.getItems()).length);
      expect(info?.itemCount).toBeGreaterThanOrEqual(110);
    },
  },
  {
    group,
    when: hasCatalog,
    name: 'updateMetadata merges, null removes a key, returns the result; concurrent writers never lose a key',
    async run(ctx) {
      const session = labelled(ctx.session());
      expect(await session.getMetadata()).toEqual({});
      const nested = { plan: 'pro', seats: 3, tags: ['a', 'β'], owner: { name: 'Zoë 😀', active: true }, none: false };
      expect(await session.updateMetadata(nested)).toEqual(nested);
      expect(await session.updateMetadata({ seats: 4, none: null, extra: null })).toEqual({
        ...nested,
        seats: 4,
        none: undefined,
      });
      expect(await session.getMetadata()).toEqual({
        plan: 'pro',
        seats: 4,
        tags: ['a', 'β'],
        owner: { name: 'Zoë 😀', active: true },
      });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => session.updateMetadata({ [`k${i}`]: i })));
      for (const [i, result] of results.entries()) expect(result[`k${i}`]).toBe(i);
      const final = await session.getMetadata();
      for (let i = 0; i < 20; i++) expect(final[`k${i}`]).toBe(i);
      expect(final.plan).toBe('pro');
      // The returned objects are copies: changing one changes nothing stored.
      (final.owner as Record<string, unknown>).name = 'changed';
      expect(((await session.getMetadata()).owner as Record<string, unknown>).name).toBe('Zoë 😀');
    },
  },
  {
    group,
    when: hasCatalog,
    name: 'bad metadata is refused with SessionValidationError before any I/O, and nothing is written',
    async run(ctx) {
      const fresh = labelled(ctx.session('fresh'));
      const bad: unknown[] = [
        null,
        [],
        'text',
        { '': 1 },
        { when: new Date() },
        { fn: () => 1 },
        { big: 'x'.repeat(17 * 1024) },
        { nan: Number.NaN },
      ];
      for (const patch of bad) await rejection(fresh.updateMetadata(patch as never), SessionValidationError);
      expect(await catalogOf(ctx.store).getSessionInfo(ctx.idFor('fresh'))).toBeUndefined();
      // A patch that fits, but would grow the whole past 16 KiB, is refused and changes nothing.
      const session = labelled(ctx.session());
      await session.updateMetadata({ a: 'x'.repeat(9 * 1024) });
      await rejection(session.updateMetadata({ b: 'y'.repeat(9 * 1024) }), SessionValidationError);
      expect(Object.keys(await session.getMetadata())).toEqual(['a']);
    },
  },
  {
    group,
    when: hasCatalog,
    name: 'deleteSession removes items, metadata and operation ids; the session leaves the listing',
    async run(ctx) {
      const catalog = catalogOf(ctx.store);
      const session = labelled(ctx.session());
      const id = ctx.idFor();
      await session.addItems(numbered('d', 4));
      await session.updateMetadata({ owner: 'ada' });
      const full = session as MetadataSession & Record<string, (...args: unknown[]) => Promise<unknown>>;
      const append = { operationId: `${id}-op`, transaction: { type: 'append_items', items: [message('once')] } };
      if (ctx.capabilities.transactions) await full.applyHistoryTransaction!(append);
      await catalog.deleteSession(id);
      expect(await catalog.getSessionInfo(id)).toBeUndefined();
      expect(await session.getItems()).toEqual([]);
      expect(await session.getMetadata()).toEqual({});
      expect(await listOwn(ctx, { updatedAfter: recently() })).toEqual([]);
      await catalog.deleteSession(id); // idempotent
      await catalog.deleteSession(ctx.idFor('never-written'));
      await session.addItems([message('fresh start')]);
      if (ctx.capabilities.transactions) await full.applyHistoryTransaction!(append);
      expect(await catalog.getSessionInfo(id)).toMatchObject({
        itemCount: ctx.capabilities.transactions ? 2 : 1,
        metadata: {},
      });
      await rejection(catalog.deleteSession(''), SessionValidationError);
    },
  },
  {
    group,
    when: hasCatalog,
    name: 'pages come newest first, list every session exactly once, and cursors work in another store',
    async run(ctx) {
      const tag = tagOf(ctx);
      const written: string[] = [];
      for (let i = 0; i < 7; i++) {
        await labelled(ctx.session(`p${i}`)).updateMetadata({ tag });
        written.push(ctx.idFor(`p${i}`));
        await sleep(3);
      }
      const catalog = catalogOf(ctx.store);
      const first = await catalog.listSessions({ metadata: { tag }, limit: 3 });
      expect(first.sessions).toHaveLength(3);
      expect(first.nextCursor).toEqual(expect.any(String));
      // A cursor needs nothing of the process or store that made it: continue in another store.
      const other = catalogOf(await ctx.openStore({}));
      const continued = [...first.sessions];
      for (let cursor = first.nextCursor; cursor !== undefined; ) {
        const page = await other.listSessions({ metadata: { tag }, limit: 3, cursor });
        continued.push(...page.sessions);
        cursor = page.nextCursor;
      }
      expect(ids(continued)).toEqual([...written].reverse());
      expect(ids(await listOwn(ctx, { metadata: { tag } }, 3))).toEqual([...written].reverse());
      // Paging by two without a filter: still every one of ours exactly once, in the same order.
      const unfiltered = ids(await listOwn(ctx, { updatedAfter: recently() }, 2)).filter((id) => written.includes(id));
      expect(unfiltered).toEqual([...written].reverse());
      // A write moves a session to the front.
      await sleep(5);
      await ctx.session('p0').addItems([message('back')]);
      expect(ids(await listOwn(ctx, { metadata: { tag } }, 2))[0]).toBe(ctx.idFor('p0'));
    },
  },
  {
    group,
    when: hasCatalog,
    name: 'filters: metadata equality on every given key, updatedAfter and updatedBefore (exclusive)',
    async run(ctx) {
      const tag = tagOf(ctx);
      await labelled(ctx.session('a')).updateMetadata({ tag, team: 'x', tier: 1, vip: true });
      await sleep(5);
      await labelled(ctx.session('b')).updateMetadata({ tag, team: 'x', tier: 2 });
      await sleep(30);
      const between = new Date();
      await sleep(30);
      await labelled(ctx.session('c')).updateMetadata({ tag, team: 'y', tier: '1' });
      const names = async (filter: SessionFilter) =>
        ids(await listOwn(ctx, filter, 2)).map((id) => id.slice(ctx.idFor('').length));
      expect(await names({ metadata: { tag, team: 'x' } })).toEqual(['b', 'a']);
      expect(await names({ metadata: { tag, team: 'x', tier: 1 } })).toEqual(['a']);
      expect(await names({ metadata: { tag, vip: true } })).toEqual(['a']);
      expect(await names({ metadata: { tag, tier: '1' } })).toEqual(['c']);
      expect(await names({ metadata: { tag, team: 'z' } })).toEqual([]);
      expect(await names({ metadata: { tag }, updatedAfter: between })).toEqual(['c']);
      expect(await names({ metadata: { tag }, updatedBefore: between })).toEqual(['b', 'a']);
      const iterated: string[] = [];
      for await (const info of catalogOf(ctx.store).sessions({ metadata: { tag }, pageSize: 2 }))
        iterated.push(info.sessionId);
      expect(iterated).toEqual(['c', 'b', 'a'].map((name) => ctx.idFor(name)));
    },
  },
  {
    group,
    when: hasCatalog,
    name: 'bad listing arguments and cursors are refused with SessionValidationError',
    async run(ctx) {
      const catalog = catalogOf(ctx.store);
      const tag = tagOf(ctx);
      for (let i = 0; i < 3; i++) await labelled(ctx.session(`v${i}`)).updateMetadata({ tag });
      const page = await catalog.listSessions({ metadata: { tag }, limit: 1 });
      expect(page.nextCursor).toEqual(expect.any(String));
      const bad: unknown[] = [
        { limit: 0 },
        { limit: 1001 },
        { limit: 1.5 },
        { limit: '10' },
        { cursor: 'not-a-cursor' },
        { cursor: '' },
        { cursor: `${page.nextCursor}x` },
        { cursor: page.nextCursor, metadata: { tag: 'another filter' } },
        { metadata: { tag: { nested: true } } },
        { metadata: { '': 'x' } },
        { updatedAfter: 'yesterday' },
        { updatedBefore: new Date(Number.NaN) },
        { sortBy: 'createdAt' },
      ];
      for (const options of bad) await rejection(catalog.listSessions(options as never), SessionValidationError);
      await rejection(catalog.getSessionInfo(''), SessionValidationError);
      expect((await catalog.listSessions({ metadata: { tag }, limit: 1000 })).sessions).toHaveLength(3);
    },
  },
  {
    group,
    name: 'an expired session leaves the listing, and its metadata expires with it',
    when: (c) => c.ttl && hasCatalog(c),
    async run(ctx) {
      const store = catalogOf(await ctx.openStore({ ttlSeconds: 1 }));
      const id = ctx.idFor('expiring');
      const session = labelled(store.session(id));
      const tag = tagOf(ctx);
      await session.addItems([message('short-lived')]);
      await session.updateMetadata({ tag });
      const info = await store.getSessionInfo(id);
      expect(info?.expiresAt).toBeInstanceOf(Date);
      expect(Math.abs(info!.expiresAt!.getTime() - (info!.updatedAt.getTime() + 1000))).toBeLessThan(1500);
      expect(ids((await store.listSessions({ metadata: { tag } })).sessions)).toEqual([id]);
      await sleep(1600);
      expect(await store.getSessionInfo(id)).toBeUndefined();
      expect(await session.getMetadata()).toEqual({});
      expect((await store.listSessions({ metadata: { tag } })).sessions).toEqual([]);
      expect(await listOwn(ctx, { updatedAfter: recently() }, 100, store)).toEqual([]);
    },
  },
];
