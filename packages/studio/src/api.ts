/**
 * The studio's JSON API over a store: the catalog, one session's history page by page, and (only
 * when writes are allowed) metadata edits, forks, pop, clear, delete and export.
 *
 * A history is read with one `getItems()` — one consistent snapshot, as `copySession` does (the
 * protocol reads only "the newest N items", so the oldest ones cannot be paged) — and kept while
 * the catalog says the session is unchanged; the page then receives it a page at a time, newest
 * page first, so a 10,000-item history never travels to the browser at once.
 */
import {
  copySession,
  InMemorySessionStore,
  type JsonValue,
  type MetadataCapable,
  type MetadataFilter,
  type SessionCatalog,
  SessionCopyConflictError,
  type SessionInfo,
  type SessionStore,
  SessionValidationError,
} from '@sessions/core';
import { type Analysis, analyse, endOfTurn, entries } from './model.js';
import {
  type ForkResponse,
  forkId,
  ITEMS_PAGE_SIZE,
  type ItemsResponse,
  type SessionDetail,
  type SessionListResponse,
  type SessionSummary,
} from './shared/api.js';

export type CatalogStore = SessionStore & SessionCatalog;

/** An error the API answers with its own status (404, 409, …) instead of 500. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Snapshot {
  version: string;
  info: SessionInfo;
  items: unknown[];
  analysis: Analysis;
}

/** Sessions whose snapshot is kept (each is one history in memory). */
const SNAPSHOTS_KEPT = 4;
/** Bounds of one listing request when it filters by id prefix (the catalog has no prefix filter). */
const PREFIX_SCAN_MAX = 5_000;
const PREFIX_SCAN_MS = 3_000;

export function summary(info: SessionInfo): SessionSummary {
  return {
    sessionId: info.sessionId,
    createdAt: info.createdAt.toISOString(),
    updatedAt: info.updatedAt.toISOString(),
    ...(info.expiresAt && { expiresAt: info.expiresAt.toISOString() }),
    itemCount: info.itemCount,
    metadata: info.metadata,
  };
}

export class StudioApi {
  readonly #store: CatalogStore;
  readonly #snapshots = new Map<string, Promise<Snapshot>>();

  constructor(store: CatalogStore) {
    this.#store = store;
  }

  /** Newest first; `prefix` filters ids (scanning at most 5,000 entries per call), `metadata` by equality. */
  async list(options: { prefix?: string; metadata?: MetadataFilter; cursor?: string; limit?: number }) {
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 200);
    const found: SessionSummary[] = [];
    let cursor = options.cursor;
    let scanned = 0;
    const deadline = Date.now() + PREFIX_SCAN_MS;
    do {
      const page = await this.#store.listSessions({
        limit: options.prefix ? 200 : limit - found.length,
        ...(cursor !== undefined && { cursor }),
        ...(options.metadata && { metadata: options.metadata }),
      });
      scanned += page.sessions.length;
      for (const info of page.sessions) {
        if (!options.prefix || info.sessionId.startsWith(options.prefix)) found.push(summary(info));
      }
      cursor = page.nextCursor;
    } while (cursor !== undefined && found.length < limit && scanned < PREFIX_SCAN_MAX && Date.now() < deadline);
    const response: SessionListResponse = { sessions: found };
    if (cursor !== undefined) response.nextCursor = cursor;
    return response;
  }

  async session(sessionId: string): Promise<SessionDetail> {
    const snapshot = await this.#snapshot(sessionId);
    const branches = await this.#store.listSessions({ metadata: { forkedFrom: sessionId }, limit: 100 });
    return {
      info: summary(snapshot.info),
      version: snapshot.version,
      total: snapshot.items.length,
      turns: snapshot.analysis.turns,
      branches: branches.sessions.map(summary),
    };
  }

  /** Items `[start, end)`; without `start`, the newest page. */
  async items(sessionId: string, range: { start?: number; end?: number }): Promise<ItemsResponse> {
    const snapshot = await this.#snapshot(sessionId);
    const total = snapshot.items.length;
    const start = Math.min(range.start ?? Math.max(0, total - ITEMS_PAGE_SIZE), total);
    const end = Math.min(range.end ?? start + ITEMS_PAGE_SIZE, total);
    if (start < 0 || end < start) throw new ApiError(400, 'start and end must satisfy 0 <= start <= end');
    if (end - start > 1_000) throw new ApiError(400, 'at most 1,000 items per request');
    return {
      version: snapshot.version,
      total,
      start,
      entries: entries(snapshot.items, snapshot.analysis, start, end),
    };
  }

  async item(sessionId: string, index: number): Promise<unknown> {
    const snapshot = await this.#snapshot(sessionId);
    if (!Number.isSafeInteger(index) || index < 0 || index >= snapshot.items.length) {
      throw new ApiError(404, `no item ${index} in this session`);
    }
    return snapshot.items[index];
  }

  async updateMetadata(sessionId: string, patch: unknown): Promise<Record<string, JsonValue>> {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
      throw new SessionValidationError('the metadata patch must be a JSON object');
    }
    const session = this.#store.session(sessionId) as Partial<MetadataCapable>;
    if (typeof session.updateMetadata !== 'function') throw new ApiError(501, 'this store keeps no metadata');
    await this.#require(sessionId);
    const metadata = await session.updateMetadata(patch as Record<string, JsonValue | null>);
    this.#forget(sessionId);
    return metadata;
  }

  /**
   * A new session `<id>:fork:<n>` holding the items of the first `n` turns (and the items before the
   * first user message), with metadata `{ forkedFrom, forkedAtTurn }` so that it lists under its
   * source. Made by `copySession` from a staging store, so it is atomic per page and idempotent:
   * forking twice at the same turn is a no-op; a different history under that id is a conflict.
   */
  async fork(sessionId: string, turn: unknown): Promise<ForkResponse> {
    const snapshot = await this.#snapshot(sessionId);
    const last = snapshot.analysis.turns.at(-1)?.turn ?? 0;
    if (typeof turn !== 'number' || !Number.isSafeInteger(turn) || turn < 1 || turn > last) {
      throw new SessionValidationError(`turn must be an integer from 1 to ${last}`);
    }
    const id = forkId(sessionId, turn);
    const items = snapshot.items.slice(0, endOfTurn(snapshot.analysis, turn, snapshot.items.length));
    const staging = new InMemorySessionStore().session(id);
    await staging.addItems(items);
    await staging.updateMetadata({ forkedFrom: sessionId, forkedAtTurn: turn });
    try {
      await copySession(staging, this.#store.session(id));
    } catch (error) {
      if (error instanceof SessionCopyConflictError) {
        throw new ApiError(409, `${id} already exists with a different history`);
      }
      throw error;
    }
    return { sessionId: id, itemCount: items.length };
  }

  async pop(sessionId: string): Promise<{ item: unknown }> {
    await this.#require(sessionId);
    const item = await this.#store.session(sessionId).popItem();
    this.#forget(sessionId);
    return { item: item ?? null };
  }

  async clear(sessionId: string): Promise<void> {
    await this.#require(sessionId);
    await this.#store.session(sessionId).clearSession();
    this.#forget(sessionId);
  }

  async delete(sessionId: string): Promise<void> {
    await this.#require(sessionId);
    await this.#store.deleteSession(sessionId);
    this.#forget(sessionId);
  }

  /** One JSON line, as `sessions export` writes it (and `sessions import` reads it). */
  async exportLine(sessionId: string): Promise<string> {
    const snapshot = await this.#snapshot(sessionId);
    const { info } = snapshot;
    return `${JSON.stringify({
      sessionId,
      createdAt: info.createdAt,
      updatedAt: info.updatedAt,
      metadata: info.metadata,
      items: snapshot.items,
    })}\n`;
  }

  async #require(sessionId: string): Promise<SessionInfo> {
    const info = await this.#store.getSessionInfo(sessionId);
    if (!info) throw new ApiError(404, 'no such session');
    return info;
  }

  #forget(sessionId: string): void {
    this.#snapshots.delete(sessionId);
  }

  /** The session's items, read again only when the catalog shows a write since the last read. */
  async #snapshot(sessionId: string): Promise<Snapshot> {
    const info = await this.#require(sessionId);
    const version = `${info.updatedAt.getTime()}.${info.itemCount}`;
    const kept = this.#snapshots.get(sessionId);
    if (kept) {
      const snapshot = await kept.catch(() => undefined);
      if (snapshot?.version === version) {
        // Most recently used last, so that eviction drops the oldest.
        this.#snapshots.delete(sessionId);
        this.#snapshots.set(sessionId, kept);
        return snapshot;
      }
    }
    // Keyed by the info read before the items: a write in between makes the next request read again.
    const loading = this.#store
      .session(sessionId)
      .getItems()
      .then((items) => ({ version, info, items, analysis: analyse(items) }));
    this.#snapshots.delete(sessionId);
    this.#snapshots.set(sessionId, loading);
    loading.catch(() => this.#snapshots.get(sessionId) === loading && this.#snapshots.delete(sessionId));
    while (this.#snapshots.size > SNAPSHOTS_KEPT) this.#snapshots.delete(this.#snapshots.keys().next().value!);
    return loading;
  }
}
