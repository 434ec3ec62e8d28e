// Deliberately broken sessions. Each flaw is one mistake real backends make; the contract
// suite must catch every one of them (see ../suite-catches-flaws.test.ts).
import {
  BaseSession,
  BaseSessionStore,
  type CatalogPosition,
  type CatalogQuery,
  compareListingOrder,
  decodeItem,
  decodeMetadata,
  type EncodedHistoryTransaction,
  encodeItem,
  type HistoryMutationArgs,
  type HistoryTransactionArgs,
  type MetadataWrite,
  metadataMatches,
  SessionConflictError,
  type SessionInfo,
} from '../../src/index.js';

export type Flaw =
  | 'interleaved-batches'
  | 'half-written-batch'
  | 'racy-pop'
  | 'oldest-first-limit'
  | 'shared-objects'
  | 'colliding-ids'
  | 'forgets-operation-ids'
  | 'check-then-act-transaction'
  | 'ignores-ttl'
  | 'ignores-close'
  | 'non-atomic-compaction'
  | 'clear-keeps-operation-ids'
  | 'lax-transaction-arguments'
  | 'replaces-every-duplicate-call'
  | 'count-outside-write'
  | 'cursor-skips-ties'
  | 'metadata-last-write-wins';

interface Row {
  items: string[];
  writtenAt: number;
  operations: Map<string, string>;
  createdAt: number;
  /** The catalog's count, kept beside the items as a database column would be. */
  count: number;
  metadata: string;
  version: number;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

class FlawedSession extends BaseSession {
  constructor(
    readonly flaw: Flaw,
    readonly rows: Map<string, Row>,
    options: ConstructorParameters<typeof BaseSession>[0],
  ) {
    super(options);
  }

  get key(): string {
    // Naive key building: separators and case folded away.
    return this.flaw === 'colliding-ids' ? this.sessionId.replace(/[^a-z0-9]/gi, '_').toLowerCase() : this.sessionId;
  }

  row(write = false): Row | undefined {
    let row = this.rows.get(this.key);
    const ttl = this.ttlMs;
    if (row && ttl !== undefined && this.flaw !== 'ignores-ttl' && Date.now() - row.writtenAt >= ttl) {
      this.rows.delete(this.key);
      row = undefined;
    }
    if (!row && write) {
      row = {
        items: [],
        writtenAt: now(this.flaw),
        operations: new Map(),
        createdAt: now(this.flaw),
        count: 0,
        metadata: '',
        version: 0,
      };
      this.rows.set(this.key, row);
    }
    if (row && write) row.writtenAt = Math.max(row.writtenAt, now(this.flaw));
    return row;
  }

  /** After every write: the count in the same step, or (flawed) read, awaited, then written. */
  async recount(row: Row | undefined, delta: number) {
    if (!row) return;
    if (this.flaw !== 'count-outside-write') {
      row.count = row.items.length;
      return;
    }
    const before = row.count;
    await tick();
    row.count = before + delta;
  }

  cache = new Map<string, unknown>();
  override async getItems(limit?: number) {
    const items = await super.getItems(limit);
    if (this.flaw !== 'shared-objects') return items;
    // Hands out the same objects every time, so a caller's mutation "changes" history.
    return items.map((item) => {
      const key = JSON.stringify(item);
      if (!this.cache.has(key)) this.cache.set(key, item);
      return this.cache.get(key);
    });
  }

  override async applyHistoryTransaction(args: HistoryTransactionArgs) {
    if (this.flaw !== 'lax-transaction-arguments') return super.applyHistoryTransaction(args);
    // Reads only the fields it needs and trusts the rest: blank ids and stray fields get through.
    const { operationId, transaction } = args;
    const replacement = transaction.type === 'append_items' ? transaction.items : transaction.replacement;
    const expected = transaction.type === 'append_items' ? [] : transaction.expectedSuffix;
    await this.commitTransaction({
      operationId: String(operationId),
      fingerprint: JSON.stringify(transaction),
      expectedSuffix: expected.map((item) => encodeItem(item)),
      replacement: replacement.map((item) => encodeItem(item)),
    });
  }

  override async applyHistoryMutations(args: HistoryMutationArgs) {
    if (this.flaw !== 'replaces-every-duplicate-call') return super.applyHistoryMutations(args);
    // Replaces each stored copy of the call, so a duplicated call stays duplicated.
    const row = this.row(true)!;
    for (const { callId, replacement } of args.mutations) {
      row.items = row.items.map((text) => {
        const item = decodeItem(text);
        return item.type === 'function_call' && item.callId === callId ? encodeItem(replacement) : text;
      });
    }
  }

  override async addItems(items: unknown[]) {
    if (this.flaw !== 'half-written-batch' || !Array.isArray(items)) return super.addItems(items);
    // Writes item by item, so a bad item in the middle leaves the valid prefix stored.
    for (const [i, item] of items.entries()) this.row(true)!.items.push(encodeItem(item, `items[${i}]`));
  }

  protected async readItems(limit: number | undefined) {
    const items = this.row()?.items ?? [];
    if (limit === undefined) return items.slice();
    return this.flaw === 'oldest-first-limit' ? items.slice(0, limit) : items.slice(-limit);
  }

  protected async appendItems(items: string[]) {
    for (const item of items) {
      this.row(true)!.items.push(item);
      if (this.flaw === 'interleaved-batches') await tick();
    }
    await this.recount(this.row(), items.length);
  }

  protected async popLastItem() {
    const row = this.row();
    if (!row || row.items.length === 0) return undefined;
    if (this.flaw !== 'racy-pop') {
      this.row(true);
      const popped = row.items.pop();
      await this.recount(row, -1);
      return popped;
    }
    // Read the newest, then delete it later: two callers get the same item.
    const last = row.items[row.items.length - 1];
    await tick();
    row.items.splice(row.items.lastIndexOf(last!), 1);
    return last;
  }

  protected async clearItems() {
    const row = this.row();
    if (!row) return;
    this.row(true);
    row.items = [];
    row.count = 0;
    // Forgets the items but remembers the operation ids: a re-applied id then writes nothing.
    if (this.flaw !== 'clear-keeps-operation-ids') row.operations = new Map();
  }

  protected async readMetadata() {
    const row = this.row();
    return row && { text: row.metadata, version: row.version };
  }

  protected async writeMetadata(update: MetadataWrite) {
    // The flaw: no compare, so of two concurrent merges the later one drops the other's key.
    if (this.flaw !== 'metadata-last-write-wins' && (this.row()?.version ?? 0) !== update.expectedVersion) return false;
    if (this.flaw === 'metadata-last-write-wins') await tick();
    const row = this.row(true)!;
    row.metadata = update.text;
    row.version++;
    return true;
  }

  protected async commitTransaction(tx: EncodedHistoryTransaction) {
    const row = this.row(true)!;
    const seen = row.operations.get(tx.operationId);
    if (seen !== undefined && this.flaw !== 'forgets-operation-ids') {
      if (seen === tx.fingerprint) return;
      throw new SessionConflictError('operation_id_reused', 'reused');
    }
    const start = row.items.length - tx.expectedSuffix.length;
    if (start < 0 || tx.expectedSuffix.some((text, i) => row.items[start + i] !== text)) {
      throw new SessionConflictError('suffix_mismatch', 'mismatch');
    }
    if (this.flaw === 'check-then-act-transaction') await tick();
    row.items.splice(row.items.length - tx.expectedSuffix.length, tx.expectedSuffix.length, ...tx.replacement);
    row.operations.set(tx.operationId, tx.fingerprint);
    await this.recount(row, tx.replacement.length - tx.expectedSuffix.length);
  }

  protected async replaceAllItems(items: string[]) {
    const row = this.row(true)!;
    if (this.flaw !== 'non-atomic-compaction') {
      row.items = items.slice();
      row.count = items.length;
      return;
    }
    row.items.length = 0;
    for (const item of items) {
      await tick();
      row.items.push(item);
    }
    row.count = items.length;
  }

  /** The live row of `sessionId` (expired ones dropped), for the store's catalog. */
  static live(flaw: Flaw, rows: Map<string, Row>, sessionId: string, ttlSeconds: number | undefined) {
    return new FlawedSession(flaw, rows, { sessionId, ttlSeconds }).row();
  }
}

/** The 'cursor-skips-ties' flaw keeps whole seconds, as some databases' timestamps do, so ties are common. */
function now(flaw: Flaw): number {
  return flaw === 'cursor-skips-ties' ? Math.floor(Date.now() / 1000) * 1000 : Date.now();
}

export class FlawedStore extends BaseSessionStore<FlawedSession> {
  constructor(
    readonly flaw: Flaw,
    readonly rows: Map<string, Row>,
    options: { ttlSeconds?: number },
  ) {
    super(options);
  }

  protected createSession(sessionId: string) {
    const isClosed = this.flaw === 'ignores-close' ? () => false : this.isClosed;
    return new FlawedSession(this.flaw, this.rows, { sessionId, ttlSeconds: this.ttlSeconds, isClosed });
  }

  override session(sessionId: string) {
    return this.flaw === 'ignores-close' ? this.createSession(sessionId) : super.session(sessionId);
  }

  protected override async releaseResources() {}

  #info(sessionId: string): SessionInfo | undefined {
    const row = FlawedSession.live(this.flaw, this.rows, sessionId, this.ttlSeconds);
    if (!row) return undefined;
    const expiresAt = this.ttlSeconds === undefined ? undefined : new Date(row.writtenAt + this.ttlSeconds * 1000);
    return {
      sessionId,
      createdAt: new Date(row.createdAt),
      updatedAt: new Date(row.writtenAt),
      itemCount: row.count,
      metadata: decodeMetadata(row.metadata),
      ...(expiresAt && { expiresAt }),
    };
  }

  // A whole sort per page: fine for a test double, not for a backend.
  protected async listCatalog(query: CatalogQuery) {
    const after = query.after;
    const all = [...this.rows.keys()]
      .map((id) => this.#info(id))
      .filter((info): info is SessionInfo => info !== undefined)
      .map((info) => ({ info, position: { updatedAt: info.updatedAt.getTime(), sessionId: info.sessionId } }))
      .filter(({ position }) =>
        !after
          ? true
          : this.flaw === 'cursor-skips-ties'
            ? position.updatedAt < after.updatedAt
            : compareListingOrder(position, after) > 0,
      )
      .filter(({ info }) => query.updatedAfter === undefined || info.updatedAt.getTime() > query.updatedAfter)
      .filter(({ info }) => query.updatedBefore === undefined || info.updatedAt.getTime() < query.updatedBefore)
      .filter(({ info }) => metadataMatches(info.metadata, query.metadata))
      .sort((a, b) => compareListingOrder(a.position, b.position));
    const page = all.slice(0, query.limit);
    const next: CatalogPosition | undefined = all.length > query.limit ? page.at(-1)!.position : undefined;
    return { sessions: page.map(({ info }) => info), ...(next && { next }) };
  }

  protected async readSessionInfo(sessionId: string) {
    return this.#info(sessionId);
  }

  protected async removeSession(sessionId: string) {
    this.rows.delete(sessionId);
  }

  count(sessionId: string): number {
    return this.createSession(sessionId).row()?.items.length ?? 0;
  }
}

export { decodeItem };
