/**
 * The session catalog: which conversations a store holds, with counts, dates and labels.
 * Every store of this library implements it; the SDK never calls it (it is for apps and tools).
 */
import type { JsonValue } from './json.js';

export type SessionMetadata = Record<string, JsonValue>;

/** One conversation as the catalog sees it. */
export interface SessionInfo {
  sessionId: string;
  /** The first write of items or metadata. */
  createdAt: Date;
  /** The last write of items or metadata (add, pop, clear, transaction, compaction, metadata). */
  updatedAt: Date;
  /** Exactly `getItems().length` when no write is in flight. */
  itemCount: number;
  metadata: SessionMetadata;
  /** When the session expires, if a TTL applies. */
  expiresAt?: Date;
}

/** A metadata filter: equality on top-level keys, every key must match. */
export type MetadataFilter = Record<string, string | number | boolean>;

/** Which sessions to list (every field optional). Bounds on `updatedAt` are exclusive. */
export interface SessionFilter {
  metadata?: MetadataFilter;
  updatedAfter?: Date;
  updatedBefore?: Date;
}

export interface ListSessionsOptions extends SessionFilter {
  /** Page size: default 50, at most 1,000. */
  limit?: number;
  /** Opaque, from the previous page's `nextCursor`; valid in any process, for the same filter. */
  cursor?: string;
}

/**
 * Newest `updatedAt` first, then `sessionId`. A filtered page may hold fewer than `limit`
 * sessions (a backend bounds the work of one page): the listing ends only when `nextCursor` is absent.
 */
export interface SessionPage {
  sessions: SessionInfo[];
  nextCursor?: string;
}

/** The store side of the catalog. */
export interface SessionCatalog {
  listSessions(options?: ListSessionsOptions): Promise<SessionPage>;
  /** Every session matching `filter`, page by page, for jobs. */
  sessions(filter?: SessionFilter & { pageSize?: number }): AsyncIterable<SessionInfo>;
  getSessionInfo(sessionId: string): Promise<SessionInfo | undefined>;
  /** Removes items, remembered operation ids and metadata; the session leaves the listing. */
  deleteSession(sessionId: string): Promise<void>;
}

/** The session side: labels that live beside the items. */
export interface MetadataCapable {
  getMetadata(): Promise<SessionMetadata>;
  /** Atomic merge: each key is set, `null` removes it; returns the metadata after the update. */
  updateMetadata(patch: Record<string, JsonValue | null>): Promise<SessionMetadata>;
}
