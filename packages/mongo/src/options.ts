import type { BaseSessionOptions, BaseSessionStoreOptions } from '@sessions/core';
import type { Db, MongoClient, MongoClientOptions } from 'mongodb';

/** Where a session's documents live and how long they last: shared by the store and a bare session. */
export interface MongoNamespaceOptions extends BaseSessionStoreOptions {
  /** Database name with `url` or `client` (default `agent_sessions`); letters, digits and `_`. */
  database?: string;
  /** First part of both collection names (default `agent_`); letters, digits and `_`. */
  collectionPrefix?: string;
}

export interface MongoSessionStoreOptions extends MongoNamespaceOptions {
  /**
   * `mongodb://…` or `mongodb+srv://…`. The store creates a `MongoClient` (it connects on first
   * use) and closes it in `close()`. The database comes from `database`, not from the URL path.
   */
  url?: string;
  /**
   * More `MongoClient` options for the store's own client (TLS, pool size…). Without them the
   * store sets `serverSelectionTimeoutMS` and `connectTimeoutMS` to 80 % of `timeoutMs` and
   * `socketTimeoutMS` to `timeoutMs`; a timeout given here or in the URL wins.
   */
  clientOptions?: MongoClientOptions;
  /** Your own `MongoClient` instead of `url`; the store never closes or reconfigures it. */
  client?: MongoClient;
  /** Or your own `Db` (then `database` must not be given); the store never closes its client. */
  db?: Db;
}

export interface MongoSessionOptions extends MongoNamespaceOptions, BaseSessionOptions {
  /** Your MongoClient; the session uses `client.db(database)` and never connects or closes it. */
  client?: MongoClient;
  /** Or a `Db` (then `database` must not be given). */
  db?: Db;
}

/** Every key `new MongoSessionStore(options)` accepts; any other is refused by name. */
export const STORE_OPTION_KEYS: readonly string[] = [
  'ttlSeconds',
  'database',
  'collectionPrefix',
  'url',
  'clientOptions',
  'client',
  'db',
];

/** Every key `new MongoSession(options)` accepts; any other is refused by name. */
export const SESSION_OPTION_KEYS: readonly string[] = [
  'sessionId',
  'ttlSeconds',
  'timeoutMs',
  'createIfMissing',
  'isClosed',
  'database',
  'collectionPrefix',
  'client',
  'db',
];
