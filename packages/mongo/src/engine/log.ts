/**
 * The commit log's I/O: every query and write the engine sends for one session. Each method is
 * one round trip (or two independent ones in parallel); the decisions are made elsewhere.
 */
import { SessionCorruptDataError } from '@sessions/core';
import { type DeleteOptions, type Filter, type InsertOneOptions, ObjectId, type UpdateOptions } from 'mongodb';
import { isDuplicateKey, isMongoConnectionError } from '../errors.js';
import { callOptions } from './call.js';
import { type CatalogFields, catalogFieldsOf } from './catalog.js';
import {
  type ChainRead,
  type ChainWalk,
  type FetchPage,
  matchParts,
  supersededBy,
  walkChain,
  wantedParts,
} from './chain.js';
import {
  type CommitDoc,
  checkCommit,
  ORPHAN_PART_AGE_MS,
  type PartDoc,
  type PartRef,
  TOMBSTONE_GRACE_MS,
} from './documents.js';
import { type ExpiryBump, tombstoneFields } from './expiry.js';
import type { Namespace } from './namespace.js';
import { type FoundOperation, findRecord } from './operations.js';
import { packParts } from './parts.js';
import { LOST, MAX_READ_ATTEMPTS, retryUntilSettled } from './retry.js';

/**
 * Every command carries the signal of the public call that sends it (`callOptions()`), so that
 * nothing outlives the call; `beforeWrite` runs before anything is written (with
 * `createIfMissing: false`, the check that `setup()` was run).
 */
export class CommitLog {
  readonly #ns: Namespace;
  readonly #sessionId: string;
  readonly #assertActive: () => void;
  readonly #beforeWrite: () => Promise<void>;

  constructor(ns: Namespace, sessionId: string, assertActive: () => void, beforeWrite: () => Promise<void>) {
    this.#ns = ns;
    this.#sessionId = sessionId;
    this.#assertActive = assertActive;
    this.#beforeWrite = beforeWrite;
  }

  get namespace(): Namespace {
    return this.#ns;
  }

  /** The newest commit without its items (one indexed document). */
  async readHead(withOperations: boolean): Promise<CommitDoc | undefined> {
    const projection = withOperations ? { items: 0, parts: 0 } : { items: 0, parts: 0, ops: 0 };
    const [head] = await this.#ns.history
      .find({ sessionId: this.#sessionId }, { sort: { rev: -1 }, limit: 1, projection, ...callOptions() })
      .toArray();
    return head ? checkCommit(head, false) : undefined;
  }

  /**
   * The newest `need` items' commits and overflow documents, as one whole state of the history:
   * a walk cut by a concurrent cleanup is read again (at most `MAX_READ_ATTEMPTS` times; a
   * chain that stays broken was damaged, not raced).
   */
  readChain(need: number, forWrite: boolean): Promise<ChainRead> {
    return retryUntilSettled(async () => (await this.#tryReadChain(need, forWrite)) ?? LOST, {
      beforeAttempt: this.#assertActive,
      maxAttempts: MAX_READ_ATTEMPTS,
      giveUp: (attempts) =>
        new SessionCorruptDataError(
          `The history of this session links to a document that is missing (checked ${attempts} times)`,
        ),
    });
  }

  async #tryReadChain(need: number, forWrite: boolean): Promise<ChainRead | undefined> {
    const walk = await walkChain(need, forWrite, this.#fetchPage);
    if (!walk) return undefined;
    if (!walk.live) return { ...walk, parts: new Map() };
    const parts = await this.#fetchParts(walk);
    return parts ? { ...walk, parts } : undefined;
  }

  readonly #fetchPage: FetchPage = ({ below, limit, batchSize }) =>
    this.#ns.history
      .find(
        below === undefined ? { sessionId: this.#sessionId } : { sessionId: this.#sessionId, rev: { $lt: below } },
        {
          sort: { rev: -1 },
          ...(limit === undefined ? {} : { limit }),
          batchSize,
          ...callOptions(),
        },
      )
      .toArray();

  /** The overflow documents holding the window's items, or undefined if one is gone. */
  async #fetchParts(walk: ChainWalk): Promise<Map<string, string[]> | undefined> {
    const wanted = wantedParts(walk.chain);
    if (wanted.size === 0) return new Map();
    const ids = [...wanted.values()].map((ref) => ref.id);
    const found = await this.#ns.parts.find({ sessionId: this.#sessionId, _id: { $in: ids } }, callOptions()).toArray();
    return matchParts(wanted, found);
  }

  /** Every commit a rewrite down to `keepRev` replaces: those the walk read, plus the rest. */
  async superseded(read: ChainWalk, keepRev: number): Promise<CommitDoc[]> {
    const { known, missing } = supersededBy(read, keepRev);
    if (!missing) return known;
    const rest = await this.#ns.history
      .find(
        { sessionId: this.#sessionId, rev: { $gt: missing.above, $lt: missing.below } },
        { projection: { rev: 1, prev: 1, base: 1, count: 1, ops: 1, parts: 1 }, ...callOptions() },
      )
      .toArray();
    return [...known, ...(rest as CommitDoc[])];
  }

  /** The newest commit recording operation id `id`. */
  async findOperation(id: string): Promise<FoundOperation | undefined> {
    const [doc] = await this.#ns.history
      .find(
        { sessionId: this.#sessionId, 'ops.id': id },
        { sort: { rev: -1 }, limit: 1, projection: { rev: 1, ops: 1 }, ...callOptions() },
      )
      .toArray();
    return findRecord(doc, id);
  }

  /** Commits that remember operation ids (for a compaction to carry them over). */
  async operationCommits(): Promise<CommitDoc[]> {
    return (await this.#ns.history
      .find(
        { sessionId: this.#sessionId, ops: { $exists: true } },
        { projection: { rev: 1, ops: 1 }, ...callOptions() },
      )
      .toArray()) as CommitDoc[];
  }

  /**
   * Writes a commit if `doc.rev` is still free and nothing newer exists; false when another
   * writer got there first. The filter matters: a `rev` whose commit was replaced and deleted
   * is free again, and a writer that read the head before that must not take it. The upsert
   * inserts only when no commit with `rev >= doc.rev` exists (one snapshot on MongoDB; two
   * writers inserting the same `rev` meet the unique index and one gets E11000).
   */
  async insert(doc: CommitDoc): Promise<boolean> {
    const { sessionId, ...fields } = doc;
    await this.#beforeWrite();
    try {
      const result = await this.#ns.history.updateOne(
        { sessionId, rev: { $gte: doc.rev } },
        { $setOnInsert: fields },
        { upsert: true, ...callOptions() },
      );
      return result.upsertedCount === 1;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /**
   * Writes `texts` into as few overflow documents as fit, before the commit that links them. One
   * `insertOne` each (each is up to 16 MiB anyway): `insertMany` would wrap a dropped connection
   * in a `MongoBulkWriteError` that no longer says it was one.
   */
  async writeParts(texts: string[], now: number, expiresAt: Date | undefined): Promise<PartRef[]> {
    const docs = packParts(texts, this.#sessionId, new Date(now), expiresAt);
    await this.#beforeWrite();
    try {
      for (const doc of docs) await this.#ns.parts.insertOne(doc, callOptions<InsertOneOptions>());
    } catch (error) {
      // After a dropped connection the server is out of reach: what landed stays, unlinked and invisible.
      if (!isMongoConnectionError(error)) await this.dropParts(docs.map((doc) => doc._id));
      throw error;
    }
    return docs.map((doc) => ({ id: doc._id, n: doc.items.length }));
  }

  /** Best effort: overflow documents no commit links to are invisible anyway. */
  async dropParts(ids: ObjectId[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      await this.#ns.parts.deleteMany({ sessionId: this.#sessionId, _id: { $in: ids } }, callOptions<DeleteOptions>());
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
  async collect(rev: number, keepRev: number, known: CommitDoc[] | undefined, keep: Set<string>): Promise<void> {
    if (rev - keepRev <= 1) return;
    const inRange = (doc: CommitDoc) => doc.rev > keepRev && doc.rev < rev;
    const { history, parts } = this.#ns;
    const sessionId = this.#sessionId;
    try {
      const docs =
        known?.filter(inRange) ??
        ((await history
          .find(
            { sessionId, rev: { $gt: keepRev, $lt: rev }, parts: { $exists: true } },
            { projection: { rev: 1, parts: 1 }, ...callOptions() },
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
        partFilters.length > 0
          ? parts.deleteMany({ sessionId, $or: partFilters }, callOptions<DeleteOptions>())
          : undefined,
        replaced
          ? history.updateMany(
              { sessionId, rev: { $gt: keepRev, $lt: rev }, dead: { $exists: false } },
              {
                $set: tombstoneFields(now),
                $unset: { items: '', parts: '', ops: '', floor: '', meta: '' },
              },
              callOptions<UpdateOptions>(),
            )
          : undefined,
        replaced
          ? history.deleteMany(
              { sessionId, dead: { $lt: new Date(now - TOMBSTONE_GRACE_MS) } },
              callOptions<DeleteOptions>(),
            )
          : undefined,
      ]);
    } catch {
      // See above: the commit stands; leftovers are skipped by readers.
    }
  }

  /**
   * The catalog fields of a live head. A head of the previous release has none: its total is
   * the sum of `count` along the chain (read without items) and its creation date the `at` of
   * the oldest commit left of its history; both are stored on the head (guarded, so only while
   * it still lacks them) so that this is done once per session. A chain cut by a concurrent
   * cleanup is read again, as in `readChain`.
   */
  async catalogOf(head: CommitDoc): Promise<CatalogFields> {
    const known = catalogFieldsOf(head);
    if (known) return known;
    const sessionId = this.#sessionId;
    const total = await retryUntilSettled(
      async () => {
        const docs = await this.#ns.history
          .find(
            { sessionId, rev: { $lte: head.rev } },
            { sort: { rev: -1 }, projection: { rev: 1, prev: 1, count: 1, dead: 1 }, ...callOptions() },
          )
          .toArray();
        let expected = head.rev;
        let sum = 0;
        for (const doc of docs) {
          if (expected === 0) break;
          if (doc.rev > expected) continue;
          if (doc.rev < expected || doc.dead !== undefined) return LOST;
          sum += doc.count;
          expected = doc.prev;
        }
        return expected === 0 ? sum : LOST;
      },
      {
        beforeAttempt: this.#assertActive,
        maxAttempts: MAX_READ_ATTEMPTS,
        giveUp: () => new SessionCorruptDataError('The history of this session links to a commit that is missing'),
      },
    );
    const [oldest] = await this.#ns.history
      .find(
        { sessionId, rev: { $gte: head.base } },
        { sort: { rev: 1 }, limit: 1, projection: { at: 1 }, ...callOptions() },
      )
      .toArray();
    const created = oldest?.at instanceof Date ? oldest.at : head.at;
    try {
      await this.#ns.history.updateOne(
        { sessionId, rev: head.rev, total: { $exists: false } },
        { $set: { total, created } },
        callOptions<UpdateOptions>(),
      );
    } catch {
      // Computed again next time.
    }
    return { total, created, at: head.at };
  }

  /** Slides (or removes) the physical expiry of every document of the session. */
  async bump(bump: ExpiryBump): Promise<void> {
    const { history, parts } = this.#ns;
    await this.#beforeWrite();
    if ('unset' in bump) {
      const filter = { sessionId: this.#sessionId, expiresAt: { $exists: true } };
      await Promise.all([
        history.updateMany(
          { ...filter, dead: { $exists: false } },
          { $unset: { expiresAt: '' } },
          callOptions<UpdateOptions>(),
        ),
        parts.updateMany(filter, { $unset: { expiresAt: '' } }, callOptions<UpdateOptions>()),
      ]);
      return;
    }
    const filter = {
      sessionId: this.#sessionId,
      $or: [{ expiresAt: { $lt: bump.below } }, { expiresAt: { $exists: false } }],
    };
    await Promise.all([
      history.updateMany(
        { ...filter, dead: { $exists: false } },
        { $max: { expiresAt: bump.to } },
        callOptions<UpdateOptions>(),
      ),
      parts.updateMany(filter, { $max: { expiresAt: bump.to } }, callOptions<UpdateOptions>()),
    ]);
  }
}
