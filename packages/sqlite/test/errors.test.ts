import { join } from 'node:path';
import type { Client } from '@libsql/client';
import {
  type AgentInputItem,
  SessionAuthenticationError,
  SessionClosedError,
  SessionConnectionError,
  SessionError,
  SessionStorageError,
  SessionTimeoutError,
  SessionValidationError,
} from '@sessions/core';
import { afterAll, describe, expect, it } from 'vitest';
import { LockWaitExpired, markOwned } from '../src/engine/busy-retry.js';
import { isAuthenticationFailure, isFetchFailure, rootCauseDetail, toSqliteSessionError } from '../src/errors.js';
import { SqliteSession, SqliteSessionStore } from '../src/index.js';
import { fileUrl, rawClient, tempDir, uniquePrefix } from './helpers.js';

const tmp = tempDir('errors');
afterAll(() => tmp.remove());

const message = (content: string): AgentInputItem => ({ type: 'message', role: 'user', content });
const coded = (text: string, code: string, cause?: unknown) => Object.assign(new Error(text, { cause }), { code });
const fetchFailed = (cause: unknown) => new TypeError('fetch failed', { cause });

/** Every public operation (through a session, or on the store), and the name its failure must carry. */
const calls: [string, (store: SqliteSessionStore) => Promise<unknown>][] = [
  ['getItems', (store) => store.session('s').getItems()],
  ['addItems', (store) => store.session('s').addItems([message('x')])],
  ['popItem', (store) => store.session('s').popItem()],
  ['clearSession', (store) => store.session('s').clearSession()],
  [
    'applyHistoryTransaction',
    (store) =>
      store
        .session('s')
        .applyHistoryTransaction({ operationId: 'op', transaction: { type: 'append_items', items: [message('x')] } }),
  ],
  ['replaceHistoryWithCompaction', (store) => store.session('s').replaceHistoryWithCompaction([message('summary')])],
  [
    'applyHistoryMutations',
    (store) =>
      store.session('s').applyHistoryMutations({
        mutations: [
          {
            type: 'replace_function_call',
            callId: 'c',
            replacement: { type: 'function_call', callId: 'c', name: 'f', arguments: '{}' },
          },
        ],
      }),
  ],
  ['setup', (store) => store.setup()],
  // The old name of setup(): the same call, reported as `setup`.
  ['setup', (store) => store.migrate()],
  ['deleteExpired', (store) => store.deleteExpired()],
];

/** A few of them: one read, one write, and the store's own. */
const someCalls = calls.filter(([name]) => ['getItems', 'addItems', 'setup', 'deleteExpired'].includes(name));

async function failure(call: Promise<unknown>): Promise<SessionError> {
  const error = await call.then(
    () => expect.fail('the call succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SessionError);
  return error as SessionError;
}

describe('operation names: always the public method the caller called', () => {
  it('a database that cannot be opened: every session and store operation names itself', async () => {
    await using store = new SqliteSessionStore({ url: fileUrl(join(tmp.dir, 'missing-dir', 'x.db')) });
    for (const [name, call] of calls) {
      const error = await failure(call(store));
      expect(error, name).toBeInstanceOf(SessionStorageError);
      expect((error as SessionStorageError).operation).toBe(name);
      expect(error.message.startsWith(`${name} failed: `), error.message).toBe(true);
    }
  });

  it("a schema from a newer release is reported by setup() as 'setup' and lazily by the operation that met it", async () => {
    const url = fileUrl(join(tmp.dir, 'newer.db'));
    const prefix = uniquePrefix('newer');
    {
      await using first = new SqliteSessionStore({ url, tablePrefix: prefix });
      await first.setup();
    }
    const raw = rawClient(url);
    await raw.execute(`UPDATE "${prefix}schema" SET version = 3`);
    raw.close();
    for (const [name, call] of someCalls) {
      await using store = new SqliteSessionStore({ url, tablePrefix: prefix });
      const error = await failure(call(store));
      expect(error).toBeInstanceOf(SessionStorageError);
      expect((error as SessionStorageError).operation).toBe(name);
      expect(error.message).toMatch(/schema version 3, written by a newer @sessions\/sqlite/);
    }
  });

  it("a client reopened onto another file after SQLITE_BUSY fails the caller's operation, not 'reconnect'", async () => {
    // A stand-in for a file client the store opened itself, whose reconnect lands on another file.
    let file = 0;
    let batches = 0;
    const client = {
      protocol: 'file',
      closed: false,
      execute: async () => ({ rows: [{ name: 'main', file: `/db/${file}.db` }] }),
      reconnect: async () => {
        file++;
      },
      close() {
        client.closed = true;
      },
      batch: async () => {
        // The first batch is the schema (the current version read back); every write after it is busy.
        if (batches++ === 0) return [{ rows: [{ version: 2 }] }];
        throw coded('SQLITE_BUSY: database is locked', 'SQLITE_BUSY');
      },
    };
    markOwned(client as unknown as Client);
    const session = new SqliteSession({ sessionId: 's', client: client as unknown as Client });
    const error = await failure(session.addItems([message('x')]));
    expect(error).toBeInstanceOf(SessionStorageError);
    expect((error as SessionStorageError).operation).toBe('addItems');
    expect(error.message).toMatch(/reached another file; the client was closed/);
    expect(client.closed).toBe(true);
  });
});

describe('a remote libSQL server that is down is a SessionConnectionError (issues #15, #16)', () => {
  for (const url of ['http://127.0.0.1:1', 'https://127.0.0.1:1', 'libsql://127.0.0.1:1']) {
    it(`${url}: fetch failed`, async () => {
      await using store = new SqliteSessionStore({ url });
      for (const [name, call] of someCalls) {
        const error = await failure(call(store));
        expect(error, `${name}: ${error.message}`).toBeInstanceOf(SessionConnectionError);
        expect((error as SessionConnectionError).operation).toBe(name);
        expect(error.code).toBe('CONNECTION');
      }
    });
  }
});

describe('toSqliteSessionError', () => {
  it('fetch failures of the HTTP transport are connection errors, whatever undici put underneath', () => {
    const shapes: unknown[] = [
      fetchFailed(new Error('bad port')),
      fetchFailed(coded('connect ECONNREFUSED 127.0.0.1:8080', 'ECONNREFUSED')),
      fetchFailed(coded('read ECONNRESET', 'ECONNRESET')),
      fetchFailed(coded('getaddrinfo ENOTFOUND db.example', 'ENOTFOUND')),
      fetchFailed(coded('other side closed', 'UND_ERR_SOCKET')),
      fetchFailed(coded('Connect Timeout Error', 'UND_ERR_CONNECT_TIMEOUT')),
      // libSQL wrapping the fetch failure in an error of its own.
      coded('SERVER_ERROR: fetch failed', 'SERVER_ERROR', fetchFailed(coded('x', 'UND_ERR_HEADERS_TIMEOUT'))),
      coded('socket closed', 'UND_ERR_CLOSED'),
      // workerd's fetch (Cloudflare Workers): refused, reset or dropped (see test/workerd.test.ts).
      new Error('Network connection lost.'),
      coded('HRANA_WEBSOCKET_ERROR: connect ECONNREFUSED', 'HRANA_WEBSOCKET_ERROR'),
    ];
    for (const shape of shapes) {
      const error = toSqliteSessionError('getItems', shape);
      expect(error, String(shape)).toBeInstanceOf(SessionConnectionError);
      expect((error as SessionConnectionError).operation).toBe('getItems');
      expect(error.cause).toBe(shape);
    }
  });

  it('other errors keep their kind', () => {
    const credentials = new TypeError(
      'Request cannot be constructed from a URL that includes credentials: http://u:p@h/',
    );
    expect(isFetchFailure(credentials)).toBe(false);
    const storage = toSqliteSessionError('addItems', credentials);
    expect(storage).toBeInstanceOf(SessionStorageError);
    expect(storage).not.toBeInstanceOf(SessionConnectionError);
    const busy = toSqliteSessionError('popItem', coded('SQLITE_BUSY: database is locked', 'SQLITE_BUSY'));
    expect(busy).toBeInstanceOf(SessionStorageError);
    expect(busy).not.toBeInstanceOf(SessionConnectionError);
    expect((busy as SessionStorageError).operation).toBe('popItem');
    expect(toSqliteSessionError('getItems', coded('closed', 'CLIENT_CLOSED'))).toBeInstanceOf(SessionClosedError);
    const invalid = toSqliteSessionError('setup', coded('URL_INVALID: bad authority', 'URL_INVALID'));
    expect(invalid).toBeInstanceOf(SessionValidationError);
    expect(invalid.message).toBe('setup failed: URL_INVALID: bad authority');
  });
});

describe('toSqliteSessionError: refused credentials, lock waits, root causes (issue #15)', () => {
  /** What `@libsql/client` throws for an HTTP error status: hrana's HttpServerError inside a LibsqlError. */
  const httpStatus = (status: number) =>
    coded(
      `SERVER_ERROR: Server returned HTTP status ${status}`,
      'SERVER_ERROR',
      Object.assign(new Error(`Server returned HTTP status ${status}`), { name: 'HttpServerError', status }),
    );

  it("HTTP 401 / 403 and the server's AUTH_* codes are SessionAuthenticationError, not retryable", () => {
    const shapes: unknown[] = [
      httpStatus(401),
      httpStatus(403),
      // Over WebSocket: sqld's hello_error codes become the LibsqlError's code.
      coded('AUTH_JWT_INVALID: Authentication failed: The JWT is invalid', 'AUTH_JWT_INVALID'),
      coded('AUTH_JWT_EXPIRED: The JWT has expired', 'AUTH_JWT_EXPIRED'),
      coded('x', 'HRANA_CLOSED_ERROR', coded('Authentication failed', 'AUTH_HTTP_HEADER_MISSING')),
    ];
    for (const shape of shapes) {
      expect(isAuthenticationFailure(shape), String(shape)).toBe(true);
      const error = toSqliteSessionError('getItems', shape);
      expect(error, String(shape)).toBeInstanceOf(SessionAuthenticationError);
      expect(error).not.toBeInstanceOf(SessionConnectionError);
      expect(error.code).toBe('AUTHENTICATION');
      expect(error.retryable).toBe(false);
      expect((error as SessionAuthenticationError).operation).toBe('getItems');
      expect(error.cause).toBe(shape);
    }
    // Other statuses keep their kind.
    for (const status of [400, 404, 500, 502]) {
      const error = toSqliteSessionError('addItems', httpStatus(status));
      expect(error, String(status)).not.toBeInstanceOf(SessionAuthenticationError);
      expect(error).toBeInstanceOf(SessionStorageError);
    }
    expect(isAuthenticationFailure(coded('SQLITE_AUTH: not authorized', 'SQLITE_AUTH'))).toBe(false);
  });

  it('a lock held elsewhere until the deadline is a SessionTimeoutError that says nothing was written', () => {
    const busy = coded('SQLITE_BUSY: database is locked', 'SQLITE_BUSY');
    const error = toSqliteSessionError('addItems', new LockWaitExpired(1500, busy));
    expect(error).toBeInstanceOf(SessionTimeoutError);
    expect(error).toBeInstanceOf(SessionConnectionError);
    const timeout = error as SessionTimeoutError;
    expect(timeout.code).toBe('TIMEOUT');
    expect(timeout.retryable).toBe(true);
    expect(timeout.mayHaveApplied).toBe(false);
    expect(timeout.timeoutMs).toBe(1500);
    expect(timeout.operation).toBe('addItems');
    expect(timeout.cause).toBe(busy);
  });

  it('connection errors name the root cause, not only the wrapper', () => {
    const refused = fetchFailed(coded('connect ECONNREFUSED 127.0.0.1:8080', 'ECONNREFUSED'));
    expect(rootCauseDetail(refused)).toBe('fetch failed: connect ECONNREFUSED 127.0.0.1:8080');
    const error = toSqliteSessionError('getItems', refused);
    expect(error).toBeInstanceOf(SessionConnectionError);
    expect(error.message).toBe('getItems failed: fetch failed: connect ECONNREFUSED 127.0.0.1:8080');
    // A cause already quoted by its wrapper is not repeated.
    const ws = coded(
      'HRANA_WEBSOCKET_ERROR: connect ECONNREFUSED 127.0.0.1:1',
      'HRANA_WEBSOCKET_ERROR',
      new Error('connect ECONNREFUSED 127.0.0.1:1'),
    );
    expect(rootCauseDetail(ws)).toBe('HRANA_WEBSOCKET_ERROR: connect ECONNREFUSED 127.0.0.1:1');
  });
});
