/**
 * Bounded time and failure mapping, without a server: driver timeouts derived from `timeoutMs`,
 * the error mapping, the per-call signal, the in-flight tracker and the client watchdog.
 */
import { EventEmitter } from 'node:events';
import {
  SessionAuthenticationError,
  SessionConnectionError,
  SessionStorageError,
  SessionTimeoutError,
  SessionValidationError,
} from '@sessions/core';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { assertCallActive, callOptions, InFlight, runCall } from '../../src/engine/call.js';
import { healBorrowed, OwnedConnection, STUCK_SLACK_MS } from '../../src/engine/connection.js';
import { driverTimeouts, urlOptionNames } from '../../src/engine/timeouts.js';
import { isDriverTimeout, toMongoSessionError } from '../../src/errors.js';
import { MongoSession, MongoSessionStore } from '../../src/index.js';

const CLOSED = 'mongodb://127.0.0.1:1/';
const named = (name: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { name, ...extra });
const refused = named('MongoServerSelectionError', 'connect ECONNREFUSED 127.0.0.1:1', {
  cause: named('MongoNetworkError', 'connect ECONNREFUSED 127.0.0.1:1', {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
  }),
});

describe('driver timeouts of a store-created client', () => {
  it('follow timeoutMs: selection and connect at 80 %, socket at 100 %', () => {
    expect(driverTimeouts(1000, CLOSED, undefined)).toEqual({
      serverSelectionTimeoutMS: 800,
      connectTimeoutMS: 800,
      socketTimeoutMS: 1000,
    });
    expect(driverTimeouts(10_000, CLOSED, {})).toEqual({
      serverSelectionTimeoutMS: 8000,
      connectTimeoutMS: 8000,
      socketTimeoutMS: 10_000,
    });
    expect(driverTimeouts(1, CLOSED, undefined).serverSelectionTimeoutMS).toBe(1);
  });

  it('a timeout set in clientOptions or in the URL (any case) is left as it is', () => {
    expect(driverTimeouts(1000, CLOSED, { socketTimeoutMS: 0 })).toEqual({
      serverSelectionTimeoutMS: 800,
      connectTimeoutMS: 800,
    });
    expect(driverTimeouts(1000, `${CLOSED}?serverselectiontimeoutms=5000&appName=x`, undefined)).toEqual({
      connectTimeoutMS: 800,
      socketTimeoutMS: 1000,
    });
    expect(urlOptionNames('mongodb+srv://u:p@h1,h2/db?a=1&connectTimeoutMS=2&&b#frag')).toEqual([
      'a',
      'connectTimeoutMS',
      'b',
    ]);
    expect(urlOptionNames('mongodb://h/db')).toEqual([]);
  });

  it('are set on the store’s own client; a client you give is not reconfigured', async () => {
    const owned = new MongoSessionStore({ url: CLOSED, timeoutMs: 2000 });
    expect(owned.client!.options).toMatchObject({
      serverSelectionTimeoutMS: 1600,
      connectTimeoutMS: 1600,
      socketTimeoutMS: 2000,
    });
    const tuned = new MongoSessionStore({
      url: `${CLOSED}?connectTimeoutMS=7000`,
      clientOptions: { serverSelectionTimeoutMS: 300 },
      timeoutMs: 2000,
    });
    expect(tuned.client!.options).toMatchObject({
      serverSelectionTimeoutMS: 300,
      connectTimeoutMS: 7000,
      socketTimeoutMS: 2000,
    });
    const yours = new MongoClient(CLOSED);
    const before = { ...yours.options };
    const borrowed = new MongoSessionStore({ client: yours, timeoutMs: 2000 });
    expect(yours.options).toMatchObject({
      serverSelectionTimeoutMS: before.serverSelectionTimeoutMS,
      connectTimeoutMS: before.connectTimeoutMS,
      socketTimeoutMS: before.socketTimeoutMS,
    });
    expect(borrowed.session('s').timeoutMs).toBe(2000);
    await Promise.all([owned.close(), tuned.close(), borrowed.close(), yours.close()]);
  });

  it('sessions get the store’s timeoutMs and createIfMissing; bad values are refused', async () => {
    const store = new MongoSessionStore({ url: CLOSED, timeoutMs: 1234, createIfMissing: false });
    const session = store.session('s');
    expect(session).toMatchObject({ timeoutMs: 1234, createIfMissing: false });
    const client = new MongoClient(CLOSED);
    expect(() => new MongoSession({ sessionId: 's', client, createIfMissing: 'no' as never })).toThrow(
      SessionValidationError,
    );
    expect(() => new MongoSessionStore({ url: CLOSED, timeoutMs: 0 })).toThrow(SessionValidationError);
    await store.close();
    await client.close();
  });
});

describe('the error mapping', () => {
  const call = { timeoutMs: 1000, write: true };

  it('refused credentials (18) or a missing permission (13) are SessionAuthenticationError, anywhere in the chain', () => {
    for (const error of [
      named('MongoServerError', 'Authentication failed.', { code: 18 }),
      named('MongoServerError', 'not authorized on db to execute command', { code: 13 }),
      named('MongoServerSelectionError', 'x', { cause: named('MongoServerError', 'auth', { code: 18 }) }),
    ]) {
      const mapped = toMongoSessionError('getItems', error, call);
      expect(mapped).toBeInstanceOf(SessionAuthenticationError);
      expect(mapped).toMatchObject({ code: 'AUTHENTICATION', retryable: false, operation: 'getItems', cause: error });
    }
  });

  it('the driver’s own timeouts are SessionTimeoutError, with the driver error as cause and mayHaveApplied = the call writes', () => {
    const timeouts = [
      named('MongoNetworkTimeoutError', 'connection 3 to 127.0.0.1:1 timed out'),
      named('MongoServerSelectionError', 'Server selection timed out after 800 ms'),
      named('MongoOperationTimeoutError', 'Timed out during server selection', {
        cause: named('MongoServerSelectionError', 'Server selection timed out after 800 ms'),
      }),
      named('TimeoutError', 'The operation was aborted due to timeout'),
    ];
    for (const error of timeouts) {
      expect(isDriverTimeout(error), error.message).toBe(true);
      const write = toMongoSessionError('addItems', error, call);
      expect(write).toBeInstanceOf(SessionTimeoutError);
      expect(write).toMatchObject({ mayHaveApplied: true, timeoutMs: 1000, cause: error, retryable: true });
      expect(toMongoSessionError('getItems', error, { timeoutMs: 1000, write: false })).toMatchObject({
        mayHaveApplied: false,
      });
    }
  });

  it('a refused connection is a SessionConnectionError naming the root cause, even after a selection timeout', () => {
    const mapped = toMongoSessionError('getItems', refused, call);
    expect(mapped).toBeInstanceOf(SessionConnectionError);
    expect(mapped).not.toBeInstanceOf(SessionTimeoutError);
    expect(mapped.message).toBe('getItems failed: connect ECONNREFUSED 127.0.0.1:1');
    const wrapped = named('MongoOperationTimeoutError', 'Timed out during server selection', { cause: refused });
    expect(isDriverTimeout(wrapped)).toBe(false);
    expect(toMongoSessionError('getItems', wrapped, call)).not.toBeInstanceOf(SessionTimeoutError);
  });

  it('a dropped connection is a SessionConnectionError; other failures (a missing setup) a SessionStorageError', () => {
    const dropped = named('MongoNetworkError', 'connection 3 to 127.0.0.1:1 closed');
    expect(toMongoSessionError('addItems', dropped, call)).toBeInstanceOf(SessionConnectionError);
    expect(toMongoSessionError('addItems', dropped, call)).not.toBeInstanceOf(SessionTimeoutError);
    const notSetUp = new Error('the store was created with createIfMissing: false and setup() was not run');
    const mapped = toMongoSessionError('addItems', notSetUp, call);
    expect(mapped).toBeInstanceOf(SessionStorageError);
    expect(mapped).not.toBeInstanceOf(SessionConnectionError);
    expect(mapped.message).toMatch(/^addItems failed: the store was created with createIfMissing: false/);
  });
});

describe('one call', () => {
  it('carries a signal through its awaits, aborted once the call has settled', async () => {
    expect(callOptions()).toEqual({});
    let seen: AbortSignal | undefined;
    const result = await runCall(
      (body) => body(),
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        seen = callOptions().signal;
        assertCallActive();
        return 'done';
      },
    );
    expect(result).toBe('done');
    expect(seen?.aborted).toBe(true);
  });

  it('work left behind by a timed-out call stops at its next step', async () => {
    const steps: string[] = [];
    let resume!: () => void;
    const left = new Promise<void>((resolve) => {
      resume = resolve;
    });
    let body!: Promise<unknown>;
    const outcome = await runCall(
      // Like core's deadline: answers the caller without waiting for the body.
      (run) => {
        body = run();
        body.catch(() => {});
        return Promise.reject(new Error('deadline'));
      },
      async () => {
        await left;
        assertCallActive();
        steps.push('wrote after the deadline');
      },
    ).catch((e: Error) => e.message);
    expect(outcome).toBe('deadline');
    resume();
    await expect(body).rejects.toThrow(/has ended/);
    expect(steps).toEqual([]);
  });

  it('InFlight: waits for running calls, at most timeoutMs', async () => {
    const inFlight = new InFlight();
    await inFlight.settled(10); // nothing running: at once
    let finish!: () => void;
    inFlight.add(
      new Promise<void>((resolve) => {
        finish = resolve;
      }),
    );
    inFlight.add(Promise.reject(new Error('failed calls count as settled')));
    expect(inFlight.size).toBe(2);
    let started = performance.now();
    await inFlight.settled(100);
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    setTimeout(finish, 20);
    started = performance.now();
    await inFlight.settled(5000);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(inFlight.size).toBe(0);
  });
});

/** The public surface of a MongoClient the watchdog uses: its events, options, connect and close. */
function fakeClient(options = { connectTimeoutMS: 100, heartbeatFrequencyMS: 10_000 }) {
  const calls: string[] = [];
  const client = Object.assign(new EventEmitter(), {
    options,
    connect: async () => {
      calls.push('connect');
    },
    close: async () => {
      calls.push('close');
    },
  });
  return { client: client as unknown as MongoClient, emitter: client, calls };
}

describe('getting a client ready', () => {
  it('the store’s own client: connect() before each call, closed and reopened only when a heartbeat is stuck', async () => {
    const { client, emitter, calls } = fakeClient();
    let closed = false;
    const connection = new OwnedConnection(client, () => closed);
    await connection.ready();
    expect(calls).toEqual(['connect']);
    emitter.emit('serverHeartbeatStarted', { connectionId: 'h:1', awaited: false });
    await connection.ready(); // pending, but within connectTimeoutMS
    emitter.emit('serverHeartbeatSucceeded', { connectionId: 'h:1' });
    expect(calls).toEqual(['connect', 'connect']);
    emitter.emit('serverHeartbeatStarted', { connectionId: 'h:1', awaited: false });
    await new Promise((resolve) => setTimeout(resolve, 100 + STUCK_SLACK_MS + 50));
    await Promise.all([connection.ready(), connection.ready()]);
    expect(calls).toEqual(['connect', 'connect', 'close', 'connect', 'connect']);
    expect(connection.resets).toBe(1);
    closed = true;
    await connection.ready(); // a closed store never opens its client again
    expect(calls).toHaveLength(5);
  });

  it('a client you gave: connect() only when the driver left its topology closed after a failed first connection', async () => {
    const { client, calls } = fakeClient();
    await healBorrowed(client);
    await healBorrowed(undefined);
    Object.assign(client, { topology: { s: { state: 'connected' } } });
    await healBorrowed(client);
    expect(calls).toEqual([]);
    Object.assign(client, { topology: { s: { state: 'closed' } } });
    await healBorrowed(client);
    expect(calls).toEqual(['connect']);
  });
});
