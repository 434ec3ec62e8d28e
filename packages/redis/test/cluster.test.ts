import { SessionTimeoutError } from '@sessions/core';
import { describeSessionContract } from '@sessions/core/testing';
import { type RunningRedisCluster, startFaultProxy, startNativeRedisCluster } from '@sessions/test-services';
import { createCluster, type RedisClusterType } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../src/index.js';
import {
  expectCatalogSelfRepair,
  expectKeysOwnedByOneSession,
  type IndexEditor,
  itemsKey,
  scanKeys,
  uniquePrefix,
} from './helpers.js';
import { oldAppend } from './old-layout.js';

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
    // Four keys per session, and the prefix's two catalog keys (in one slot of their own).
    expect(keys).toHaveLength(ids.length * 4 + 2);
    const anyMaster = await masters[0]!;
    for (const id of ids) {
      const base = `${keyPrefix}_layout:{${encodeURIComponent(id)}}`;
      const slots = await Promise.all(
        ['items', 'ops', 'optimes', 'meta'].map((kind) =>
          anyMaster.sendCommand(['CLUSTER', 'KEYSLOT', `${base}:${kind}`]),
        ),
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

describe('catalog on a cluster (the index lives in another slot than every session)', () => {
  const message = (content: string) => ({ type: 'message', role: 'user', content });

  it('a damaged index is repaired while listing and on the next write; deleted sessions are never listed', async () => {
    await using store = new RedisSessionStore({ client, keyPrefix: `${keyPrefix}_repair` });
    await expectCatalogSelfRepair(store, client as unknown as IndexEditor);
  });

  it('concurrent writers on sessions of every master: each listed once, in order, with exact counts', async () => {
    await using store = new RedisSessionStore({ client, keyPrefix: `${keyPrefix}_busy` });
    const ids = Array.from({ length: 12 }, (_, i) => `busy-${i}`);
    await Promise.all(
      Array.from({ length: 24 }, async (_, w) => {
        const session = store.session(ids[w % ids.length]!);
        for (let b = 0; b < 4; b++) {
          await session.addItems([message(`w${w}b${b}`)]);
          if (b === 1) await session.popItem();
          await session.updateMetadata({ [`w${w}`]: b });
        }
      }),
    );
    const listed = [];
    for await (const info of store.sessions({ pageSize: 5 })) listed.push(info);
    expect(listed.map((info) => info.sessionId).sort()).toEqual([...ids].sort());
    for (let i = 1; i < listed.length; i++) {
      expect(listed[i - 1]!.updatedAt.getTime()).toBeGreaterThanOrEqual(listed[i]!.updatedAt.getTime());
    }
    for (const info of listed) {
      expect(info.itemCount).toBe((await store.session(info.sessionId).getItems()).length);
      expect(Object.keys(info.metadata)).toHaveLength(2);
    }
  });

  it('setup() backfills sessions of the old layout from every master', async () => {
    const prefix = `${keyPrefix}_old`;
    const ids = Array.from({ length: 15 }, (_, i) => `old-${i}`);
    for (const id of ids) await oldAppend(client, prefix, id, [JSON.stringify(message(id))]);
    await using store = new RedisSessionStore({ client, keyPrefix: prefix });
    expect((await store.listSessions()).sessions).toEqual([]);
    await store.setup();
    const { sessions } = await store.listSessions();
    expect(sessions.map((info) => info.sessionId).sort()).toEqual([...ids].sort());
    expect(sessions.every((info) => info.itemCount === 1)).toBe(true);
  });
});

describe('one master stops answering (a fault proxy between the client and that master)', () => {
  const TIMEOUT_MS = 1_000;
  const BOUND_MS = TIMEOUT_MS + 1_000;
  const message = (content: string) => ({ type: 'message', role: 'user', content });
  const elapsed = async (call: () => Promise<unknown>) => {
    const started = performance.now();
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    return { error, ms: performance.now() - started };
  };

  /** A cluster client of its own whose connection to the first master goes through a proxy. */
  async function clusterThroughProxy() {
    const target = new URL(cluster.rootNodes[0]!.url);
    const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
    const proxied = createCluster({
      rootNodes: cluster.rootNodes.slice(1),
      nodeAddressMap: (address: string) =>
        address === `${target.hostname}:${target.port}` ? { host: '127.0.0.1', port: proxy.port } : undefined,
    });
    proxied.on('error', () => {});
    await proxied.connect();
    // A session whose slot the proxied master serves, and one served by another master.
    const prefix = `${keyPrefix}_fault`;
    const anyMaster = await client.nodeClient(client.masters[1]!);
    const ids: { behind?: string; direct?: string } = {};
    for (let i = 0; i < 200 && !(ids.behind && ids.direct); i++) {
      const slot = Number(await anyMaster.sendCommand(['CLUSTER', 'KEYSLOT', itemsKey(prefix, `s-${i}`)]));
      const behind = String(proxied.slots[slot]!.master.port) === target.port;
      if (behind) ids.behind ??= `s-${i}`;
      else ids.direct ??= `s-${i}`;
    }
    const store = new RedisSessionStore({ client: proxied, keyPrefix: prefix, timeoutMs: TIMEOUT_MS });
    return { proxy, proxied, store, behind: store.session(ids.behind!), direct: store.session(ids.direct!) };
  }

  it('blackhole: calls on that master end in SessionTimeoutError within the deadline; other masters keep answering', async () => {
    const { proxy, proxied, store, behind, direct } = await clusterThroughProxy();
    try {
      await behind.addItems([message('before')]);
      await direct.addItems([message('before')]);
      proxy.set('blackhole');
      const read = await elapsed(() => behind.getItems());
      expect(read.error).toBeInstanceOf(SessionTimeoutError);
      expect(read.error).toMatchObject({ mayHaveApplied: false, operation: 'getItems' });
      expect(read.ms).toBeLessThan(BOUND_MS);
      const write = await elapsed(() => behind.addItems([message('lost')]));
      expect(write.error).toBeInstanceOf(SessionTimeoutError);
      expect(write.error).toMatchObject({ mayHaveApplied: true, operation: 'addItems' });
      expect(write.ms).toBeLessThan(BOUND_MS);
      const other = await elapsed(() => direct.getItems());
      expect(other.error).toBeUndefined();
      expect(other.ms).toBeLessThan(TIMEOUT_MS);
    } finally {
      // A blackhole loses bytes inside an open connection (no real TCP path does): the
      // client's stream to that master cannot be trusted again, so it is discarded.
      await store.close();
      proxied.destroy();
      await proxy.close();
    }
  });

  it('stall then pass: the same caller-owned cluster client works again, the store never touched it', async () => {
    const { proxy, proxied, store, behind } = await clusterThroughProxy();
    try {
      await behind.clearSession();
      await behind.addItems([message('before')]);
      proxy.set('stall');
      const read = await elapsed(() => behind.getItems());
      expect(read.error).toBeInstanceOf(SessionTimeoutError);
      expect(read.ms).toBeLessThan(BOUND_MS);
      proxy.set('pass');
      expect(await behind.getItems()).toEqual([message('before')]);
      expect(proxied.isOpen).toBe(true);
    } finally {
      await store.close();
      await proxied.close();
      await proxy.close();
    }
  });
});
