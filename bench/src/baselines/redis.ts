/**
 * Raw node-redis baseline: the least a hand-written Redis history must do for the same results,
 * on the same keys our store uses (so it reads the very lists our store wrote): `RPUSH` of the
 * batch (one command, atomic), `LRANGE` of everything or of the newest 20, `RPOP`, with plain
 * `JSON.stringify`/`JSON.parse`. One round trip per operation, like ours. What it skips is what
 * our store adds: validation, canonical JSON, the sliding-TTL bookkeeping in the Lua script.
 */
import type { AgentInputItem } from '@sessions/core';
import { createClient } from 'redis';
import { ALL_NATIVE, type Subject } from '../subject.ts';

/** The key layout of `@sessions/redis` with its default prefix. */
export function redisItemsKey(sessionId: string): string {
  return `sessions:{${encodeURIComponent(sessionId)}}:items`;
}

export async function rawRedis(url: string): Promise<Subject> {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  const parse = (texts: string[]) => texts.map((t) => JSON.parse(t) as AgentInputItem);
  return {
    role: 'raw',
    label: 'raw node-redis (RPUSH / LRANGE / RPOP)',
    supports: ALL_NATIVE,
    prepare: (items) => items,
    session(id) {
      const key = redisItemsKey(id);
      return {
        async add(batch) {
          await client.rPush(
            key,
            (batch as AgentInputItem[]).map((item) => JSON.stringify(item)),
          );
        },
        getAll: async () => parse(await client.lRange(key, 0, -1)),
        getLast: async (limit) => parse(await client.lRange(key, -limit, -1)),
        async pop() {
          const text = await client.rPop(key);
          return text === null ? undefined : (JSON.parse(text) as AgentInputItem);
        },
        async clear() {
          await client.del(key);
        },
      };
    },
    async seed(id, items) {
      const key = redisItemsKey(id);
      await client.del(key);
      for (let i = 0; i < items.length; i += 1000) {
        await client.rPush(
          key,
          items.slice(i, i + 1000).map((item) => JSON.stringify(item)),
        );
      }
    },
    async close() {
      await client.close();
    },
  };
}
