import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SessionConnectionError, SessionCorruptDataError, SessionStorageError } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { itemRow, itemSk, metaRow, type Row, SORT_KEY } from '../src/engine/layout.js';
import { DynamoDBSession, DynamoDBSessionStore } from '../src/index.js';
import { GENERATION, PK, partition, state } from './engine/pages.js';

// A client that answers from a script instead of DynamoDB: which public method a failure is
// reported under must not depend on a server (and internal steps must never leak through).

type Answer = (input: Record<string, unknown>) => unknown;

function scriptedClient(answers: Record<string, Answer>) {
  const sent: string[] = [];
  const client = {
    async send(command: { input: Record<string, unknown> }) {
      const name = command.constructor.name.replace(/Command$/, '');
      sent.push(name);
      const answer = answers[name];
      if (!answer) throw new Error(`unexpected ${name}`);
      return answer(command.input);
    },
  };
  return { client: client as unknown as DynamoDBClient, sent };
}

const denied = () => {
  throw Object.assign(new Error('User is not authorized to perform this action'), { name: 'AccessDeniedException' });
};
const refused = () => {
  throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
};
const history = partition(['{"type":"message","role":"user","content":"hi"}']).rows;
const query: Answer = () => ({ Items: history });
const noMeta: Answer = () => ({});

async function failure(work: () => Promise<unknown>): Promise<SessionStorageError> {
  const error = await work().then(
    () => expect.fail('the call succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SessionStorageError);
  return error as SessionStorageError;
}

const session = (answers: Record<string, Answer>) =>
  new DynamoDBSessionStore({ client: scriptedClient(answers).client, tableName: 'ops_table' }).session(PK);

describe('SessionStorageError.operation is the public method the caller called', () => {
  it('reads and writes of every primitive', async () => {
    expect((await failure(() => session({ Query: denied }).getItems())).operation).toBe('getItems');
    expect(
      (await failure(() => session({ GetItem: noMeta, TransactWriteItems: denied }).addItems([{ a: 1 }] as never)))
        .operation,
    ).toBe('addItems');
    expect((await failure(() => session({ Query: query, TransactWriteItems: denied }).popItem())).operation).toBe(
      'popItem',
    );
    const tx = {
      operationId: 'op',
      transaction: { type: 'replace_suffix' as const, expectedSuffix: [], replacement: [] },
    };
    tx.transaction.expectedSuffix = [{ type: 'message', role: 'user', content: 'other' }] as never;
    const mismatch = { Query: query, TransactGetItems: denied };
    expect((await failure(() => session(mismatch).applyHistoryTransaction(tx as never))).operation).toBe(
      'applyHistoryTransaction',
    );
    expect(
      (await failure(() => session({ GetItem: noMeta, TransactWriteItems: denied }).replaceHistoryWithCompaction([])))
        .operation,
    ).toBe('replaceHistoryWithCompaction');
    const mutation = { mutations: [{ type: 'replace_function_call', callId: 'c1', replacement: {} }] };
    expect((await failure(() => session({ Query: denied }).applyHistoryMutations(mutation as never))).operation).toBe(
      'applyHistoryMutations',
    );
  });

  it('clearSession, also when its BatchWriteItem step fails', async () => {
    const cleared = { Attributes: metaRow(PK, state({ version: 9, nextSeq: 1, generation: GENERATION + 1 })) };
    const keys = { Items: [{ [SORT_KEY]: { S: itemSk(0) } }] };
    const error = await failure(() =>
      session({ UpdateItem: () => cleared, Query: () => keys, BatchWriteItem: denied }).clearSession(),
    );
    expect(error.operation).toBe('clearSession');
    expect(error.cause).toMatchObject({ name: 'AccessDeniedException' });
  });

  it('setup (and its alias ensureTable), on the store and on a session', async () => {
    const store = new DynamoDBSessionStore({ client: scriptedClient({ CreateTable: denied }).client });
    expect((await failure(() => store.setup())).operation).toBe('setup');
    expect((await failure(() => store.ensureTable())).operation).toBe('setup');
    const standalone = new DynamoDBSession({ sessionId: 's', client: scriptedClient({ CreateTable: denied }).client });
    expect((await failure(() => standalone.setup())).operation).toBe('setup');
    expect((await failure(() => standalone.ensureTable())).operation).toBe('setup');
  });

  it('a table with another key schema fails setup() by that name', async () => {
    const table = {
      Table: {
        TableStatus: 'ACTIVE',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      },
    };
    const { client } = scriptedClient({
      CreateTable: () => {
        throw Object.assign(new Error('Table already exists'), { name: 'ResourceInUseException' });
      },
      DescribeTable: () => table,
    });
    const error = await failure(() => new DynamoDBSessionStore({ client }).setup());
    expect(error.operation).toBe('setup');
    expect(error.message).toMatch(/^setup failed: table agent_sessions exists with another key schema/);
  });

  it('an unreachable endpoint is a SessionConnectionError under the same name', async () => {
    const error = await failure(() => session({ GetItem: refused }).addItems([{ a: 1 }] as never));
    expect(error).toBeInstanceOf(SessionConnectionError);
    expect(error.operation).toBe('addItems');
  });

  it('a read that never sees one consistent state fails under the public name, not "read"', async () => {
    let version = 0;
    const changing: Answer = () => {
      const rows = partition(['"a"', '"b"', '"c"'], { version: ++version }).rows;
      return { Items: rows.filter((row: Row) => row[SORT_KEY]?.S !== itemSk(1)) };
    };
    const error = await failure(() => session({ Query: changing }).getItems());
    expect(error.operation).toBe('getItems');
    expect(error.message).toBe('getItems failed: the session changed during each of 12 reads');
    // The same broken chain at one version is corrupt data.
    const broken: Answer = () => ({
      Items: [
        metaRow(PK, state({ top: 1, nextSeq: 2 })),
        itemRow(PK, GENERATION, { seq: 1, prev: 0, text: '"b"', bytes: 1 }, undefined),
      ],
    });
    await expect(session({ Query: broken }).getItems()).rejects.toBeInstanceOf(SessionCorruptDataError);
  });
});
