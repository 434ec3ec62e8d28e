import {
  BaseSession,
  DEFAULT_OPERATION_RETENTION_SECONDS,
  type EncodedHistoryTransaction,
  type MetadataWrite,
  SessionCorruptDataError,
  type SessionError,
  settleTransaction,
  TRANSACTION_VERDICTS,
  type TransactionVerdict,
  validateName,
} from '@sessions/core';
import { type IndexMode, runSessionWrite, text } from './engine/catalog.js';
import { CONNECTION, RedisConnection } from './engine/connection.js';
import { type CatalogKeys, catalogKeys, DEFAULT_KEY_PREFIX, type SessionKeys, sessionKeys } from './engine/keys.js';
import {
  APPEND,
  CLEAR,
  type LuaScript,
  POP,
  READ_METADATA,
  REPLACE_ALL,
  runScript,
  TRANSACTION,
  WRITE_METADATA,
} from './engine/scripts.js';
import { toRedisSessionError } from './errors.js';
import { type RedisSessionClient, type RedisSessionOptions, SESSION_OPTION_KEYS } from './options.js';

/**
 * Redis refuses a single argument larger than `proto-max-bulk-len`, 512 MiB by default, so an
 * item whose JSON text is bigger can never be stored.
 */
export const MAX_ITEM_BYTES = 512 * 1024 * 1024;

/** What a store passes: its connection instead of `client` (a symbol key: the options guard ignores it). */
interface StoreSessionOptions extends RedisSessionOptions {
  [CONNECTION]?: RedisConnection;
}

/**
 * A session stored in Redis or Redis Cluster. Items are a LIST of canonical JSON text under
 * `<prefix>:{<encoded id>}:items`; every write is one Lua script (atomic, one round trip) that
 * also stamps the catalog entry (`…:meta`) and, on a standalone server, moves the session in the
 * catalog index (on a Cluster the index script goes out in the same round trip: engine/catalog.ts).
 * Reads are one `LRANGE` of the newest items.
 */
export class RedisSession extends BaseSession {
  readonly keyPrefix: string;
  readonly #connection: RedisConnection;
  readonly #keys: SessionKeys;
  readonly #catalog: CatalogKeys;

  constructor(options: RedisSessionOptions) {
    super(options, SESSION_OPTION_KEYS);
    this.#connection = (options as StoreSessionOptions)[CONNECTION] ?? RedisConnection.borrowed(options.client);
    this.keyPrefix = validateName(options.keyPrefix ?? DEFAULT_KEY_PREFIX, 'keyPrefix');
    this.#keys = sessionKeys(this.keyPrefix, this.sessionId);
    this.#catalog = catalogKeys(this.keyPrefix);
  }

  /** Core refuses, before any I/O, an item Redis could not take as one argument. */
  protected override get maxItemBytes(): number {
    return MAX_ITEM_BYTES;
  }

  get #client(): RedisSessionClient {
    return this.#connection.use();
  }

  /** A write script and the catalog index with it; answers the script's `[updatedAt, result]`. */
  #write(lua: LuaScript, mode: IndexMode, args: string[]): Promise<unknown[]> {
    const ttl = String(this.ttlMs ?? 0);
    return runSessionWrite(this.#client, lua, this.#keys, this.#catalog, this.sessionId, mode, ttl, args);
  }

  protected async readItems(limit: number | undefined): Promise<string[]> {
    const reply: unknown = await this.#client.lRange(this.#keys.items, limit === undefined ? 0 : -limit, -1);
    if (!Array.isArray(reply)) throw new SessionCorruptDataError('LRANGE did not return a list');
    return reply.map(text);
  }

  protected async appendItems(items: string[]): Promise<void> {
    await this.#write(APPEND, 'add', items);
  }

  protected async popLastItem(): Promise<string | undefined> {
    const [, item] = await this.#write(POP, 'xx', []);
    return item === null || item === undefined ? undefined : text(item);
  }

  protected async clearItems(): Promise<void> {
    await this.#write(CLEAR, 'xx', []);
  }

  protected async readMetadata(): Promise<{ text: string; version: number } | undefined> {
    const reply = await runScript(this.#client, READ_METADATA, [this.#keys.meta], []);
    const [metadata, version] = Array.isArray(reply) ? reply : [];
    if (version === null || version === undefined) return undefined;
    return { text: metadata === null || metadata === undefined ? '' : text(metadata), version: Number(text(version)) };
  }

  protected async writeMetadata(update: MetadataWrite): Promise<boolean> {
    const [, stored] = await this.#write(WRITE_METADATA, 'xx', [String(update.expectedVersion), update.text]);
    return Number(stored) === 1;
  }

  protected async commitTransaction(tx: EncodedHistoryTransaction): Promise<void> {
    const [, reply] = await this.#write(TRANSACTION, 'xx', [
      String(DEFAULT_OPERATION_RETENTION_SECONDS * 1000),
      tx.operationId,
      tx.fingerprint,
      String(tx.expectedSuffix.length),
      ...tx.expectedSuffix,
      ...tx.replacement,
    ]);
    const verdict = text(reply);
    if (!(TRANSACTION_VERDICTS as readonly string[]).includes(verdict)) {
      throw new SessionCorruptDataError(`Unexpected reply from the transaction script: ${JSON.stringify(verdict)}`);
    }
    settleTransaction(verdict as TransactionVerdict, tx.operationId);
  }

  protected async replaceAllItems(items: string[]): Promise<void> {
    await this.#write(REPLACE_ALL, 'add', items);
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    return toRedisSessionError(operation, error, this.#connection);
  }

  /** Core's deadline and error mapping; a call that timed out drops a store-created client's silent socket. */
  protected override async run<T>(operation: string, primitive: () => Promise<T>): Promise<T> {
    try {
      return await super.run(operation, primitive);
    } catch (error) {
      this.#connection.settle(error);
      throw error;
    }
  }
}
