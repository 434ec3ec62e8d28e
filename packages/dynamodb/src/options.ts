import type { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { type BaseSessionOptions, SessionValidationError } from '@sessions/core';

/** Where sessions live and how long they last: shared by the store and a standalone session. */
export interface DynamoDBNamespaceOptions {
  /** Sessions expire this many seconds after their last write (sliding). Fractions allowed. */
  ttlSeconds?: number;
  /** Table holding the sessions (default `agent_sessions`). */
  tableName?: string;
  /**
   * Create the table (and enable TTL) when a request finds it missing (default `true`). Set it
   * to `false` where the table comes from infrastructure code and the role may not create one.
   */
  createTable?: boolean;
}

export interface DynamoDBSessionStoreOptions extends DynamoDBNamespaceOptions {
  /**
   * `dynamodb://[accessKeyId:secretAccessKey@][host[:port]]/<table>?region=…[&tls=true][&createTable=false][&ttlSeconds=…]`:
   * the store builds (and destroys in `close()`) a client from it. A host is an endpoint such as
   * DynamoDB Local (`http://host:port`, `https` with `tls=true`); without one, AWS's endpoint for
   * the region. Options passed beside it win over its parameters. Not with `client` or `clientConfig`.
   */
  url?: string;
  /**
   * Your own `DynamoDBClient` (its region, credentials and endpoint are yours). The store
   * never destroys it.
   */
  client?: DynamoDBClient;
  /**
   * Options for a `DynamoDBClient` the store creates (and destroys in `close()`), e.g.
   * `{ region: 'eu-west-1' }` or `{ endpoint: 'http://localhost:8000' }` for DynamoDB Local.
   * Omit `url`, `client` and `clientConfig` to use the SDK's default region and credentials.
   */
  clientConfig?: DynamoDBClientConfig;
}

export interface DynamoDBSessionOptions extends BaseSessionOptions, DynamoDBNamespaceOptions {
  /** A `DynamoDBClient` from `@aws-sdk/client-dynamodb` (v3). The session never destroys it. */
  client: DynamoDBClient;
}

/**
 * The store's option keys for the options guard; `ttlSeconds` is added by `BaseSessionStore`
 * (listing it here too would name it twice in the guard's message).
 */
export const STORE_OPTION_KEYS: readonly string[] = [
  'url',
  'client',
  'clientConfig',
  'tableName',
  'createTable',
] satisfies readonly (keyof DynamoDBSessionStoreOptions)[];

/** The session's own option keys; `sessionId`, `ttlSeconds` and `isClosed` are added by `BaseSession`. */
export const SESSION_OPTION_KEYS: readonly string[] = [
  'client',
  'tableName',
  'createTable',
] satisfies readonly (keyof DynamoDBSessionOptions)[];

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

/**
 * DynamoDB's own rule for table names (3–255 of letters, digits, `_`, `-`, `.`). The name is
 * sent as a request parameter, never interpolated into an expression, so every name DynamoDB
 * accepts is safe; the stricter `validateName` of the SQL backends would refuse the names
 * CloudFormation and CDK generate (`MyStack-SessionsTable-1A2B3C`).
 */
export function validateTableName(name: unknown): string {
  if (typeof name !== 'string' || !TABLE_NAME.test(name)) {
    throw new SessionValidationError(
      `tableName must be 3 to 255 letters, digits, '_', '-' or '.', got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/** `createTable` defaults to true. */
export function validateCreateTable(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') {
    throw new SessionValidationError(`createTable must be true or false, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Anything with the v3 client's `send` (a real `DynamoDBClient`, or a wrapped one in tests). */
export function validateClient(client: unknown): DynamoDBClient {
  if (client === null || typeof client !== 'object' || typeof (client as DynamoDBClient).send !== 'function') {
    throw new SessionValidationError('client must be a DynamoDBClient from @aws-sdk/client-dynamodb');
  }
  return client as DynamoDBClient;
}
