/**
 * `sessions studio <url> [--port N] [--host H] [--allow-writes]`: serves Sessions Studio, a local
 * web app over the store, until interrupted. `@sessions/studio` is an optional peer of the CLI
 * (users who never run it never install it), imported only here.
 */
import { redactUrl, SessionConnectionError } from '@sessions/core';
import type { CliIo } from '../cli.js';
import { openSessionStore } from '../open-store.js';
import { describe } from '../output.js';

type StudioModule = typeof import('@sessions/studio');

export interface StudioCommandOptions {
  url: string;
  port: number;
  host?: string;
  allowWrites: boolean;
  timeoutMs: number;
}

/** Exit 0 after Ctrl-C; 2 when the package is missing, the store cannot be opened or the port is taken. */
export async function studioCommand(
  io: CliIo,
  options: StudioCommandOptions,
  load: () => Promise<StudioModule> = () => import('@sessions/studio'),
): Promise<number> {
  let studioModule: StudioModule;
  try {
    studioModule = await load();
  } catch (error) {
    if (isMissingPackage(error, '@sessions/studio')) {
      io.stderr.write('sessions: the studio is a separate package: npm i @sessions/studio\n');
      return 2;
    }
    throw error;
  }
  let store: Awaited<ReturnType<typeof openSessionStore>>;
  try {
    // Read-only unless writes are allowed: a mistyped URL must not create a database.
    store = await openSessionStore(options.url, {
      timeoutMs: options.timeoutMs,
      ...(!options.allowWrites && { createIfMissing: false }),
    });
  } catch (error) {
    io.stderr.write(`sessions: ${describe(error)}\n`);
    return 2;
  }
  try {
    // Fail fast, before printing a URL to a studio that cannot list anything.
    await (store as unknown as { listSessions(o: object): Promise<unknown> }).listSessions({ limit: 1 });
    const studio = await studioModule.startStudio({
      store,
      url: options.url,
      port: options.port,
      ...(options.host !== undefined && { host: options.host }),
      allowWrites: options.allowWrites,
    });
    // The one line on stdout (scripts read it); everything else goes to stderr.
    io.stdout.write(`Studio: ${studio.url}\n`);
    io.stderr.write(
      `Serving ${redactUrl(options.url)} ${options.allowWrites ? 'with writes allowed' : 'read-only'}; Ctrl-C to stop\n`,
    );
    // Serves until the signal (the bin's Ctrl-C); a caller without one gets a studio that stops at once.
    await new Promise<void>((resolve) => {
      if (!io.signal || io.signal.aborted) return resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await studio.close();
    return 0;
  } catch (error) {
    io.stderr.write(`sessions: ${describe(error)}\n`);
    return error instanceof SessionConnectionError || isListenError(error) || isUsageError(error) ? 2 : 1;
  } finally {
    await store.close();
  }
}

function isMissingPackage(error: unknown, name: string): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    message.includes(`'${name}'`)
  );
}

function isListenError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND';
}

function isUsageError(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'INVALID_ARGUMENT';
}
