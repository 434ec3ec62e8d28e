/**
 * Sessions in listing order for a store without a database index (the in-memory reference): a
 * sorted array kept by binary search, newest at the end, so that a write usually appends and a
 * page costs a search plus the entries it examines, however many sessions there are.
 */
import { type CatalogPosition, compareListingOrder } from './query.js';

export class SortedSessionIndex {
  // Ascending here means *later* in the listing: positions[length - 1] is listed first.
  readonly #positions: CatalogPosition[] = [];

  get size(): number {
    return this.#positions.length;
  }

  /** Moves `sessionId` from `previous` (if it was indexed) to `next`. */
  move(sessionId: string, previous: number | undefined, next: number): void {
    if (previous !== undefined) this.remove(sessionId, previous);
    const position = { updatedAt: next, sessionId };
    this.#positions.splice(this.#lowerBound(position), 0, position);
  }

  remove(sessionId: string, updatedAt: number): void {
    const at = this.#lowerBound({ updatedAt, sessionId });
    const found = this.#positions[at];
    if (found && found.sessionId === sessionId && found.updatedAt === updatedAt) this.#positions.splice(at, 1);
  }

  /** Positions in listing order, starting strictly after `after` (from the first when undefined). */
  *from(after: CatalogPosition | undefined): Generator<CatalogPosition> {
    for (let i = (after ? this.#lowerBound(after) : this.#positions.length) - 1; i >= 0; i--) {
      yield this.#positions[i]!;
    }
  }

  /** First index whose position is listed at or before `position`. */
  #lowerBound(position: CatalogPosition): number {
    let low = 0;
    let high = this.#positions.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareListingOrder(position, this.#positions[mid]!) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
