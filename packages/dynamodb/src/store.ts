import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import {
  BaseSessionStore,
  type BaseSessionStoreOptions,
  isConnectionError,
  SessionConnectionError,
  SessionError,
  SessionStorageError,
  SessionValidationError,
} from '@sessions/core';
import { DEFAULT_TABLE_NAME } from './layout.js';
import { DynamoDBSession } from './session.js';
import { ensureTable, validateTableName } from './table.js';

export interface DynamoDBSessionStoreOptions extends BaseSessionStoreOptions {
  /**
   * Your own `DynamoDBClient` (its region, credentials and endpoint are yours). The store
   * never destroys it.
   */
  client?: DynamoDBClient;
  /**
   * Options for a `DynamoDBClient` the store creates (and destroys in `close()`), e.g.
   * `{ region: 'eu-west-1' }` or `{ endpoint: 'http://localhost:8000' }` for DynamoDB Local.
   * Omit both `client` and `clientConfig` to use the SDK's default region and credentials.
   */
  clientConfig?: DynamoDBClientConfig;
  /** Table holding the sessions (default `agent_sessions`). */
  tableName?: string;
  /**
   * Create the table (and enable TTL) when a request finds it missing (default `true`). Set it
   * to `false` where the table comes from infrastructure code and the role may not create one.
   */
  createTable?: boolean;
}

/**
 * Sessions in one DynamoDB table. `store.session(id)` does no I/O; the table is created on
 * first use when missing (or up front with `ensureTable()`), unless `createTable` is false.
 */
export class DynamoDBSessionStore extends BaseSessionStore<DynamoDBSession> {
  readonly tableName: string;
  /** The client sessions of this store use (the store's own, or the one passed in). */
  readonly client: DynamoDBClient;
  readonly #ownsClient: boolean;
  readonly #createTable: boolean;

  constructor(options: DynamoDBSessionStoreOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new SessionValidationError('DynamoDBSessionStore options must be an object');
    }
    super(options);
    this.tableName = validateTableName(options.tableName ?? DEFAULT_TABLE_NAME);
    this.#createTable = options.createTable ?? true;
    if (options.client !== undefined) {
      if (options.clientConfig !== undefined) {
        throw new SessionValidationError('Pass either client or clientConfig, not both');
      }
      const client = options.client as unknown;
      if (client === null || typeof client !== 'object' || typeof (client as DynamoDBClient).send !== 'function') {
        throw new SessionValidationError('client must be a DynamoDBClient from @aws-sdk/client-dynamodb');
      }
      this.client = options.client;
      this.#ownsClient = false;
    } else {
      const config = options.clientConfig ?? {};
      if (config === null || typeof config !== 'object') {
        throw new SessionValidationError('clientConfig must be an object of DynamoDBClient options');
      }
      this.client = new DynamoDBClient(config);
      this.#ownsClient = true;
    }
  }

  /**
   * Creates the table if it is missing (partition key `pk`, sort key `sk`, both strings,
   * on-demand billing), waits until it is ACTIVE and enables TTL on `expiresAt`. Idempotent,
   * and safe when several processes call it at once. Needs `dynamodb:CreateTable`,
   * `DescribeTable`, `DescribeTimeToLive` and `UpdateTimeToLive`.
   */
  async ensureTable(): Promise<void> {
    this.assertOpen();
    try {
      await ensureTable(this.client, this.tableName);
    } catch (error) {
      if (error instanceof SessionError) throw error;
      throw isConnectionError(error)
        ? new SessionConnectionError('ensureTable', error)
        : new SessionStorageError('ensureTable', error);
    }
  }

  protected createSession(sessionId: string): DynamoDBSession {
    return new DynamoDBSession({
      sessionId,
      client: this.client,
      tableName: this.tableName,
      createTable: this.#createTable,
      ttlSeconds: this.ttlSeconds,
      isClosed: this.isClosed,
    });
  }

  protected override async releaseResources(): Promise<void> {
    if (this.#ownsClient) this.client.destroy();
  }
}
