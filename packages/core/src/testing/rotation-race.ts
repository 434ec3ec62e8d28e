import type { Session } from '../protocol/session.js';

/**
 * A rolling key rotation, bounded in count and time: new instances write with `[new, old]`, an
 * old instance still holding only `[old]` writes and pops at the same time. Every item carries a
 * unique tag; an acknowledged item must end up either still stored or returned by a pop. Used by
 * core's tests on the in-memory store and by backends' tests on real servers.
 */
export interface RotationRaceOptions {
  /** A handle that knows only the old key (a fresh one per call is fine). */
  oldInstance(): Session;
  /** A handle that writes with the new key and reads both. */
  newInstance(): Session;
  writes: number;
  pops: number;
  deadlineMs: number;
}

export interface RotationRaceResult {
  /** Tags acknowledged by `addItems` that are neither stored nor returned by a pop. */
  destroyed: string[];
  popsDone: number;
  /** Pops that met an item they could not read on top (and so removed nothing). */
  unreadableNewest: number;
}

export async function rotationRace(options: RotationRaceOptions): Promise<RotationRaceResult> {
  const deadline = Date.now() + options.deadlineMs;
  const acknowledged = new Set<string>();
  const popped = new Set<string>();
  let popsDone = 0;
  let unreadableNewest = 0;
  let writesLeft = options.writes;
  const writer = async (name: string, open: () => Session) => {
    const session = open();
    while (writesLeft > 0 && Date.now() < deadline) {
      writesLeft--;
      const tag = `${name}-${writesLeft}`;
      await session.addItems([{ type: 'message', role: 'user', content: tag }]);
      acknowledged.add(tag);
    }
  };
  const popper = async () => {
    const session = options.oldInstance();
    for (let i = 0; i < options.pops && Date.now() < deadline; i++) {
      try {
        const item = await session.popItem();
        popsDone++;
        if (item === undefined) unreadableNewest++;
        else popped.add(String(item.content));
      } catch (error) {
        if ((error as Error).name !== 'SessionDecryptionError') throw error;
        unreadableNewest++;
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  };
  await Promise.all([
    writer('new-a', options.newInstance),
    writer('new-b', options.newInstance),
    writer('old', options.oldInstance),
    popper(),
    popper(),
  ]);
  const stored = new Set<string>();
  const reader = options.newInstance();
  for (const item of await reader.getItems()) stored.add(String(item.content));
  const destroyed = [...acknowledged].filter((tag) => !stored.has(tag) && !popped.has(tag));
  return { destroyed, popsDone, unreadableNewest };
}
