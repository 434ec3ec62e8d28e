/**
 * Largest item, in UTF-8 bytes of its canonical JSON. A `text` value can hold 1 GB, but an item
 * travels in one protocol message (PostgreSQL caps a message at 1 GB), the server holds the
 * batch parameter and its split copy at once, and it comes back as one JavaScript string.
 * 256 MiB keeps every path well inside those limits.
 */
export const MAX_ITEM_BYTES = 256 * 1024 * 1024;

/**
 * Items are sent in chunks of at most this many UTF-16 code units (≤ 48 MiB of UTF-8) per
 * statement; a batch that needs several chunks is written in one transaction.
 */
export const CHUNK_CHARS = 16 * 1024 * 1024;

const SEPARATOR = '\u0001';

/**
 * A batch as ONE text parameter: the items joined by U+0001, which canonical JSON never contains
 * (JSON escapes every control character), and split again by the server with
 * `string_to_array(..., chr(1))`. One bind parameter whatever the batch size, nothing to escape
 * (an array literal would need every `"` and `\` escaped, which costs seconds on JSON-heavy
 * megabytes), and it works with any client configuration. An empty batch is `''` (no items).
 */
export function joinItems(items: readonly string[]): string {
  for (const item of items) {
    if (item.includes(SEPARATOR)) throw new Error('An encoded item contains U+0001, which canonical JSON never does');
  }
  return items.join(SEPARATOR);
}

/** A PostgreSQL text[] literal (every element quoted and escaped), for short lists of ids. */
export function textArrayLiteral(values: readonly string[]): string {
  return `{${values.map((value) => `"${value.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}

/** Splits a batch into consecutive chunks of at most {@link CHUNK_CHARS} (an oversized item alone). */
export function chunk(items: readonly string[]): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const item of items) {
    if (current.length > 0 && size + item.length > CHUNK_CHARS) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += item.length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Pairs each chunk with its offset in the batch, the first starting at `start`. */
export function offsets(start: number, chunks: readonly string[][]): [number, string[]][] {
  let offset = start;
  return chunks.map((part) => {
    const pair: [number, string[]] = [offset, part];
    offset += part.length;
    return pair;
  });
}
