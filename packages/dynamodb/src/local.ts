import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Meta } from './layout.js';

/** Writers of one session in this process, queued, with the metadata the last one left. */
interface Lane {
  tail: Promise<void>;
  waiting: number;
  meta: Meta | undefined;
  known: boolean;
}

const lanes = new WeakMap<DynamoDBClient, Map<string, Lane>>();

/**
 * Runs the writes of one session that share a client one after another, in call order.
 * Correctness never depends on it (every write is a conditional write that loses cleanly to
 * another process), but writers in one process would otherwise mostly make each other retry:
 * queued, each one starts from the metadata its predecessor just wrote and commits in one
 * round trip. Each handle's own metadata is handed over through `adopt` and `leave`.
 */
export async function inLane<T>(
  client: DynamoDBClient,
  key: string,
  adopt: (meta: Meta | undefined) => void,
  leave: () => { meta: Meta | undefined; known: boolean },
  write: () => Promise<T>,
): Promise<T> {
  let perClient = lanes.get(client);
  if (!perClient) {
    perClient = new Map();
    lanes.set(client, perClient);
  }
  let lane = perClient.get(key);
  if (!lane) {
    lane = { tail: Promise.resolve(), waiting: 0, meta: undefined, known: false };
    perClient.set(key, lane);
  }
  const previous = lane.tail;
  let release!: () => void;
  lane.tail = new Promise<void>((resolve) => {
    release = resolve;
  });
  lane.waiting++;
  await previous;
  try {
    if (lane.known) adopt(lane.meta);
    return await write();
  } finally {
    const { meta, known } = leave();
    lane.meta = meta;
    lane.known = known;
    lane.waiting--;
    if (lane.waiting === 0) perClient.delete(key);
    release();
  }
}
