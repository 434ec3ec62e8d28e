import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  SessionAuthenticationError,
  SessionConnectionError,
  SessionStorageError,
  SessionTimeoutError,
} from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { AUTHENTICATION_ERRORS, toDynamoDBSessionError } from '../src/errors.js';
import { DynamoDBSessionStore } from '../src/index.js';

// The mapping of the AWS SDK's errors, without a server. DynamoDB Local accepts any credentials
// (only a malformed access key id is refused), so the authentication names are checked here.

const named = (name: string, message = `${name} message`) => Object.assign(new Error(message), { name });
const table = { tableName: 't_err', createIfMissing: true };

describe('toDynamoDBSessionError', () => {
  it('refused credentials, signatures and permissions are SessionAuthenticationError (not retryable)', () => {
    for (const name of [
      'UnrecognizedClientException',
      'InvalidSignatureException',
      'AccessDeniedException',
      'MissingAuthenticationToken',
      'MissingAuthenticationTokenException',
      'ExpiredTokenException',
      'CredentialsProviderError',
    ]) {
      expect(AUTHENTICATION_ERRORS.has(name)).toBe(true);
      const error = toDynamoDBSessionError('getItems', named(name, 'The security token included is invalid.'), table);
      expect(error).toBeInstanceOf(SessionAuthenticationError);
      expect(error).toBeInstanceOf(SessionStorageError);
      expect(error).not.toBeInstanceOf(SessionConnectionError);
      expect(error).toMatchObject({ code: 'AUTHENTICATION', retryable: false, operation: 'getItems' });
      expect(error.message).toBe(
        `getItems failed: DynamoDB refused the credentials (${name}): The security token included is invalid.`,
      );
      expect(error.cause).toMatchObject({ name });
    }
  });

  it('connection failures are retryable SessionConnectionErrors with the root cause in the message', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const error = toDynamoDBSessionError('addItems', refused, table);
    expect(error).toBeInstanceOf(SessionConnectionError);
    expect(error).toMatchObject({ code: 'CONNECTION', retryable: true });
    expect(error.message).toBe('addItems failed: connect ECONNREFUSED 127.0.0.1:1');
    // Node's happy-eyeballs failure to `localhost`: an AggregateError with an empty message.
    const aggregate = Object.assign(new AggregateError([refused], ''), { code: 'ECONNREFUSED' });
    expect(toDynamoDBSessionError('getItems', aggregate, table).message).toBe(
      'getItems failed: connect ECONNREFUSED 127.0.0.1:1',
    );
    const timeout = named('TimeoutError', 'the request socket timed out');
    expect(toDynamoDBSessionError('getItems', timeout, table)).toBeInstanceOf(SessionConnectionError);
    // A request aborted because its call ended (the SDK's AbortError, our reason as cause).
    const aborted = Object.assign(named('AbortError', 'Request aborted'), {
      cause: named('TimeoutError', 'the call this request belonged to has ended (deadline 1000 ms)'),
    });
    const abortedError = toDynamoDBSessionError('setup', aborted, table);
    expect(abortedError).toBeInstanceOf(SessionConnectionError);
    expect(abortedError.message).toContain('request aborted: the call this request belonged to has ended');
  });

  it('a missing table names it, and says what createIfMissing: false means', () => {
    const missing = named('ResourceNotFoundException', 'Requested resource not found');
    const error = toDynamoDBSessionError('addItems', missing, { tableName: 't_err', createIfMissing: false });
    expect(error).toBeInstanceOf(SessionStorageError);
    expect(error.message).toBe(
      'addItems failed: table t_err does not exist (createIfMissing is false: create it, or call setup()): Requested resource not found',
    );
    expect(toDynamoDBSessionError('addItems', named('ValidationException'), table)).toMatchObject({
      code: 'STORAGE',
      retryable: false,
    });
  });
});

/** A client whose requests never answer until aborted; it records the signal of each request. */
function hangingClient() {
  const signals: (AbortSignal | undefined)[] = [];
  const client = {
    send(_command: unknown, options?: { abortSignal?: AbortSignal }) {
      const signal = options?.abortSignal;
      signals.push(signal);
      return new Promise((_resolve, reject) => {
        signal?.addEventListener('abort', () =>
          reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })),
        );
      });
    },
  };
  return { client: client as unknown as DynamoDBClient, signals };
}

describe('the deadline on a client the store did not create', () => {
  it('ends the call at timeoutMs with SessionTimeoutError and aborts the request it abandoned', async () => {
    const { client, signals } = hangingClient();
    const store = new DynamoDBSessionStore({ client, tableName: 't_err', timeoutMs: 300 });
    const started = Date.now();
    const error = await store
      .session('s')
      .getItems()
      .catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(SessionTimeoutError);
    expect(error).toMatchObject({ code: 'TIMEOUT', mayHaveApplied: false, operation: 'getItems' });
    expect(elapsed).toBeLessThan(300 + 1_000);
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(true);
    const write = await store
      .session('s')
      .addItems([{ type: 'message', role: 'user', content: 'x' }] as never)
      .catch((e: unknown) => e);
    expect(write).toMatchObject({ code: 'TIMEOUT', mayHaveApplied: true, operation: 'addItems' });
    expect(signals).toHaveLength(2);
    expect(signals[1]?.aborted).toBe(true);
    // setup() on the store too.
    await expect(store.setup()).rejects.toBeInstanceOf(SessionTimeoutError);
    expect(signals).toHaveLength(3);
    expect(signals[2]?.aborted).toBe(true);
  });

  it('every request of a call that succeeds carries its signal', async () => {
    const signals: (AbortSignal | undefined)[] = [];
    const client = {
      async send(_command: unknown, options?: { abortSignal?: AbortSignal }) {
        signals.push(options?.abortSignal);
        expect(options?.abortSignal?.aborted).toBe(false);
        return {};
      },
    } as unknown as DynamoDBClient;
    const session = new DynamoDBSessionStore({ client, tableName: 't_err' }).session('s');
    expect(await session.getItems()).toEqual([]);
    await session.addItems([{ type: 'message', role: 'user', content: 'x' }] as never);
    expect(signals.length).toBe(2); // Query, then TransactWriteItems (the read told it there is no metadata)
    expect(signals.every((signal) => signal instanceof AbortSignal)).toBe(true);
    // Each call has its own signal, aborted once the call has settled.
    expect(signals[0]).not.toBe(signals.at(-1));
    expect(signals.every((signal) => signal?.aborted)).toBe(true);
  });
});
