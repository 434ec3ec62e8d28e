/**
 * Regenerates docs/*.png, the screenshots in the README: the session list and a conversation, at
 * 1280×800 in light and dark, and a narrow window. Runs the built package (`pnpm build` first, which
 * the `screenshots` script does) on an in-memory store seeded with the test fixtures.
 */
import { fileURLToPath } from 'node:url';
import { InMemorySessionStore } from '@sessions/core';
import { launchBrowser } from '../test/browser.ts';
import { everyVariant, longHistory, seed } from '../test/fixtures.ts';

type StudioModule = typeof import('../src/index.js');
const dist = new URL('../dist/index.js', import.meta.url).href;
const { startStudio } = (await import(dist)) as StudioModule;
const docs = (name: string) => fileURLToPath(new URL(`../docs/${name}`, import.meta.url));

const store = new InMemorySessionStore();
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
for (const [id, count, metadata] of [
  ['support/ticket-4702', 16, { user: 'u_19', channel: 'email' }],
  ['support/ticket-4711', 48, { user: 'u_3', channel: 'chat', priority: 'high' }],
  ['eval/run-2025-06-01/case-17', 6, { suite: 'regression' }],
  ['eval/run-2025-06-01/case-18', 9, { suite: 'regression' }],
  ['onboarding/u_88', 22, {}],
] as const) {
  await seed(store, { [id]: longHistory(count) });
  if (Object.keys(metadata).length > 0) await store.session(id).updateMetadata(metadata);
  await tick();
}
await seed(store, { 'research/agent-run-0193': longHistory(12) });
await store.session('research/agent-run-0193').updateMetadata({ user: 'u_42', env: 'staging' });
await tick();
await seed(store, { 'travel/lisbon-trip': everyVariant() });
await store.session('travel/lisbon-trip').updateMetadata({ user: 'u_7', channel: 'web', tier: 'pro' });
await tick();

// A branch, to show how it lists under its source (the API the page's "Fork at turn" button calls).
const studio = await startStudio({ store, url: 'memory:demo', allowWrites: true });
const forked = await fetch(new URL('/api/fork', studio.url), {
  method: 'POST',
  headers: { Authorization: `Bearer ${studio.token}`, 'Content-Type': 'application/json' },
  body: JSON.stringify({ id: 'travel/lisbon-trip', turn: 2 }),
});
if (!forked.ok) throw new Error(`fork failed: ${forked.status} ${await forked.text()}`);
const browser = await launchBrowser();
try {
  for (const scheme of ['light', 'dark'] as const) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: scheme });
    await page.goto(studio.url);
    await page.locator('li.session').first().waitFor();
    await page.waitForTimeout(300);
    if (scheme === 'light') await page.screenshot({ path: docs('list.png') });
    await page.goto(`${new URL(studio.url).origin}/#/s/${encodeURIComponent('travel/lisbon-trip')}`);
    await page.locator('.item.kind-call').first().waitFor();
    // Light: the start (messages, an image, a call beside its output); dark: the end (a patch, a
    // compaction, a refusal, an encrypted item).
    await page.getByRole('button', { name: scheme === 'light' ? 'First' : 'Last', exact: true }).click();
    await page.waitForTimeout(500);
    await page.screenshot({ path: docs(scheme === 'light' ? 'conversation.png' : 'conversation-dark.png') });
    await page.close();
  }
  const narrow = await browser.newPage({ viewport: { width: 420, height: 800 }, colorScheme: 'light' });
  await narrow.goto(studio.url);
  await narrow.goto(`${new URL(studio.url).origin}/#/s/${encodeURIComponent('travel/lisbon-trip')}`);
  await narrow.locator('.item.kind-call').first().waitFor();
  await narrow.getByRole('button', { name: 'First', exact: true }).click();
  await narrow.waitForTimeout(500);
  await narrow.screenshot({ path: docs('narrow.png') });
} finally {
  await browser.close();
  await studio.close();
}
console.log('docs/list.png, docs/conversation.png, docs/conversation-dark.png, docs/narrow.png');
