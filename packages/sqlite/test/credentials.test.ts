import { inspect } from 'node:util';
import { createClient } from '@libsql/client';
import { SessionError, SessionStorageError } from '@sessions/core';
import { describeCredentialSafety, expectNoCredential, LEAK_MARKER } from '@sessions/core/testing';
import { describe, expect, it } from 'vitest';
import { SqliteSessionStore } from '../src/index.js';

// Port 1 on 127.0.0.1: nothing listens there (and Node's fetch refuses it at once), so every
// failing call fails within milliseconds. Passwords go into the URL raw, not percent-encoded.
describeCredentialSafety('sqlite (password in the url)', {
  createStore: (password) => new SqliteSessionStore({ url: `http://app:${password}@127.0.0.1:1` }),
});

describeCredentialSafety('sqlite (authToken)', {
  createStore: (password) => new SqliteSessionStore({ url: 'http://127.0.0.1:1', authToken: password }),
});

describe('libSQL over HTTP puts the URL, password included, in the driver error (issue #13, finding 4)', () => {
  it('the cause chain is masked: util.inspect, JSON.stringify, every message and stack', async () => {
    const password = 'S3CRETpw';
    await using store = new SqliteSessionStore({ url: `http://app:${password}@127.0.0.1:1` });
    const error = await store
      .session('s')
      .getItems()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStorageError);
    // The driver error this is about is really in the chain (fetch refuses URLs with credentials
    // and quotes the URL), with its URL masked rather than dropped.
    const causes: Error[] = [];
    for (let e = (error as Error).cause; e instanceof Error; e = e.cause) causes.push(e);
    expect(causes.map((e) => e.message).join('\n')).toMatch(
      /Request cannot be constructed from a URL that includes credentials: http:\/\/\*\*\*@127\.0\.0\.1:1\/v2\/pipeline/,
    );
    const printed = [
      inspect(error, { depth: 20 }),
      inspect(error, { depth: 20, showHidden: true }),
      JSON.stringify(error),
      String(error),
      (error as Error).stack ?? '',
      ...causes.flatMap((e) => [e.message, e.stack ?? '', inspect(e, { depth: 20 })]),
    ];
    for (const text of printed) expect(text).not.toContain(LEAK_MARKER);
    expectNoCredential(error, 'the error');
    expect(error).toBeInstanceOf(SessionError);
  });

  it('console.log(store) shows the URL masked, the table prefix and who owns the client; never a token', () => {
    const store = new SqliteSessionStore({ url: 'http://app:S3CRETpw@127.0.0.1:1', authToken: 'S3CRETtoken' });
    const shown = inspect(store, { depth: 20 });
    expect(shown).toContain("url: 'http://***@127.0.0.1:1'");
    expect(shown).toContain("tablePrefix: 'agents_'");
    expect(shown).toContain('ownsClient: true');
    expect(JSON.parse(JSON.stringify(store))).toEqual({
      url: 'http://***@127.0.0.1:1',
      tablePrefix: 'agents_',
      ownsClient: true,
      timeoutMs: 10_000,
      closed: false,
    });
    expect(shown + JSON.stringify(store)).not.toContain(LEAK_MARKER);
    return store.close();
  });

  it("a store on a caller's client shows no URL and says it does not own the client", async () => {
    const client = createClient({ url: ':memory:' });
    const store = new SqliteSessionStore({ client, tablePrefix: 'mine_', ttlSeconds: 60 });
    expect(JSON.parse(JSON.stringify(store))).toEqual({
      tablePrefix: 'mine_',
      ownsClient: false,
      ttlSeconds: 60,
      timeoutMs: 10_000,
      closed: false,
    });
    await store.close();
    client.close();
  });
});
