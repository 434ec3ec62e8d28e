/**
 * The metadata row a session handle last saw, handed from writer to writer. A handle that knows
 * the current metadata commits in one round trip; a stale one just loses its first race.
 */
import { SessionWriteQueue } from '@sessions/core';
import type { Meta } from './layout.js';

/** In-process writers of one session hand the metadata they wrote to the next one. */
const writeQueue = new SessionWriteQueue<{ meta: Meta | undefined; known: boolean }>(() => ({
  meta: undefined,
  known: false,
}));

export class KnownMeta {
  /** Undefined = no metadata row; only valid when #known. */
  #meta: Meta | undefined;
  #known = false;

  remember(meta: Meta | undefined): void {
    this.#meta = meta;
    this.#known = true;
  }

  /** The metadata as last seen, or as `read` returns it when this handle has seen none yet. */
  async current(read: () => Promise<Meta | undefined>): Promise<Meta | undefined> {
    if (!this.#known) this.remember(await read());
    return this.#meta;
  }

  /**
   * Queues `write` behind the other writes of this session (`key`) through this client: each
   * then starts from the metadata its predecessor wrote and usually commits in one round trip.
   */
  exclusive<T>(client: object, key: string, write: () => Promise<T>): Promise<T> {
    return writeQueue.run(client, key, async (lane) => {
      if (lane.known && (!this.#known || (lane.meta?.version ?? 0) >= (this.#meta?.version ?? 0))) {
        this.remember(lane.meta);
      }
      try {
        return await write();
      } finally {
        lane.meta = this.#meta;
        lane.known = this.#known;
      }
    });
  }
}
