// Type-level proof that core's protocol and every session class in the repo are accepted by
// the real SDK wherever it takes a session, and that the capabilities match the SDK's shapes.
import type {
  Session as SdkSession,
  SessionHistoryRewriteAwareSession,
  SessionHistoryTransactionAwareSession,
} from '@openai/agents-core';
import type { FullSession, InMemorySession, Session } from '@sessions/core';
import type { DynamoDBSession } from '@sessions/dynamodb';
import type { MongoSession } from '@sessions/mongo';
import type { PostgresSession } from '@sessions/postgres';
import type { RedisSession } from '@sessions/redis';
import type { SqliteSession } from '@sessions/sqlite';
import { describe, expectTypeOf, it } from 'vitest';

describe('assignability to the SDK', () => {
  it('core protocol types', () => {
    expectTypeOf<Session>().toExtend<SdkSession>();
    expectTypeOf<SdkSession>().toExtend<Session>();
    expectTypeOf<FullSession>().toExtend<SessionHistoryTransactionAwareSession>();
    expectTypeOf<FullSession>().toExtend<SessionHistoryRewriteAwareSession>();
    expectTypeOf<FullSession['replaceHistoryWithCompaction']>().toExtend<
      NonNullable<SdkSession['replaceHistoryWithCompaction']>
    >();
  });

  it('every session class', () => {
    expectTypeOf<InMemorySession>().toExtend<SdkSession>();
    expectTypeOf<InMemorySession>().toExtend<SessionHistoryTransactionAwareSession>();
    expectTypeOf<InMemorySession>().toExtend<SessionHistoryRewriteAwareSession>();
    expectTypeOf<SqliteSession>().toExtend<SessionHistoryTransactionAwareSession>();
    expectTypeOf<SqliteSession>().toExtend<SessionHistoryRewriteAwareSession>();
    expectTypeOf<RedisSession>().toExtend<SessionHistoryTransactionAwareSession>();
    expectTypeOf<RedisSession>().toExtend<SessionHistoryRewriteAwareSession>();
    expectTypeOf<PostgresSession>().toExtend<SessionHistoryTransactionAwareSession>();
    expectTypeOf<PostgresSession>().toExtend<SessionHistoryRewriteAwareSession>();
    expectTypeOf<DynamoDBSession>().toExtend<SessionHistoryTransactionAwareSession>();
    expectTypeOf<DynamoDBSession>().toExtend<SessionHistoryRewriteAwareSession>();
    expectTypeOf<MongoSession>().toExtend<SessionHistoryTransactionAwareSession>();
    expectTypeOf<MongoSession>().toExtend<SessionHistoryRewriteAwareSession>();
  });
});
