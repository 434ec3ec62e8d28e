/**
 * Node's built-ins are looked up at run time, only for `file:` URLs (src/engine/node-builtins.ts).
 * On a Node without `process.getBuiltinModule` (before 20.16 / 22.3) the CommonJS build finds them
 * through its own `require`; the ESM build cannot, and says so for the URLs that need them, while
 * absolute file URLs and remote URLs still work. Run on the built package in child processes
 * with `process.getBuiltinModule` removed, as an older Node would be.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileUrl, tempDir } from './helpers.js';
import { ensureBuilt } from './workers.js';

const run = promisify(execFile);
const distDir = fileURLToPath(new URL('../dist/', import.meta.url));
const tmp = tempDir('builtins');
afterAll(() => tmp.remove());
beforeAll(() => ensureBuilt(), 120_000);

/** Runs `body` (ESM or CommonJS) in a child Node whose `process.getBuiltinModule` is gone; returns its JSON. */
async function withoutGetBuiltinModule(format: 'esm' | 'cjs', body: string): Promise<Record<string, unknown>> {
  const load =
    format === 'esm'
      ? `const { SqliteSessionStore } = await import(${JSON.stringify(join(distDir, 'index.js'))});`
      : `const { SqliteSessionStore } = require(${JSON.stringify(join(distDir, 'index.cjs'))});`;
  const script = `
delete process.getBuiltinModule;
const main = async () => {
  ${load}
  const out = {};
  const message = (content) => ({ type: 'message', role: 'user', content });
  ${body}
  process.stdout.write(JSON.stringify(out));
};
main().catch((error) => { process.stderr.write(String(error?.stack ?? error)); process.exitCode = 1; });
`;
  const args = format === 'esm' ? ['--input-type=module', '-e', script] : ['-e', script];
  const { stdout } = await run(process.execPath, args, { cwd: tmp.dir, timeout: 30_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('a Node without process.getBuiltinModule', () => {
  it('ESM build: an absolute file: URL and a remote URL work; a relative path is refused, saying why', async () => {
    const absolute = fileUrl(join(tmp.dir, 'esm-absolute.db'));
    const out = await withoutGetBuiltinModule(
      'esm',
      `
  const store = new SqliteSessionStore({ url: ${JSON.stringify(absolute)} });
  await store.session('s').addItems([message('a'), message('b')]);
  out.items = await store.session('s').getItems();
  await store.close();
  out.remote = String(new SqliteSessionStore({ url: 'libsql://example-db.turso.io' }).constructor.name);
  try {
    new SqliteSessionStore({ url: 'file:relative.db' });
  } catch (error) {
    out.relative = { name: error.name, message: error.message };
  }`,
    );
    expect(out.items).toEqual([
      { type: 'message', role: 'user', content: 'a' },
      { type: 'message', role: 'user', content: 'b' },
    ]);
    expect(out.remote).toBe('SqliteSessionStore');
    expect(out.relative).toMatchObject({ name: 'SessionValidationError' });
    expect((out.relative as { message: string }).message).toMatch(/process\.getBuiltinModule.*libsql:/s);
    expect(existsSync(join(tmp.dir, 'relative.db'))).toBe(false);
  });

  it('CommonJS build: a relative file: URL and createIfMissing: false work through require', async () => {
    const out = await withoutGetBuiltinModule(
      'cjs',
      `
  const store = new SqliteSessionStore({ url: 'file:cjs-relative.db' });
  await store.session('s').addItems([message('a')]);
  out.items = await store.session('s').getItems();
  await store.close();
  const strict = new SqliteSessionStore({ url: 'file:cjs-missing.db', createIfMissing: false });
  out.missing = await strict.session('s').getItems();
  await strict.close();`,
    );
    expect(out.items).toEqual([{ type: 'message', role: 'user', content: 'a' }]);
    expect(existsSync(join(tmp.dir, 'cjs-relative.db'))).toBe(true);
    expect(out.missing).toEqual([]);
    expect(existsSync(join(tmp.dir, 'cjs-missing.db'))).toBe(false);
  });
});
