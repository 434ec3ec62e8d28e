import { SessionValidationError } from '../errors/session-errors.js';

/**
 * The options guard every store and session constructor runs before anything else: options must
 * be an object, and a key the constructor does not know (a typo such as `tllSeconds`, or `url`
 * where a backend takes none) is refused by name rather than silently ignored.
 */
export function checkOptions(owner: string, options: unknown, knownKeys: readonly string[]): void {
  const known = [...new Set(knownKeys)];
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new SessionValidationError(
      `${owner} options must be an object${known.length > 0 ? ` with some of: ${known.join(', ')}` : ''}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    throw new SessionValidationError(
      `${owner} does not know the option ${JSON.stringify(key)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; known options: ${known.join(', ')}`,
    );
  }
}

/** The candidate within edit distance 2 of `word` (or differing only in case), if any: a "did you mean". */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  return closest(word, candidates);
}

function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
