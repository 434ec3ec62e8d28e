import { describeSessionContract } from '@sessions/core/testing';
import { type RunningRedisCluster, startNativeRedisCluster } from '@sessions/test-services';
import { createCluster, type RedisClusterType } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../src/index.js';
import { expectKeysOwnedByOneSession, itemsKey, scanKeys, uniquePrefix } from './helpers.js';

// A real Redis Cluster of three masters on loopback (redis-server --cluster-enabled yes,
// joined with redis-cli --cluster create), used through a node-redis cluster client.
let cluster: RunningRedisCluster;
let client: RedisClusterType;
const keyPrefix = uniquePrefix('cluster');

beforeAll(async () => {
  cluster = await startNativeRedisCluster();
  client = createCluster({ rootNodes: cluster.rootNodes });
  client.on('error', () => {});
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

describeSessionContract('RedisSession (cluster of three masters)', {
  createStore: (options) => new RedisSessionStore({ client, keyPrefix, ...options }),
  capabilities: { ttl: true, transactions: true, compaction: true, historyMutations: true },
  inspect: () => ({ storedItemCount: (sessionId) => client.lLen(itemsKey(keyPrefix, sessionId)) }),
});

describe('cluster layout', () => {
  it('sessions spread over all three masters while the keys of one session share one slot', async () => {
    const store = new RedisSessionStore({ client, keyPrefix: `${keyPrefix}_layout`, ttlSeconds: 600 });
    const ids = Array.from({ length: 30 }, (_, i) => `user-${i}:{chat}`);
    for (const id of ids) {
      const session = store.session(id);
      await session.addItems([{ type: 'message', role: 'user', content: id }]);
      await session.applyHistoryTransaction({
        operationId: 'op',
        transaction: { type: 'append_items', items: [{ type: 'message', role: 'assistant', content: 'ok' }] },
      });
    }
    const masters = client.masters.map((master) => client.nodeClient(master));
    const perMaster = await Promise.all(
      masters.map(async (node) => (await scanKeys([await node], `${keyPrefix}_layout:*`)).length),
    );
    expect(
      perMaster.every((count) => count > 0),
      `keys per master: ${perMaster}`,
    ).toBe(true);
    const keys = await scanKeys(await Promise.all(masters), `${keyPrefix}_layout:*`);
    expect(keys).toHaveLength(ids.length * 3);
    const anyMaster = await masters[0]!;
    for (const id of ids) {
      const base = `${keyPrefix}_layout:{${encodeURIComponent(id)}}`;
      const slots = await Promise.all(
        ['items', 'ops', 'optimes'].map((kind) => anyMaster.sendCommand(['CLUSTER', 'KEYSLOT', `${base}:${kind}`])),
      );
      expect(new Set(slots).size, `slots of ${id}`).toBe(1);
      expect(await store.session(id).getItems()).toHaveLength(2);
    }
    await store.close();
  });

  it('setup() checks the cluster through its client, which it neither connects nor closes', async () => {
    const store = new RedisSessionStore({ client, keyPrefix: `${keyPrefix}_setup` });
    await store.setup();
    await store.close();
    expect(client.isOpen).toBe(true);
  });

  it('keys of sessions with tricky ids never overlap (SCAN of every master)', async () => {
    await using store = new RedisSessionStore({ client, keyPrefix: `${keyPrefix}_tricky`, ttlSeconds: 600 });
    const masters = await Promise.all(client.masters.map((master) => client.nodeClient(master)));
    await expectKeysOwnedByOneSession(store, masters);
  });
});
