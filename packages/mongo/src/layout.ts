import {
  isConnectionError,
  OncePerClient,
  SessionConnectionError,
  SessionError,
  SessionStorageError,
  SessionValidationError,
  validateName,
} from '@sessions/core';
import type { Collection, Db, Document, MongoClient, ObjectId } from 'mongodb';

/** Database used when the store or session is built from a URL or a client. */
export const DEFAULT_DATABASE = 'agent_sessions';
/** First part of both collection names (`agent_history`, `agent_history_parts`). */
export const DEFAULT_COLLECTION_PREFIX = 'agent_';

/** MongoDB's BSON document limit (`maxBsonObjectSize`); the server refuses anything larger. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
/**
 * Largest encoded item: one item alone in an overflow document must fit under the document
 * limit with its `_id`, a 512-byte session id, the array header and two dates (≤ 600 bytes).
 */
export const MAX_ITEM_BYTES = MAX_DOCUMENT_BYTES - 1024;

/**
 * How long a replaced commit stays as an item-less tombstone before it is deleted. On MongoDB
 * the guarded upsert alone makes a freed `rev` impossible to take again; the grace covers
 * servers (FerretDB) whose upsert is not one atomic step.
 */
export const TOMBSTONE_GRACE_MS = 60_000;

/**
 * Overflow documents this old that no commit links to were left by a writer that died between
 * writing them and its commit; a clear or compaction of the session deletes them. (A writer
 * links its overflow documents within seconds; a day leaves any stalled writer ample room.)
 */
export const ORPHAN_PART_AGE_MS = 24 * 60 * 60 * 1000;

/** One remembered `applyHistoryTransaction` operation id. */
export interface OperationRecord {
  id: string;
  fp: string;
  at: Date;
}

/** A reference from a commit to an overflow document holding `n` of its items, in order. */
export interface PartRef {
  id: ObjectId;
  n: number;
}

/**
 * One commit of a session's history log (collection `<prefix>history`). Commits are only ever
 * inserted and deleted, never modified (apart from sliding `expiresAt`): the unique index on
 * `(sessionId, rev)` is the only concurrency control, so the design needs nothing from the
 * server beyond an atomic single-document insert.
 */
export interface CommitDoc {
  sessionId: string;
  /** 1, 2, 3…: a commit is `head.rev + 1`; two writers racing for it get one E11000. */
  rev: number;
  /** `rev` of the commit holding the items just before these ones, 0 when the chain starts here. */
  prev: number;
  /** `rev` of the commit that started this history (clear or first write after expiry). */
  base: number;
  /** Number of items held here (inline or in parts). */
  count: number;
  /** The items as canonical JSON text, when they fit in this document. */
  items?: string[];
  /** Otherwise the overflow documents holding them, in order. */
  parts?: PartRef[];
  /** Operation ids recorded by this commit or carried over from the commits it replaced. */
  ops?: OperationRecord[];
  /** When this commit was written (writer's clock). */
  at: Date;
  /** Logical expiry: the session reads as empty from then on (only the head's counts). */
  until?: Date;
  /** Physical expiry for the TTL index (later than `until`, slid forward while the session lives). */
  expiresAt?: Date;
  /** Lowest physical expiry among the other documents the chain needs (absent: none expire). */
  floor?: Date;
  /**
   * Set when a later commit replaced this one: its items are gone, and the document only keeps
   * its `rev` taken for a while (see `TOMBSTONE_GRACE_MS`) before it is deleted.
   */
  dead?: Date;
}

/** An overflow document (collection `<prefix>history_parts`): items of one commit that did not fit inline. */
export interface PartDoc {
  _id: ObjectId;
  sessionId: string;
  items: string[];
  at: Date;
  expiresAt?: Date;
}

export interface Namespace {
  db: Db;
  database: string;
  collectionPrefix: string;
  history: Collection<CommitDoc>;
  parts: Collection<PartDoc>;
}

export interface NamespaceOptions {
  client?: MongoClient;
  db?: Db;
  database?: string;
  collectionPrefix?: string;
}

/** Resolves `client`/`db` + `database`/`collectionPrefix` into validated collections. */
export function resolveNamespace(options: NamespaceOptions, owner: string): Namespace {
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
  };
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

/** Index creation is remembered per client (or Db), database and prefix, for the process. */
const ensured = new OncePerClient();

/**
 * Creates the indexes once per client/database/prefix (concurrent callers share one promise;
 * a failure is forgotten so the next call retries). Safe when several processes do it at once:
 * `createIndex` with an identical spec is a no-op on the server. `force` runs it again (an
 * explicit `ensureIndexes()` call, e.g. after the collections were dropped).
 */
export function ensureIndexes(ns: Namespace, force = false): Promise<void> {
  const owner = (ns.db as Db & { client?: MongoClient }).client ?? ns.db;
  return ensured.run(owner, `${ns.database}\u0000${ns.collectionPrefix}`, () => createIndexes(ns), force);
}

async function createIndexes(ns: Namespace): Promise<void> {
  // One spec per command: FerretDB 1.24 drops connections when several clients run a
  // multi-spec createIndexes on a new collection at once; single specs are safe everywhere.
  await Promise.all([
    (async () => {
      const history = ns.history as unknown as Collection<Document>;
      await createIndex(history, { sessionId: 1, rev: -1 }, { name: 'sessionId_rev', unique: true });
      await createIndex(history, { sessionId: 1, 'ops.id': 1 }, { name: 'sessionId_ops.id' });
      await createTtlIndex(history);
    })(),
    (async () => {
      const parts = ns.parts as unknown as Collection<Document>;
      await createIndex(parts, { sessionId: 1, expiresAt: 1 }, { name: 'sessionId_expiresAt' });
      await createTtlIndex(parts);
    })(),
  ]);
}

async function createIndex(
  collection: Collection<Document>,
  key: Record<string, 1 | -1>,
  options: { name: string; unique?: boolean; expireAfterSeconds?: number },
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await collection.createIndex(key, options);
      return;
    } catch (error) {
      // Two processes creating the collection or the index at the same moment can get a
      // transient error; a conflicting existing index (codes 85, 86) is a real problem.
      const code = (error as { code?: unknown }).code;
      if (attempt >= 3 || code === 85 || code === 86 || code === 238) throw error;
    }
  }
}

/**
 * The TTL index that deletes expired documents (`expiresAt`, `expireAfterSeconds: 0`).
 * FerretDB 1.x answers NotImplemented (238): expiry is then enforced at read time only.
 */
async function createTtlIndex(collection: Collection<Document>): Promise<void> {
  try {
    await createIndex(collection, { expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 0 });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 238) throw error;
  }
}

const CONNECTION_ERROR_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoPoolClearedError',
  'MongoServerClosedError',
]);

/** Driver errors meaning "the database could not be reached", by class name (several driver copies may coexist). */
export function isMongoConnectionError(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const name = (e as { name?: unknown }).name;
    if (typeof name === 'string' && CONNECTION_ERROR_NAMES.has(name)) return true;
  }
  return isConnectionError(error);
}

export function toMongoSessionError(operation: string, error: unknown): SessionError {
  if (error instanceof SessionError) return error;
  return isMongoConnectionError(error)
    ? new SessionConnectionError(operation, error)
    : new SessionStorageError(operation, error);
}
