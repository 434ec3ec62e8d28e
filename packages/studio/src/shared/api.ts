/**
 * The JSON the studio's server sends its page: shared by the server (Node) and the page (DOM), so
 * it holds types and pure functions only.
 */

/** What the page may know about the store: never its URL's credentials. */
export interface StoreView {
  /** The store URL with credentials masked (core's `redactUrl`), or a description of the store object. */
  label: string;
  allowWrites: boolean;
}

/** A catalog entry as JSON (dates as ISO strings). */
export interface SessionSummary {
  sessionId: string;
  createdAt: string;
  updatedAt: string;
  expiresAt?: string;
  itemCount: number;
  metadata: Record<string, unknown>;
}

export interface SessionListResponse {
  sessions: SessionSummary[];
  /** Present while the catalog has more sessions for this filter. */
  nextCursor?: string;
}

/** Token counts found on the items of a turn (only when the items carry them). */
export interface UsageView {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

/**
 * A turn starts at each `role: 'user'` message; items before the first one are turn 0 (a system
 * prompt, say), which every fork keeps.
 */
export interface TurnView {
  turn: number;
  /** Index of its first item. */
  start: number;
  /** Index after its last item. */
  end: number;
  usage?: UsageView;
}

export interface SessionDetail {
  info: SessionSummary;
  /** Changes with every write; item pages name it so that a stale page is noticed. */
  version: string;
  total: number;
  turns: TurnView[];
  /** Sessions forked from this one (`metadata.forkedFrom`), newest first. */
  branches: SessionSummary[];
}

/** One item of a page, with what the server worked out from the whole history. */
export interface ItemEntry {
  index: number;
  turn: number;
  /** The first item of its turn: the page draws the turn separator above it. */
  turnStart: boolean;
  item: unknown;
  /** A call's output (`role: 'call'`, with the output item) or an output's call (`role: 'output'`). */
  pair?: { role: 'call' | 'output'; index: number; item?: unknown };
}

export interface ItemsResponse {
  version: string;
  total: number;
  start: number;
  entries: ItemEntry[];
}

export interface ForkResponse {
  sessionId: string;
  itemCount: number;
}

/** The id of the branch made by "fork at turn n": grouped under its source by `metadata.forkedFrom`. */
export function forkId(sessionId: string, turn: number): string {
  return `${sessionId}:fork:${turn}`;
}

/** Items per page of `/api/items`. */
export const ITEMS_PAGE_SIZE = 100;
