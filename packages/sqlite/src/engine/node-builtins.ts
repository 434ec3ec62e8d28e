/**
 * Node's built-in modules, looked up when a `file:` URL needs them rather than imported at the top
 * of a module: an `import … from 'node:fs'` anywhere in this package would make every bundle of it
 * for a Worker, an edge function or a browser fail (or carry Node shims), although the remote path
 * (`libsql:`, `http(s):`, `ws(s):`, a caller's client) never needs them. Nothing here runs for a
 * remote URL; test/bundle.test.ts checks that a browser bundle holds no `node:` import.
 *
 * `process.getBuiltinModule` (Node 20.16+ and 22.3+, Bun, Deno) is synchronous, so a store still
 * resolves a relative path when it is built. The CommonJS build also finds them through its own
 * `require` on an older Node; the ESM build on an older Node has no synchronous way, and a `file:`
 * URL that needs them then fails with a {@link SessionValidationError} saying so.
 */
import type * as fs from 'node:fs';
import type * as path from 'node:path';
import type * as timers from 'node:timers';
import type * as url from 'node:url';
import { SessionValidationError } from '@sessions/core';

interface NodeBuiltins {
  fs: typeof fs;
  path: typeof path;
  timers: typeof timers;
  url: typeof url;
}

type BuiltinName = keyof NodeBuiltins;

/** The module, or undefined on a runtime without it (or without a synchronous way to load it). */
export function optionalBuiltin<N extends BuiltinName>(name: N): NodeBuiltins[N] | undefined {
  // Without the `node:` prefix: the same modules, and no `node:` text for a bundler to trip on.
  const nodeProcess = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const getBuiltinModule = nodeProcess?.getBuiltinModule;
  if (typeof getBuiltinModule === 'function') {
    return getBuiltinModule.call(nodeProcess, name) as NodeBuiltins[N] | undefined;
  }
  // Only the CommonJS build has a real `require` here; in the ESM build it is a stub that throws.
  if (typeof require === 'function') {
    try {
      return require(name) as NodeBuiltins[N];
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The module, or a {@link SessionValidationError} naming what `file:` URLs need. */
export function nodeBuiltin<N extends BuiltinName>(name: N): NodeBuiltins[N] {
  const loaded = optionalBuiltin(name);
  if (loaded === undefined) {
    throw new SessionValidationError(
      `file: URLs need Node's ${name} module here, which this runtime does not provide synchronously ` +
        "(process.getBuiltinModule: Node 20.16+ or 22.3+, Bun, Deno; or this package's CommonJS build). " +
        'On an edge runtime or in a browser, use a remote libSQL URL (libsql:, https:, wss:) or pass your ' +
        'own client from @libsql/client/web.',
    );
  }
  return loaded;
}
