import type { BaseSessionOptions, BaseSessionStoreOptions } from '@sessions/core';
import type { RedisClientOptions } from 'redis';

/**
 * What a session needs from its client: any node-redis client from `createClient()` or cluster
 * client from `createCluster()` (redis v5 or v6), with any modules, scripts, RESP version or type
 * mapping, fits this shape. Declared structurally because node-redis client types with
 * different generic parameters are not assignable to one another.
 */
export interface RedisSessionClient {
  readonly isOpen: boolean;
  evalSha(sha1: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  lRange(key: string, start: number, stop: number): Promise<unknown>;
  del(keys: string[]): Promise<unknown>;
}

/** Where a session's keys live and how long they last: shared by the store and a bare session. */
export interface RedisNamespaceOptions extends BaseSessionStoreOptions {
  /** First part of every key; letters, digits and `_`, at most 48 characters (default `sessions`). */
  keyPrefix?: string;
}

export interface RedisSessionStoreOptions extends RedisNamespaceOptions {
  /**
   * `redis[s]://[[user][:password]@]host[:port][/db]`. The store creates a standalone client
   * (connected on first use) and closes it in `close()`.
   */
  url?: string;
  /**
   * More node-redis `createClient()` options for the store's own client (TLS, credentials…).
   * From `timeoutMs` the store sets `socket.connectTimeout` (at most 5 s) and
   * `commandOptions.timeout`; values given here win.
   */
  clientOptions?: RedisClientOptions;
  /**
   * Your own connected client from `createClient()` or `createCluster()`, instead of `url`.
   * The store never connects, reconfigures, drops or closes it: its own timeouts apply, and
   * `timeoutMs` bounds every call.
   */
  client?: RedisSessionClient;
}

export interface RedisSessionOptions extends RedisNamespaceOptions, BaseSessionOptions {
  /**
   * A connected node-redis client (`createClient()`) or cluster client (`createCluster()`).
   * The session never connects or closes it.
   */
  client: RedisSessionClient;
}

/** Every key `new RedisSessionStore(options)` accepts (core's first); any other is refused by name. */
export const STORE_OPTION_KEYS: readonly string[] = [
  'ttlSeconds',
  'timeoutMs',
  'createIfMissing',
  'keyPrefix',
  'url',
  'clientOptions',
  'client',
];

/** Every key `new RedisSession(options)` accepts; any other is refused by name. */
export const SESSION_OPTION_KEYS: readonly string[] = [
  'sessionId',
  'ttlSeconds',
  'timeoutMs',
  'isClosed',
  'keyPrefix',
  'client',
];
