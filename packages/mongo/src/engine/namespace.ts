import { SessionValidationError, validateName } from '@sessions/core';
import type { Collection, Db, MongoClient } from 'mongodb';
import {
  type CatalogDoc,
  type CommitDoc,
  DEFAULT_COLLECTION_PREFIX,
  DEFAULT_DATABASE,
  type PartDoc,
} from './documents.js';

/** The collections of one database and prefix, validated once. */
export interface Namespace {
  db: Db;
  database: string;
  collectionPrefix: string;
  history: Collection<CommitDoc>;
  parts: Collection<PartDoc>;
  /** The listing: one small document per session (catalog.ts). */
  catalog: Collection<CatalogDoc>;
}

export interface NamespaceSource {
  client?: MongoClient;
  db?: Db;
  database?: string;
  collectionPrefix?: string;
}

/** Resolves `client`/`db` + `database`/`collectionPrefix` into validated collections (no I/O). */
export function resolveNamespace(options: NamespaceSource, owner: string): Namespace {
  const collectionPrefix = validateName(options.collectionPrefix ?? DEFAULT_COLLECTION_PREFIX, 'collectionPrefix');
  let db: Db;
  let database: string;
  if (options.db !== undefined) {
    if (options.client !== undefined) throw new SessionValidationError(`${owner}: pass either client or db, not both`);
    if (options.database !== undefined) {
      throw new SessionValidationError(`${owner}: database cannot be combined with db (the Db already names one)`);
    }
    if (!isDb(options.db)) throw new SessionValidationError(`${owner}: db must be a mongodb Db (client.db(name))`);
    db = options.db;
    database = db.databaseName;
  } else {
    if (!isClient(options.client)) {
      throw new SessionValidationError(`${owner}: client must be a MongoClient (or pass db)`);
    }
    database = validateName(options.database ?? DEFAULT_DATABASE, 'database');
    db = options.client.db(database);
  }
  return {
    db,
    database,
    collectionPrefix,
    history: db.collection<CommitDoc>(`${collectionPrefix}history`),
    parts: db.collection<PartDoc>(`${collectionPrefix}history_parts`),
    catalog: db.collection<CatalogDoc>(`${collectionPrefix}sessions`),
  };
}

/** What per-client memos (index creation, the write queue) key on: the client, or the Db without one. */
export function clientOf(ns: Namespace): object {
  return (ns.db as Db & { client?: MongoClient }).client ?? ns.db;
}

function isClient(value: unknown): value is MongoClient {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as MongoClient).db === 'function' &&
    typeof (value as MongoClient).close === 'function'
  );
}

function isDb(value: unknown): value is Db {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Db).collection === 'function' &&
    typeof (value as Db).databaseName === 'string'
  );
}
