import {
  isConnectionError,
  SessionAuthenticationError,
  SessionConnectionError,
  type SessionError,
  SessionStorageError,
} from '@sessions/core';
import { errorName } from './engine/retry.js';

/** What the error mapping needs to know about the table. */
export interface TableFacts {
  readonly tableName: string;
  readonly createIfMissing: boolean;
}

/**
 * Error names with which AWS refuses the credentials or the signature of a request (no retry
 * helps), and the SDK's own error when it finds no credentials at all.
 */
export const AUTHENTICATION_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'AccessDeniedException',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'IncompleteSignatureException',
  'InvalidClientTokenId',
  'ExpiredTokenException',
  'CredentialsProviderError',
]);

/**
 * The one place that knows the AWS SDK's error shapes. `operation` is the public method the
 * caller called; the SDK error is kept as `cause` (masked by core).
 * - credentials or signature refused, access denied, no credentials → `SessionAuthenticationError`
 *   (code `AUTHENTICATION`, not retryable);
 * - unreachable endpoint, reset connection, timeout, a request aborted because its call ended →
 *   `SessionConnectionError` (retryable), with the root cause's message (e.g. `ECONNREFUSED`);
 * - a missing table (only seen with `createIfMissing: false`, otherwise it is created and the
 *   request repeated) → `SessionStorageError` naming the table;
 * - anything else (throttling that did not end, …) → `SessionStorageError`.
 */
export function toDynamoDBSessionError(operation: string, error: unknown, table: TableFacts): SessionError {
  const name = errorName(error);
  if (AUTHENTICATION_ERRORS.has(name)) {
    return new SessionAuthenticationError(
      operation,
      error,
      `DynamoDB refused the credentials (${name}): ${(error as Error).message}`,
    );
  }
  if (name === 'AbortError') {
    const reason = (error as { cause?: unknown }).cause;
    const detail = reason instanceof Error ? reason.message : (error as Error).message;
    return new SessionConnectionError(operation, error, `request aborted: ${detail}`);
  }
  if (isConnectionError(error)) return new SessionConnectionError(operation, error, rootMessage(error));
  if (name === 'ResourceNotFoundException') {
    const hint = table.createIfMissing ? '' : ' (createIfMissing is false: create it, or call setup())';
    return new SessionStorageError(
      operation,
      error,
      'STORAGE',
      `table ${table.tableName} does not exist${hint}: ${(error as Error).message}`,
    );
  }
  return new SessionStorageError(operation, error);
}

/**
 * The message of the error that says what went wrong: Node reports a refused connection to a
 * name with several addresses (`localhost`) as an `AggregateError` with an empty message, whose
 * inner errors say `connect ECONNREFUSED …`.
 */
function rootMessage(error: unknown): string | undefined {
  const { message, errors, code } = error as { message?: unknown; errors?: unknown; code?: unknown };
  if (typeof message === 'string' && message !== '') return undefined;
  const inner = Array.isArray(errors) ? (errors[0] as { message?: unknown } | undefined)?.message : undefined;
  if (typeof inner === 'string' && inner !== '') return inner;
  return typeof code === 'string' ? code : undefined;
}
