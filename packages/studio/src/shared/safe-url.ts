/**
 * Which stored strings may become an image's `src`: a base64 data: URL of a raster image type, a
 * bare base64 payload whose first bytes say which raster type it is, or an https: URL. Anything
 * else (javascript:, http:, SVG, data: of another type, relative URLs) is shown as text.
 */

const RASTER_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp']);
const DATA_URL = /^data:([a-z]+\/[a-z0-9.+-]+);base64,([A-Za-z0-9+/]+={0,2})$/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Magic numbers, as base64 prefixes, of the raster types (for bare base64 payloads). */
const MAGIC: Array<[string, string]> = [
  ['iVBORw0KGgo', 'image/png'],
  ['/9j/', 'image/jpeg'],
  ['R0lGOD', 'image/gif'],
  ['UklGR', 'image/webp'],
];

export function safeImageSource(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return undefined;
  const trimmed = value.trim();
  const data = DATA_URL.exec(trimmed);
  if (data) return RASTER_TYPES.has(data[1]!.toLowerCase()) ? trimmed : undefined;
  if (/^https:\/\//i.test(trimmed)) {
    try {
      const url = new URL(trimmed);
      // No credentials in URLs the browser would fetch on the user's behalf.
      if (url.protocol === 'https:' && url.username === '' && url.password === '') return url.href;
    } catch {
      return undefined;
    }
    return undefined;
  }
  if (trimmed.length >= 16 && BASE64.test(trimmed)) {
    const type = MAGIC.find(([prefix]) => trimmed.startsWith(prefix))?.[1];
    if (type) return `data:${type};base64,${trimmed}`;
  }
  return undefined;
}
