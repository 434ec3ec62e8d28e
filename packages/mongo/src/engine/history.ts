/**
 * The session's history operations on the commit log: each write reads what it needs, plans
 * its commit (plan.ts) and tries it in the one retry loop (retry.ts) until it commits or has a
 * final answer. Transactions answer with core's `TransactionVerdict`.
 */
import type { TransactionVerdict } from '@sessions/core';
import { isMongoConnectionError } from '../errors.js';
import { type CatalogFields, copyToListing, nextCatalogFields } from './catalog.js';
import { windowTexts } from './chain.js';
import type { CommitDoc, PartRef } from './documents.js';
import { isExpired, partsExpiry, planExpiry } from './expiry.js';
import type { CommitLog } from './log.js';
import { lookUpOperation, type Operation } from './operations.js';
import { fitsInline, inline, refIds } from './parts.js';
import {
  buildCommit,
  matchTail,
  needsParts,
  planAppend,
  planClear,
  planCompaction,
  planRewrite,
  type WritePlan,
} from './plan.js';
import { type Attempt, LOST, retryUntilSettled } from './retry.js';

/** A rewrite's answer: `applied` with the tail it replaced, or why nothing was written. */
export type RewriteOutcome =
  | { verdict: 'applied'; tail: string[] }
  | { verdict: Exclude<TransactionVerdict, 'applied'> };

export interface HistoryContext {
  sessionId: string;
  /** The session's ttl in milliseconds, or undefined. */
  ttlMs: number | undefined;
  /** Throws once the call is over (its deadline passed): no retry outlives it. */
  assertActive: () => void;
}

export class SessionHistory {
  readonly #log: CommitLog;
  readonly #context: HistoryContext;

  constructor(log: CommitLog, context: HistoryContext) {
    this.#log = log;
    this.#context = context;
  }

  /** The newest `limit` items (all when undefined), oldest first. */
  async read(limit: number | undefined): Promise<string[]> {
    const read = await this.#log.readChain(limit ?? Number.POSITIVE_INFINITY, false);
    return read.live ? windowTexts(read) : [];
  }

  /**
   * Appends `texts` (possibly none, for a transaction that only records its id) as one commit.
   * A batch too big for one document goes into overflow documents first, written once and
   * linked by whichever attempt commits: the head is read as late as possible.
   */
  async append(texts: string[], operation: Operation | undefined): Promise<TransactionVerdict> {
    const { sessionId, ttlMs } = this.#context;
    const overflow = new Overflow(this.#log);
    const probe = operation ? [{ ...operation, at: new Date() }] : undefined;
    if (!fitsInline(sessionId, texts, probe)) {
      const now = Date.now();
      await overflow.write(texts, now, partsExpiry(ttlMs, now));
    }
    return overflow.around(() =>
      this.#retry(async () => {
        // Head first, then the operation id: a commit of the id landing between the two reads is
        // newer than the head we hold (`ahead_of_head`), and one landing later makes our insert lose.
        const head = await this.#log.readHead(false);
        const found = operation ? await this.#log.findOperation(operation.id) : undefined;
        const now = Date.now();
        if (operation) {
          const live = head !== undefined && !isExpired(head, now) ? head : undefined;
          const lookup = lookUpOperation(found, live, operation, now);
          if (lookup === 'ahead_of_head') return LOST;
          if (lookup !== 'unrecorded') return lookup;
        }
        const plan = planAppend(head, now, texts, operation);
        const previous = await this.#catalogOf(head, now);
        const catalog = nextCatalogFields(previous, now, (previous?.total ?? 0) + texts.length);
        return (await this.#commit(plan, head, now, overflow, catalog)) ? 'applied' : LOST;
      }),
    );
  }

  /**
   * Replaces the newest `size` items by `replacement` in one commit, if they equal `expected`
   * (a `replace_suffix` transaction) or whatever they are (`expected` undefined: a pop, whose
   * `suffix_mismatch` means there was nothing to pop).
   */
  rewrite(
    size: number,
    expected: string[] | undefined,
    replacement: string[],
    operation: Operation | undefined,
  ): Promise<RewriteOutcome> {
    return this.#retry(async (): Promise<Attempt<RewriteOutcome>> => {
      // Head (the chain's first page) first, then the operation id: see `append`.
      const read = await this.#log.readChain(size, true);
      const found = operation ? await this.#log.findOperation(operation.id) : undefined;
      const now = Date.now();
      if (operation) {
        const lookup = lookUpOperation(found, read.live ? read.head : undefined, operation, now);
        if (lookup === 'ahead_of_head') return LOST;
        if (lookup !== 'unrecorded') return { verdict: lookup };
      }
      const tail = matchTail(read, size, expected);
      if (!tail) return { verdict: 'suffix_mismatch' };
      const superseded = await this.#log.superseded(read, read.chain.at(-1)!.doc.prev);
      const plan = planRewrite(read, superseded, replacement, operation, now);
      const previous = await this.#catalogOf(read.head, now);
      const catalog = nextCatalogFields(previous, now, (previous?.total ?? 0) - size + replacement.length);
      // Overflow written for this attempt's commit is dropped if another writer wins.
      const overflow = new Overflow(this.#log);
      return overflow.around(async () =>
        (await this.#commit(plan, read.head, now, overflow, catalog)) ? { verdict: 'applied' as const, tail } : LOST,
      );
    });
  }

  /** Replaces the whole history by `items` (a compaction), keeping the recorded operation ids. */
  async replaceAll(items: string[]): Promise<void> {
    const overflow = new Overflow(this.#log);
    await overflow.around(() =>
      this.#retry(async () => {
        // Head first: an operation committed after this read moves the head, so our insert loses.
        const head = await this.#log.readHead(false);
        const withOperations = await this.#log.operationCommits();
        const now = Date.now();
        const plan = planCompaction(head, withOperations, items, now);
        if (!plan) return undefined;
        const catalog = nextCatalogFields(await this.#catalogOf(head, now), now, items.length);
        return (await this.#commit(plan, head, now, overflow, catalog)) ? undefined : LOST;
      }),
    );
  }

  /** Starts a new, empty history (an item-less marker commit); nothing when already cleared. */
  async clear(): Promise<void> {
    await this.#retry(async () => {
      const head = await this.#log.readHead(true);
      const now = Date.now();
      const plan = planClear(head, now);
      if (!plan) return undefined;
      const catalog = nextCatalogFields(await this.#catalogOf(head, now), now, 0);
      return (await this.#commit(plan, head, now, new Overflow(this.#log), catalog)) ? undefined : LOST;
    });
  }

  /** The metadata text and version of the live history, undefined without one. */
  async readMetadata(): Promise<{ text: string; version: number } | undefined> {
    const head = await this.#log.readHead(false);
    if (!head || isExpired(head, Date.now())) return undefined;
    return { text: head.meta ?? '', version: head.metaV ?? 0 };
  }

  /**
   * Compare-and-set of the metadata: an item-less commit carrying `text` as version
   * `expectedVersion + 1`, written only while the head's version is `expectedVersion`. The
   * guarded upsert takes `head.rev + 1`, so it lands only on the very head whose version was
   * checked; losing that race to an item write just means checking again.
   */
  writeMetadata(expectedVersion: number, text: string): Promise<boolean> {
    return this.#retry(async () => {
      const head = await this.#log.readHead(false);
      const now = Date.now();
      const previous = await this.#catalogOf(head, now);
      if ((previous?.metaV ?? 0) !== expectedVersion) return false;
      const plan = planAppend(head, now, [], undefined);
      const catalog = nextCatalogFields(previous, now, previous?.total ?? 0, { text, version: expectedVersion + 1 });
      return (await this.#commit(plan, head, now, new Overflow(this.#log), catalog)) ? true : LOST;
    });
  }

  /** The catalog fields of `head` when it is live, undefined when the next commit starts a new history. */
  async #catalogOf(head: CommitDoc | undefined, now: number): Promise<CatalogFields | undefined> {
    return head && !isExpired(head, now) ? this.#log.catalogOf(head) : undefined;
  }

  #retry<T>(attempt: () => Promise<Attempt<T>>): Promise<T> {
    return retryUntilSettled(attempt, { beforeAttempt: this.#context.assertActive });
  }

  /**
   * Puts `plan` down: its items inline or in overflow documents (those `overflow` already holds
   * for the same items, or written now), the expiry slide it needs, then the guarded upsert.
   * False when another writer took the `rev` first. After a commit, cleans up what it replaced.
   */
  async #commit(
    plan: WritePlan,
    head: CommitDoc | undefined,
    now: number,
    overflow: Overflow,
    catalog: CatalogFields,
  ): Promise<boolean> {
    const { sessionId, ttlMs } = this.#context;
    let content: Pick<CommitDoc, 'items' | 'parts'>;
    let partsExpireAt: Date | undefined;
    const written = overflow.holding(plan.texts);
    if (written) {
      content = { parts: [...plan.keptRefs, ...written] };
      partsExpireAt = overflow.expiresAt;
    } else if (!needsParts(sessionId, plan)) {
      content = inline(plan.texts);
    } else {
      partsExpireAt = partsExpiry(ttlMs, now);
      const fresh = plan.texts.length > 0 ? await overflow.write(plan.texts, now, partsExpireAt) : [];
      content = { parts: [...plan.keptRefs, ...fresh] };
    }
    const expiry = planExpiry(ttlMs, now, head, plan.rest, partsExpireAt);
    if (expiry.bump) await this.#log.bump(expiry.bump);
    const commit = buildCommit(sessionId, plan, content, now, expiry.fields, catalog);
    if (!(await this.#log.insert(commit))) return false;
    overflow.linked();
    const { cleanup } = plan;
    // Both best effort and independent: one round trip. The listing's copy is written before the
    // call returns, so that a session is listed in its place once its write has been answered.
    await Promise.all([
      copyToListing(this.#log.namespace, commit, now),
      cleanup && this.#log.collect(plan.rev, cleanup.keepRev, cleanup.known, refIds(content.parts)),
    ]);
    return true;
  }
}

/** Overflow documents one write put down: dropped again unless a commit came to link them. */
class Overflow {
  readonly #log: CommitLog;
  #texts: string[] | undefined;
  #refs: PartRef[] | undefined;
  #linked = false;
  expiresAt: Date | undefined;

  constructor(log: CommitLog) {
    this.#log = log;
  }

  async write(texts: string[], now: number, expiresAt: Date | undefined): Promise<PartRef[]> {
    this.#refs = await this.#log.writeParts(texts, now, expiresAt);
    this.#texts = texts;
    this.expiresAt = expiresAt;
    return this.#refs;
  }

  /** The documents already written for exactly these items, if any. */
  holding(texts: string[]): PartRef[] | undefined {
    return this.#texts === texts ? this.#refs : undefined;
  }

  linked(): void {
    this.#linked = true;
  }

  /**
   * Runs `work` (the attempts that may link these documents), then drops them unless a commit
   * linked them. Not after a connection failure: the commit may have reached the server before
   * the connection dropped (they must then stay), and the server is unreachable anyway; if it
   * did not, they are invisible (see the README's limits).
   */
  async around<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      await this.#dropUnlessLinked();
      return result;
    } catch (error) {
      if (!isMongoConnectionError(error)) await this.#dropUnlessLinked();
      throw error;
    }
  }

  async #dropUnlessLinked(): Promise<void> {
    if (!this.#linked && this.#refs) await this.#log.dropParts(this.#refs.map((ref) => ref.id));
  }
}
