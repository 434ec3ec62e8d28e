// Every backend that has landed, opened on the real test servers with a per-run namespace.
import type { FullSession, SessionStore } from '@sessions/core';
import { InMemorySessionStore } from '@sessions/core';
import { DynamoDBSessionStore } from '@sessions/dynamodb';
import { MongoSessionStore } from '@sessions/mongo';
import { PostgresSessionStore } from '@sessions/postgres';
import { RedisSessionStore } from '@sessions/redis';
import { SqliteSessionStore } from '@sessions/sqlite';
import { inject } from 'vitest';

export interface Backend {
  name: string;
  open(): Promise<SessionStore<FullSession>>;
}

const run = `it${Date.now().toString(36)}`;

export const backends: Backend[] = [
  { name: 'memory', open: async () => new InMemorySessionStore() },
  { name: 'sqlite', open: async () => new SqliteSessionStore({ url: ':memory:' }) },
  { name: 'redis', open: async () => new RedisSessionStore({ url: inject('redisUrl'), keyPrefix: run }) },
  {
    name: 'postgres',
    open: async () => new PostgresSessionStore({ url: inject('postgresUrl'), tablePrefix: `${run}_` }),
  },
  {
    name: 'dynamodb',
    open: async () =>
      new DynamoDBSessionStore({
        clientConfig: {
          endpoint: inject('dynamodbEndpoint'),
          region: 'us-east-1',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        },
        tableName: `${run}_sessions`,
      }),
  },
  { name: 'mongo', open: async () => new MongoSessionStore({ url: inject('mongodbUrl'), database: run }) },
];
