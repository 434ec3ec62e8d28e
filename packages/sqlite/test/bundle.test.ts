/**
 * The remote path bundles for a Worker, an edge function or a browser (issue #16, item 4): esbuild
 * with `platform: 'browser'` and nothing marked external, so a Node built-in anywhere on the way
 * (this package, core, the driver) fails the build. The entry uses the store both ways an edge
 * user can: a `libsql://` URL (the store opens the client itself; the `browser` export condition
 * gives it @libsql/client's Web entry) and a client from `@libsql/client/web`.
 */
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './workers.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const sourceEntry = fileURLToPath(new URL('../src/index.ts', import.meta.url));

const EDGE_ENTRY = `
import { InMemorySessionStore } from '@sessions/core';
import { SqliteSessionStore } from '@sessions/sqlite';
import { createClient } from '@libsql/client/web';

export default {
  async fetch(request, env) {
    const fromUrl = new SqliteSessionStore({ url: env.TURSO_URL, authToken: env.TURSO_TOKEN });
    const fromClient = new SqliteSessionStore({ client: createClient({ url: env.TURSO_URL, authToken: env.TURSO_TOKEN }) });
    const memory = new InMemorySessionStore();
    const items = await fromUrl.session('a').getItems();
    await fromClient.session('b').addItems(items);
    await memory.session('c').addItems(items);
    return new Response(JSON.stringify(items));
  },
};
`;

/** `import … from 'node:…'`, `import('node:…')` or `require('node:…')` in bundled code. */
const NODE_BUILTIN_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']node:/;

/** The entry bundled for the browser platform, nothing external; rejects when something does not resolve. */
async function edgeBuild(contents: string, extra: BuildOptions = {}): Promise<{ code: string; metafile: Metafile }> {
  const result = await build({
    stdin: { contents, resolveDir: packageDir, sourcefile: 'edge-entry.js', loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
    ...extra,
  });
  return { code: result.outputFiles![0]!.text, metafile: result.metafile! };
}

function checkEdgeBundle(code: string, metafile: Metafile): void {
  expect(code).not.toMatch(NODE_BUILTIN_IMPORT);
  // Nothing left for the runtime to resolve: every import was bundled.
  expect(Object.values(metafile.outputs)[0]!.imports).toEqual([]);
  const inputs = Object.keys(metafile.inputs);
  // The driver's Web entry (HTTP and WebSocket), never its Node entry or the native libsql module.
  expect(inputs.some((input) => input.endsWith('@libsql/client/lib-esm/web.js'))).toBe(true);
  expect(
    inputs.filter((input) => /@libsql\/client\/lib-esm\/(node|sqlite3)\.js$|\/node_modules\/libsql\//.test(input)),
  ).toEqual([]);
}

describe('bundling the remote path for the browser platform (no Node built-ins)', () => {
  it('from the source: @sessions/sqlite + @sessions/core + @libsql/client/web', async () => {
    const { code, metafile } = await edgeBuild(EDGE_ENTRY, { alias: { '@sessions/sqlite': sourceEntry } });
    expect(Object.keys(metafile.inputs)).toContain('src/store.ts');
    checkEdgeBundle(code, metafile);
  });

  describe('from the built package, resolved through its package.json exports', () => {
    beforeAll(() => ensureBuilt(), 120_000);

    it('bundles the same way', async () => {
      const { code, metafile } = await edgeBuild(EDGE_ENTRY);
      const inputs = Object.keys(metafile.inputs);
      expect(inputs).toContain('dist/index.js');
      expect(inputs.some((input) => input.startsWith('src/'))).toBe(false);
      checkEdgeBundle(code, metafile);
      // The whole worker, minified: this package, the parts of core it uses and the libSQL Web client.
      expect(new TextEncoder().encode(code).byteLength).toBeLessThan(250_000);
    });
  });

  it('the check sees a Node built-in: the same build fails for an entry that imports node:path', async () => {
    const entry = `import { resolve } from 'node:path';\n${EDGE_ENTRY}\nexport const where = resolve('x');`;
    await expect(edgeBuild(entry, { alias: { '@sessions/sqlite': sourceEntry } })).rejects.toThrow(
      /Could not resolve "node:path"/,
    );
  });
});
