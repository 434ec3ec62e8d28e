/**
 * The line-up: for every backend, our store, its raw-driver baseline and its peers. Backends in
 * the registry (their descriptors) that have no hand-written entry here are measured too: ours
 * only, opened from the descriptor's test URL, with no baseline or peer until someone writes them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKEND_DESCRIPTORS } from '@sessions/cli';
import { rawDynamo } from './baselines/dynamodb.ts';
import { rawMongo } from './baselines/mongo.ts';
import { rawMySQL } from './baselines/mysql.ts';
import { rawPostgres } from './baselines/postgres.ts';
import { rawRedis } from './baselines/redis.ts';
import { rawSqlite } from './baselines/sqlite.ts';
import {
  dynamoCatalog,
  memoryCatalog,
  mongoCatalog,
  postgresCatalog,
  redisCatalog,
  sqliteCatalog,
} from './catalog-stores.ts';
import {
  oursDynamo,
  oursFromDescriptor,
  oursInMemory,
  oursMongo,
  oursPostgres,
  oursRedis,
  oursSqlite,
} from './ours.ts';
import { langchainDynamo, langchainMongo, langchainPostgres, langchainRedis, sdkMemorySession } from './peers.ts';
import type { BackendSpec } from './subject.ts';

/** A temporary directory for the SQLite file, removed at exit. */
let sqliteDir: string | undefined;
function sqliteUrl(name = 'bench'): string {
  sqliteDir ??= mkdtempSync(join(tmpdir(), 'sessions-bench-sqlite-'));
  return `file:${join(sqliteDir, `${name}.db`)}`;
}
export function removeSqliteFiles(): void {
  if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
}

const MEASURED: BackendSpec[] = [
  {
    name: 'memory',
    packageName: '@sessions/core (InMemorySessionStore)',
    roundTrips: 'in-process',
    ours: { role: 'ours', label: '@sessions/core InMemorySessionStore', create: () => oursInMemory() },
    peers: [{ role: 'peer', label: 'Agents SDK MemorySession', create: () => sdkMemorySession() }],
    catalog: memoryCatalog,
  },
  {
    name: 'sqlite',
    packageName: '@sessions/sqlite',
    roundTrips: 'in-process',
    ours: { role: 'ours', label: '@sessions/sqlite', create: () => oursSqlite(sqliteUrl()) },
    raw: {
      role: 'raw',
      label: 'raw @libsql/client',
      create: () => rawSqlite(sqliteUrl()),
      sharesStorageWith: 'ours',
    },
    peers: [],
    catalog: sqliteCatalog(sqliteUrl),
  },
  {
    name: 'redis',
    packageName: '@sessions/redis',
    service: 'redis',
    roundTrips: 'proxy',
    ours: { role: 'ours', label: '@sessions/redis', create: oursRedis },
    raw: { role: 'raw', label: 'raw node-redis', create: rawRedis, sharesStorageWith: 'ours' },
    peers: [{ role: 'peer', label: 'LangChain RedisChatMessageHistory', create: langchainRedis }],
    catalog: redisCatalog,
  },
  {
    name: 'postgres',
    packageName: '@sessions/postgres',
    service: 'postgres',
    roundTrips: 'proxy',
    ours: { role: 'ours', label: '@sessions/postgres', create: oursPostgres },
    raw: { role: 'raw', label: 'raw postgres.js', create: rawPostgres, sharesStorageWith: 'ours' },
    peers: [{ role: 'peer', label: 'LangChain PostgresChatMessageHistory', create: langchainPostgres }],
    catalog: postgresCatalog,
  },
  {
    name: 'mongo',
    packageName: '@sessions/mongo',
    service: 'mongodb',
    roundTrips: 'proxy',
    // FerretDB scans the whole pop collection for every call (~0.1 s per pop with 3,000 items):
    // a few dozen pops are all the time budget allows, and a smaller session keeps each one honest
    popSeed: 400,
    ours: { role: 'ours', label: '@sessions/mongo', create: oursMongo },
    raw: { role: 'raw', label: 'raw mongodb driver', create: rawMongo, sharesStorageWith: 'ours' },
    peers: [{ role: 'peer', label: 'LangChain MongoDBChatMessageHistory', create: langchainMongo }],
    catalog: mongoCatalog,
  },
  {
    name: 'mysql',
    packageName: '@sessions/mysql',
    service: 'mysql',
    roundTrips: 'proxy',
    ours: {
      role: 'ours',
      label: '@sessions/mysql',
      // From the descriptor's test URL: tables prefixed `bench_`, which the raw baseline reads too.
      create: (url) => oursFromDescriptor(BACKEND_DESCRIPTORS.find((d) => d.name === 'mysql')!, url),
    },
    raw: { role: 'raw', label: 'raw mysql2', create: rawMySQL, sharesStorageWith: 'ours' },
    peers: [],
  },
  {
    name: 'dynamodb',
    packageName: '@sessions/dynamodb',
    service: 'dynamodb',
    roundTrips: 'proxy',
    ours: { role: 'ours', label: '@sessions/dynamodb', create: oursDynamo },
    raw: { role: 'raw', label: 'raw @aws-sdk/client-dynamodb', create: rawDynamo, sharesStorageWith: 'ours' },
    peers: [{ role: 'peer', label: 'LangChain DynamoDBChatMessageHistory', create: langchainDynamo }],
    catalog: dynamoCatalog,
  },
];

/** A hand-written entry's name for a descriptor (the bench says `mongo` where the CLI says `mongodb`). */
const ALIASES: Record<string, string> = { mongodb: 'mongo' };

export const BACKENDS: BackendSpec[] = [
  ...MEASURED,
  ...BACKEND_DESCRIPTORS.filter((d) => !MEASURED.some((spec) => spec.name === (ALIASES[d.name] ?? d.name))).map(
    (descriptor): BackendSpec => ({
      name: descriptor.name,
      packageName: descriptor.packageName,
      ...(descriptor.testServer.service === 'none' ? {} : { service: descriptor.testServer.service }),
      roundTrips: descriptor.testServer.service === 'none' ? 'in-process' : 'proxy',
      ours: {
        role: 'ours',
        label: descriptor.packageName,
        create: (url) => oursFromDescriptor(descriptor, url || undefined),
      },
      peers: [],
    }),
  ),
];
