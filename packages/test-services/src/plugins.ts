import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RunningService } from './types.js';

/**
 * Server kinds beyond the built-in four come with the backend that needs them, so that adding a
 * backend stays inside its folder: a package whose database needs a new kind of server ships
 * `test/server.ts` exporting `service` (the kind's name, as in its descriptor's
 * `testServer.service`), `env` (the environment variable that names an existing server) and
 * `startNativeServer()` (built on `spawnServer`, `freePort`, `makeTempDir` from this package).
 */
export interface ServerPlugin {
  service: string;
  env: string;
  startNativeServer(): Promise<RunningService & { restart?(): Promise<void> }>;
}

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let plugins: Promise<ServerPlugin[]> | undefined;

/** Every `packages/<name>/test/server.ts` of the workspace, loaded once. */
function loadPlugins(): Promise<ServerPlugin[]> {
  plugins ??= (async () => {
    const found: ServerPlugin[] = [];
    for (const folder of readdirSync(packagesDir)) {
      const file = join(packagesDir, folder, 'test', 'server.ts');
      if (!existsSync(file)) continue;
      const plugin = (await import(pathToFileURL(file).href)) as Partial<ServerPlugin>;
      if (typeof plugin.service === 'string' && typeof plugin.startNativeServer === 'function') {
        found.push(plugin as ServerPlugin);
      }
    }
    return found;
  })();
  return plugins;
}

export async function findServerPlugin(service: string): Promise<ServerPlugin | undefined> {
  return (await loadPlugins()).find((plugin) => plugin.service === service);
}
