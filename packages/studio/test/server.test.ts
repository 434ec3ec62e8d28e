import { InMemorySessionStore } from '@sessions/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Studio, startStudio } from '../src/index.js';
import type { ItemsResponse, SessionDetail, SessionListResponse } from '../src/shared/api.js';
import { everyVariant, longHistory, seed } from './fixtures.js';

const started: Studio[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((studio) => studio.close()));
});

async function studioOn(store: InMemorySessionStore, options: { allowWrites?: boolean; url?: string } = {}) {
  const studio = await startStudio({ store, ...options });
  started.push(studio);
  const origin = new URL(studio.url).origin;
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${origin}${path}`, {
      ...init,
      redirect: 'manual',
      headers: { Authorization: `Bearer ${studio.token}`, ...init.headers },
    });
  const getJson = async <T>(path: string): Promise<T> => {
    const response = await call(path);
    expect(response.status, `${path}: ${await response.clone().text()}`).toBe(200);
    return (await response.json()) as T;
  };
  const post = (path: string, body: unknown) =>
    call(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { studio, origin, call, getJson, post };
}

describe('access', () => {
  it('prints the URL with a random token on 127.0.0.1 and refuses every request without it', async () => {
    const { studio, origin } = await studioOn(new InMemorySessionStore());
    expect(studio.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
    for (const path of ['/', '/app.js', '/app.css', '/api/store', '/api/sessions', '/api/session?id=a', '/nope']) {
      const response = await fetch(`${origin}${path}`);
      expect(response.status, path).toBe(401);
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    }
    expect(
      (await fetch(`${origin}/api/store`, { headers: { Authorization: 'Bearer wrong-token-wrong-token' } })).status,
    ).toBe(401);
    expect(
      (await fetch(`${origin}/api/store`, { headers: { Cookie: `sessions_studio_${studio.port}=nope` } })).status,
    ).toBe(401);
    expect((await fetch(`${origin}/?token=nope`, { redirect: 'manual' })).status).toBe(401);
    const second = await startStudio({ store: new InMemorySessionStore() });
    started.push(second);
    expect(second.token).not.toBe(studio.token);
  });

  it('trades the token in the URL for an HttpOnly SameSite=Strict cookie, and drops it from the address', async () => {
    const { studio, origin } = await studioOn(new InMemorySessionStore());
    const first = await fetch(studio.url, { redirect: 'manual' });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/');
    const cookie = first.headers.get('set-cookie')!;
    expect(cookie).toBe(`sessions_studio_${studio.port}=${studio.token}; HttpOnly; SameSite=Strict; Path=/`);
    const page = await fetch(`${origin}/`, { headers: { Cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<script src="/app.js" defer></script>');
    expect(html).not.toMatch(/<script>|<style|style=|\son\w+=/);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("require-trusted-types-for 'script'");
    expect(csp).not.toContain('unsafe');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const script = await fetch(`${origin}/app.js`, { headers: { Cookie: cookie.split(';')[0]! } });
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(/);
  });

  it('shows the store URL with its credentials masked, and never sends them', async () => {
    const url = 'postgres://app:s3cret-Passw0rd@db.internal:5432/app?schema=agents';
    const store = new InMemorySessionStore();
    await seed(store, { a: everyVariant() });
    const { getJson, call } = await studioOn(store, { url });
    const view = await getJson<{ label: string; allowWrites: boolean }>('/api/store');
    expect(view).toEqual({ label: 'postgres://***@db.internal:5432/app?schema=agents', allowWrites: false });
    for (const path of ['/', '/app.js', '/api/store', '/api/sessions', '/api/session?id=a', '/api/items?id=a']) {
      expect(await (await call(path)).text(), path).not.toContain('s3cret');
    }
  });
});

describe('API', () => {
  it('lists newest first in pages, filters by id prefix and metadata', async () => {
    const store = new InMemorySessionStore();
    for (let i = 0; i < 7; i++) {
      await seed(store, { [`${i % 2 ? 'odd' : 'even'}-${i}`]: longHistory(2) });
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    await store.session('odd-3').updateMetadata({ team: 'x', tier: 2 });
    const { getJson } = await studioOn(store);
    const first = await getJson<SessionListResponse>('/api/sessions?limit=3');
    expect(first.sessions.map((s) => s.sessionId)).toEqual(['odd-3', 'even-6', 'odd-5']);
    expect(first.nextCursor).toBeDefined();
    const second = await getJson<SessionListResponse>(
      `/api/sessions?limit=3&cursor=${encodeURIComponent(first.nextCursor!)}`,
    );
    expect(second.sessions.map((s) => s.sessionId)).toEqual(['even-4', 'even-2', 'odd-1']);
    const odd = await getJson<SessionListResponse>('/api/sessions?prefix=odd-');
    expect(odd.sessions.map((s) => s.sessionId)).toEqual(['odd-3', 'odd-5', 'odd-1']);
    expect(odd.nextCursor).toBeUndefined();
    const labelled = await getJson<SessionListResponse>('/api/sessions?metadata=team=x&metadata=tier=2');
    expect(labelled.sessions.map((s) => [s.sessionId, s.metadata])).toEqual([['odd-3', { team: 'x', tier: 2 }]]);
    expect((await getJson<SessionListResponse>('/api/sessions?metadata=tier=3')).sessions).toEqual([]);
  });

  it('pages items from the end, pairs calls with outputs, serves one item raw', async () => {
    const store = new InMemorySessionStore();
    await seed(store, { long: longHistory(250), tools: everyVariant() });
    const { getJson, call } = await studioOn(store);
    const detail = await getJson<SessionDetail>('/api/session?id=long');
    expect([detail.total, detail.info.itemCount, detail.turns.length]).toEqual([250, 250, 63]);
    const newest = await getJson<ItemsResponse>('/api/items?id=long');
    expect([newest.start, newest.entries.length, newest.entries.at(-1)!.index]).toEqual([150, 100, 249]);
    expect(newest.version).toBe(detail.version);
    const oldest = await getJson<ItemsResponse>('/api/items?id=long&start=0&end=3');
    expect(oldest.entries.map((e) => [e.index, e.turn, e.turnStart])).toEqual([
      [0, 1, true],
      [1, 1, false],
      [2, 1, false],
    ]);
    const tools = await getJson<ItemsResponse>('/api/items?id=tools&start=3&end=5');
    expect(tools.entries[0]!.pair).toMatchObject({ role: 'call', index: 4, item: { type: 'function_call_result' } });
    expect(await getJson('/api/item?id=tools&index=3')).toEqual(everyVariant()[3]);
    expect((await call('/api/item?id=tools&index=99')).status).toBe(404);
    expect((await call('/api/session?id=missing')).status).toBe(404);
    expect((await call('/api/items?id=long&start=10&end=5')).status).toBe(400);
    // A write is noticed: the version changes and the items are read again.
    await store.session('long').addItems(longHistory(1));
    const after = await getJson<ItemsResponse>('/api/items?id=long');
    expect([after.total, after.version === detail.version]).toEqual([251, false]);
  });

  it('is read-only unless allowed: every write and the export answer 403', async () => {
    const store = new InMemorySessionStore();
    await seed(store, { a: everyVariant() });
    const { post, call } = await studioOn(store);
    for (const path of ['/api/fork', '/api/pop', '/api/clear', '/api/delete', '/api/metadata']) {
      expect((await post(path, { id: 'a', turn: 1, patch: { x: 1 } })).status, path).toBe(403);
    }
    expect((await call('/api/export?id=a')).status).toBe(403);
    expect(await store.session('a').getItems()).toHaveLength(21);
  });

  it('forks at a turn into <id>:fork:<n> with forkedFrom metadata; pops, clears, deletes, exports', async () => {
    const store = new InMemorySessionStore();
    await seed(store, { trip: everyVariant() });
    await store.session('trip').updateMetadata({ user: 'u_7' });
    const { post, call, getJson } = await studioOn(store, { allowWrites: true });
    const fork = await post('/api/fork', { id: 'trip', turn: 2 });
    expect(await fork.json()).toEqual({ sessionId: 'trip:fork:2', itemCount: 13 });
    expect(await store.session('trip:fork:2').getItems()).toEqual(everyVariant().slice(0, 13));
    expect(await store.session('trip:fork:2').getMetadata()).toEqual({ forkedFrom: 'trip', forkedAtTurn: 2 });
    expect((await post('/api/fork', { id: 'trip', turn: 2 })).status).toBe(200); // idempotent
    expect((await post('/api/fork', { id: 'trip', turn: 9 })).status).toBe(400);
    const detail = await getJson<SessionDetail>('/api/session?id=trip');
    expect(detail.branches.map((b) => b.sessionId)).toEqual(['trip:fork:2']);
    // The branch's history diverges; forking again at that turn would overwrite it: refused.
    await store.session('trip:fork:2').addItems(longHistory(1));
    await store.session('trip:fork:2').popItem();
    await store.session('trip:fork:2').popItem();
    await store.session('trip:fork:2').addItems([{ type: 'message', role: 'user', content: 'other' }]);
    expect((await post('/api/fork', { id: 'trip', turn: 2 })).status).toBe(409);

    const exported = await call('/api/export?id=trip');
    expect(exported.headers.get('content-disposition')).toBe('attachment; filename="trip.jsonl"');
    const line = JSON.parse((await exported.text()).trim());
    expect([line.sessionId, line.items.length, line.metadata]).toEqual(['trip', 21, { user: 'u_7' }]);

    expect((await post('/api/metadata', { id: 'trip', patch: { user: null, env: 'prod' } })).status).toBe(200);
    expect(await store.session('trip').getMetadata()).toEqual({ env: 'prod' });
    expect((await post('/api/metadata', { id: 'trip', patch: [1] })).status).toBe(400);
    const popped = await post('/api/pop', { id: 'trip' });
    expect(((await popped.json()) as { item: { type: string } }).item.type).toBe('encrypted');
    expect(await store.session('trip').getItems()).toHaveLength(20);
    expect((await post('/api/clear', { id: 'trip' })).status).toBe(200);
    expect(await store.session('trip').getItems()).toEqual([]);
    expect((await post('/api/delete', { id: 'trip:fork:2' })).status).toBe(200);
    expect(await store.getSessionInfo('trip:fork:2')).toBeUndefined();
    expect((await post('/api/delete', { id: 'trip:fork:2' })).status).toBe(404);
    // A write needs a JSON body: a plain cross-site form post is refused.
    const form = await call('/api/pop', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'id=trip',
    });
    expect(form.status).toBe(415);
  });
});
