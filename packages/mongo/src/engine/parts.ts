import { MAX_METADATA_BYTES } from '@sessions/core';
import { BSON, ObjectId } from 'mongodb';
import { type CommitDoc, MAX_DOCUMENT_BYTES, type OperationRecord, type PartDoc, type PartRef } from './documents.js';

/**
 * Room kept in an inline commit for its fields other than `sessionId`, `items` and `ops`:
 * 1 KiB for the bookkeeping, plus the metadata every commit carries (at most 16 KiB of text).
 */
export const COMMIT_HEADROOM_BYTES = 1024 + MAX_METADATA_BYTES;

/** Do `texts` (with `ops`) fit inline in one commit document? */
export function fitsInline(sessionId: string, texts: string[], ops: OperationRecord[] | undefined): boolean {
  const size = BSON.calculateObjectSize({ sessionId, items: texts, ...(ops ? { ops } : {}) });
  return size + COMMIT_HEADROOM_BYTES <= MAX_DOCUMENT_BYTES;
}

/** Inline items; an empty commit has no `items` field (FerretDB drops empty arrays on upsert). */
export function inline(texts: string[]): Pick<CommitDoc, 'items'> {
  return texts.length > 0 ? { items: texts } : {};
}

export function refIds(refs: PartRef[] | undefined): Set<string> {
  return new Set((refs ?? []).map((ref) => ref.id.toHexString()));
}

/** Packs items into overflow documents of at most 16 MiB each, keeping their order. */
export function packParts(texts: string[], sessionId: string, at: Date, expiresAt: Date | undefined): PartDoc[] {
  const extra = expiresAt ? { expiresAt } : {};
  const skeleton = BSON.calculateObjectSize({ _id: new ObjectId(), sessionId, items: [], at, ...extra });
  // An array element: type byte, decimal index + NUL, int32 length, UTF-8 bytes + NUL.
  const elementSize = (index: number, text: string) =>
    1 + String(index).length + 1 + 4 + Buffer.byteLength(text, 'utf8') + 1;
  const groups: string[][] = [];
  let current: string[] = [];
  let size = skeleton;
  for (const text of texts) {
    if (current.length > 0 && size + elementSize(current.length, text) > MAX_DOCUMENT_BYTES) {
      groups.push(current);
      current = [];
      size = skeleton;
    }
    size += elementSize(current.length, text);
    current.push(text);
  }
  if (current.length > 0) groups.push(current);
  return groups.map((items) => ({ _id: new ObjectId(), sessionId, items, at, ...extra }));
}
