/**
 * The table layout: how a session's history, its metadata and its operation ids map onto
 * DynamoDB items. Everything that names an attribute or builds a key lives here, so the README's
 * table of the layout can be checked against one file.
 *
 * One partition per session (`pk` = the session id, as is). Sort keys (`sk`, type S):
 *
 * - `i#<seq>`: one row per conversation item (or per chunk of an item larger than
 *   {@link CHUNK_BYTES}), `<seq>` being 14 lowercase hex digits so that string order is number
 *   order. A row's text and link never change (only its TTL is stamped again, see expiry.ts),
 *   and a sequence number is never written twice in one incarnation.
 * - `m`: the metadata row. It sorts right above the item rows, so one descending `Query` over
 *   `sk BETWEEN "i#" AND "m"` returns the metadata first and then the newest rows. It is also the
 *   session's catalog entry: item count, dates, labels (the user's metadata, named so here to
 *   tell them from this row) and the keys of the sparse catalog index (engine/catalog.ts).
 * - `o#<operationId>`: one row per recorded history-transaction id (with its fingerprint).
 *
 * The visible history is a chain: the metadata's `top` names the newest row, each row's `p`
 * names the next older one, `-1` ends it. Rows that are not on the chain (a replaced suffix not
 * yet deleted, rows of a large batch not yet committed) are invisible.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { utf8ByteLength } from '@sessions/core';

export type Row = Record<string, AttributeValue>;

export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';
/** The attribute DynamoDB's TTL is enabled on: epoch seconds after which a row may be deleted. */
export const TTL_ATTRIBUTE = 'expiresAt';
export const DEFAULT_TABLE_NAME = 'agent_sessions';

export const META_SK = 'm';
export const ITEM_SK_PREFIX = 'i#';
export const OP_SK_PREFIX = 'o#';
const SEQ_DIGITS = 14;
/** Lowest possible item sort key, for `BETWEEN`. */
export const ITEM_SK_MIN = ITEM_SK_PREFIX;

/**
 * Largest piece of an item's JSON text (UTF-8 bytes) stored in one row. DynamoDB items are at
 * most 400 KB including names and keys; 350 000 bytes leaves room for a 2 KB key and the rest.
 */
export const CHUNK_BYTES = 350_000;

/** Row attributes (short: they are repeated on every row). */
export const A = {
  generation: 'g',
  prev: 'p',
  text: 't',
  chunkCount: 'n',
  chunkIndex: 'k',
  header: 'h',
  fingerprint: 'fp',
  recordedAt: 'at',
} as const;

/** Metadata attributes. */
export const M = {
  version: 'version',
  generation: 'generation',
  top: 'top',
  nextSeq: 'nextSeq',
  createdAt: 'createdAt',
  updatedAt: 'updatedAt',
  expiresAtMs: 'expiresAtMs',
  rowsExpireAt: 'rowsExpireAt',
  /** Items on the chain, changed in the same transaction as the chain (absent on rows of 0.1). */
  itemCount: 'itemCount',
  /** The user's metadata as canonical JSON text (absent: none). */
  labels: 'labels',
  /** Bumped by every metadata write: `updateMetadata`'s compare-and-set reads it. */
  labelsVersion: 'labelsVersion',
  /** Partition key of the catalog index: the session's shard. */
  catalogShard: 'catalogShard',
  /** Sort key of the catalog index: listing order as a string (engine/catalog.ts). */
  catalogKey: 'catalogKey',
} as const;

/** The sparse global secondary index the catalog lists from (only metadata rows carry its keys). */
export const CATALOG_INDEX = 'catalog';
/**
 * Shards of the catalog index. Every write moves its session's index entry, and one partition key
 * value of an index takes about 1,000 write units a second; spread over 16 values a table takes
 * 16 times that. A page queries every shard (in parallel) and merges. Fixed: a store that used
 * another number would not find the entries written under this one.
 */
export const CATALOG_SHARDS = 16;
/** Width of the inverted `updatedAt` that starts a catalog key (ms until year 2286 fit in 13 digits). */
const CATALOG_TIME_DIGITS = 15;
const CATALOG_TIME_MAX = 10 ** CATALOG_TIME_DIGITS - 1;
/** Attributes the index projects besides its keys and the table's: what `SessionInfo` is built from. */
export const CATALOG_PROJECTION = ['createdAt', 'updatedAt', 'itemCount', 'labels', 'expiresAtMs'] as const;

/** The session's shard: FNV-1a over the id's UTF-16 code units (stable across releases). */
export function catalogShard(sessionId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < sessionId.length; i++) {
    hash ^= sessionId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return String(hash % CATALOG_SHARDS);
}

/**
 * The listing order as one string, so that the index sorts it: `updatedAt` inverted and
 * zero-padded (newest first in ascending order), `#`, then the session id (ascending by UTF-8
 * bytes, DynamoDB's string order). At most 15 + 1 + 512 bytes, under the 1,024 of a sort key.
 */
export function catalogKey(updatedAt: number, sessionId: string): string {
  return `${catalogTime(updatedAt)}#${sessionId}`;
}

/** The fixed-width prefix of every catalog key of sessions updated at `updatedAt`. */
export function catalogTime(updatedAt: number): string {
  return String(CATALOG_TIME_MAX - updatedAt).padStart(CATALOG_TIME_DIGITS, '0');
}

/** The index keys of a metadata row. */
export function catalogKeys(pk: string, updatedAt: number): Row {
  return { [M.catalogShard]: { S: catalogShard(pk) }, [M.catalogKey]: { S: catalogKey(updatedAt, pk) } };
}

export function itemSk(seq: number): string {
  return ITEM_SK_PREFIX + seq.toString(16).padStart(SEQ_DIGITS, '0');
}

export function seqOf(sk: string): number {
  return Number.parseInt(sk.slice(ITEM_SK_PREFIX.length), 16);
}

export function opSk(operationId: string): string {
  return OP_SK_PREFIX + operationId;
}

/** The primary key of a row of session `pk`. */
export function rowKey(pk: string, sk: string): Row {
  return { [PARTITION_KEY]: { S: pk }, [SORT_KEY]: { S: sk } };
}

/** The metadata row, parsed. `undefined` stands for "no metadata row". */
export interface Meta {
  /** Incremented by every change of the metadata row: writers condition on it. */
  version: number;
  /** Identifies one incarnation of the history; undefined until the first write. */
  generation: number | undefined;
  /** Sequence number of the newest chain row, or -1 when the history is empty. */
  top: number;
  /** Next unused sequence number (never decreases while the row exists). */
  nextSeq: number;
  createdAt: number | undefined;
  /** Read-time expiry (epoch ms); undefined = never expires. */
  expiresAtMs: number | undefined;
  /** Lowest `expiresAt` any chain row may carry; undefined = no chain row carries one. */
  rowsExpireAt: number | undefined;
  updatedAt: number | undefined;
  /** Undefined on a row written before the catalog (counted on first touch, see session.ts). */
  itemCount: number | undefined;
  /** The user's metadata text, '' for none. */
  labels: string;
  labelsVersion: number;
}

export function parseMeta(row: Row | undefined): Meta | undefined {
  if (!row) return undefined;
  return {
    version: num(row[M.version]) ?? 0,
    generation: num(row[M.generation]),
    top: num(row[M.top]) ?? -1,
    nextSeq: num(row[M.nextSeq]) ?? 0,
    createdAt: num(row[M.createdAt]),
    expiresAtMs: num(row[M.expiresAtMs]),
    rowsExpireAt: num(row[M.rowsExpireAt]),
    updatedAt: num(row[M.updatedAt]),
    itemCount: num(row[M.itemCount]),
    labels: row[M.labels]?.S ?? '',
    labelsVersion: num(row[M.labelsVersion]) ?? 0,
  };
}

/** True when the metadata describes a history that exists and has not expired at `now`. */
export function isLive(meta: Meta | undefined, now: number): meta is Meta & { generation: number } {
  return (
    meta !== undefined && meta.generation !== undefined && (meta.expiresAtMs === undefined || meta.expiresAtMs > now)
  );
}

export interface MetaState {
  version: number;
  generation: number;
  top: number;
  nextSeq: number;
  createdAt: number;
  updatedAt: number;
  expiresAtMs: number | undefined;
  /** DynamoDB TTL of the metadata row itself (epoch seconds). */
  expiresAt: number | undefined;
  rowsExpireAt: number | undefined;
  itemCount: number;
  /** '' for none. */
  labels: string;
  labelsVersion: number;
}

export function metaRow(pk: string, state: MetaState): Row {
  const row: Row = {
    [PARTITION_KEY]: { S: pk },
    [SORT_KEY]: { S: META_SK },
    [M.version]: n(state.version),
    [M.generation]: n(state.generation),
    [M.top]: n(state.top),
    [M.nextSeq]: n(state.nextSeq),
    [M.createdAt]: n(state.createdAt),
    [M.updatedAt]: n(state.updatedAt),
    [M.itemCount]: n(state.itemCount),
    [M.labelsVersion]: n(state.labelsVersion),
    ...catalogKeys(pk, state.updatedAt),
  };
  if (state.labels !== '') row[M.labels] = { S: state.labels };
  if (state.expiresAtMs !== undefined) row[M.expiresAtMs] = n(state.expiresAtMs);
  if (state.expiresAt !== undefined) row[TTL_ATTRIBUTE] = n(state.expiresAt);
  if (state.rowsExpireAt !== undefined) row[M.rowsExpireAt] = n(state.rowsExpireAt);
  return row;
}

export function toMeta(state: MetaState): Meta {
  return {
    version: state.version,
    generation: state.generation,
    top: state.top,
    nextSeq: state.nextSeq,
    createdAt: state.createdAt,
    expiresAtMs: state.expiresAtMs,
    rowsExpireAt: state.rowsExpireAt,
    updatedAt: state.updatedAt,
    itemCount: state.itemCount,
    labels: state.labels,
    labelsVersion: state.labelsVersion,
  };
}

/** One row to write: a piece of an item, or the header that links a large batch to the chain. */
export interface RowSpec {
  seq: number;
  prev: number;
  /** The item's text (or this chunk of it); absent for a header row. */
  text?: string;
  chunkIndex?: number;
  chunkCount?: number;
  /** Approximate stored size in bytes (for the 4 MB transaction budget). */
  bytes: number;
}

export interface Layout {
  rows: RowSpec[];
  /** Sequence number of the newest row written (or `prev` when there are no items). */
  top: number;
  /** First sequence number after the rows. */
  nextSeq: number;
}

/**
 * Lays `texts` (oldest first) out as chain rows from `firstSeq` on, hanging off `prev`.
 * An item over {@link CHUNK_BYTES} takes several consecutive rows, chunk 0 lowest.
 */
export function layoutItems(texts: readonly string[], firstSeq: number, prev: number, keyBytes: number): Layout {
  const rows: RowSpec[] = [];
  let seq = firstSeq;
  for (const text of texts) {
    const pieces = splitText(text);
    pieces.forEach((piece, k) => {
      const row: RowSpec = { seq, prev, text: piece.text, bytes: piece.bytes + keyBytes + ROW_OVERHEAD };
      if (pieces.length > 1) {
        row.chunkIndex = k;
        row.chunkCount = pieces.length;
      }
      rows.push(row);
      prev = seq;
      seq++;
    });
  }
  return { rows, top: prev, nextSeq: seq };
}

/** Bytes a row needs besides its key and text (attribute names, numbers). */
export const ROW_OVERHEAD = 100;

export function itemRow(pk: string, generation: number, spec: RowSpec, expiresAt: number | undefined): Row {
  const row: Row = {
    [PARTITION_KEY]: { S: pk },
    [SORT_KEY]: { S: itemSk(spec.seq) },
    [A.generation]: n(generation),
    [A.prev]: n(spec.prev),
  };
  if (spec.text === undefined) row[A.header] = { BOOL: true };
  else row[A.text] = { S: spec.text };
  if (spec.chunkCount !== undefined) {
    row[A.chunkIndex] = n(spec.chunkIndex ?? 0);
    row[A.chunkCount] = n(spec.chunkCount);
  }
  if (expiresAt !== undefined) row[TTL_ATTRIBUTE] = n(expiresAt);
  return row;
}

/** Splits text into pieces of at most {@link CHUNK_BYTES} UTF-8 bytes, never inside a surrogate pair. */
export function splitText(text: string): { text: string; bytes: number }[] {
  if (text.length * 3 <= CHUNK_BYTES) return [{ text, bytes: utf8ByteLength(text) }];
  const total = utf8ByteLength(text);
  if (total <= CHUNK_BYTES) return [{ text, bytes: total }];
  const pieces: { text: string; bytes: number }[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    let size: number;
    let units = 1;
    if (code < 0x80) size = 1;
    else if (code < 0x800) size = 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        size = 4;
        units = 2;
      } else size = 3;
    } else size = 3;
    if (bytes + size > CHUNK_BYTES) {
      pieces.push({ text: text.slice(start, i), bytes });
      start = i;
      bytes = 0;
    }
    bytes += size;
    i += units - 1;
  }
  pieces.push({ text: text.slice(start), bytes });
  return pieces;
}

export function n(value: number): AttributeValue {
  return { N: String(value) };
}

export function num(value: AttributeValue | undefined): number | undefined {
  if (value === undefined || value.N === undefined) return undefined;
  return Number(value.N);
}
