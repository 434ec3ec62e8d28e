/**
 * Builds what DynamoDB would return for a session's partition, without DynamoDB: rows made with
 * the real layout functions, served as pages of a descending Query.
 */
import type { ChainPage, FetchChainPage } from '../../src/engine/chain.js';
import {
  itemRow,
  layoutItems,
  type MetaState,
  metaRow,
  type Row,
  type RowSpec,
  SORT_KEY,
} from '../../src/engine/layout.js';

export const PK = 'session-1';
export const KEY_BYTES = 30;
export const GENERATION = 1_700_000_000_000;

export function state(extra: Partial<MetaState> = {}): MetaState {
  return {
    version: 3,
    generation: GENERATION,
    top: -1,
    nextSeq: 0,
    createdAt: 1,
    updatedAt: 2,
    expiresAtMs: undefined,
    expiresAt: undefined,
    rowsExpireAt: undefined,
    itemCount: 0,
    labels: '',
    labelsVersion: 0,
    ...extra,
  };
}

/** A partition holding `texts` (oldest first) as one chain, the metadata row pointing at its top. */
export function partition(texts: string[], extra: Partial<MetaState> = {}): { rows: Row[]; specs: RowSpec[] } {
  const layout = layoutItems(texts, 0, -1, KEY_BYTES);
  const meta = metaRow(PK, state({ top: layout.top, nextSeq: layout.nextSeq, ...extra }));
  const items = layout.rows.map((spec) => itemRow(PK, extra.generation ?? GENERATION, spec, undefined));
  return { rows: descending([meta, ...items]), specs: layout.rows };
}

/** Query order: descending sort keys (`m` above every `i#…`). */
export function descending(rows: Row[]): Row[] {
  return [...rows].sort((a, b) => ((a[SORT_KEY]?.S ?? '') < (b[SORT_KEY]?.S ?? '') ? 1 : -1));
}

/**
 * A page source over `rows` (already in Query order): a page holds at most `limit` rows (as
 * DynamoDB's `Limit`) and at most `pageSize` (standing in for the 1 MB cap).
 */
export function pages(rows: Row[] | (() => Row[]), pageSize = 1000) {
  const limits: (number | undefined)[] = [];
  const fetch: FetchChainPage = async (limit, startKey) => {
    limits.push(limit);
    const all = typeof rows === 'function' ? rows() : rows;
    const from = startKey ? all.findIndex((row) => row[SORT_KEY]?.S === startKey[SORT_KEY]?.S) + 1 : 0;
    const size = Math.min(pageSize, limit ?? Number.POSITIVE_INFINITY);
    const page = all.slice(from, from + size);
    const more = from + size < all.length;
    const result: ChainPage = { rows: page, lastKey: more ? page.at(-1) : undefined };
    return result;
  };
  return { fetch, limits };
}
