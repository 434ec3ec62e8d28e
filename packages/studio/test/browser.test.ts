/**
 * The studio in a real browser (Debian's chromium, headless, through playwright-core), on the
 * in-memory store, a SQLite file and Redis (started by the global setup).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySessionStore, openSessionStore, type SessionStore } from '@sessions/core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Studio, startStudio } from '../src/index.js';
import { launchBrowser } from './browser.js';
import { everyVariant, longHistory, seed, XSS_FLAG, xssPayloads } from './fixtures.js';

const LONG = 10_000;
const run = globalThis.crypto.randomUUID().slice(0, 8);

interface Backend {
  name: string;
  open(): Promise<{ store: SessionStore; url?: string; cleanup?: () => Promise<void> }>;
}

const backends: Backend[] = [
  { name: 'in-memory store', open: async () => ({ store: new InMemorySessionStore() }) },
  {
    name: 'SQLite file',
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'studio-'));
      const url = `file:${join(dir, 'studio.db')}`;
      return { store: await openSessionStore(url), url, cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'Redis',
    open: async () => {
      const url = `${inject('redisUrl')}?keyPrefix=studio_${run}`;
      return { store: await openSessionStore(url), url };
    },
  },
];

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** Waits until item `index` is rendered and intersects the scrolling list's viewport. */
async function waitInView(page: Page, index: number): Promise<void> {
  await page.waitForFunction(
    (i) => {
      const element = document.querySelector(`.item[data-index="${i}"]`);
      const viewport = document.querySelector('.items')?.getBoundingClientRect();
      if (!element || !viewport) return false;
      const rect = element.getBoundingClientRect();
      return rect.bottom > viewport.top && rect.top < viewport.bottom;
    },
    index,
    { timeout: 20_000 },
  );
}

const itemNodes = (page: Page) => page.locator('.items .item').count();

describe.each(backends)('studio on the $name', (backend) => {
  let studio: Studio;
  let store: SessionStore;
  let cleanup: (() => Promise<void>) | undefined;
  let origin: string;

  beforeAll(async () => {
    const opened = await backend.open();
    store = opened.store;
    cleanup = opened.cleanup;
    // One after the other, so that the listing order (newest first) is known.
    const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
    for (const [id, items] of Object.entries({ long: longHistory(LONG), other: longHistory(8), xss: xssPayloads() })) {
      await seed(store, { [id]: items });
      await tick();
    }
    await seed(store, { trip: everyVariant() });
    studio = await startStudio({ store, ...(opened.url && { url: opened.url }), allowWrites: true });
    origin = new URL(studio.url).origin;
  });

  afterAll(async () => {
    await studio?.close();
    await store?.close();
    await cleanup?.();
  });

  async function openPage(): Promise<{ page: Page; dialogs: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const response = await page.goto(studio.url);
    expect(response?.status()).toBe(200);
    // The token left the address bar for a cookie.
    expect(page.url()).toBe(`${origin}/`);
    await page.locator('li.session').first().waitFor();
    return { page, dialogs };
  }

  it('lists sessions, opens one, shows a function call beside its output, forks at a turn into a branch under its source', async () => {
    const { page } = await openPage();
    try {
      const ids = await page
        .locator('ul.sessions > li.session')
        .evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.sessionId));
      expect(ids).toEqual(['trip', 'xss', 'other', 'long']);
      await page.locator('li.session[data-session-id="trip"] > a').click();
      await expect.poll(() => page.url()).toBe(`${origin}/#/s/trip`);
      await page.locator('.session-head h2', { hasText: 'trip' }).waitFor();
      await page.getByRole('button', { name: 'First', exact: true }).click();
      const pair = page.locator('.item.paired', { hasText: 'get_weather' });
      await pair.waitFor();
      const call = pair.locator('.pair-call');
      const output = pair.locator('.pair-output');
      expect(await call.textContent()).toContain('"city": "Lisbon"');
      expect(await output.textContent()).toContain('Sunny, 24 °C');
      const [callBox, outputBox] = [await call.boundingBox(), await output.boundingBox()];
      // Beside: the output to the right of the call, on the same line.
      expect(outputBox!.x).toBeGreaterThan(callBox!.x + callBox!.width - 1);
      expect(Math.abs(outputBox!.y - callBox!.y)).toBeLessThan(5);
      // Other variants, for what they are.
      expect(await page.locator('.item.kind-reasoning details:not([open])').count()).toBe(1);
      expect(await page.locator('.item.kind-user img.inline-image').getAttribute('src')).toMatch(
        /^data:image\/png;base64,/,
      );

      await page.getByRole('combobox', { name: 'Go to turn' }).selectOption({ label: 'Turn 2' });
      await page.getByRole('button', { name: 'Fork at turn 2' }).click();
      await page.getByText('Forked: trip:fork:2 (13 items)').waitFor();
      const branch = page.locator(
        'li.session[data-session-id="trip"] > ul.branches > li.session[data-session-id="trip:fork:2"]',
      );
      await branch.waitFor();
      expect(await branch.textContent()).toContain('turn 2');
      expect(await store.session('trip:fork:2').getItems()).toEqual(everyVariant().slice(0, 13));
      await page.locator('.branch-list a', { hasText: 'trip:fork:2' }).waitFor();
      await branch.locator('a').click();
      await page.locator('.forked-from', { hasText: 'Branch of trip at turn 2' }).waitFor();
    } finally {
      await page.context().close();
    }
  });

  it('refuses a browser without the token (401)', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      expect((await page.goto(`${origin}/`))?.status()).toBe(401);
      expect((await page.goto(`${origin}/?token=not-the-token-at-all`))?.status()).toBe(401);
      expect(await page.textContent('body')).toContain('Unauthorized');
    } finally {
      await context.close();
    }
  });

  it('renders stored XSS payloads as text, and none of them runs', async () => {
    const { page, dialogs } = await openPage();
    try {
      await page.locator('li.session[data-session-id="xss"] > a').click();
      await page.getByRole('button', { name: 'First', exact: true }).click();
      await waitInView(page, 0);
      await page.locator('.item[data-index="4"]').waitFor();
      const text = await page.locator('.items').textContent();
      expect(text).toContain('<img src=x onerror="window.__studioXss=1;alert(1)">');
      expect(text).toContain('<script>window.__studioXss=2;alert(2)</script>');
      expect(text).toContain('[click me](javascript:window.__studioXss=3)');
      expect(text).toContain('Image not shown (javascript: source refused)');
      expect(text).toContain('File: x.html — javascript:window.__studioXss=5');
      expect(text).toContain('Image not shown (data: source refused)');
      expect(text).toContain('<b onmouseover=alert(1)>tool</b>(…)');
      // Hover and click everything a payload could have hooked.
      for (const element of await page.locator('.items .text, .items .call-name, .items .code').all()) {
        await element.hover();
      }
      const found = await page.evaluate(
        (flag) => ({
          flag: (window as unknown as Record<string, unknown>)[flag],
          images: document.querySelectorAll('.items img').length,
          scripts: [...document.scripts].map((s) => s.src.replace(location.origin, '')),
          dangerous: document.querySelectorAll(
            '.items script, .items iframe, .items svg, .items b, a[href^="javascript"]',
          ).length,
        }),
        XSS_FLAG,
      );
      expect(found).toEqual({ flag: undefined, images: 0, scripts: ['/app.js'], dangerous: 0 });
      expect(dialogs).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it(`opens a ${LONG.toLocaleString('en-US')}-item session and scrolls to its first and last items, rendering only what is visible`, async () => {
    const { page } = await openPage();
    try {
      const started = performance.now();
      await page.locator('li.session[data-session-id="long"] > a').click();
      await waitInView(page, LONG - 1);
      const loadMs = performance.now() - started;
      // The load time is a measurement for the report, not a timed assertion.
      console.log(
        `[studio] ${backend.name}: ${LONG}-item session open, newest item on screen after ${loadMs.toFixed(0)} ms`,
      );
      expect(await page.locator(`.item[data-index="${LONG - 1}"]`).textContent()).toContain(
        `message ${LONG - 1}: answer`,
      );
      expect(await itemNodes(page)).toBeLessThan(100);

      await page.getByRole('button', { name: 'First', exact: true }).click();
      await waitInView(page, 0);
      expect(await page.locator('.item[data-index="0"]').textContent()).toContain('message 0: question');
      expect(await itemNodes(page)).toBeLessThan(100);

      // Scrolling by hand renders the next rows and drops the ones that left.
      await page.locator('.items').hover();
      for (let i = 0; i < 10; i++) await page.mouse.wheel(0, 800);
      await page.waitForFunction(() => !document.querySelector('.item[data-index="0"]'), null, { timeout: 10_000 });
      expect(await itemNodes(page)).toBeLessThan(100);

      await page.getByRole('button', { name: 'Last', exact: true }).click();
      await waitInView(page, LONG - 1);
      const onScreen = await page.evaluate(() => {
        const viewport = document.querySelector('.items')!;
        return viewport.scrollHeight - viewport.scrollTop - viewport.clientHeight;
      });
      expect(onScreen).toBeLessThan(2);
      expect(await page.locator('.item').count()).toBeLessThan(100);
    } finally {
      await page.context().close();
    }
  });
});
