import {
  SessionAuthenticationError,
  SessionConnectionError,
  SessionStorageError,
  SessionTimeoutError,
} from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { type ClientFacts, toRedisSessionError } from '../src/errors.js';

// No server: node-redis errors are recognised by class name and reply text, so these stand-ins
// carry the same names and messages.
class TimeoutError extends Error {}
class DisconnectsClientError extends Error {}
class SimpleError extends Error {}

const owned = (lastError?: unknown): ClientFacts => ({
  owned: true,
  lastError: () => lastError,
  commandTimeoutMs: 1_500,
});
const borrowed: ClientFacts = { owned: false, lastError: () => undefined, commandTimeoutMs: undefined };
const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });

describe('toRedisSessionError', () => {
  it('a command not sent within the command timeout: silent server → SessionTimeoutError (nothing sent); unreachable → the root cause', () => {
    const silent = toRedisSessionError('addItems', new TimeoutError(), owned());
    expect(silent).toBeInstanceOf(SessionTimeoutError);
    expect(silent).toMatchObject({ timeoutMs: 1_500, mayHaveApplied: false, operation: 'addItems' });
    const down = toRedisSessionError('addItems', new TimeoutError(), owned(refused));
    expect(down).toBeInstanceOf(SessionConnectionError);
    expect(down).not.toBeInstanceOf(SessionTimeoutError);
    expect(down.message).toMatch(/command timeout.*ECONNREFUSED/);
    // A caller's client: its command timeout is unknown to the store, so it stays a connection error.
    const theirs = toRedisSessionError('getItems', new TimeoutError(), borrowed);
    expect(theirs).toBeInstanceOf(SessionConnectionError);
    expect(theirs).not.toBeInstanceOf(SessionTimeoutError);
  });

  it('refused credentials, in the reply or in the connection attempt, are a SessionAuthenticationError', () => {
    for (const reply of [
      'WRONGPASS invalid username-password pair or user is disabled.',
      'NOAUTH Authentication required.',
      'ERR invalid password',
      'ERR AUTH <password> called without any password configured for the default user.',
      'ERR Client sent AUTH, but no password is set',
    ]) {
      const direct = toRedisSessionError('getItems', new SimpleError(reply), borrowed);
      expect(direct, reply).toBeInstanceOf(SessionAuthenticationError);
      expect(direct).toMatchObject({ code: 'AUTHENTICATION', retryable: false, operation: 'getItems' });
      const dropped = toRedisSessionError('addItems', new DisconnectsClientError(), owned(new SimpleError(reply)));
      expect(dropped, reply).toBeInstanceOf(SessionAuthenticationError);
    }
    // A permission the user lacks is not a refused login (see setup.test.ts).
    const noperm = toRedisSessionError(
      'setup',
      new SimpleError("NOPERM User x has no permissions to run the 'eval' command"),
      borrowed,
    );
    expect(noperm).toBeInstanceOf(SessionStorageError);
    expect(noperm).not.toBeInstanceOf(SessionAuthenticationError);
  });
});
