import { isConnectionError, SessionConnectionError, type SessionError, SessionStorageError } from '@sessions/core';
import { errorName } from './engine/retry.js';

/** What the error mapping needs to know about the table. */
export interface TableFacts {
  readonly tableName: string;
  readonly createTable: boolean;
}

/**
 * The one place that knows the AWS SDK's error shapes. `operation` is the public method the
 * caller called; the SDK error is kept as `cause` (masked by core).
 * - unreachable endpoint, reset connection, timeout → `SessionConnectionError`;
 * - a missing table (only seen with `createTable: false`, otherwise it is created and the
 *   request repeated) → `SessionStorageError` naming the table;
 * - anything else (access denied, throttling that did not end, …) → `SessionStorageError`.
 */
export function toDynamoDBSessionError(operation: string, error: unknown, table: TableFacts): SessionError {
  if (isConnectionError(error)) return new SessionConnectionError(operation, error);
  if (errorName(error) === 'ResourceNotFoundException') {
    const hint = table.createTable ? '' : ' (createTable is false: create it, or call setup())';
    return new SessionStorageError(
      operation,
      error,
      'STORAGE',
      `table ${table.tableName} does not exist${hint}: ${(error as Error).message}`,
    );
  }
  return new SessionStorageError(operation, error);
}
