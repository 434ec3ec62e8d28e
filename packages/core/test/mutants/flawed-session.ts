// Deliberately broken sessions. Each flaw is one mistake real backends make; the contract
// suite must catch every one of them (see ../suite-catches-flaws.test.ts).
import {
  BaseSession,
  BaseSessionStore,
  decodeItem,
  type EncodedHistoryTransaction,
  encodeItem,
  type HistoryMutationArgs,
  type HistoryTransactionArgs,
  SessionConflictError,
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
  | 'replaces-every-duplicate-call';

interface Row {
  items: string[];
  writtenAt: number;
  operations: Map<string, string>;
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
      row = { items: [], writtenAt: Date.now(), operations: new Map() };
      this.rows.set(this.key, row);
    }
    if (row && write) row.writtenAt = Date.now();
    return row;
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
  }

  protected async popLastItem() {
    const row = this.row();
    if (!row || row.items.length === 0) return undefined;
    if (this.flaw !== 'racy-pop') return row.items.pop();
    // Read the newest, then delete it later: two callers get the same item.
    const last = row.items[row.items.length - 1];
    await tick();
    row.items.splice(row.items.lastIndexOf(last!), 1);
    return last;
  }

  protected async clearItems() {
    const operations = this.rows.get(this.key)?.operations;
    this.rows.delete(this.key);
    // Forgets the items but remembers the operation ids: a re-applied id then writes nothing.
    if (this.flaw === 'clear-keeps-operation-ids' && operations) {
      this.row(true)!.operations = operations;
    }
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
  }

  protected async replaceAllItems(items: string[]) {
    const row = this.row(true)!;
    if (this.flaw !== 'non-atomic-compaction') {
      row.items = items.slice();
      return;
    }
    row.items.length = 0;
    for (const item of items) {
      await tick();
      row.items.push(item);
    }
  }
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

  count(sessionId: string): number {
    return this.createSession(sessionId).row()?.items.length ?? 0;
  }
}

export { decodeItem };
