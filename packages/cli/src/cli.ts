/**
 * `sessions copy <from-url> <to-url> (--session <id>... | --ids-file <file|->)`, as a function
 * of its arguments and streams so that tests run it in-process.
 */
import { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type CopySessionsResult,
  copySessions,
  redactSecrets,
  redactUrl,
  SessionConnectionError,
  suggest,
} from '@sessions/core';
import { positiveInteger, readIds } from './args.js';
import {
  type CatalogStore,
  deleteCommand,
  exportCommand,
  importCommand,
  listCommand,
  parseMetadataFilter,
  showCommand,
} from './commands/catalog.js';
import { studioCommand } from './commands/studio.js';
import { openSessionStore } from './open-store.js';
import { describe, printable } from './output.js';
import { ProgressDisplay } from './progress.js';

/** Exit codes. */
export const EXIT = {
  ok: 0,
  /** Some sessions could not be copied (the others were). */
  failed: 1,
  /** Bad arguments or a store URL that cannot be opened: nothing was copied. */
  usage: 2,
  /** Interrupted (Ctrl-C): the sessions in flight stopped after their current page. */
  interrupted: 130,
} as const;

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream;
  /** Aborts the copy (the bin wires it to SIGINT / SIGTERM). */
  signal?: AbortSignal;
  /** Printed by --version (the bin reads it from package.json). */
  version?: string;
}

export const USAGE = `Usage:
  sessions list <url> [--metadata key=value ...] [--limit <n>] [--json]
  sessions show <url> <id> [--limit <n>] [--json]
  sessions delete <url> <id> [<id> ...]
  sessions export <url> [--session <id> ... | --ids-file <file>]    (JSON Lines on stdout)
  sessions import <url> [<file> | -] [--overwrite]                 (what export wrote)
  sessions copy <from-url> <to-url> --session <id> [--session <id> ...]
  sessions copy <from-url> <to-url> --ids-file <file>     (one id per line; - reads stdin)
  sessions copy <from-url> <to-url> --all                 (every session of the source's catalog)
  sessions studio <url> [--port <n>] [--host <h>] [--allow-writes]   (a web app; npm i @sessions/studio)
  sessions --version

list: newest first, one line per session (--json: JSON Lines). show: a session's entry and its
newest --limit items. delete: items, metadata and operation ids. export/import move sessions with
their metadata through JSON Lines, one session per line; import is idempotent like copy.

Copies conversation histories between @sessions stores, in order, idempotently: a session that
is already in the destination is skipped, a partial copy is completed. A destination that holds
something else fails (exit 1) unless --overwrite. The source is only read: nothing (no file,
schema or table) is created there. Both stores are checked before the first copy.

Options:
  --session, -s <id>     a session to copy (repeatable)
  --ids-file <file>      read session ids from a file, one per line ('-' for stdin)
  --all                  copy every session the source lists (resumable: run it again to finish)
  --metadata <k=v>       list only sessions whose metadata has key k equal to v (repeatable)
  --limit <n>            list: at most n sessions; show: the newest n items
  --concurrency <n>      sessions copied at once (default 4)
  --page-size <n>        items per write (default 100)
  --overwrite            replace destination histories that differ from the source
  --no-verify            do not read each destination back to compare it with the source
  --timeout <ms>         deadline of each database call (default 10000)
  --port <n>, --host <h> studio: where it listens (default a free port on 127.0.0.1)
  --allow-writes         studio: allow edit metadata, fork, pop, clear, delete and export
  --json                 print the result as JSON on stdout
  --quiet, -q            no progress display
  --help, -h             this text
  --version, -V          the version of this CLI

URLs: memory:[name]  file:path.db  :memory:  libsql://…  http(s)://…  redis(s)://…
      postgres(ql)://…  mongodb(+srv)://…  dynamodb://host:port/table?region=…
      (dynamodb:///table for AWS itself; credentials from the AWS environment or the URL)
      plus ?ttlSeconds= and the backend's namespace (?tablePrefix=, ?keyPrefix=, ?schema=,
      ?collectionPrefix=, ?database=). Credentials in URLs are never printed.

Exit codes: 0 copied, 1 some sessions failed or were not found in the source (an empty
session counts as not found), 2 usage or connection error, 130 interrupted.`;

/** Runs the CLI; resolves with the exit code and never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  // Redaction applies to URLs and error messages only, never to session ids or item data: those
  // are printed as they are (control characters escaped), and --json output stays valid JSON.
  const print = (stream: NodeJS.WritableStream, text: string) => stream.write(`${text}\n`);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    print(io.stderr, `sessions: ${redactSecrets((error as Error).message)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (parsed.help) {
    io.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  if (parsed.version) {
    io.stdout.write(`${io.version ?? 'unknown'}\n`);
    return EXIT.ok;
  }
  if (parsed.command === 'studio') return studioCommand(io, parsed);
  if (parsed.command !== 'copy') return runCatalogCommand(parsed, io);
  const { from, to, ids, options } = parsed;

  const stores: { close(): Promise<void> }[] = [];
  try {
    let source: Awaited<ReturnType<typeof openSessionStore>>;
    let destination: Awaited<ReturnType<typeof openSessionStore>>;
    try {
      // The source is read only: a mistyped source URL must not create an empty database.
      source = await openSessionStore(from, { createIfMissing: false, timeoutMs: options.timeoutMs });
      stores.push(source);
      destination = await openSessionStore(to, { timeoutMs: options.timeoutMs });
      stores.push(destination);
    } catch (error) {
      print(io.stderr, `sessions: ${describe(error)}`);
      return EXIT.usage;
    }
    // Fail fast, once: an unreachable store is one message, not one timeout per session.
    const unreachable = await checkReachable([
      [from, () => source.session(PROBE_ID).getItems(1)],
      [to, () => (destination as { setup?: () => Promise<void> }).setup?.() ?? Promise.resolve()],
    ]);
    if (unreachable) {
      print(io.stderr, `sessions: ${unreachable}`);
      return EXIT.usage;
    }
    const display = new ProgressDisplay(io.stderr, options.quiet);
    display.line(`Copying from ${redactUrl(from)} to ${redactUrl(to)}`);
    let result: CopySessionsResult;
    try {
      result = await copySessions(source, destination, ids(io, source as CatalogStore), {
        concurrency: options.concurrency,
        pageSize: options.pageSize,
        overwrite: options.overwrite,
        verify: options.verify,
        signal: io.signal,
        onProgress: (progress) => display.update(progress),
      });
    } catch (error) {
      display.clear();
      if (io.signal?.aborted) {
        print(io.stderr, 'sessions: interrupted; run the same command again to finish the copy');
        return EXIT.interrupted;
      }
      print(io.stderr, `sessions: ${describe(error)}`);
      return EXIT.usage;
    }
    display.clear();
    // The protocol cannot tell an absent session from an empty one: both are "not found".
    const missing = result.copied.filter((r) => r.total === 0).map((r) => r.sessionId);
    const copied = result.copied.filter((r) => r.total > 0);
    for (const failure of result.failed) {
      display.line(`✗ ${printable(failure.sessionId)}: ${describe(failure.error)}`);
    }
    for (const id of missing) display.line(`✗ ${printable(id)}: not found in the source (no items)`);
    const items = copied.reduce((sum, r) => sum + r.copied, 0);
    const present = copied.reduce((sum, r) => sum + r.alreadyPresent, 0);
    display.line(
      `${copied.length} session(s) copied (${items} item(s) written, ${present} already there)` +
        (result.failed.length > 0 ? `, ${result.failed.length} failed` : '') +
        (missing.length > 0 ? `, ${missing.length} not found` : ''),
    );
    if (options.json) {
      print(
        io.stdout,
        JSON.stringify({
          copied,
          missing,
          failed: result.failed.map((f) => ({
            sessionId: f.sessionId,
            error: describe(f.error),
            code: (f.error as { code?: unknown })?.code,
          })),
        }),
      );
    }
    if (result.failed.some((f) => f.error instanceof SessionConnectionError)) return EXIT.usage;
    return result.failed.length > 0 || missing.length > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    await Promise.allSettled(stores.map((store) => store.close()));
  }
}

const OPTIONS = {
  session: { type: 'string', short: 's', multiple: true },
  'ids-file': { type: 'string' },
  all: { type: 'boolean' },
  metadata: { type: 'string', multiple: true },
  limit: { type: 'string' },
  concurrency: { type: 'string' },
  'page-size': { type: 'string' },
  timeout: { type: 'string' },
  overwrite: { type: 'boolean' },
  verify: { type: 'boolean' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  port: { type: 'string' },
  host: { type: 'string' },
  'allow-writes': { type: 'boolean' },
} as const;

const COMMANDS = ['copy', 'list', 'show', 'delete', 'export', 'import', 'studio'];

/** A session id that no store holds, read once per store to prove it answers. */
const PROBE_ID = 'sessions-cli-reachability-probe';

async function checkReachable(checks: Array<[string, () => Promise<unknown>]>): Promise<string | undefined> {
  const results = await Promise.allSettled(checks.map(([, check]) => check()));
  for (const [i, result] of results.entries()) {
    if (result.status === 'rejected') return `cannot use ${redactUrl(checks[i]![0])}: ${describe(result.reason)}`;
  }
  return undefined;
}

function parse(argv: readonly string[]) {
  const { values, positionals } = (() => {
    try {
      return parseArgs({ args: [...argv], allowPositionals: true, allowNegative: true, options: OPTIONS });
    } catch (error) {
      throw new Error(withSuggestion(error as Error));
    }
  })();
  if (values.help) return { help: true as const, version: false as const };
  if (values.version) return { help: false as const, version: true as const };
  const [command, ...args] = positionals;
  if (!command || !COMMANDS.includes(command)) {
    const near = command ? suggest(command, COMMANDS) : undefined;
    throw new Error(
      command
        ? `unknown command ${JSON.stringify(command)}${near ? ` (did you mean ${near}?)` : ''}`
        : 'missing command',
    );
  }
  const common = {
    help: false as const,
    version: false as const,
    timeoutMs: positiveInteger(values.timeout, '--timeout', 10_000),
    json: values.json === true,
    overwrite: values.overwrite === true,
  };
  const limit = values.limit === undefined ? undefined : positiveInteger(values.limit, '--limit', 1);
  const needs = (count: number, what: string, rest = false) => {
    if (args.length < count || (!rest && args.length > count)) throw new Error(`${command} needs ${what}`);
  };
  const listedIds = (io: CliIo) =>
    values['ids-file'] !== undefined
      ? readIds(values['ids-file'] === '-' ? io.stdin : createReadStream(values['ids-file']))
      : values.session;
  switch (command) {
    case 'list':
      needs(1, '<url>');
      return { ...common, command, url: args[0]!, limit, metadata: parseMetadataFilter(values.metadata ?? []) };
    case 'show':
      needs(2, '<url> <id>');
      return { ...common, command, url: args[0]!, sessionId: args[1]!, limit };
    case 'delete':
      needs(2, '<url> <id> [<id> ...]', true);
      return { ...common, command, url: args[0]!, ids: args.slice(1) };
    case 'export':
      needs(1, '<url>');
      return { ...common, command, url: args[0]!, ids: listedIds };
    case 'import':
      if (args.length < 1 || args.length > 2) throw new Error('import needs <url> [<file> | -]');
      return { ...common, command, url: args[0]!, file: args[1] ?? '-' };
    case 'studio':
      needs(1, '<url>');
      return {
        ...common,
        command,
        url: args[0]!,
        port: values.port === '0' ? 0 : positiveInteger(values.port, '--port', 0),
        host: values.host,
        allowWrites: values['allow-writes'] === true,
      };
  }
  const [from, to, ...extra] = args;
  if (!from || !to) throw new Error('copy needs <from-url> and <to-url>');
  if (extra.length > 0) throw new Error(`unexpected arguments: ${extra.join(' ')}`);
  const sessions = values.session ?? [];
  const idsFile = values['ids-file'];
  const all = values.all === true;
  if ([sessions.length > 0, idsFile !== undefined, all].filter(Boolean).length !== 1) {
    throw new Error('pass one of --session <id> (repeatable), --ids-file <file> or --all');
  }
  const ids = (io: CliIo, source?: CatalogStore): Iterable<string> | AsyncIterable<string> =>
    all && source
      ? catalogIds(source)
      : idsFile === undefined
        ? sessions
        : readIds(idsFile === '-' ? io.stdin : createReadStream(idsFile));
  return {
    help: false as const,
    version: false as const,
    command: 'copy' as const,
    from,
    to,
    ids,
    options: {
      concurrency: positiveInteger(values.concurrency, '--concurrency', 4),
      pageSize: positiveInteger(values['page-size'], '--page-size', 100),
      timeoutMs: positiveInteger(values.timeout, '--timeout', 10_000),
      overwrite: values.overwrite === true,
      verify: values.verify !== false,
      json: values.json === true,
      quiet: values.quiet === true,
    },
  };
}

/** Every id of the source's catalog, page by page (newest first). */
async function* catalogIds(store: CatalogStore): AsyncGenerator<string> {
  for await (const info of store.sessions()) yield info.sessionId;
}

type CatalogCommand = Exclude<
  ReturnType<typeof parse>,
  { command: 'copy' } | { command: 'studio' } | { help: true } | { version: true }
>;

/** list, show, delete, export, import: one store, opened read-only for the commands that only read. */
async function runCatalogCommand(parsed: CatalogCommand, io: CliIo): Promise<number> {
  const readOnly = parsed.command === 'list' || parsed.command === 'show' || parsed.command === 'export';
  let store: CatalogStore;
  try {
    store = (await openSessionStore(parsed.url, {
      timeoutMs: parsed.timeoutMs,
      ...(readOnly && { createIfMissing: false }),
    })) as CatalogStore;
  } catch (error) {
    io.stderr.write(`sessions: ${describe(error)}\n`);
    return EXIT.usage;
  }
  try {
    switch (parsed.command) {
      case 'list':
        return await listCommand(store, io, parsed);
      case 'show':
        return await showCommand(store, io, parsed.sessionId, parsed);
      case 'delete':
        return await deleteCommand(store, io, parsed.ids);
      case 'export':
        return await exportCommand(store, io, parsed.ids(io));
      case 'import':
        return await importCommand(store, io, parsed.file === '-' ? io.stdin : createReadStream(parsed.file), parsed);
    }
  } catch (error) {
    io.stderr.write(`sessions: ${describe(error)}\n`);
    return error instanceof SessionConnectionError || (error as { code?: unknown })?.code === 'INVALID_ARGUMENT'
      ? EXIT.usage
      : EXIT.failed;
  } finally {
    await store.close();
  }
}

/** Node's parseArgs message for an unknown option, with the option the user probably meant. */
function withSuggestion(error: Error): string {
  const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(error.message)?.[1];
  if (!unknown) return error.message;
  const near = suggest(unknown.replace(/^-+/, ''), Object.keys(OPTIONS));
  return `unknown option ${unknown}${near ? ` (did you mean --${near}?)` : ''}`;
}
