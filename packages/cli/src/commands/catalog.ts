/**
 * The catalog commands: list, show, delete, export and import. Each takes an open store and
 * writes to the CLI's streams; `cli.ts` parses the arguments and opens the store.
 */
import { createInterface } from 'node:readline';
import {
  copySession,
  InMemorySessionStore,
  type MetadataFilter,
  type SessionCatalog,
  type SessionInfo,
  type SessionStore,
  SessionValidationError,
} from '@sessions/core';
import type { CliIo } from '../cli.js';
import { printable } from '../output.js';

export type CatalogStore = SessionStore & SessionCatalog;

/** `--metadata k=v` pairs; `true`/`false`/numbers are matched as JSON values, anything else as text. */
export function parseMetadataFilter(pairs: readonly string[]): MetadataFilter | undefined {
  if (pairs.length === 0) return undefined;
  const filter: MetadataFilter = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--metadata expects key=value, got ${JSON.stringify(pair)}`);
    const raw = pair.slice(at + 1);
    filter[pair.slice(0, at)] =
      raw === 'true' ? true : raw === 'false' ? false : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  }
  return filter;
}

/** One session per line (or JSON Lines with `json`), newest first, `limit` at most. */
export async function listCommand(
  store: CatalogStore,
  io: CliIo,
  options: { metadata?: MetadataFilter; limit?: number; json: boolean },
): Promise<number> {
  let shown = 0;
  for await (const info of store.sessions({ ...(options.metadata && { metadata: options.metadata }) })) {
    if (options.limit !== undefined && shown >= options.limit) break;
    io.stdout.write(`${options.json ? JSON.stringify(info) : describeInfo(info)}\n`);
    shown++;
  }
  if (!options.json) io.stderr.write(`${shown} session(s)\n`);
  return 0;
}

function describeInfo(info: SessionInfo): string {
  const metadata = Object.keys(info.metadata).length > 0 ? `  ${JSON.stringify(info.metadata)}` : '';
  const expires = info.expiresAt ? `  expires ${info.expiresAt.toISOString()}` : '';
  return `${printable(info.sessionId)}  ${info.itemCount} item(s)  updated ${info.updatedAt.toISOString()}  created ${info.createdAt.toISOString()}${expires}${metadata}`;
}

/** A session's catalog entry and its newest `limit` items; exit 1 when it does not exist. */
export async function showCommand(
  store: CatalogStore,
  io: CliIo,
  sessionId: string,
  options: { limit?: number; json: boolean },
): Promise<number> {
  const info = await store.getSessionInfo(sessionId);
  if (!info) {
    io.stderr.write(`sessions: ${printable(sessionId)}: not found\n`);
    return 1;
  }
  const items = await store.session(sessionId).getItems(options.limit);
  if (options.json) {
    io.stdout.write(`${JSON.stringify({ ...info, items })}\n`);
    return 0;
  }
  io.stdout.write(`${describeInfo(info)}\n`);
  const first = info.itemCount - items.length;
  for (const [i, item] of items.entries()) io.stdout.write(`  ${first + i + 1}. ${printable(JSON.stringify(item))}\n`);
  return 0;
}

/** Deletes each session (items, operation ids, metadata); exit 1 if any did not exist. */
export async function deleteCommand(store: CatalogStore, io: CliIo, ids: readonly string[]): Promise<number> {
  let missing = 0;
  for (const id of ids) {
    const existed = (await store.getSessionInfo(id)) !== undefined;
    await store.deleteSession(id);
    if (!existed) missing++;
    io.stderr.write(`${existed ? '✓ deleted' : '✗ not found:'} ${printable(id)}\n`);
  }
  return missing > 0 ? 1 : 0;
}

/**
 * JSON Lines on stdout, one session per line: `{ sessionId, createdAt, updatedAt, metadata, items }`.
 * Every session of the catalog, or the given ids (missing ones are reported and skipped).
 */
export async function exportCommand(
  store: CatalogStore,
  io: CliIo,
  ids: Iterable<string> | AsyncIterable<string> | undefined,
): Promise<number> {
  let exported = 0;
  let missing = 0;
  const source = ids ?? mapIds(store.sessions());
  for await (const id of source) {
    const info = await store.getSessionInfo(id);
    if (!info) {
      missing++;
      io.stderr.write(`✗ not found: ${printable(id)}\n`);
      continue;
    }
    const items = await store.session(id).getItems();
    const line = {
      sessionId: id,
      createdAt: info.createdAt,
      updatedAt: info.updatedAt,
      metadata: info.metadata,
      items,
    };
    io.stdout.write(`${JSON.stringify(line)}\n`);
    exported++;
  }
  io.stderr.write(`${exported} session(s) exported${missing > 0 ? `, ${missing} not found` : ''}\n`);
  return missing > 0 ? 1 : 0;
}

async function* mapIds(infos: AsyncIterable<SessionInfo>): AsyncGenerator<string> {
  for await (const info of infos) yield info.sessionId;
}

/**
 * Reads what `export` writes and stores it: idempotent like `copy` (a session already imported is
 * skipped, a partial one completed; one that holds something else fails unless `overwrite`).
 */
export async function importCommand(
  store: CatalogStore,
  io: CliIo,
  input: NodeJS.ReadableStream,
  options: { overwrite: boolean },
): Promise<number> {
  let imported = 0;
  let failed = 0;
  let lineNumber = 0;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    let sessionId = `line ${lineNumber}`;
    try {
      const record = parseExportLine(line, lineNumber);
      sessionId = record.sessionId;
      // The line becomes a session of its own, so that the import is a copy with all its guarantees.
      const staging = new InMemorySessionStore().session(record.sessionId);
      await staging.addItems(record.items);
      if (Object.keys(record.metadata).length > 0) await staging.updateMetadata(record.metadata);
      await copySession(staging, store.session(record.sessionId), { overwrite: options.overwrite });
      imported++;
    } catch (error) {
      failed++;
      io.stderr.write(`✗ ${printable(sessionId)}: ${(error as Error).message}\n`);
    }
  }
  io.stderr.write(`${imported} session(s) imported${failed > 0 ? `, ${failed} failed` : ''}\n`);
  return failed > 0 ? 1 : 0;
}

function parseExportLine(line: string, lineNumber: number) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new SessionValidationError(`line ${lineNumber} is not JSON`);
  }
  const record = parsed as { sessionId?: unknown; items?: unknown; metadata?: unknown };
  if (typeof record?.sessionId !== 'string' || !Array.isArray(record.items)) {
    throw new SessionValidationError(`line ${lineNumber}: expected { "sessionId": string, "items": [...] }`);
  }
  const metadata = record.metadata ?? {};
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new SessionValidationError(`line ${lineNumber}: metadata must be an object`);
  }
  return { sessionId: record.sessionId, items: record.items, metadata: metadata as Record<string, never> };
}
