import {
  BaseSession,
  type BaseSessionOptions,
  DEFAULT_OPERATION_RETENTION_SECONDS,
  type EncodedHistoryTransaction,
  SessionConflictError,
  SessionCorruptDataError,
  type SessionError,
  SessionItemTooLargeError,
  SessionWriteQueue,
  utf8ByteLength,
} from '@sessions/core';
import { BSON, type Db, type Filter, type MongoClient, ObjectId } from 'mongodb';
import {
  type CommitDoc,
  ensureIndexes,
  MAX_DOCUMENT_BYTES,
  MAX_ITEM_BYTES,
  type Namespace,
  type OperationRecord,
  ORPHAN_PART_AGE_MS,
  type PartDoc,
  type PartRef,
  resolveNamespace,
  TOMBSTONE_GRACE_MS,
  toMongoSessionError,
} from './layout.js';

export interface MongoSessionOptions extends BaseSessionOptions {
  /** Your MongoClient; the session uses `client.db(database)` and never connects or closes it. */
  client?: MongoClient;
  /** Or a `Db` (then `database` must not be given). */
  db?: Db;
  /** Database name with `client` (default `agent_sessions`); letters, digits and `_`. */
  database?: string;
  /** First part of both collection names (default `agent_`); letters, digits and `_`. */
  collectionPrefix?: string;
}

const RETENTION_MS = DEFAULT_OPERATION_RETENTION_SECONDS * 1000;
/**
 * BSON bytes the operation ids carried over into a commit may take (every id within retention;
 * if they do not fit, the newest that do). The remaining 1 MiB of the document is ample for its
 * other fields and its overflow links (about 36 bytes per 16 MiB of items).
 */
export const MAX_CARRIED_OPERATION_BYTES = MAX_DOCUMENT_BYTES - 1024 * 1024;
/** A new commit's physical expiry is at least this much later than any older document's. */
const EXPIRY_STEP_MS = 1;
/** Room kept in an inline commit for its fields other than `sessionId`, `items` and `ops`. */
const COMMIT_HEADROOM_BYTES = 1024;
/** A write loses the race for the next `rev` at most this often before giving up. */
const MAX_WRITE_ATTEMPTS = 1000;
/** A read that keeps finding its chain cut by concurrent cleanups gives up after this many tries. */
const MAX_READ_ATTEMPTS = 30;
const MAX_BACKOFF_MS = 100;
const MAX_FIRST_PAGE = 100;
const MAX_PAGE = 1000;

type Operation = { id: string; fp: string };

interface ChainLink {
  doc: CommitDoc;
  /** Items `[from, count)` of this commit are in the requested window. */
  from: number;
}

interface ChainRead {
  /** The newest commit, expired or not (undefined when the session has no documents). */
  head: CommitDoc | undefined;
  /** The head exists and has not expired. */
  live: boolean;
  /** Commits of the current history from the newest back, until the window is covered. */
  chain: ChainLink[];
  /** Every commit read, newest first, including superseded ones not yet deleted. */
  scanned: CommitDoc[];
  /** `scanned` holds every commit newer than the last link's `prev`. */
  covered: boolean;
  /** Overflow items fetched for the window, by part id. */
  parts: Map<string, string[]>;
}

export interface ExpiryPlan {
  fields: Pick<CommitDoc, 'until' | 'expiresAt' | 'floor'>;
  bump?: { unset: true } | { below: Date; to: Date };
}

/**
 * A session stored in MongoDB as an insert-only log of commits (see the README): every change
 * is one `insertOne` of the commit `rev = head.rev + 1`, and the unique index on
 * `(sessionId, rev)` makes concurrent writers take turns. No multi-document transaction, no
 * read-modify-write on the server: it is correct on a standalone server, a replica set, a
 * sharded cluster (shard key `{ sessionId: 1 }`), Atlas and FerretDB.
 */
export class MongoSession extends BaseSession {
  /** Largest item (UTF-8 bytes of its JSON) that can be stored: 16 MiB minus 1 KiB. */
  static readonly maxItemBytes = MAX_ITEM_BYTES;
  readonly database: string;
  readonly collectionPrefix: string;
  readonly #ns: Namespace;

  constructor(options: MongoSessionOptions) {
    super(options);
    this.#ns = resolveNamespace(options, 'MongoSession');
    this.database = this.#ns.database;
    this.collectionPrefix = this.#ns.collectionPrefix;
  }

  /** Creates the collections' indexes now (otherwise done once, lazily, on first use). */
  async ensureIndexes(): Promise<void> {
    this.assertOpen();
    await this.run('ensureIndexes', () => ensureIndexes(this.#ns, true));
  }

  protected async readItems(limit: number | undefined): Promise<string[]> {
    await ensureIndexes(this.#ns);
    const read = await this.#readChain(limit ?? Number.POSITIVE_INFINITY, false);
    return read.live ? windowTexts(read) : [];
  }

  protected async appendItems(items: string[]): Promise<void> {
    checkSizes(items, 'items');
    await ensureIndexes(this.#ns);
    await this.#queued(() => this.#append(items, undefined));
  }

  protected async popLastItem(): Promise<string | undefined> {
    await ensureIndexes(this.#ns);
    return this.#queued(() => this.#rewrite(1, undefined, [], undefined));
  }

  protected async clearItems(): Promise<void> {
    await ensureIndexes(this.#ns);
    await this.#queued(() => this.#clear());
  }

  async #clear(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      this.assertOpen();
      const head = await this.#readHead(true);
      if (!head) return;
      const cleared = head.count === 0 && head.prev === 0 && head.base === head.rev && !head.ops?.length;
      if (cleared) return;
      const now = Date.now();
      const rev = head.rev + 1;
      const plan = planExpiry(this.ttlMs, now, head, undefined, undefined);
      if (plan.bump) await this.#bump(plan.bump);
      const marker: CommitDoc = {
        sessionId: this.sessionId,
        rev,
        prev: 0,
        base: rev,
        count: 0,
        at: new Date(now),
        ...plan.fields,
      };
      if (await this.#insert(marker)) {
        await this.#collect(rev, 0, undefined, new Set());
        return;
      }
      await lostRace(attempt);
    }
  }

  protected async commitTransaction(tx: EncodedHistoryTransaction): Promise<void> {
    const appendOnly = tx.expectedSuffix.length === 0;
    checkSizes(tx.replacement, appendOnly ? 'transaction.items' : 'transaction.replacement');
    await ensureIndexes(this.#ns);
    const operation = { id: tx.operationId, fp: tx.fingerprint };
    await this.#queued(async () => {
      if (appendOnly) await this.#append(tx.replacement, operation);
      else await this.#rewrite(tx.expectedSuffix.length, tx.expectedSuffix, tx.replacement, operation);
    });
  }

  protected async replaceAllItems(items: string[]): Promise<void> {
    checkSizes(items, 'items');
    await ensureIndexes(this.#ns);
    await this.#queued(() => this.#replaceAll(items));
  }

  async #replaceAll(items: string[]): Promise<void> {
    let parts: PartRef[] | undefined;
    let partsExpireAt: Date | undefined;
    let committed = false;
    try {
      for (let attempt = 0; ; attempt++) {
        this.assertOpen();
        // Head first: an operation committed after this read moves the head, so our insert loses.
        const head = await this.#readHead(false);
        const withOperations = await this.#operationCommits();
        const now = Date.now();
        const live = head !== undefined && !isExpired(head, now);
        if (!head && items.length === 0) return;
        const rev = (head?.rev ?? 0) + 1;
        const base = live ? head.base : rev;
        const ops = live ? carryOperations(withOperations, base, now, undefined) : undefined;
        if (!parts && !this.#fitsInline(items, ops)) {
          partsExpireAt = this.#partsExpiry(now);
          parts = await this.#writeParts(items, now, partsExpireAt);
        }
        const plan = planExpiry(this.ttlMs, now, head, undefined, partsExpireAt);
        if (plan.bump) await this.#bump(plan.bump);
        const doc: CommitDoc = {
          sessionId: this.sessionId,
          rev,
          prev: 0,
          base,
          count: items.length,
          ...(parts ? { parts } : inline(items)),
          ...(ops ? { ops } : {}),
          at: new Date(now),
          ...plan.fields,
        };
        if (await this.#insert(doc)) {
          committed = true;
          await this.#collect(rev, 0, undefined, refIds(parts));
          return;
        }
        await lostRace(attempt);
      }
    } finally {
      if (!committed && parts) await this.#dropParts(parts.map((ref) => ref.id));
    }
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    return toMongoSessionError(operation, error);
  }

  #queued<T>(task: () => Promise<T>): Promise<T> {
    const owner = (this.#ns.db as Db & { client?: MongoClient }).client ?? this.#ns.db;
    return writeQueue.run(owner, `${this.database}\u0000${this.collectionPrefix}\u0000${this.sessionId}`, task);
  }

  /** Appends `texts` (possibly none, for a transaction that only records its id) as one commit. */
  async #append(texts: string[], operation: Operation | undefined): Promise<void> {
    let parts: PartRef[] | undefined;
    let partsExpireAt: Date | undefined;
    const probe = operation ? [{ id: operation.id, fp: operation.fp, at: new Date() }] : undefined;
    if (!this.#fitsInline(texts, probe)) {
      const now = Date.now();
      partsExpireAt = this.#partsExpiry(now);
      parts = await this.#writeParts(texts, now, partsExpireAt);
    }
    let committed = false;
    try {
      for (let attempt = 0; ; attempt++) {
        this.assertOpen();
        // Head first, then the operation id: a commit of the id landing between the two reads is
        // newer than the head we hold (`stale`), and one landing later makes our insert lose.
        const head = await this.#readHead(false);
        const found = operation ? await this.#findOperation(operation.id) : undefined;
        const now = Date.now();
        const live = head !== undefined && !isExpired(head, now);
        if (operation) {
          const verdict = checkOperation(found, live ? head : undefined, operation, now);
          if (verdict === 'applied') return;
          if (verdict === 'stale') {
            await lostRace(attempt);
            continue;
          }
        }
        const rev = (head?.rev ?? 0) + 1;
        // An empty head (after a pop or a clear) is skipped: chains only link commits with items.
        const prev = live ? (head.count > 0 ? head.rev : head.prev) : 0;
        const plan = planExpiry(this.ttlMs, now, head, live && prev !== 0 ? head : undefined, partsExpireAt);
        if (plan.bump) await this.#bump(plan.bump);
        const doc: CommitDoc = {
          sessionId: this.sessionId,
          rev,
          prev,
          base: live ? head.base : rev,
          count: texts.length,
          ...(parts ? { parts } : inline(texts)),
          ...(operation ? { ops: [{ id: operation.id, fp: operation.fp, at: new Date(now) }] } : {}),
          at: new Date(now),
          ...plan.fields,
        };
        if (await this.#insert(doc)) {
          committed = true;
          // The first write after expiry started a new history: delete the expired one.
          if (head && !live) await this.#collect(rev, 0, undefined, refIds(parts));
          return;
        }
        await lostRace(attempt);
      }
    } finally {
      if (!committed && parts) await this.#dropParts(parts.map((ref) => ref.id));
    }
  }

  /**
   * Replaces the newest `size` items by `replacement` in one commit, if they equal `expected`
   * (a transaction) or whatever they are (`expected` undefined: a pop, which returns the item).
   */
  async #rewrite(
    size: number,
    expected: string[] | undefined,
    replacement: string[],
    operation: Operation | undefined,
  ): Promise<string | undefined> {
    for (let attempt = 0; ; attempt++) {
      this.assertOpen();
      // Head (the chain's first page) first, then the operation id: see #append.
      const read = await this.#readChain(size, true);
      const found = operation ? await this.#findOperation(operation.id) : undefined;
      const now = Date.now();
      const head = read.live ? read.head : undefined;
      if (operation) {
        const verdict = checkOperation(found, head, operation, now);
        if (verdict === 'applied') return undefined;
        if (verdict === 'stale') {
          await lostRace(attempt);
          continue;
        }
      }
      const tail = head ? windowTexts(read) : [];
      if (!head || tail.length < size || (expected && tail.some((text, i) => text !== expected[i]))) {
        if (!expected) return undefined;
        throw new SessionConflictError('suffix_mismatch', 'The history no longer ends with the expected suffix');
      }
      const cut = read.chain.at(-1)!;
      const keepRev = cut.doc.prev;
      const superseded = await this.#superseded(read, keepRev);
      const ops = carryOperations(superseded, head.base, now, operation && { ...operation, at: new Date(now) });
      const kept = keptContent(cut, read.parts);
      const texts = [...kept.texts, ...replacement];
      const rev = head.rev + 1;
      let created: ObjectId[] = [];
      let committed = false;
      try {
        let content: Pick<CommitDoc, 'items' | 'parts'>;
        let partsExpireAt: Date | undefined;
        if (kept.refs.length === 0 && this.#fitsInline(texts, ops)) {
          content = inline(texts);
        } else {
          partsExpireAt = this.#partsExpiry(now);
          const fresh = texts.length > 0 ? await this.#writeParts(texts, now, partsExpireAt) : [];
          created = fresh.map((ref) => ref.id);
          content = { parts: [...kept.refs, ...fresh] };
        }
        const rest = keepRev !== 0 || kept.refs.length > 0 ? head : undefined;
        const plan = planExpiry(this.ttlMs, now, head, rest, partsExpireAt);
        if (plan.bump) await this.#bump(plan.bump);
        const doc: CommitDoc = {
          sessionId: this.sessionId,
          rev,
          prev: keepRev,
          base: head.base,
          count: texts.length + kept.refs.reduce((sum, ref) => sum + ref.n, 0),
          ...content,
          ...(ops ? { ops } : {}),
          at: new Date(now),
          ...plan.fields,
        };
        if (await this.#insert(doc)) {
          committed = true;
          await this.#collect(rev, keepRev, superseded, refIds(content.parts));
          return expected ? undefined : tail.at(-1);
        }
      } finally {
        if (!committed && created.length > 0) await this.#dropParts(created);
      }
      await lostRace(attempt);
    }
  }

  /** The newest commit without its items (one indexed document). */
  async #readHead(withOperations: boolean): Promise<CommitDoc | undefined> {
    const projection = withOperations ? { items: 0, parts: 0 } : { items: 0, parts: 0, ops: 0 };
    const [head] = await this.#ns.history
      .find({ sessionId: this.sessionId }, { sort: { rev: -1 }, limit: 1, projection })
      .toArray();
    return head ? checkCommit(head, false) : undefined;
  }

  async #readChain(need: number, forWrite: boolean): Promise<ChainRead> {
    for (let attempt = 0; ; attempt++) {
      const read = await this.#tryReadChain(need, forWrite);
      if (read) return read;
      if (attempt + 1 >= MAX_READ_ATTEMPTS) {
        throw new SessionCorruptDataError(
          `The history of this session links to a document that is missing (checked ${MAX_READ_ATTEMPTS} times)`,
        );
      }
      this.assertOpen();
      await lostRace(attempt);
    }
  }

  /**
   * Walks the chain from the newest commit along `prev` until `need` items are covered, in
   * pages sorted by `rev` descending (the unique index). Commits not on the chain (replaced,
   * awaiting deletion) are skipped. If a linked commit or part is missing, a concurrent writer
   * replaced and deleted it while we read: returns undefined and the caller reads again, so a
   * reader always sees one whole state of the history, never a mix.
   */
  async #tryReadChain(need: number, forWrite: boolean): Promise<ChainRead | undefined> {
    const nothing = (head: CommitDoc | undefined): ChainRead => ({
      head,
      live: false,
      chain: [],
      scanned: [],
      covered: true,
      parts: new Map(),
    });
    let head: CommitDoc | undefined;
    const chain: ChainLink[] = [];
    const scanned: CommitDoc[] = [];
    let expected = 0;
    let collected = 0;
    let done = false;
    let covered = false;
    let keepRev = 0;
    let below = Number.POSITIVE_INFINITY;
    let pageSize = Number.isFinite(need) ? Math.min(need + 2, MAX_FIRST_PAGE) : 0;
    while (!done) {
      const filter = Number.isFinite(below)
        ? { sessionId: this.sessionId, rev: { $lt: below } }
        : { sessionId: this.sessionId };
      const page = await this.#ns.history
        .find(filter, {
          sort: { rev: -1 },
          ...(pageSize > 0 ? { limit: pageSize } : {}),
          batchSize: pageSize || MAX_PAGE,
        })
        .toArray();
      const lastPage = pageSize === 0 || page.length < pageSize;
      for (const raw of page) {
        const doc = checkCommit(raw, true);
        below = doc.rev;
        if (head === undefined) {
          head = doc;
          if (isExpired(doc, Date.now())) return nothing(doc);
          expected = doc.rev;
        }
        if (done) {
          // Only for writes: look at what lies between the last link and its `prev`.
          if (doc.rev <= keepRev) {
            covered = true;
            break;
          }
          scanned.push(doc);
          continue;
        }
        scanned.push(doc);
        if (doc.rev > expected) continue;
        // Missing, or replaced and emptied while we read: the history moved on; read again.
        if (doc.rev < expected || doc.dead !== undefined) return undefined;
        const take = Math.min(doc.count, need - collected);
        chain.push({ doc, from: doc.count - take });
        collected += take;
        if (doc.prev === 0 || collected >= need) {
          done = true;
          keepRev = doc.prev;
          if (!forWrite) break;
        } else {
          expected = doc.prev;
        }
      }
      if (!done) {
        if (lastPage) return head === undefined ? nothing(undefined) : undefined;
        pageSize = Math.min(pageSize * 4, MAX_PAGE);
      } else if (lastPage) {
        covered = true;
      }
    }
    const parts = await this.#fetchParts(chain);
    if (!parts) return undefined;
    return { head, live: true, chain, scanned, covered, parts };
  }

  /** The overflow documents holding the window's items, or undefined if one is gone. */
  async #fetchParts(chain: ChainLink[]): Promise<Map<string, string[]> | undefined> {
    const wanted = new Map<string, PartRef>();
    for (const { doc, from } of chain) {
      let offset = 0;
      for (const ref of doc.parts ?? []) {
        if (offset + ref.n > from) wanted.set(ref.id.toHexString(), ref);
        offset += ref.n;
      }
    }
    const parts = new Map<string, string[]>();
    if (wanted.size === 0) return parts;
    const ids = [...wanted.values()].map((ref) => ref.id);
    for (const part of await this.#ns.parts.find({ sessionId: this.sessionId, _id: { $in: ids } }).toArray()) {
      parts.set(part._id.toHexString(), part.items);
    }
    for (const [key, ref] of wanted) {
      const items = parts.get(key);
      if (!items) return undefined;
      if (!Array.isArray(items) || items.length !== ref.n || items.some((text) => typeof text !== 'string')) {
        throw new SessionCorruptDataError(`An overflow document of this session is malformed (${key})`);
      }
    }
    return parts;
  }

  /** Every commit the rewrite replaces: those newer than `keepRev`, read or still to fetch. */
  async #superseded(read: ChainRead, keepRev: number): Promise<CommitDoc[]> {
    const known = read.scanned.filter((doc) => doc.rev > keepRev);
    if (read.covered) return known;
    const lowest = read.scanned.at(-1)!.rev;
    const rest = await this.#ns.history
      .find(
        { sessionId: this.sessionId, rev: { $gt: keepRev, $lt: lowest } },
        { projection: { rev: 1, prev: 1, base: 1, count: 1, ops: 1, parts: 1 } },
      )
      .toArray();
    return [...known, ...(rest as CommitDoc[])];
  }

  async #findOperation(id: string): Promise<{ rev: number; record: OperationRecord } | undefined> {
    const [doc] = await this.#ns.history
      .find(
        { sessionId: this.sessionId, 'ops.id': id },
        { sort: { rev: -1 }, limit: 1, projection: { rev: 1, ops: 1 } },
      )
      .toArray();
    const record = doc?.ops?.find((op) => isOperationRecord(op) && op.id === id);
    return doc && record ? { rev: doc.rev, record } : undefined;
  }

  /** Commits that remember operation ids (for a compaction to carry them over). */
  async #operationCommits(): Promise<CommitDoc[]> {
    return (await this.#ns.history
      .find({ sessionId: this.sessionId, ops: { $exists: true } }, { projection: { rev: 1, ops: 1 } })
      .toArray()) as CommitDoc[];
  }

  /**
   * Writes a commit if `doc.rev` is still free and nothing newer exists; false when another
   * writer got there first. The filter matters: a `rev` whose commit was replaced and deleted
   * is free again, and a writer that read the head before that must not take it. The upsert
   * inserts only when no commit with `rev >= doc.rev` exists (one snapshot on MongoDB; two
   * writers inserting the same `rev` meet the unique index and one gets E11000).
   */
  async #insert(doc: CommitDoc): Promise<boolean> {
    const { sessionId, ...fields } = doc;
    try {
      const result = await this.#ns.history.updateOne(
        { sessionId, rev: { $gte: doc.rev } },
        { $setOnInsert: fields },
        { upsert: true },
      );
      return result.upsertedCount === 1;
    } catch (error) {
      if ((error as { code?: unknown }).code === 11000) return false;
      throw error;
    }
  }

  #fitsInline(texts: string[], ops: OperationRecord[] | undefined): boolean {
    const size = BSON.calculateObjectSize({ sessionId: this.sessionId, items: texts, ...(ops ? { ops } : {}) });
    return size + COMMIT_HEADROOM_BYTES <= MAX_DOCUMENT_BYTES;
  }

  /** Writes `texts` into as few overflow documents as fit, before the commit that links them. */
  async #writeParts(texts: string[], now: number, expiresAt: Date | undefined): Promise<PartRef[]> {
    const docs = packParts(texts, this.sessionId, new Date(now), expiresAt);
    try {
      await this.#ns.parts.insertMany(docs, { ordered: true });
    } catch (error) {
      await this.#dropParts(docs.map((doc) => doc._id));
      throw error;
    }
    return docs.map((doc) => ({ id: doc._id, n: doc.items.length }));
  }

  /** Best effort: overflow documents no commit links to are invisible anyway. */
  async #dropParts(ids: ObjectId[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      await this.#ns.parts.deleteMany({ sessionId: this.sessionId, _id: { $in: ids } });
    } catch {
      // Left for the TTL index (when the session has one); readers never see them.
    }
  }

  /**
   * Empties the commits that `rev` replaced (`keepRev < rev' < rev`) into tombstones, deletes
   * the overflow documents only they linked to, and deletes tombstones older than the grace.
   * Runs after the commit, so it only removes what no reader of the new state needs; a reader
   * of the old state notices and reads again. Best effort: the operation already succeeded,
   * and whatever is left is invisible and cleaned by a later cleanup of the same range.
   */
  async #collect(rev: number, keepRev: number, known: CommitDoc[] | undefined, keep: Set<string>): Promise<void> {
    if (rev - keepRev <= 1) return;
    const inRange = (doc: CommitDoc) => doc.rev > keepRev && doc.rev < rev;
    const { history, parts } = this.#ns;
    try {
      const docs =
        known?.filter(inRange) ??
        ((await history
          .find(
            { sessionId: this.sessionId, rev: { $gt: keepRev, $lt: rev }, parts: { $exists: true } },
            { projection: { rev: 1, parts: 1 } },
          )
          .toArray()) as CommitDoc[]);
      const unlinked = new Map<string, ObjectId>();
      for (const doc of docs) {
        for (const ref of doc.parts ?? []) {
          const key = ref.id.toHexString();
          if (!keep.has(key)) unlinked.set(key, ref.id);
        }
      }
      const now = Date.now();
      const partFilters: Filter<PartDoc>[] = [];
      if (unlinked.size > 0) partFilters.push({ _id: { $in: [...unlinked.values()] } });
      if (known === undefined && keepRev === 0) {
        // The whole history was replaced: also drop overflow documents of writers that died.
        const linked = [...keep].map((key) => ObjectId.createFromHexString(key));
        partFilters.push({ at: { $lt: new Date(now - ORPHAN_PART_AGE_MS) }, _id: { $nin: linked } });
      }
      const replaced = known === undefined || docs.length > 0;
      // Independent of each other, so one round trip: a failure leaves only invisible leftovers.
      await Promise.all([
        partFilters.length > 0 ? parts.deleteMany({ sessionId: this.sessionId, $or: partFilters }) : undefined,
        replaced
          ? history.updateMany(
              { sessionId: this.sessionId, rev: { $gt: keepRev, $lt: rev }, dead: { $exists: false } },
              {
                $set: tombstoneFields(now),
                $unset: { items: '', parts: '', ops: '', floor: '' },
              },
            )
          : undefined,
        replaced
          ? history.deleteMany({ sessionId: this.sessionId, dead: { $lt: new Date(now - TOMBSTONE_GRACE_MS) } })
          : undefined,
      ]);
    } catch {
      // See above: the commit stands; leftovers are skipped by readers.
    }
  }

  /** Physical expiry of overflow documents written now. */
  #partsExpiry(now: number): Date | undefined {
    const ttl = this.ttlMs;
    return ttl === undefined ? undefined : new Date(now + 2 * ttl);
  }

  /** Slides (or removes) the physical expiry of every document of the session. */
  async #bump(bump: NonNullable<ExpiryPlan['bump']>): Promise<void> {
    const { history, parts } = this.#ns;
    if ('unset' in bump) {
      const filter = { sessionId: this.sessionId, expiresAt: { $exists: true } };
      await Promise.all([
        history.updateMany({ ...filter, dead: { $exists: false } }, { $unset: { expiresAt: '' } }),
        parts.updateMany(filter, { $unset: { expiresAt: '' } }),
      ]);
      return;
    }
    const filter = {
      sessionId: this.sessionId,
      $or: [{ expiresAt: { $lt: bump.below } }, { expiresAt: { $exists: false } }],
    };
    await Promise.all([
      history.updateMany({ ...filter, dead: { $exists: false } }, { $max: { expiresAt: bump.to } }),
      parts.updateMany(filter, { $max: { expiresAt: bump.to } }),
    ]);
  }
}

/**
 * Writers of one session sharing a client (or Db) take turns instead of racing each other for
 * the next `rev` (each lost race costs a read and a write); across clients and processes the
 * unique index still decides, so correctness never depends on it.
 */
const writeQueue = new SessionWriteQueue();

/**
 * A head reads as empty once its `until` has passed, and always when it is a tombstone: a
 * tombstone is only ever the newest document when the TTL index removed the head above it,
 * which happens after that head expired.
 */
function isExpired(doc: CommitDoc, now: number): boolean {
  return doc.dead !== undefined || (doc.until instanceof Date && doc.until.getTime() <= now);
}

/** What a replaced commit becomes: item-less, expired (`until` in 1970), deleted after the grace. */
export function tombstoneFields(now: number): Pick<CommitDoc, 'count' | 'dead' | 'until' | 'expiresAt'> {
  return { count: 0, dead: new Date(now), until: new Date(0), expiresAt: new Date(now + TOMBSTONE_GRACE_MS) };
}

/**
 * Expiry of a new commit. `until` is the logical expiry (now + ttl, checked by readers); the
 * TTL index deletes at `expiresAt` ≥ until + ttl. Two rules keep the TTL index from ever
 * exposing stale items:
 * - Older documents of the chain (`rest`) must not be deleted before `until`: `floor` tracks
 *   their lowest `expiresAt`, and when it falls short they are all pushed up first (`bump`),
 *   at most about once per ttl/2.
 * - No older commit may outlive the new one, or removing the new head would make an older one
 *   the head again (with a `until` of its own, from a store with a longer ttl). So `expiresAt`
 *   is also later than the current head's (which, by this same rule, is the latest of the
 *   session's live commits), the bump stays below it, and a head without any `expiresAt`
 *   (written without ttl) gets every document of the session bumped. The TTL index deletes
 *   in `expiresAt` order, so older documents always go first. Tombstones are exempt: they
 *   read as expired whenever they become the head.
 * `head` is the newest commit, whatever its state; `rest` the head when the chain goes on
 * through it.
 */
export function planExpiry(
  ttl: number | undefined,
  now: number,
  head: CommitDoc | undefined,
  rest: CommitDoc | undefined,
  ownParts: Date | undefined,
): ExpiryPlan {
  if (ttl === undefined) {
    const expiring = rest && (rest.until || rest.expiresAt || rest.floor);
    return { fields: {}, ...(expiring ? { bump: { unset: true } } : {}) };
  }
  const until = now + ttl;
  const latest = head?.expiresAt?.getTime() ?? Number.NEGATIVE_INFINITY;
  const expiresAt = Math.max(until + ttl, latest + EXPIRY_STEP_MS);
  let floor = Number.POSITIVE_INFINITY;
  if (rest) {
    floor =
      rest.until === undefined
        ? Number.NEGATIVE_INFINITY
        : Math.min(rest.floor?.getTime() ?? Number.POSITIVE_INFINITY, rest.expiresAt?.getTime() ?? until);
  }
  // Documents written without ttl never expire: give them an expiry below ours.
  if (head && head.dead === undefined && head.expiresAt === undefined) floor = Number.NEGATIVE_INFINITY;
  if (ownParts) floor = Math.min(floor, ownParts.getTime());
  let bump: ExpiryPlan['bump'];
  if (floor < until) {
    const below = until + ttl / 2;
    const to = Math.max(until, expiresAt - EXPIRY_STEP_MS);
    bump = { below: new Date(below), to: new Date(to) };
    floor = Math.min(below, to);
  }
  return {
    fields: {
      until: new Date(until),
      expiresAt: new Date(expiresAt),
      ...(Number.isFinite(floor) ? { floor: new Date(floor) } : {}),
    },
    ...(bump ? { bump } : {}),
  };
}

/** The window's items, oldest first. */
function windowTexts(read: ChainRead): string[] {
  const out: string[] = [];
  for (let i = read.chain.length - 1; i >= 0; i--) {
    const { doc, from } = read.chain[i]!;
    out.push(...commitTexts(doc, from, doc.count, read.parts));
  }
  return out;
}

function commitTexts(doc: CommitDoc, from: number, to: number, parts: Map<string, string[]>): string[] {
  if (doc.items) return doc.items.slice(from, to);
  const out: string[] = [];
  let offset = 0;
  for (const ref of doc.parts ?? []) {
    const end = offset + ref.n;
    if (end > from && offset < to) {
      const items = parts.get(ref.id.toHexString())!;
      out.push(...items.slice(Math.max(0, from - offset), Math.min(ref.n, to - offset)));
    }
    offset = end;
  }
  return out;
}

/** What the rewrite keeps of the commit it cuts into: whole parts by reference, the rest as text. */
function keptContent(cut: ChainLink, parts: Map<string, string[]>): { refs: PartRef[]; texts: string[] } {
  const { doc, from } = cut;
  if (from === 0) return { refs: [], texts: [] };
  if (doc.items) return { refs: [], texts: doc.items.slice(0, from) };
  const refs: PartRef[] = [];
  const texts: string[] = [];
  let offset = 0;
  for (const ref of doc.parts ?? []) {
    const end = offset + ref.n;
    if (end <= from) refs.push(ref);
    else if (offset < from) texts.push(...parts.get(ref.id.toHexString())!.slice(0, from - offset));
    offset = end;
  }
  return { refs, texts };
}

/** Inline items; an empty commit has no `items` field (FerretDB drops empty arrays on upsert). */
function inline(texts: string[]): Pick<CommitDoc, 'items'> {
  return texts.length > 0 ? { items: texts } : {};
}

function refIds(refs: PartRef[] | undefined): Set<string> {
  return new Set((refs ?? []).map((ref) => ref.id.toHexString()));
}

/** Packs items into overflow documents of at most 16 MiB each, keeping their order. */
function packParts(texts: string[], sessionId: string, at: Date, expiresAt: Date | undefined): PartDoc[] {
  const extra = expiresAt ? { expiresAt } : {};
  const skeleton = BSON.calculateObjectSize({ _id: new ObjectId(), sessionId, items: [], at, ...extra });
  // An array element: type byte, decimal index + NUL, int32 length, UTF-8 bytes + NUL.
  const elementSize = (index: number, text: string) =>
    1 + String(index).length + 1 + 4 + Buffer.byteLength(text, 'utf8') + 1;
  const groups: string[][] = [];
  let current: string[] = [];
  let size = skeleton;
  for (const text of texts) {
    if (current.length > 0 && size + elementSize(current.length, text) > MAX_DOCUMENT_BYTES) {
      groups.push(current);
      current = [];
      size = skeleton;
    }
    size += elementSize(current.length, text);
    current.push(text);
  }
  if (current.length > 0) groups.push(current);
  return groups.map((items) => ({ _id: new ObjectId(), sessionId, items, at, ...extra }));
}

/** Refuses, before any I/O, an item that could not fit in a document even alone. */
function checkSizes(texts: string[], label: string): void {
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]!;
    if (text.length * 3 <= MAX_ITEM_BYTES) continue; // cannot exceed the limit: skip counting
    const bytes = utf8ByteLength(text);
    if (bytes > MAX_ITEM_BYTES) throw new SessionItemTooLargeError(`${label}[${i}]`, bytes, MAX_ITEM_BYTES);
  }
}

/**
 * Was this operation id already applied (same fingerprint), reused for something else
 * (throws), or not recorded in the current history? `stale` means the record is newer than
 * the head we read: read again.
 */
function checkOperation(
  found: { rev: number; record: OperationRecord } | undefined,
  head: CommitDoc | undefined,
  operation: Operation,
  now: number,
): 'applied' | 'fresh' | 'stale' {
  if (!found || !head) return 'fresh';
  if (found.rev > head.rev) return 'stale';
  if (found.rev < head.base || now - found.record.at.getTime() >= RETENTION_MS) return 'fresh';
  if (found.record.fp === operation.fp) return 'applied';
  throw new SessionConflictError(
    'operation_id_reused',
    `operationId ${JSON.stringify(operation.id)} was already used for a different transaction`,
  );
}

/** Operation ids of the replaced commits (current history, within retention) plus the new one. */
export function carryOperations(
  docs: CommitDoc[],
  base: number,
  now: number,
  added: OperationRecord | undefined,
): OperationRecord[] | undefined {
  const byId = new Map<string, OperationRecord>();
  for (const doc of docs) {
    if (doc.rev < base || !Array.isArray(doc.ops)) continue;
    for (const op of doc.ops) {
      if (!isOperationRecord(op) || now - op.at.getTime() >= RETENTION_MS) continue;
      const seen = byId.get(op.id);
      if (!seen || seen.at < op.at) byId.set(op.id, { id: op.id, fp: op.fp, at: op.at });
    }
  }
  if (added) byId.delete(added.id);
  const carried = [...byId.values()];
  // Newest first, the new record ahead of all; keep as many as fit in the byte budget.
  carried.sort((a, b) => b.at.getTime() - a.at.getTime());
  const ordered = added ? [added, ...carried] : carried;
  let size = BSON.calculateObjectSize({ ops: [] });
  let kept = 0;
  for (const op of ordered) {
    // An array element: type byte, decimal index + NUL, then the embedded document.
    size += 1 + String(kept).length + 1 + BSON.calculateObjectSize(op);
    if (size > MAX_CARRIED_OPERATION_BYTES) break;
    kept++;
  }
  const ops = ordered.slice(0, kept);
  return ops.length > 0 ? ops : undefined;
}

function isOperationRecord(op: unknown): op is OperationRecord {
  const record = op as OperationRecord;
  return (
    typeof record === 'object' &&
    record !== null &&
    typeof record.id === 'string' &&
    typeof record.fp === 'string' &&
    record.at instanceof Date
  );
}

const isCount = (value: unknown, min: number): value is number =>
  Number.isSafeInteger(value) && (value as number) >= min;

/** Refuses documents this package did not write (or that were damaged) instead of guessing. */
function checkCommit(raw: unknown, withItems: boolean): CommitDoc {
  const doc = raw as CommitDoc;
  let ok =
    isCount(doc.rev, 1) &&
    isCount(doc.prev, 0) &&
    doc.prev < doc.rev &&
    isCount(doc.base, 1) &&
    isCount(doc.count, 0) &&
    (doc.until === undefined || doc.until instanceof Date);
  if (ok && withItems) {
    if (doc.items === undefined && doc.parts === undefined) {
      ok = doc.count === 0;
    } else if (Array.isArray(doc.items)) {
      ok = doc.items.length === doc.count && doc.items.every((text) => typeof text === 'string');
    } else {
      ok =
        Array.isArray(doc.parts) &&
        doc.parts.every((ref) => typeof ref?.id?.toHexString === 'function' && isCount(ref.n, 1)) &&
        doc.parts.reduce((sum, ref) => sum + ref.n, 0) === doc.count;
    }
  }
  if (!ok) throw new SessionCorruptDataError(`A stored commit of this session is malformed (rev ${String(doc.rev)})`);
  return doc;
}

/** Someone else committed first: wait a random moment (full jitter) before reading again. */
async function lostRace(attempt: number): Promise<void> {
  if (attempt + 1 >= MAX_WRITE_ATTEMPTS) {
    throw new Error(`gave up after ${MAX_WRITE_ATTEMPTS} attempts: other writers kept committing first`);
  }
  const cap = Math.min(MAX_BACKOFF_MS, 2 ** Math.min(attempt, 10));
  await new Promise<void>((resolve) => setTimeout(resolve, Math.random() * cap));
}
