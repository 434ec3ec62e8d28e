/**
 * Peers on the same servers: LangChain.js chat message histories (Redis, MongoDB, PostgreSQL,
 * DynamoDB) and the Agents SDK's own `MemorySession`. Each is used as its documentation shows;
 * long histories are seeded in the peer's own storage format with one bulk write (the peers'
 * own one-message-at-a-time writes would take minutes), which is what the peer then reads.
 *
 * LangChain histories have no `limit` and no pop: `getItems(20)` is emulated the only way they
 * allow (read everything, keep the newest 20) and shown for information; pop is not measured.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { BaseListChatMessageHistory } from '@langchain/core/chat_history';
import { AIMessage, type BaseMessage, HumanMessage, mapChatMessagesToStoredMessages } from '@langchain/core/messages';
import { MemorySession } from '@openai/agents';
import type { AgentInputItem } from '@sessions/core';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { mongoGroup } from './baselines/mongo.ts';
import { ALL_NATIVE, NATIVE, type Subject, type SubjectSession, type Support } from './subject.ts';

/** LangChain messages carrying the same content as our items (the item's JSON as text). */
export function toMessages(items: AgentInputItem[]): BaseMessage[] {
  return items.map((item, i) => {
    const content = JSON.stringify(item);
    return i % 2 === 0 ? new HumanMessage(content) : new AIMessage(content);
  });
}

const LANGCHAIN_SUPPORT: Subject['supports'] = {
  add1: NATIVE,
  add10: NATIVE,
  getAll: NATIVE,
  getLast20: { kind: 'emulated', how: 'no limit in the API: reads the whole history and keeps the newest 20' },
};

function langchainSession(history: BaseListChatMessageHistory): SubjectSession {
  return {
    async add(batch) {
      const messages = batch as BaseMessage[];
      if (messages.length === 1) await history.addMessage(messages[0]!);
      else await history.addMessages(messages);
    },
    getAll: () => history.getMessages(),
    getLast: async (limit) => (await history.getMessages()).slice(-limit),
    pop: () => Promise.reject(new Error('LangChain chat histories have no pop')),
    clear: () => history.clear(),
  };
}

/** `RedisChatMessageHistory` from `@langchain/redis`, with the client it creates from `config`. */
export async function langchainRedis(url: string): Promise<Subject> {
  const { RedisChatMessageHistory } = await import('@langchain/redis');
  const histories: InstanceType<typeof RedisChatMessageHistory>[] = [];
  const open = (sessionId: string) => {
    const history = new RedisChatMessageHistory({ sessionId, config: { url } });
    histories.push(history);
    return history;
  };
  return {
    role: 'peer',
    label: 'LangChain RedisChatMessageHistory',
    supports: LANGCHAIN_SUPPORT,
    prepare: toMessages,
    session: (id) => langchainSession(open(id)),
    async seed(sessionId, items) {
      const history = open(sessionId);
      await history.clear();
      const stored = mapChatMessagesToStoredMessages(toMessages(items)).map((m) => JSON.stringify(m));
      // LangChain keeps the newest message at the head (LPUSH); LPUSH a b c stores c b a.
      for (let i = 0; i < stored.length; i += 1000) await history.client.lPush(sessionId, stored.slice(i, i + 1000));
    },
    async close() {
      const clients = new Set(histories.map((h) => h.client));
      for (const client of clients) if (client.isOpen) await client.quit();
    },
  };
}

/** `MongoDBChatMessageHistory` from `@langchain/mongodb` on a collection of our own client. */
export async function langchainMongo(url: string): Promise<Subject> {
  const { MongoDBChatMessageHistory } = await import('@langchain/mongodb');
  const client = new MongoClient(url);
  await client.connect();
  const db = client.db('bench_langchain');
  // one collection per group of sessions, as for ours (see `mongoGroup`)
  const collectionFor = (sessionId: string) => db.collection(`chat_histories_${mongoGroup(sessionId)}`);
  type Collection = ConstructorParameters<typeof MongoDBChatMessageHistory>[0]['collection'];
  const open = (sessionId: string) =>
    new MongoDBChatMessageHistory({ collection: collectionFor(sessionId) as unknown as Collection, sessionId });
  return {
    role: 'peer',
    label: 'LangChain MongoDBChatMessageHistory',
    supports: LANGCHAIN_SUPPORT,
    prepare: toMessages,
    session: (id) => langchainSession(open(id)),
    async seed(sessionId, items) {
      const collection = collectionFor(sessionId);
      await collection.deleteOne({ sessionId });
      const stored = mapChatMessagesToStoredMessages(toMessages(items));
      await collection.insertOne({ sessionId, messages: stored });
    },
    close: () => client.close(),
  };
}

/** `PostgresChatMessageHistory` from `@langchain/community` with a `pg` pool. */
export async function langchainPostgres(url: string): Promise<Subject> {
  const { PostgresChatMessageHistory } = await import('@langchain/community/stores/message/postgres');
  const pool = new pg.Pool({ connectionString: url, max: 20 });
  const tableName = 'bench_langchain_chat_histories';
  const open = (sessionId: string) => new PostgresChatMessageHistory({ sessionId, pool, tableName });
  return {
    role: 'peer',
    label: 'LangChain PostgresChatMessageHistory',
    supports: LANGCHAIN_SUPPORT,
    prepare: toMessages,
    session: (id) => langchainSession(open(id)),
    async seed(sessionId, items) {
      const history = open(sessionId);
      await history.clear(); // also creates the table, as LangChain does on first use
      const stored = mapChatMessagesToStoredMessages(toMessages(items));
      for (let i = 0; i < stored.length; i += 5000) {
        const chunk = stored.slice(i, i + 5000);
        const values = chunk.map((_, k) => `($1, $${k + 2})`).join(', ');
        await pool.query(`INSERT INTO ${tableName} (session_id, message) VALUES ${values}`, [
          sessionId,
          ...chunk.map(({ type, data }) => ({ ...data, type })),
        ]);
      }
    },
    close: () => pool.end(),
  };
}

/** `DynamoDBChatMessageHistory` from `@langchain/community` (the whole history in one item). */
export async function langchainDynamo(endpoint: string): Promise<Subject> {
  const { DynamoDBChatMessageHistory } = await import('@langchain/community/stores/message/dynamodb');
  const config = dynamoConfig(endpoint);
  const tableName = 'bench_langchain_chat_histories';
  const admin = new DynamoDBClient(config);
  try {
    await admin.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ResourceInUseException') throw error;
  }
  const histories: InstanceType<typeof DynamoDBChatMessageHistory>[] = [];
  const open = (sessionId: string) => {
    const history = new DynamoDBChatMessageHistory({ tableName, sessionId, config });
    histories.push(history);
    return history;
  };
  return {
    role: 'peer',
    label: 'LangChain DynamoDBChatMessageHistory',
    supports: LANGCHAIN_SUPPORT,
    prepare: toMessages,
    session: (id) => langchainSession(open(id)),
    async seed(sessionId, items) {
      const history = open(sessionId);
      await history.clear();
      // LangChain's own batched write (one UpdateItem appending to the item's list), in slices
      // so that each request stays small; the item as a whole is what the 400 KB limit caps.
      const messages = toMessages(items);
      for (let i = 0; i < messages.length; i += 250) await history.addMessages(messages.slice(i, i + 250));
    },
    async close() {
      for (const h of histories) (h as unknown as { client: DynamoDBClient }).client.destroy();
      admin.destroy();
    },
  };
}

export function dynamoConfig(endpoint: string) {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  };
}

/** The Agents SDK's `MemorySession` (one instance per session id). */
export async function sdkMemorySession(): Promise<Subject> {
  const sessions = new Map<string, MemorySession>();
  const open = (sessionId: string) => {
    let session = sessions.get(sessionId);
    if (!session) {
      session = new MemorySession({ sessionId });
      sessions.set(sessionId, session);
    }
    return session;
  };
  const supports: Record<string, Support> = { ...ALL_NATIVE };
  return {
    role: 'peer',
    label: 'Agents SDK MemorySession',
    supports,
    prepare: (items) => items,
    session(id) {
      const session = open(id);
      return {
        add: (batch) => session.addItems(batch as AgentInputItem[]),
        getAll: () => session.getItems(),
        getLast: (limit) => session.getItems(limit),
        pop: () => session.popItem(),
        clear: () => session.clearSession(),
      };
    },
    async seed(sessionId, items) {
      sessions.set(sessionId, new MemorySession({ sessionId, initialItems: items }));
    },
    async close() {
      sessions.clear();
    },
  };
}
