import {
  isConnectionError,
  SessionAuthenticationError,
  SessionClosedError,
  SessionConnectionError,
  type SessionError,
  SessionStorageError,
  SessionTimeoutError,
} from '@sessions/core';

/** What the mapping needs to know about the client a failed command ran on. */
export interface ClientFacts {
  /** True when a store created the client (it connects it lazily and closes it). */
  readonly owned: boolean;
  /**
   * The latest connection error a store-created client reported since it last reached the
   * server, for messages; undefined once a connection is established.
   */
  lastError(): unknown;
  /** A store-created client's command timeout (ms), or undefined (a borrowed client). */
  readonly commandTimeoutMs: number | undefined;
}

/**
 * node-redis errors that mean "Redis could not be reached" (none of them sets `name` or
 * `code`, so they are recognised by class name, which also works across duplicate copies of
 * the driver). `TimeoutError` is a command that could not be written within the command
 * timeout, typically while the client reconnects.
 */
const CONNECTION_ERROR_CLASSES = new Set([
  'ClientOfflineError',
  'SocketClosedUnexpectedlyError',
  'ConnectionTimeoutError',
  'SocketTimeoutError',
  'TimeoutError',
  'SocketTimeoutDuringMaintenanceError',
  'CommandTimeoutDuringMaintenanceError',
  'RootNodesUnavailableError',
  'ReconnectStrategyError',
  'MaxCommandRedirectionsError',
  // A command dropped by destroy(), or by a cluster client when its node left the topology.
  'DisconnectsClientError',
]);

const COMMAND_TIMEOUT_CLASSES = new Set(['TimeoutError', 'CommandTimeoutDuringMaintenanceError']);

/** The client was closed (`close()`/`destroy()`) or never connected. */
const CLOSED_CLIENT_CLASSES = new Set(['ClientClosedError']);

/** Server replies that mean "not available right now, retry": a restart loading its data, a failover. */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|NOREPLICAS)\b/;

/**
 * Server replies that refuse the credentials: a wrong password or user (`WRONGPASS`, `ERR
 * invalid password` before Redis 6), none given where one is required (`NOAUTH`), or one given
 * to a server that has none (`ERR AUTH … without any password configured`, `ERR Client sent
 * AUTH, but no password is set`).
 */
const AUTH_REPLY = /^(NOAUTH|WRONGPASS)\b|^ERR (invalid password|AUTH\b.*without any password|Client sent AUTH)/;

/** True when `error` (or its cause chain) is Redis refusing the credentials. */
export function isAuthenticationError(error: unknown): boolean {
  return chain(error).some((e) => e instanceof Error && AUTH_REPLY.test(e.message));
}

function chain(error: unknown): unknown[] {
  const errors: unknown[] = [];
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) errors.push(e);
  return errors;
}

function className(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as object).constructor?.name : undefined;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message || className(error) || error.name;
  return String(error);
}

/**
 * Maps what node-redis throws during `operation` (the public method the caller called) onto
 * core's error hierarchy; the driver's error stays as `cause`.
 */
export function toRedisSessionError(operation: string, error: unknown, client: ClientFacts): SessionError {
  const errors = chain(error);
  // Refused credentials: the reply itself, or, for a command a store-created client could not
  // send, the reply its connection attempt got.
  if (isAuthenticationError(error) || isAuthenticationError(client.lastError())) {
    return new SessionAuthenticationError(operation, isAuthenticationError(error) ? error : client.lastError());
  }
  if (errors.some((e) => CLOSED_CLIENT_CLASSES.has(className(e) ?? ''))) {
    if (!client.owned) {
      return new SessionClosedError(
        'The Redis client is closed or was never connected: call `await client.connect()` before using it, and do not use it after `close()` or `destroy()`',
      );
    }
    return connectionError(operation, error, client, 'the Redis client is not connected');
  }
  // Commands that waited in the offline queue for longer than the command timeout.
  const timedOut = errors.some((e) => COMMAND_TIMEOUT_CLASSES.has(className(e) ?? ''));
  if (timedOut && client.commandTimeoutMs !== undefined && client.lastError() === undefined) {
    // Connected, yet not even the handshake was answered: the server (or the path to it) is
    // silent, not unreachable. The command never left the client, so nothing was written.
    return new SessionTimeoutError(operation, client.commandTimeoutMs, { mayHaveApplied: false, cause: error });
  }
  if (timedOut) {
    return connectionError(
      operation,
      error,
      client,
      'the command could not be sent to Redis within the command timeout (the client is disconnected or reconnecting)',
    );
  }
  if (errors.some((e) => className(e) === 'ClientOfflineError')) {
    return connectionError(
      operation,
      error,
      client,
      'the client is reconnecting to Redis and its offline queue is disabled',
    );
  }
  const unreachable =
    errors.some((e) => CONNECTION_ERROR_CLASSES.has(className(e) ?? '')) ||
    errors.some((e) => e instanceof Error && UNAVAILABLE_REPLY.test(e.message)) ||
    isConnectionError(error);
  if (unreachable) return connectionError(operation, error, client);
  return new SessionStorageError(operation, error);
}

/** A connection error whose message says what was going on and the last socket error seen. */
function connectionError(
  operation: string,
  error: unknown,
  client: ClientFacts,
  what?: string,
): SessionConnectionError {
  const last = client.lastError();
  const cause = describe(error);
  const parts = [what ?? cause];
  if (last !== undefined && describe(last) !== cause) parts.push(`last connection error: ${describe(last)}`);
  return new SessionConnectionError(operation, error, parts.join('; '));
}
