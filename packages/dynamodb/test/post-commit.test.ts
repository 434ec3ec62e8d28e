import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBSessionStore } from '../src/index.js';
import { dropTable, message, numbered, partitionRows, rawClient, screenshot, uniqueTable } from './helpers.js';

// Work a write does after its transaction committed (deleting rows that are already off the
// chain) must never make the write fail: the caller would retry a change that is stored.
const tableName = uniqueTable('postcommit');
const raw = rawClient();
const store = new DynamoDBSessionStore({ client: raw, tableName });
let run = 0;
const id = (label: string) => `postcommit-${label}-${run++}`;

beforeAll(() => store.ensureTable());
afterAll(async () => {
  await store.close();
  await dropTable(raw, tableName);
  raw.destroy();
});

const connectionReset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

/**
 * A real client whose `send` fails chosen requests with a connection error (the request never
 * reaches DynamoDB Local). `failAfterCommit` names commands that fail once each after every
 * committed `TransactWriteItems`; `failNext` names commands that fail once, whenever they come.
 */
function flakyClient() {
  const client = rawClient();
  const failAfterCommit = new Set<string>();
  const failNext = new Set<string>();
  const armed = new Set<string>();
  const sent: string[] = [];
  const failed: string[] = [];
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  (client as unknown as { send: (command: unknown) => Promise<unknown> }).send = async (command) => {
    const name = (command as object).constructor.name.replace(/Command$/, '');
    sent.push(name);
    if (failNext.delete(name) || armed.delete(name)) {
      failed.push(name);
      throw connectionReset();
    }
    const result = await send(command);
    if (name === 'TransactWriteItems') for (const next of failAfterCommit) armed.add(next);
    return result;
  };
  return { client: client as DynamoDBClient, failAfterCommit, failNext, sent, failed };
}

describe('cleanup after a commit is best effort', () => {
  it('a TTL handle wrote, a no-TTL handle writes: the re-stamp happens before the commit, a retry never duplicates', async () => {
    const sessionId = id('restamp');
    const ttlStore = new DynamoDBSessionStore({ client: raw, tableName, ttlSeconds: 60 });
    await ttlStore.session(sessionId).addItems([message('a')]);
    const flaky = flakyClient();
    const forever = new DynamoDBSessionStore({ client: flaky.client, tableName }).session(sessionId);
    // Every request that could follow the commit fails once: addItems still succeeds, once.
    for (const name of ['UpdateItem', 'BatchWriteItem', 'Query', 'GetItem']) flaky.failAfterCommit.add(name);
    await forever.addItems([message('b')]);
    expect(await store.session(sessionId).getItems()).toEqual([message('a'), message('b')]);
    // The commit came after the rows lost their TTL (the session is permanent now).
    const stamps = flaky.sent.filter((name) => name === 'UpdateItem' || name === 'TransactWriteItems');
    expect(stamps.at(-1)).toBe('TransactWriteItems');
    expect(stamps).toContain('UpdateItem');
    const rows = await partitionRows(raw, tableName, sessionId);
    expect(rows.filter((row) => row.expiresAt !== undefined)).toEqual([]);
    expect(rows.find((row) => row.sk?.S === 'm')?.rowsExpireAt).toBeUndefined();
    flaky.client.destroy();
  });

  it('a failed re-stamp fails the write before anything is stored; the retry applies it exactly once', async () => {
    const sessionId = id('restamp-fails');
    const ttlStore = new DynamoDBSessionStore({ client: raw, tableName, ttlSeconds: 60 });
    await ttlStore.session(sessionId).addItems([message('a')]);
    const flaky = flakyClient();
    const forever = new DynamoDBSessionStore({ client: flaky.client, tableName }).session(sessionId);
    flaky.failNext.add('UpdateItem');
    await expect(forever.addItems([message('b')])).rejects.toMatchObject({ name: 'SessionConnectionError' });
    expect(flaky.failed).toEqual(['UpdateItem']);
    expect(flaky.sent).not.toContain('TransactWriteItems');
    expect(await store.session(sessionId).getItems()).toEqual([message('a')]);
    await forever.addItems([message('b')]);
    expect(await store.session(sessionId).getItems()).toEqual([message('a'), message('b')]);
    expect((await partitionRows(raw, tableName, sessionId)).filter((row) => row.expiresAt !== undefined)).toEqual([]);
    // The same for a pop: a failed re-stamp leaves the item where it was.
    await ttlStore.session(sessionId).addItems([message('c')]);
    flaky.failNext.add('UpdateItem');
    await expect(forever.popItem()).rejects.toMatchObject({ name: 'SessionConnectionError' });
    expect(await store.session(sessionId).getItems()).toEqual([message('a'), message('b'), message('c')]);
    expect(await forever.popItem()).toEqual(message('c'));
    expect(await store.session(sessionId).getItems()).toEqual([message('a'), message('b')]);
    flaky.client.destroy();
  });

  it('popItem of an item too large to delete in its transaction succeeds when deleting the rest fails', async () => {
    const sessionId = id('pop-overflow');
    const big = screenshot(1_500_000, 'big'); // 5 chunk rows: not all fit in one transaction's 4 MB
    await store.session(sessionId).addItems([message('first'), big]);
    const flaky = flakyClient();
    const session = new DynamoDBSessionStore({ client: flaky.client, tableName }).session(sessionId);
    flaky.failAfterCommit.add('BatchWriteItem');
    expect(await session.popItem()).toEqual(big);
    expect(flaky.failed).toEqual(['BatchWriteItem']);
    expect(await store.session(sessionId).getItems()).toEqual([message('first')]);
    // Nothing was popped twice: the next pop gets the next item.
    expect(await session.popItem()).toEqual(message('first'));
    expect(await session.popItem()).toBeUndefined();
    flaky.client.destroy();
  });

  it('replaceHistoryWithCompaction succeeds when deleting the old rows fails', async () => {
    const sessionId = id('compaction');
    await store.session(sessionId).addItems(numbered('old', 5));
    const flaky = flakyClient();
    const session = new DynamoDBSessionStore({ client: flaky.client, tableName }).session(sessionId);
    flaky.failAfterCommit.add('Query');
    flaky.failAfterCommit.add('BatchWriteItem');
    await session.replaceHistoryWithCompaction([message('summary')]);
    expect(flaky.failed).toEqual(['Query']);
    expect(await store.session(sessionId).getItems()).toEqual([message('summary')]);
    await session.addItems([message('next')]);
    expect(await store.session(sessionId).getItems()).toEqual([message('summary'), message('next')]);
    flaky.client.destroy();
  });
});
