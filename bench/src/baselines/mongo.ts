/**
 * Raw `mongodb` driver baseline on the collection `@sessions/mongo` writes (one document per
 * `addItems` batch: `{ sessionId, rev, items: [json…] }`, unique on `(sessionId, rev)`), reading
 * the very documents our store wrote. The least that gives the same results in the same round
 * trips:
 * - add: find the newest `rev`, `insertOne` the batch as `rev + 1` (a duplicate-key error means
 *   another writer took it: read and try again) — two round trips, like ours before the catalog
 *   (which upserts the session's listing entry after the commit: a third);
 * - getItems(20): one `find` sorted by `rev` descending, limited to 20 documents, keeping the newest 20 items;
 * - getItems(): one `find` sorted by `rev` (plus the cursor's `getMore`s);
 * - pop: one `findOneAndUpdate` that `$pop`s the last item of the newest non-empty document.
 * What it skips is what our store adds: validation, canonical JSON, the commit chain (`prev`,
 * `base`, tombstones) that lets readers never see half a change and keeps pops insert-only, TTL,
 * overflow documents for batches above 16 MB, operation ids.
 */
import type { AgentInputItem } from '@sessions/core';
import { MongoClient } from 'mongodb';
import { ALL_NATIVE, type Subject, type SubjectSession } from '../subject.ts';

export const MONGO_DATABASE = 'bench';

/**
 * FerretDB 1.x (the MongoDB-protocol server available here) does not use indexes: every query
 * scans the whole collection, at a cost proportional to the bytes stored in it. So that an
 * operation's cost reflects its own session's history rather than everything else the benchmark
 * wrote, each group of sessions (the 10-, 1,000- and 10,000-item histories, the add, pop and
 * concurrency sessions) lives in its own collections, for ours, the baseline and the peer alike.
 */
export function mongoGroup(sessionId: string): string {
  return /-(h\d+|pop|add10|add1|conc)-/.exec(sessionId)?.[1] ?? 'other';
}

interface Doc {
  sessionId: string;
  rev: number;
  count: number;
  items: string[];
}

export async function rawMongo(url: string): Promise<Subject> {
  const client = new MongoClient(url);
  await client.connect();
  const db = client.db(MONGO_DATABASE);
  const collection = (sessionId: string) => db.collection<Doc>(`b_${mongoGroup(sessionId)}_history`);
  const parse = (texts: string[]) => texts.map((t) => JSON.parse(t) as AgentInputItem);

  const append = async (sessionId: string, items: AgentInputItem[]) => {
    const history = collection(sessionId);
    const texts = items.map((item) => JSON.stringify(item));
    for (let attempt = 0; ; attempt++) {
      const head = await history.findOne({ sessionId }, { sort: { rev: -1 }, projection: { rev: 1 } });
      try {
        await history.insertOne({ sessionId, rev: (head?.rev ?? 0) + 1, count: texts.length, items: texts });
        return;
      } catch (error) {
        if ((error as { code?: unknown }).code !== 11000 || attempt > 1000) throw error;
      }
    }
  };

  const session = (sessionId: string): SubjectSession => {
    const history = collection(sessionId);
    return {
      add: (batch) => append(sessionId, batch as AgentInputItem[]),
      async getAll() {
        const docs = await history.find({ sessionId }, { sort: { rev: 1 }, projection: { items: 1 } }).toArray();
        return parse(docs.flatMap((doc) => doc.items ?? []));
      },
      async getLast(limit) {
        const docs = await history
          .find({ sessionId }, { sort: { rev: -1 }, limit, projection: { items: 1 } })
          .toArray();
        const texts: string[] = [];
        for (const doc of docs) {
          texts.unshift(...(doc.items ?? []));
          if (texts.length >= limit) break;
        }
        return parse(texts.slice(-limit));
      },
      async pop() {
        const before = await history.findOneAndUpdate(
          { sessionId, count: { $gt: 0 } },
          { $pop: { items: 1 }, $inc: { count: -1 } },
          { sort: { rev: -1 }, returnDocument: 'before' },
        );
        const text = before?.items?.at(-1);
        return text === undefined ? undefined : (JSON.parse(text) as AgentInputItem);
      },
      async clear() {
        await history.deleteMany({ sessionId });
      },
    };
  };

  return {
    role: 'raw',
    label: 'raw mongodb driver',
    supports: ALL_NATIVE,
    prepare: (items) => items,
    session,
    async seed(sessionId, items) {
      await session(sessionId).clear();
      for (let i = 0; i < items.length; i += 100) await append(sessionId, items.slice(i, i + 100));
    },
    close: () => client.close(),
  };
}
