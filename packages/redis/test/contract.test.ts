import { describeSessionContract } from '@sessions/core/testing';
import { createClient } from 'redis';
import { afterAll, inject } from 'vitest';
import { RedisSessionStore } from '../src/index.js';
import { deleteKeys, itemsKey, scanKeys, uniquePrefix } from './helpers.js';

const url = inject('redisUrl');
const keyPrefix = uniquePrefix('contract');
// A separate client for raw checks, so the suite sees what really landed.
const raw = createClient({ url });
raw.on('error', () => {});
await raw.connect();

afterAll(async () => {
  await deleteKeys(raw, await scanKeys([raw], `${keyPrefix}:*`));
  await raw.close();
});

describeSessionContract('RedisSession (standalone)', {
  createStore: (options) => new RedisSessionStore({ url, keyPrefix, ...options }),
  capabilities: { ttl: true, transactions: true, compaction: true, historyMutations: true },
  inspect: () => ({ storedItemCount: (sessionId) => raw.lLen(itemsKey(keyPrefix, sessionId)) }),
});
