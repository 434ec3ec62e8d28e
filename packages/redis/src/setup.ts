import { backfillCatalog } from './engine/catalog.js';
import { catalogKeys } from './engine/keys.js';
import { PROBE } from './engine/scripts.js';
import type { RedisSessionClient } from './options.js';

/**
 * Redis has no schema, table or index to create: keys appear with the first write and scripts
 * are loaded on first use (EVALSHA, then EVAL after a NOSCRIPT reply). So `setup()` checks,
 * in one round trip, that the server answers, accepts the credentials, and lets this user run
 * scripts on keys under `keyPrefix` (the declared key is never written); then it backfills the
 * catalog: one SCAN pass (every master of a cluster) that indexes sessions written before the
 * catalog existed, or whose index write was lost. It writes nothing when every session is indexed.
 * It is not memoised (each call checks again) and operations never wait for it.
 */
export async function setupRedis(client: RedisSessionClient, keyPrefix: string): Promise<void> {
  await client.eval(PROBE, { keys: [`${keyPrefix}:setup`], arguments: [] });
  await backfillCatalog(client, keyPrefix, catalogKeys(keyPrefix));
}
