/**
 * Largest item, in UTF-8 bytes of its canonical JSON. A statement travels in one packet of at most
 * `max_allowed_packet` bytes (16 MiB by default on MariaDB, 64 MiB on MySQL 8), and an item is
 * sent inside a JSON array of strings, where escaping can double it: 4 MiB stays inside the
 * smallest default with room for the rest of the statement.
 */
export const MAX_ITEM_BYTES = 4 * 1024 * 1024;

/** Items are sent in chunks of at most this many bytes of JSON per statement (an oversized item alone). */
export const CHUNK_BYTES = 6 * 1024 * 1024;

/**
 * A chunk as ONE parameter: a JSON array of the items' texts, split again by the server with
 * `JSON_TABLE`. One bind parameter whatever the batch size (MySQL caps a statement at 65,535),
 * one prepared statement for every batch size, and nothing escaped by hand: the server unescapes
 * exactly what `JSON.stringify` escaped, so every text (NUL escapes, astral characters) arrives
 * as it was.
 */
export function jsonArray(items: readonly string[]): string {
  return JSON.stringify(items);
}

/** Consecutive chunks whose JSON stays under {@link CHUNK_BYTES} (an oversized item alone), as JSON arrays. */
export function chunks(items: readonly string[]): { offset: number; count: number; json: string }[] {
  const out: { offset: number; count: number; json: string }[] = [];
  let start = 0;
  let size = 0;
  const flush = (end: number) => {
    if (end > start) out.push({ offset: start, count: end - start, json: jsonArray(items.slice(start, end)) });
    start = end;
    size = 0;
  };
  items.forEach((item, i) => {
    // Escaping at most doubles a byte: a bound, not a measurement, so no second encoding pass.
    const bytes = Buffer.byteLength(item) * 2 + 3;
    if (i > start && size + bytes > CHUNK_BYTES) flush(i);
    size += bytes;
  });
  flush(items.length);
  return out;
}
