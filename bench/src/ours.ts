/**
 * Our stores, wrapped as subjects. Each backend package is loaded with a dynamic import so that a
 * backend that is missing or not built yet is reported as unavailable (with the error) instead of
 * stopping the whole run.
 */
import { openSessionStore } from '@sessions/cli';
import type { AgentInputItem, BackendDescriptor, Session } from '@sessions/core';
import { DYNAMO_TABLE } from './baselines/dynamodb.ts';
import { MONGO_DATABASE, mongoGroup } from './baselines/mongo.ts';
import { dynamoConfig } from './peers.ts';
import { countDriverCalls } from './roundtrips.ts';
import { ALL_NATIVE, type Subject } from './subject.ts';

interface Store {
  session(id: string): Session;
  close(): Promise<void>;
}

interface SetupStore extends Store {
  setup(): Promise<void>;
}

export function storeSubject(label: string, store: Store, seedChunk: number, extra: Partial<Subject> = {}): Subject {
  return {
    role: 'ours',
    label,
    supports: ALL_NATIVE,
    prepare: (items) => items,
    session(id) {
      const session = store.session(id);
      return {
        add: (batch) => session.addItems(batch as AgentInputItem[]),
        getAll: () => session.getItems(),
        getLast: (limit) => session.getItems(limit),
        pop: () => session.popItem(),
        clear: () => session.clearSession(),
      };
    },
    async seed(id, items) {
      const session = store.session(id);
      await session.clearSession();
      for (let i = 0; i < items.length; i += seedChunk) await session.addItems(items.slice(i, i + seedChunk));
    },
    close: () => store.close(),
    ...extra,
  };
}

type StoreClass = new (options: Record<string, unknown>) => Store;

async function load(packageName: string, exportName: string): Promise<StoreClass> {
  const mod = (await import(packageName)) as Record<string, unknown>;
  const cls = mod[exportName];
  if (typeof cls !== 'function') {
    throw new Error(`${packageName} does not export ${exportName} yet (is the package built?)`);
  }
  return cls as StoreClass;
}

export async function oursInMemory(): Promise<Subject> {
  const { InMemorySessionStore } = await import('@sessions/core');
  return storeSubject('@sessions/core InMemorySessionStore', new InMemorySessionStore(), 1000);
}

/**
 * `url` is a `file:` URL. The store gets a client opened the way it opens its own file clients
 * (WAL, busy timeout), so that calls into `@libsql/client` can be counted on it.
 */
export async function oursSqlite(url: string): Promise<Subject> {
  const Store = await load('@sessions/sqlite', 'SqliteSessionStore');
  const { createClient } = await import('@libsql/client');
  const client = createClient({ url, timeout: 5000 });
  await client.execute('PRAGMA journal_mode = WAL');
  const driverCalls = countDriverCalls(client);
  const store = new Store({ client }) as SetupStore;
  await store.setup();
  return storeSubject('@sessions/sqlite', store, 1000, {
    driverCalls,
    close: async () => {
      await store.close();
      client.close();
    },
  });
}

export async function oursRedis(url: string): Promise<Subject> {
  const Store = await load('@sessions/redis', 'RedisSessionStore');
  return storeSubject('@sessions/redis', new Store({ url }), 1000);
}

export async function oursPostgres(url: string): Promise<Subject> {
  const Store = await load('@sessions/postgres', 'PostgresSessionStore');
  const store = new Store({ url }) as SetupStore;
  await store.setup();
  return storeSubject('@sessions/postgres', store, 1000);
}

/**
 * `@sessions/mongo` stores one document per `addItems` call, so the seeding batch shapes what a
 * read fetches: histories are seeded in batches of 100 items (100 documents for 10,000 items).
 * Each group of sessions gets its own collections (`collectionPrefix`), see `mongoGroup`.
 */
export async function oursMongo(url: string): Promise<Subject> {
  const Store = await load('@sessions/mongo', 'MongoSessionStore');
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(url);
  await client.connect();
  const stores = new Map<string, Store>();
  const storeFor = (sessionId: string) => {
    const group = mongoGroup(sessionId);
    let store = stores.get(group);
    if (!store) {
      store = new Store({ client, database: MONGO_DATABASE, collectionPrefix: `b_${group}_` });
      stores.set(group, store);
    }
    return store;
  };
  const routed: Store = {
    session: (id) => storeFor(id).session(id),
    async close() {
      for (const store of stores.values()) await store.close();
      await client.close();
    },
  };
  return storeSubject('@sessions/mongo', routed, 100);
}

export async function oursDynamo(endpoint: string): Promise<Subject> {
  const Store = await load('@sessions/dynamodb', 'DynamoDBSessionStore');
  const store = new Store({ clientConfig: dynamoConfig(endpoint), tableName: DYNAMO_TABLE }) as SetupStore;
  await store.setup();
  return storeSubject('@sessions/dynamodb', store, 90);
}

/** Any backend of the registry, opened from its descriptor's test URL on the bench's server. */
export async function oursFromDescriptor(
  descriptor: BackendDescriptor,
  serverUrl: string | undefined,
): Promise<Subject> {
  const store = (await openSessionStore(descriptor.testServer.storeUrl(serverUrl, 'bench'))) as unknown as SetupStore;
  await store.setup();
  return storeSubject(descriptor.packageName, store, 100);
}
