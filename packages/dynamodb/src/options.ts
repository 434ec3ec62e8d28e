import type { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { type BaseSessionOptions, type BaseSessionStoreOptions, SessionValidationError } from '@sessions/core';

/** Where sessions live and how long they last: shared by the store and a standalone session. */
export interface DynamoDBNamespaceOptions {
  /** Sessions expire this many seconds after their last write (sliding). Fractions allowed. */
  ttlSeconds?: number;
  /** Table holding the sessions (default `agent_sessions`). */
  tableName?: string;
  /**
   * Create the table (and enable TTL) when a request finds it missing (default `true`). Set it
   * to `false` where the table comes from infrastructure code and the role may not create one:
   * nothing is ever created (except by an explicit `setup()`); reads of a missing table return
   * nothing, writes fail with `SessionStorageError` naming the table.
   */
  createIfMissing?: boolean;
  /**
   * The former name of `createIfMissing`, kept as an alias: `createTable: false` is
   * `createIfMissing: false`. Passing both with different values is a `SessionValidationError`.
   */
  createTable?: boolean;
}

export interface DynamoDBSessionStoreOptions extends DynamoDBNamespaceOptions, BaseSessionStoreOptions {
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
   * Unless you pass a `requestHandler` instance, its request handler gets `connectionTimeout`
   * and `requestTimeout` = `timeoutMs` (your own values in a `requestHandler` options object win).
   */
  clientConfig?: DynamoDBClientConfig;
}

export interface DynamoDBSessionOptions extends BaseSessionOptions, DynamoDBNamespaceOptions {
  /** A `DynamoDBClient` from `@aws-sdk/client-dynamodb` (v3). The session never destroys it. */
  client: DynamoDBClient;
}

/**
 * The store's option keys for the options guard; `ttlSeconds`, `timeoutMs` and `createIfMissing`
 * are added by `BaseSessionStore` (listing them here too would name them twice in its message).
 */
export const STORE_OPTION_KEYS: readonly string[] = [
  'url',
  'client',
  'clientConfig',
  'tableName',
  'createTable',
] satisfies readonly (keyof DynamoDBSessionStoreOptions)[];

/** The session's own option keys; `sessionId`, `ttlSeconds`, `timeoutMs` and `isClosed` are added by `BaseSession`. */
export const SESSION_OPTION_KEYS: readonly string[] = [
  'client',
  'tableName',
  'createIfMissing',
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

/**
 * `createIfMissing`, or its alias `createTable` (undefined when neither is given). Both given
 * with different values is a `SessionValidationError`.
 */
export function resolveCreateTableAlias(options: {
  createIfMissing?: unknown;
  createTable?: unknown;
}): boolean | undefined {
  const { createIfMissing, createTable } = options;
  for (const [key, value] of [
    ['createIfMissing', createIfMissing],
    ['createTable', createTable],
  ] as const) {
    if (value !== undefined && typeof value !== 'boolean') {
      throw new SessionValidationError(`${key} must be true or false, got ${JSON.stringify(value)}`);
    }
  }
  if (createIfMissing !== undefined && createTable !== undefined && createIfMissing !== createTable) {
    throw new SessionValidationError(
      `createTable is an alias of createIfMissing: got createIfMissing ${createIfMissing} and createTable ${createTable}; pass one of them`,
    );
  }
  return (createIfMissing ?? createTable) as boolean | undefined;
}

/**
 * The config of a client the store creates: unless `requestHandler` is an instance of yours,
 * its connection and each request end after `timeoutMs` (the call's deadline is the outer
 * bound; this frees a socket the call gave up on even when nothing aborts it). Your own values in
 * a `requestHandler` options object win. `throwOnRequestTimeout` makes recent SDKs fail the
 * request instead of only logging a warning (older ones take `requestTimeout` as an idle timeout).
 */
export function boundedClientConfig(config: DynamoDBClientConfig, timeoutMs: number): DynamoDBClientConfig {
  const handler = config.requestHandler as { handle?: unknown } | undefined;
  if (
    handler !== undefined &&
    (handler === null || typeof handler !== 'object' || typeof handler.handle === 'function')
  ) {
    return config;
  }
  return {
    ...config,
    requestHandler: {
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      throwOnRequestTimeout: true,
      ...handler,
    },
  };
}

/** Anything with the v3 client's `send` (a real `DynamoDBClient`, or a wrapped one in tests). */
export function validateClient(client: unknown): DynamoDBClient {
  if (client === null || typeof client !== 'object' || typeof (client as DynamoDBClient).send !== 'function') {
    throw new SessionValidationError('client must be a DynamoDBClient from @aws-sdk/client-dynamodb');
  }
  return client as DynamoDBClient;
}
