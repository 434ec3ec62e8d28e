import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import {
  BaseSessionStore,
  type CatalogPosition,
  type CatalogQuery,
  ClientHandle,
  redactUrl,
  registerSecret,
  type SessionError,
  type SessionInfo,
  SessionValidationError,
  utf8ByteLength,
  validateTtlSeconds,
} from '@sessions/core';
import { listPage, readInfo, removeSession } from './engine/catalog.js';
import { withBudget } from './engine/deadline.js';
import { DEFAULT_TABLE_NAME } from './engine/layout.js';
import { SessionRequests } from './engine/requests.js';
import { errorName } from './engine/retry.js';
import { TableRequests } from './engine/table-requests.js';
import { toDynamoDBSessionError } from './errors.js';
import {
  boundedClientConfig,
  type DynamoDBSessionStoreOptions,
  resolveCreateTableAlias,
  STORE_OPTION_KEYS,
  validateClient,
  validateTableName,
} from './options.js';
import { DynamoDBSession } from './session.js';
import { setupTable } from './setup.js';
import { optionsFromUrl } from './url.js';

/**
 * Sessions in one DynamoDB table. `store.session(id)` does no I/O; the table is created on
 * first use when missing (or up front with `setup()`), unless `createIfMissing` (alias
 * `createTable`) is false. Every call ends within `timeoutMs` (see `engine/deadline.ts`).
 */
export class DynamoDBSessionStore extends BaseSessionStore<DynamoDBSession> {
  /** The store's TTL: the `ttlSeconds` option, else the URL's `ttlSeconds` parameter. */
  override readonly ttlSeconds: number | undefined;
  readonly tableName: string;
  /** `createIfMissing`, else its alias `createTable`, else the URL's `createTable`; default true. */
  override readonly createIfMissing: boolean;
  readonly #handle: ClientHandle<DynamoDBClient>;
  readonly #url: string | undefined;

  constructor(options: DynamoDBSessionStoreOptions = {}) {
    super(options, STORE_OPTION_KEYS);
    let fromUrl: {
      clientConfig?: DynamoDBClientConfig;
      tableName?: string;
      createTable?: boolean;
      ttlSeconds?: number;
    } = {};
    if (options.url !== undefined) {
      if (typeof options.url !== 'string') throw new SessionValidationError('url must be a dynamodb:// URL string');
      if (options.client !== undefined || options.clientConfig !== undefined) {
        throw new SessionValidationError('Pass one of url, client or clientConfig, not several');
      }
      this.#url = options.url;
      fromUrl = optionsFromUrl(options.url);
    }
    this.ttlSeconds = validateTtlSeconds(options.ttlSeconds ?? fromUrl.ttlSeconds);
    this.tableName = validateTableName(options.tableName ?? fromUrl.tableName ?? DEFAULT_TABLE_NAME);
    this.createIfMissing = resolveCreateTableAlias(options) ?? fromUrl.createTable ?? true;
    if (options.client !== undefined) {
      if (options.clientConfig !== undefined) {
        throw new SessionValidationError('Pass either client or clientConfig, not both');
      }
      this.#handle = this.adopt(ClientHandle.borrowed(validateClient(options.client)));
    } else {
      const config = fromUrl.clientConfig ?? options.clientConfig ?? {};
      if (config === null || typeof config !== 'object') {
        throw new SessionValidationError('clientConfig must be an object of DynamoDBClient options');
      }
      registerCredentials(config);
      const bounded = boundedClientConfig(config, this.timeoutMs);
      this.#handle = this.adopt(
        ClientHandle.owned(
          () => new DynamoDBClient(bounded),
          (client) => client.destroy(),
        ),
      );
    }
  }

  /** The client sessions of this store use (the store's own, or the one passed in). */
  get client(): DynamoDBClient {
    return this.#handle.client;
  }

  /**
   * Creates the table if it is missing (partition key `pk`, sort key `sk`, both strings,
   * on-demand billing), waits until it is ACTIVE and enables TTL on `expiresAt`. Idempotent,
   * and safe when several processes call it at once. Needs `dynamodb:CreateTable`,
   * `DescribeTable`, `DescribeTimeToLive` and `UpdateTimeToLive`.
   */
  override setup(): Promise<void> {
    return super.setup();
  }

  /** The former name of {@link setup}, kept as an alias. */
  ensureTable(): Promise<void> {
    return this.setup();
  }

  protected override runSetup(): Promise<void> {
    return setupTable(this.#handle.client, this.tableName);
  }

  /**
   * A page from the catalog index: one parallel round of queries (one per shard), rarely more
   * (engine/catalog.ts). A table of a release before the catalog gets its index first (setup()).
   */
  protected async listCatalog(query: CatalogQuery): Promise<{ sessions: SessionInfo[]; next?: CatalogPosition }> {
    const table = new TableRequests(this.#handle.client, this.tableName, this.#createTable());
    try {
      return await listPage(query, table.queryShard, Date.now());
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException' && !this.createIfMissing) return { sessions: [] };
      if (!isMissingIndex(error) || !this.createIfMissing) throw error;
      // An older table: backfill and add the index (bounded by this call's deadline), then list.
      await setupTable(this.#handle.client, this.tableName);
      return listPage(query, table.queryShard, Date.now());
    }
  }

  protected readSessionInfo(sessionId: string): Promise<SessionInfo | undefined> {
    return readInfo(this.#requests(sessionId), sessionId, {
      keyBytes: utf8ByteLength(sessionId) + 20,
      tableName: this.tableName,
    });
  }

  protected removeSession(sessionId: string): Promise<void> {
    return removeSession(this.#requests(sessionId)).catch((error: unknown) => {
      // Nothing to delete in a table that does not exist (and nothing is created for it).
      if (errorName(error) !== 'ResourceNotFoundException') throw error;
    });
  }

  #requests(sessionId: string): SessionRequests {
    return new SessionRequests(this.#handle.client, this.tableName, sessionId, this.#createTable());
  }

  #createTable(): (() => Promise<void>) | undefined {
    const client = this.#handle.client;
    return this.createIfMissing ? () => setupTable(client, this.tableName) : undefined;
  }

  protected createSession(sessionId: string): DynamoDBSession {
    return new DynamoDBSession({
      ...this.sessionOptions(sessionId),
      client: this.#handle.client,
      tableName: this.tableName,
    });
  }

  /** Core's deadline, plus an abort signal on every request `setup()` sends (engine/deadline.ts). */
  protected override run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    return withBudget(this.timeoutMs, (bounded) => super.run(operation, bounded), body);
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    return toDynamoDBSessionError(operation, error, {
      tableName: this.tableName,
      createIfMissing: this.createIfMissing,
    });
  }

  /** Public facts only: never the client, its config or credentials (the URL is masked). */
  protected override describe(): Record<string, unknown> {
    return {
      tableName: this.tableName,
      createIfMissing: this.createIfMissing,
      createTable: this.createIfMissing,
      ...(this.#url === undefined ? {} : { url: redactUrl(this.#url) }),
      ownsClient: this.#handle.owned,
    };
  }
}

/**
 * DynamoDB's answer to a query of an index the table does not have, or is still filling (AWS:
 * "Cannot read from backfilling global secondary index"): setup() adds it or waits for it.
 */
function isMissingIndex(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return errorName(error) === 'ValidationException' && /specified index|backfilling/i.test(String(message));
}

/** Secrets in a client config are masked wherever this process prints them from now on. */
function registerCredentials(config: DynamoDBClientConfig): void {
  const credentials = config.credentials as { secretAccessKey?: unknown; sessionToken?: unknown } | undefined;
  if (credentials === null || typeof credentials !== 'object') return;
  registerSecret(credentials.secretAccessKey);
  registerSecret(credentials.sessionToken);
}
