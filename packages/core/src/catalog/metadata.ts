/**
 * Metadata rules, once for every backend: a plain JSON object with non-empty keys, at most
 * 16 KiB once encoded, merged by key (`null` removes). Backends store the canonical text and
 * whatever form they filter on; they never merge themselves (see BaseSession.updateMetadata).
 */
import { encodeItem, utf8ByteLength } from '../encoding/items.js';
import { SessionValidationError } from '../errors/session-errors.js';
import type { SessionMetadata } from '../protocol/catalog.js';
import type { JsonValue } from '../protocol/json.js';

/** Largest metadata object, as UTF-8 bytes of its canonical JSON. */
export const MAX_METADATA_BYTES = 16 * 1024;

/** Validates a patch before any I/O; returns a fresh, canonical copy of it. */
export function validateMetadataPatch(patch: unknown): Record<string, JsonValue | null> {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw new SessionValidationError('updateMetadata expects an object of keys to set (null removes a key)');
  }
  const text = encodeItem(patch, 'metadata');
  const copy = JSON.parse(text) as Record<string, JsonValue | null>;
  for (const key of Object.keys(copy)) {
    if (key === '') throw new SessionValidationError('metadata keys must be non-empty strings');
  }
  if (utf8ByteLength(text) > MAX_METADATA_BYTES) throw tooLarge(utf8ByteLength(text));
  return copy;
}

/** `current` with `patch` applied, and its canonical text; refused when it grows past the limit. */
export function mergeMetadata(
  current: SessionMetadata,
  patch: Record<string, JsonValue | null>,
): { metadata: SessionMetadata; text: string } {
  const next: SessionMetadata = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  const text = encodeItem(next, 'metadata');
  const bytes = utf8ByteLength(text);
  if (bytes > MAX_METADATA_BYTES) throw tooLarge(bytes);
  return { metadata: JSON.parse(text) as SessionMetadata, text };
}

/** Stored metadata text back to an object (`{}` when there is none). */
export function decodeMetadata(text: string | undefined | null): SessionMetadata {
  if (text === undefined || text === null || text === '') return {};
  return JSON.parse(text) as SessionMetadata;
}

/** True when `metadata` has every key of `filter` with an equal value. */
export function metadataMatches(
  metadata: SessionMetadata,
  filter: ReadonlyArray<readonly [string, string | number | boolean]>,
): boolean {
  return filter.every(([key, value]) => Object.hasOwn(metadata, key) && metadata[key] === value);
}

function tooLarge(bytes: number): SessionValidationError {
  return new SessionValidationError(`metadata is ${bytes} bytes once encoded; at most ${MAX_METADATA_BYTES} are kept`);
}
