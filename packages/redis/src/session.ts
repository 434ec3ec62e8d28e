import {
  BaseSession,
  DEFAULT_OPERATION_RETENTION_SECONDS,
  type EncodedHistoryTransaction,
  SessionCorruptDataError,
  type SessionError,
  settleTransaction,
  TRANSACTION_VERDICTS,
  type TransactionVerdict,
  validateName,
} from '@sessions/core';
import { CONNECTION, RedisConnection } from './engine/connection.js';
import { DEFAULT_KEY_PREFIX, type SessionKeys, sessionKeys } from './engine/keys.js';
import { APPEND, type LuaScript, POP, REPLACE_ALL, runScript, TRANSACTION } from './engine/scripts.js';
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
 * `<prefix>:{<encoded id>}:items`; every write is one Lua script (atomic, one round trip),
 * reads are one `LRANGE` of the newest items.
 */
export class RedisSession extends BaseSession {
  readonly keyPrefix: string;
  readonly #connection: RedisConnection;
  readonly #keys: SessionKeys;

  constructor(options: RedisSessionOptions) {
    super(options, SESSION_OPTION_KEYS);
    this.#connection = (options as StoreSessionOptions)[CONNECTION] ?? RedisConnection.borrowed(options.client);
    this.keyPrefix = validateName(options.keyPrefix ?? DEFAULT_KEY_PREFIX, 'keyPrefix');
    this.#keys = sessionKeys(this.keyPrefix, this.sessionId);
  }

  /** Core refuses, before any I/O, an item Redis could not take as one argument. */
  protected override get maxItemBytes(): number {
    return MAX_ITEM_BYTES;
  }

  get #client(): RedisSessionClient {
    return this.#connection.use();
  }

  get #allKeys(): string[] {
    return [this.#keys.items, this.#keys.operations, this.#keys.operationTimes];
  }

  get #ttlArgument(): string {
    return String(this.ttlMs ?? 0);
  }

  #run(lua: LuaScript, args: string[]): Promise<unknown> {
    return runScript(this.#client, lua, this.#allKeys, [this.#ttlArgument, ...args]);
  }

  protected async readItems(limit: number | undefined): Promise<string[]> {
    const reply: unknown = await this.#client.lRange(this.#keys.items, limit === undefined ? 0 : -limit, -1);
    if (!Array.isArray(reply)) throw new SessionCorruptDataError('LRANGE did not return a list');
    return reply.map(text);
  }

  protected async appendItems(items: string[]): Promise<void> {
    await this.#run(APPEND, items);
  }

  protected async popLastItem(): Promise<string | undefined> {
    const reply = await this.#run(POP, []);
    return reply === null || reply === undefined ? undefined : text(reply);
  }

  protected async clearItems(): Promise<void> {
    await this.#client.del(this.#allKeys);
  }

  protected async commitTransaction(tx: EncodedHistoryTransaction): Promise<void> {
    const verdict = text(
      await this.#run(TRANSACTION, [
        String(DEFAULT_OPERATION_RETENTION_SECONDS * 1000),
        tx.operationId,
        tx.fingerprint,
        String(tx.expectedSuffix.length),
        ...tx.expectedSuffix,
        ...tx.replacement,
      ]),
    );
    if (!(TRANSACTION_VERDICTS as readonly string[]).includes(verdict)) {
      throw new SessionCorruptDataError(`Unexpected reply from the transaction script: ${JSON.stringify(verdict)}`);
    }
    settleTransaction(verdict as TransactionVerdict, tx.operationId);
  }

  protected async replaceAllItems(items: string[]): Promise<void> {
    await this.#run(REPLACE_ALL, items);
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

/** A reply as text, whatever type mapping the caller's client uses for blob strings. */
function text(reply: unknown): string {
  if (typeof reply === 'string') return reply;
  if (reply instanceof Uint8Array)
    return Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength).toString('utf8');
  throw new SessionCorruptDataError(`Expected a string reply from Redis, got ${typeof reply}`);
}
