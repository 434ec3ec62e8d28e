// One smoke test per service: the server really starts (or is found) and a driver can
// connect, write and read back. With CI=true there is no skipping: a missing server fails.
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { MongoClient } from 'mongodb';
import postgres from 'postgres';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { type RunningService, startNativeRedisCluster, startService } from '../src/index.js';

const started: RunningService[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});
async function service(name: RunningService['name']) {
  const s = await startService(name);
  started.push(s);
  return s;
}

describe('test services', () => {
  it('redis: connect, write, read, restart keeps data', async () => {
    const s = await service('redis');
    const client = await createClient({ url: s.url }).connect();
    await client.set('smoke', 'value');
    expect(await client.get('smoke')).toBe('value');
    client.destroy();
    if (s.restart) {
      await s.restart();
      const again = await createClient({ url: s.url }).connect();
      expect(await again.get('smoke')).toBe('value');
      again.destroy();
    }
  });

  it('redis cluster: three masters serve every slot', async () => {
    const cluster = await startNativeRedisCluster();
    try {
      const { createCluster } = await import('redis');
      const client = await createCluster({ rootNodes: cluster.rootNodes }).connect();
      for (const key of ['a', 'b', 'c', '{tag}x', '{tag}y']) await client.set(key, key);
      expect(await client.get('{tag}y')).toBe('{tag}y');
      expect(client.masters).toHaveLength(3);
      await client.close();
    } finally {
      await cluster.stop();
    }
  });

  it('postgres: connect, write, read', async () => {
    const s = await service('postgres');
    const sql = postgres(s.url, { onnotice: () => {} });
    await sql`create table if not exists smoke (id int primary key, body text)`;
    await sql`insert into smoke values (1, ${'a\u00e9😀'}) on conflict (id) do update set body = excluded.body`;
    const rows = await sql`select body from smoke where id = 1`;
    expect(rows[0]?.body).toBe('a\u00e9😀');
    await sql.end();
  });

  it('mongodb protocol (FerretDB or MongoDB): connect, write, read', async () => {
    const s = await service('mongodb');
    const client = await new MongoClient(s.url).connect();
    const collection = client.db('smoke').collection<{ _id: string; body: string }>('smoke');
    await collection.deleteMany({});
    await collection.insertOne({ _id: 'one', body: 'hello' });
    expect(await collection.findOne({ _id: 'one' })).toEqual({ _id: 'one', body: 'hello' });
    await client.close();
  });

  it('dynamodb local: create a table, write, read', async () => {
    const s = await service('dynamodb');
    const client = new DynamoDBClient({
      endpoint: s.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const TableName = `smoke_${Date.now()}`;
    await client.send(
      new CreateTableCommand({
        TableName,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await client.send(new PutItemCommand({ TableName, Item: { pk: { S: 'one' }, body: { S: 'hello' } } }));
    const got = await client.send(new GetItemCommand({ TableName, Key: { pk: { S: 'one' } }, ConsistentRead: true }));
    expect(got.Item?.body?.S).toBe('hello');
    client.destroy();
  });
});
