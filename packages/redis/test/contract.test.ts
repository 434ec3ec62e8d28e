import { describeSessionContract } from '@sessions/core/testing';
import { RedisSessionStore } from '../src/index.js';
import { itemsKey, redisForTests } from './helpers.js';

// The shared server, a key prefix of this file's own, and a raw client for checks.
const { url, keyPrefix, raw } = await redisForTests('contract');

describeSessionContract('RedisSession (standalone)', {
  createStore: (options) => new RedisSessionStore({ url, keyPrefix, ...options }),
  capabilities: { ttl: true, transactions: true, compaction: true, historyMutations: true },
  inspect: () => ({ storedItemCount: (sessionId) => raw.lLen(itemsKey(keyPrefix, sessionId)) }),
});
