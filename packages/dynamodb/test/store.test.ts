import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SessionClosedError, SessionConnectionError, SessionStorageError } from '@sessions/core';
import { freePort } from '@sessions/test-services';
import { describe, expect, it } from 'vitest';
import { DynamoDBSession, DynamoDBSessionStore } from '../src/index.js';
import { clientConfig, endpoint, message, numbered, rawClient, tableForTests } from './helpers.js';

const { tableName, commands, store } = tableForTests('store');

/** The requests `work` sends, by command name. */
async function requests(work: () => Promise<unknown>): Promise<Record<string, number>> {
  commands.reset();
  await work();
  return { ...commands.counts };
}

describe('round trips per operation (what the README states)', () => {
  it('addItems, getItems, popItem, transactions, compaction, clearSession', async () => {
    const session = store.session('round-trips');
    // A new handle knows nothing yet: one consistent read of the metadata row, one transaction.
    expect(await requests(() => session.addItems(numbered('a', 3)))).toEqual({ GetItem: 1, TransactWriteItems: 1 });
    // The same handle again (the runner's pattern): one transaction.
    expect(await requests(() => session.addItems(numbered('b', 98)))).toEqual({ TransactWriteItems: 1 });
    // getItems reads the metadata row and the newest rows in one Query.
    expect(await requests(() => session.getItems(5))).toEqual({ Query: 1 });
    expect(await requests(() => session.getItems())).toEqual({ Query: 1 });
    // After a read the next write needs no extra read.
    const other = store.session('round-trips');
    await other.getItems(1);
    expect(await requests(() => other.addItems([message('c')]))).toEqual({ TransactWriteItems: 1 });
    // Another handle's write made this one's metadata stale: one failed attempt teaches it.
    expect(await requests(() => session.addItems([message('d')]))).toEqual({ TransactWriteItems: 2 });
    expect(await requests(() => session.popItem())).toEqual({ Query: 1, TransactWriteItems: 1 });
    expect(
      await requests(() =>
        session.applyHistoryTransaction({
          operationId: 'append',
          transaction: { type: 'append_items', items: [message('e')] },
        }),
      ),
    ).toEqual({ TransactWriteItems: 1 });
    expect(
      await requests(() =>
        session.applyHistoryTransaction({
          operationId: 'replace',
          transaction: { type: 'replace_suffix', expectedSuffix: [message('e')], replacement: [message('f')] },
        }),
      ),
    ).toEqual({ Query: 1, TransactWriteItems: 1 });
    // A stale suffix: the suffix read, then one serializable read of metadata + operation id.
    commands.reset();
    await expect(
      session.applyHistoryTransaction({
        operationId: 'stale',
        transaction: { type: 'replace_suffix', expectedSuffix: [message('e')], replacement: [] },
      }),
    ).rejects.toMatchObject({ reason: 'suffix_mismatch' });
    expect(commands.counts).toEqual({ Query: 1, TransactGetItems: 1 });
    // Compaction: one transaction, then the old rows are found and deleted.
    expect(await requests(() => session.replaceHistoryWithCompaction([message('summary')]))).toEqual({
      TransactWriteItems: 1,
      Query: 1,
      BatchWriteItem: 5,
    });
    expect(await requests(() => session.clearSession())).toEqual({ UpdateItem: 1, Query: 1, BatchWriteItem: 1 });
    expect(await session.getItems()).toEqual([]);
  });
});

describe('clients', () => {
  it("close() leaves the caller's client usable; sessions of the closed store refuse work", async () => {
    const borrowed = rawClient();
    const own = new DynamoDBSessionStore({ client: borrowed, tableName });
    const session = own.session('borrowed');
    await session.addItems([message('kept')]);
    await own.close();
    await expect(session.getItems()).rejects.toBeInstanceOf(SessionClosedError);
    await expect(own.ensureTable()).rejects.toBeInstanceOf(SessionClosedError);
    // The client still works, for a standalone session too.
    const standalone = new DynamoDBSession({ sessionId: 'borrowed', client: borrowed, tableName });
    expect(await standalone.getItems()).toEqual([message('kept')]);
    borrowed.destroy();
  });

  it('a store built from clientConfig creates its client and destroys it in close()', async () => {
    const owned = new DynamoDBSessionStore({ clientConfig: clientConfig(), tableName });
    expect(owned.client).toBeInstanceOf(DynamoDBClient);
    let destroyed = false;
    const destroy = owned.client.destroy.bind(owned.client);
    owned.client.destroy = () => {
      destroyed = true;
      destroy();
    };
    await owned.session('owned').addItems([message('x')]);
    await owned.close();
    expect(destroyed).toBe(true);
  });
});

describe('url', () => {
  it('a store built from a dynamodb:// URL (credentials, endpoint, table, TTL) owns its client', async () => {
    const host = endpoint.replace(/^https?:\/\//, '');
    const fromUrl = new DynamoDBSessionStore({
      url: `dynamodb://local:local+secret@${host}/${tableName}?region=us-east-1&createTable=false&ttlSeconds=3600`,
    });
    expect(fromUrl.tableName).toBe(tableName);
    expect(fromUrl.ttlSeconds).toBe(3600);
    await fromUrl.session('from-url').addItems([message('via url')]);
    expect(await store.session('from-url').getItems()).toEqual([message('via url')]);
    expect(JSON.stringify(fromUrl)).not.toContain('local+secret');
    let destroyed = false;
    const destroy = fromUrl.client.destroy.bind(fromUrl.client);
    fromUrl.client.destroy = () => {
      destroyed = true;
      destroy();
    };
    await fromUrl.close();
    expect(destroyed).toBe(true);
  });
});

describe('errors', () => {
  it('an unreachable endpoint is a SessionConnectionError with the SDK error as cause', async () => {
    const port = await freePort();
    const unreachable = new DynamoDBSessionStore({
      clientConfig: clientConfig({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 }),
      tableName,
    });
    const error = await unreachable
      .session('x')
      .getItems()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionConnectionError);
    expect((error as SessionConnectionError).cause).toBeInstanceOf(Error);
    const writeError = await unreachable
      .session('x')
      .addItems([message('lost')])
      .catch((e: unknown) => e);
    expect(writeError).toBeInstanceOf(SessionConnectionError);
    await expect(unreachable.ensureTable()).rejects.toBeInstanceOf(SessionConnectionError);
    await unreachable.close();
  });

  it('throttling is retried with backoff; other DynamoDB errors surface as SessionStorageError with the cause', async () => {
    const flaky = rawClient();
    let throttles = 2;
    let failNext: string | undefined;
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand' && throttles > 0) {
          throttles--;
          throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
            name: 'ProvisionedThroughputExceededException',
          });
        }
        if (failNext && context.commandName === failNext) {
          failNext = undefined;
          throw Object.assign(new Error('User is not authorized to perform: dynamodb:Query'), {
            name: 'AccessDeniedException',
          });
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const flakyStore = new DynamoDBSessionStore({ client: flaky, tableName });
    const session = flakyStore.session('flaky');
    await session.addItems([message('despite throttling')]);
    expect(throttles).toBe(0);
    failNext = 'QueryCommand';
    const error = await session.getItems().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStorageError);
    expect(error).not.toBeInstanceOf(SessionConnectionError);
    expect((error as SessionStorageError).cause).toMatchObject({ name: 'AccessDeniedException' });
    expect((error as SessionStorageError).operation).toBe('getItems');
    expect(await session.getItems()).toEqual([message('despite throttling')]);
    flaky.destroy();
  });
});
