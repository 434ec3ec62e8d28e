/**
 * For the catalog figures: how to open a store of each backend in a namespace of its own (so a
 * listing sees exactly the sessions seeded for it), how to drop that namespace again, and which
 * package holds the previous release (for the write-path comparison, see `previous.ts`).
 */
import type { AgentInputItem, JsonValue, ListSessionsOptions, SessionPage } from '@sessions/core';
import { MONGO_DATABASE } from './baselines/mongo.ts';
import { dynamoConfig } from './peers.ts';
import type { RoundTripCounter } from './proxy.ts';
import { countDriverCalls } from './roundtrips.ts';

export interface CatalogSession {
  addItems(items: AgentInputItem[]): Promise<void>;
  updateMetadata(patch: Record<string, JsonValue | null>): Promise<unknown>;
}

/** What the catalog scenario uses of a store (the previous release has no `listSessions`). */
export interface CatalogStore {
  listSessions?(options?: ListSessionsOptions): Promise<SessionPage>;
  session(id: string): CatalogSession;
  setup?(): Promise<void>;
  close(): Promise<void>;
}

export type StoreClass = new (options: Record<string, unknown>) => CatalogStore;

export interface OpenedStore {
  store: CatalogStore;
  /** SQLite on a file: calls into `@libsql/client`, counted in place of round trips. */
  driverCalls?: RoundTripCounter;
  close(): Promise<void>;
}

export interface CatalogSpec {
  /** Our store's class, as built in the workspace. */
  current(): Promise<StoreClass>;
  /** The export of the previous release that is the store (see `loadPrevious`). */
  previous: { packageDir: string; subject: string; exportName: string; entry?: string };
  /**
   * Opens `Store` in namespace `ns` (letters, digits, `_`) of the server at `url`. `bulkLoad`: the
   * store is about to be seeded with many sessions, durability may be relaxed (as the test servers
   * already do: PostgreSQL runs with fsync off, Redis with appendfsync everysec).
   */
  open(Store: StoreClass, url: string, ns: string, options?: { bulkLoad?: boolean }): Promise<OpenedStore>;
  /** Removes everything namespace `ns` holds (bounded; the namespace may not exist). */
  drop(url: string, ns: string): Promise<void>;
  /**
   * Smaller stores where seeding the run's sizes through the store would take far longer than the
   * run allows (local emulators); the run's own size applies when it is smaller.
   */
  sizes?: { small: number; large: number };
  /** Concurrent seeding writers, where the run's 32 only queue up on the server. */
  seedConcurrency?: number;
}

async function load(packageName: string, exportName: string): Promise<StoreClass> {
  const mod = (await import(packageName)) as Record<string, unknown>;
  const cls = mod[exportName];
  if (typeof cls !== 'function') throw new Error(`${packageName} does not export ${exportName} (is it built?)`);
  return cls as StoreClass;
}

async function opened(store: CatalogStore, extra: Partial<OpenedStore> = {}): Promise<OpenedStore> {
  await store.setup?.();
  return { store, close: () => store.close(), ...extra };
}

export const memoryCatalog: CatalogSpec = {
  current: () => load('@sessions/core', 'InMemorySessionStore'),
  // the in-memory store's own module: at that commit the package's index did not bundle on its own
  previous: {
    packageDir: 'core',
    subject: 'core',
    exportName: 'InMemorySessionStore',
    entry: 'src/memory/in-memory.ts',
  },
  // every instance has storage of its own
  open: (Store) => opened(new Store({})),
  drop: async () => {},
};

/** `fileFor(ns)` is a `file:` URL in the run's temporary directory (removed at exit). */
export function sqliteCatalog(fileFor: (ns: string) => string): CatalogSpec {
  return {
    current: () => load('@sessions/sqlite', 'SqliteSessionStore'),
    previous: { packageDir: 'sqlite', subject: 'sqlite', exportName: 'SqliteSessionStore' },
    async open(Store, _url, ns, options) {
      // opened as the bench's other SQLite store is (WAL, busy timeout), so its calls can be counted
      const { createClient } = await import('@libsql/client');
      const client = createClient({ url: fileFor(ns), timeout: 5000 });
      await client.execute('PRAGMA journal_mode = WAL');
      // an fsync per commit would make 100,000 sessions take half an hour on a busy disk
      if (options?.bulkLoad) await client.execute('PRAGMA synchronous = OFF');
      const driverCalls = countDriverCalls(client);
      const store = new Store({ client });
      return opened(store, {
        driverCalls,
        close: async () => {
          await store.close();
          client.close();
        },
      });
    },
    async drop(_url, ns) {
      const { rmSync } = await import('node:fs');
      const { fileURLToPath } = await import('node:url');
      const path = fileURLToPath(fileFor(ns));
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
    },
  };
}

const pgPrefix = (ns: string) => `bench_${ns}_`;

export const postgresCatalog: CatalogSpec = {
  current: () => load('@sessions/postgres', 'PostgresSessionStore'),
  previous: { packageDir: 'postgres', subject: 'postgres', exportName: 'PostgresSessionStore' },
  open: async (Store, url, ns) => opened(new Store({ url, tablePrefix: pgPrefix(ns) })),
  async drop(url, ns) {
    const { default: postgres } = await import('postgres');
    const sql = postgres(url, { onnotice: () => {}, max: 1 });
    try {
      const tables = await sql<{ name: string }[]>`
        SELECT tablename AS name FROM pg_tables
        WHERE schemaname = 'public' AND starts_with(tablename, ${pgPrefix(ns)})`;
      for (const { name } of tables) await sql.unsafe(`DROP TABLE IF EXISTS "public"."${name}" CASCADE`);
    } finally {
      await sql.end({ timeout: 5 });
    }
  },
};

const redisPrefix = (ns: string) => `bench_${ns}`;

export const redisCatalog: CatalogSpec = {
  current: () => load('@sessions/redis', 'RedisSessionStore'),
  previous: { packageDir: 'redis', subject: 'redis', exportName: 'RedisSessionStore' },
  open: async (Store, url, ns) => opened(new Store({ url, keyPrefix: redisPrefix(ns) })),
  async drop(url, ns) {
    const { createClient } = await import('redis');
    const client = createClient({ url });
    client.on('error', () => {});
    await client.connect();
    try {
      // bounded: a few hundred thousand keys at 1,000 per SCAN step
      let cursor = '0';
      for (let step = 0; step < 5_000; step++) {
        const reply = await client.scan(cursor, { MATCH: `${redisPrefix(ns)}:*`, COUNT: 1000 });
        if (reply.keys.length > 0) await client.unlink(reply.keys);
        cursor = String(reply.cursor);
        if (cursor === '0') break;
      }
    } finally {
      await client.close();
    }
  },
};

const mongoPrefix = (ns: string) => `b_${ns}_`;

export const mongoCatalog: CatalogSpec = {
  current: () => load('@sessions/mongo', 'MongoSessionStore'),
  previous: { packageDir: 'mongo', subject: 'mongo', exportName: 'MongoSessionStore' },
  // FerretDB 1.x answers every query with a collection scan and runs writes one at a time: about
  // ten sessions a second, slower as the collections grow. 100 and 1,000 fit in the time allowed;
  // more writers only wait in line (32 of them ran into the 10 s operation timeout).
  sizes: { small: 100, large: 1_000 },
  seedConcurrency: 4,
  async open(Store, url, ns) {
    const { MongoClient } = await import('mongodb');
    const client = new MongoClient(url);
    await client.connect();
    const store = new Store({ client, database: MONGO_DATABASE, collectionPrefix: mongoPrefix(ns) });
    return opened(store, {
      close: async () => {
        await store.close();
        await client.close();
      },
    });
  },
  async drop(url, ns) {
    const { MongoClient } = await import('mongodb');
    const client = new MongoClient(url);
    await client.connect();
    try {
      const db = client.db(MONGO_DATABASE);
      const names = await db.listCollections({}, { nameOnly: true }).toArray();
      for (const { name } of names) if (name.startsWith(mongoPrefix(ns))) await db.dropCollection(name);
    } finally {
      await client.close();
    }
  },
};

const dynamoTable = (ns: string) => `bench_${ns}`;

export const dynamoCatalog: CatalogSpec = {
  current: () => load('@sessions/dynamodb', 'DynamoDBSessionStore'),
  previous: { packageDir: 'dynamodb', subject: 'dynamodb', exportName: 'DynamoDBSessionStore' },
  // DynamoDB Local (a Java emulator on SQLite) writes a few hundred items a second here
  sizes: { small: 1_000, large: 10_000 },
  open: async (Store, url, ns) => opened(new Store({ clientConfig: dynamoConfig(url), tableName: dynamoTable(ns) })),
  async drop(url, ns) {
    const { DynamoDBClient, DeleteTableCommand } = await import('@aws-sdk/client-dynamodb');
    const client = new DynamoDBClient(dynamoConfig(url));
    try {
      await client.send(new DeleteTableCommand({ TableName: dynamoTable(ns) }));
    } catch (error) {
      if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
    } finally {
      client.destroy();
    }
  },
};
